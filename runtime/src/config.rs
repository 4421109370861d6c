//! A node's configuration: one TOML file (DESIGN.md §1) read into typed structs. Unknown
//! keys, missing keys, bad addresses and malformed durations or sizes are errors that
//! name the key and its line; checks across keys (peer ids, timeouts) follow.

use serde::{Deserialize, Deserializer};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Unique in the cluster, never reused for a node that starts from an empty log.
    pub id: u64,
    /// The edge this node is: the name `.edgeflow` files use for it.
    pub edge: String,
    pub role: Role,
    pub data_dir: PathBuf,
    /// Where this node listens for Raft peers (voters only).
    pub raft_listen: Option<SocketAddr>,
    /// The `host:port` peers dial to reach this node's Raft endpoint, when it differs
    /// from `raft_listen` (behind NAT, a proxy or a container port mapping).
    pub raft_advertise: Option<String>,
    /// The HTTP/JSON client and admin API.
    pub api_listen: SocketAddr,
    /// This node's own API token (one per node, not a shared secret).
    pub token_file: PathBuf,
    #[serde(default)]
    pub peers: Vec<Peer>,
    #[serde(default)]
    pub labels: Labels,
    pub tls: Option<Tls>,
    #[serde(default)]
    pub timeouts: Timeouts,
    /// Log entries between snapshots of the state (older entries are then purged).
    /// Fewer snapshots cost less CPU; more keep the log and restarts shorter.
    #[serde(default = "default_snapshot_every")]
    pub snapshot_every: u64,
    /// Gateway interfaces of rate limiting beyond the HTTP API.
    #[serde(default)]
    pub ratelimit: RateLimitConfig,
    #[serde(default)]
    pub workloads: WorkloadsConfig,
    #[serde(default)]
    pub wasm: WasmConfig,
    #[serde(default)]
    pub events: EventsConfig,
}

/// `[events]`: a worker's store and forward of the CloudEvents it accepts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsConfig {
    /// Bytes of event requests kept while the cluster is out of reach (`64MiB`);
    /// past it, new events are refused with 507.
    #[serde(default = "default_events_outbox", deserialize_with = "size")]
    pub outbox: u64,
}

impl Default for EventsConfig {
    fn default() -> EventsConfig {
        EventsConfig {
            outbox: default_events_outbox(),
        }
    }
}

fn default_events_outbox() -> u64 {
    64 << 20
}

/// `[wasm]`: the limits user (WebAssembly) ops run under on this node.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WasmConfig {
    /// CPU time of a call whose step declares no `timeout` (`1s`).
    #[serde(
        rename = "timeout",
        default = "default_wasm_timeout",
        deserialize_with = "millis"
    )]
    pub timeout_ms: u64,
    /// Linear memory of one instance (`64MiB`).
    #[serde(default = "default_wasm_memory", deserialize_with = "size")]
    pub memory: u64,
}

impl Default for WasmConfig {
    fn default() -> WasmConfig {
        WasmConfig {
            timeout_ms: default_wasm_timeout(),
            memory: default_wasm_memory(),
        }
    }
}

fn default_wasm_timeout() -> u64 {
    1000
}

fn default_wasm_memory() -> u64 {
    64 << 20
}

/// `[workloads]`: what this node offers the workloads it serves.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadsConfig {
    /// The most bytes of workload records (keys and values) this node takes on: a
    /// migration to it whose workloads would not fit beside the ones it holds is
    /// refused in planning. Written like `10GiB`; without it, the free disk space
    /// decides alone.
    #[serde(default, deserialize_with = "optional_size")]
    pub capacity: Option<u64>,
}

/// `[ratelimit]`: where Envoy's global rate-limit service (gRPC) listens, if anywhere
/// (voters only; the HTTP check is always on the API).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    pub grpc_listen: Option<SocketAddr>,
}

fn default_snapshot_every() -> u64 {
    20_000
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Voter,
    Worker,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Peer {
    pub id: u64,
    pub raft: SocketAddr,
    pub api: SocketAddr,
    /// SHA-256 (hex) of the peer's token: how this node knows Raft calls from it are
    /// genuine before the cluster's membership has told it (`sha256sum TOKEN_FILE`).
    #[serde(deserialize_with = "sha256_hex")]
    pub token_sha256: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Labels {
    pub region: Option<String>,
    pub zone: Option<String>,
    #[serde(default)]
    pub compliance: Vec<String>,
    pub capacity: Option<Capacity>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    pub cpu: f64,
    /// Bytes; written like `8GiB`.
    #[serde(deserialize_with = "size")]
    pub memory: u64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

/// Durations in milliseconds; written like `150ms` or `2s`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    #[serde(deserialize_with = "millis")]
    pub heartbeat: u64,
    #[serde(deserialize_with = "millis")]
    pub election_min: u64,
    #[serde(deserialize_with = "millis")]
    pub election_max: u64,
    #[serde(deserialize_with = "millis")]
    pub request: u64,
    /// How often the node reports its state and metrics to the fleet registry.
    #[serde(deserialize_with = "millis")]
    pub fleet_heartbeat: u64,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            heartbeat: 50,
            election_min: 150,
            election_max: 300,
            request: 2_000,
            fleet_heartbeat: 1_000,
        }
    }
}

/// What is wrong with a configuration file, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub path: PathBuf,
    /// 1-based line and column, when the problem has a place in the file.
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, column)) => write!(
                f,
                "{}:{line}:{column}: {}",
                self.path.display(),
                self.message
            ),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

impl NodeConfig {
    /// The Raft address the cluster records for this node (`raft_advertise`, else
    /// `raft_listen`).
    pub fn raft_address(&self) -> Option<String> {
        self.raft_advertise
            .clone()
            .or_else(|| self.raft_listen.map(|a| a.to_string()))
    }

    /// `https` when the node has a `[tls]` table (its API and its peers' are HTTPS).
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// The base URL of this node's API.
    pub fn api_url(&self) -> String {
        format!("{}://{}", self.scheme(), self.api_listen)
    }

    pub fn load(path: &Path) -> Result<NodeConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            position: None,
            message: e.to_string(),
        })?;
        NodeConfig::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<NodeConfig, ConfigError> {
        let config: NodeConfig = toml::from_str(text).map_err(|error| ConfigError {
            path: path.to_path_buf(),
            position: error.span().map(|span| line_column(text, span.start)),
            message: error.message().trim().to_string(),
        })?;
        config.validate().map_err(|message| ConfigError {
            path: path.to_path_buf(),
            position: None,
            message,
        })?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        if self.id == 0 {
            return Err("`id` must be 1 or more".into());
        }
        if self.snapshot_every < 100 {
            return Err("`snapshot_every` must be 100 or more".into());
        }
        if self.role == Role::Worker && self.workloads.capacity.is_some() {
            return Err(
                "`[workloads] capacity` is for voters: workers serve no workloads yet".into(),
            );
        }
        if self.role == Role::Voter && self.raft_listen.is_none() {
            return Err(
                "a voter needs `raft_listen`, the address its Raft peers reach it at".into(),
            );
        }
        if self.role == Role::Worker && self.ratelimit.grpc_listen.is_some() {
            return Err(
                "`[ratelimit] grpc_listen` is for voters: workers do not decide rate limits yet"
                    .into(),
            );
        }
        if self.tls.is_some() && self.ratelimit.grpc_listen.is_some() {
            return Err(
                "`[ratelimit] grpc_listen` serves plaintext gRPC only, and this node has `[tls]`: bind it to a loopback address of a node without TLS, or leave it out"
                    .into(),
            );
        }
        let mut seen = vec![self.id];
        for peer in &self.peers {
            if seen.contains(&peer.id) {
                return Err(format!(
                    "node id {} appears twice (this node and peers must have distinct ids)",
                    peer.id
                ));
            }
            seen.push(peer.id);
        }
        let t = &self.timeouts;
        if !(t.heartbeat < t.election_min && t.election_min < t.election_max) {
            return Err(format!(
                "timeouts must satisfy heartbeat < election_min < election_max (got {}ms, {}ms, {}ms)",
                t.heartbeat, t.election_min, t.election_max
            ));
        }
        Ok(())
    }
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn unit_literal<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<edgeflow_grammar::ast::Literal, D::Error> {
    let text = String::deserialize(deserializer)?;
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    edgeflow_grammar::literal::decode_with_unit(&text[..split], &text[split..])
        .map_err(|problem| serde::de::Error::custom(format!("`{text}`: {problem}")))
}

fn sha256_hex<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    let hex = text.trim().to_ascii_lowercase();
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hex)
    } else {
        Err(serde::de::Error::custom(format!(
            "`{text}` is not a SHA-256 in hex (64 hex digits, as `sha256sum` prints)"
        )))
    }
}

fn millis<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    match unit_literal(deserializer)? {
        edgeflow_grammar::ast::Literal::Duration(nanos) if nanos > 0 => {
            Ok((nanos as u64).div_ceil(1_000_000))
        }
        _ => Err(serde::de::Error::custom(
            "expected a positive duration like `150ms` or `2s`",
        )),
    }
}

fn size<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    match unit_literal(deserializer)? {
        edgeflow_grammar::ast::Literal::Size(bytes) => Ok(bytes),
        _ => Err(serde::de::Error::custom("expected a size like `8GiB`")),
    }
}

fn optional_size<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    size(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VOTER: &str = r#"
id = 1
edge = "us_east_1"
role = "voter"
data_dir = "data/1"
raft_listen = "127.0.0.1:7001"
api_listen = "127.0.0.1:8001"
token_file = "tokens/1"

[[peers]]
id = 2
raft = "127.0.0.1:7002"
api = "127.0.0.1:8002"
token_sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

[labels]
region = "us"
compliance = ["soc2"]
capacity = { cpu = 4.0, memory = "8GiB" }

[timeouts]
heartbeat = "50ms"
election_min = "150ms"
election_max = "300ms"
request = "2s"
"#;

    fn parse(text: &str) -> Result<NodeConfig, ConfigError> {
        NodeConfig::parse(text, Path::new("edgeflow.toml"))
    }

    #[test]
    fn a_complete_voter_config_reads() {
        let config = parse(VOTER).expect("valid");
        assert_eq!(config.role, Role::Voter);
        assert_eq!(config.peers.len(), 1);
        assert_eq!(config.labels.capacity.map(|c| c.memory), Some(8 << 30));
        assert_eq!(config.timeouts.request, 2_000);
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        let error = parse(&VOTER.replace("raft_listen", "raft_lisen")).expect_err("typo");
        assert!(error.message.contains("raft_lisen"), "{error}");
        assert_eq!(error.position.map(|p| p.0), Some(6));
    }

    #[test]
    fn a_workload_capacity_is_a_size() {
        assert_eq!(parse(VOTER).expect("valid").workloads.capacity, None);
        assert_eq!(parse(VOTER).expect("valid").wasm, WasmConfig::default());
        let limits = format!("{VOTER}\n[wasm]\ntimeout = \"250ms\"\nmemory = \"16MiB\"\n");
        assert_eq!(
            parse(&limits).expect("valid").wasm,
            WasmConfig {
                timeout_ms: 250,
                memory: 16 << 20
            }
        );
        let wrong = format!("{VOTER}\n[wasm]\nmemory = \"a lot\"\n");
        assert!(parse(&wrong).is_err());
        let with = format!("{VOTER}\n[workloads]\ncapacity = \"64MiB\"\n");
        assert_eq!(
            parse(&with).expect("valid").workloads.capacity,
            Some(64 * 1024 * 1024)
        );
        let error = parse(&with.replace("64MiB", "2s")).expect_err("not a size");
        assert!(error.message.contains("size"), "{error}");
    }

    #[test]
    fn the_envoy_listener_is_for_voters_without_tls() {
        let with = format!("{VOTER}\n[ratelimit]\ngrpc_listen = \"127.0.0.1:8081\"\n");
        let config = parse(&with).expect("valid");
        assert_eq!(
            config.ratelimit.grpc_listen,
            Some("127.0.0.1:8081".parse().expect("address"))
        );
        let typo = with.replace("grpc_listen", "grpc_lisen");
        assert!(parse(&typo)
            .expect_err("typo")
            .message
            .contains("grpc_lisen"));
        let worker = with
            .replace("role = \"voter\"", "role = \"worker\"")
            .replace("raft_listen = \"127.0.0.1:7001\"\n", "");
        assert!(parse(&worker)
            .expect_err("worker")
            .message
            .contains("for voters"));
    }

    #[test]
    fn values_are_checked() {
        assert!(parse(&VOTER.replace("127.0.0.1:8001", "localhost")).is_err());
        assert!(parse(&VOTER.replace("\"150ms\"", "\"150q\""))
            .expect_err("bad unit")
            .message
            .contains("150q"));
        assert!(parse(&VOTER.replace("ba7816bf", "xyz"))
            .expect_err("bad hash")
            .message
            .contains("SHA-256"));
        assert!(parse(&VOTER.replace("id = 2", "id = 1"))
            .expect_err("dup")
            .message
            .contains("twice"));
        assert!(parse(&VOTER.replace("\"300ms\"", "\"100ms\""))
            .expect_err("order")
            .message
            .contains("election_max"));
        let worker = VOTER
            .replace("role = \"voter\"", "role = \"worker\"")
            .replace("raft_listen = \"127.0.0.1:7001\"\n", "");
        assert!(parse(&worker).is_ok());
        let voter_without_raft = VOTER.replace("raft_listen = \"127.0.0.1:7001\"\n", "");
        assert!(parse(&voter_without_raft)
            .expect_err("no raft")
            .message
            .contains("raft_listen"));
    }
}
