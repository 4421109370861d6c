//! Real clusters for the tests: `examples/cluster/up.sh` starts N `edgeflow node`
//! processes on free 127.0.0.1 ports; the test kills, restarts and queries them; the
//! cluster is stopped (`down.sh`) when the test ends, however it ends.

use super::gate::Gate;
use super::http::{self, Reply};
use super::proxy::Proxy;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Cluster {
    pub dir: PathBuf,
    pub urls: Vec<String>,
    /// Nodes this test started itself (restarts, new members): killed and reaped here.
    children: Mutex<Vec<(u64, Child)>>,
}

/// Whether `pid` is alive: it exists and is not a zombie waiting to be reaped.
pub fn is_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().to_string())
        })
        .is_some_and(|rest| !rest.starts_with('Z'))
}

/// Threads of process `pid` not yet gone (its leader stays listed while a zombie).
fn threads_left(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, |tasks| tasks.count())
}

/// Waits (bounded) until process `pid` has exited and released its sockets: a killed
/// process's leader is a zombie while its other threads (one in an fsync, say) still
/// exit holding the listening ports a restart needs.
fn await_exit(pid: u32, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while is_running(pid) || threads_left(pid) > 1 {
        assert!(Instant::now() < deadline, "{what} did not stop");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Node at `url`'s own view, from its `/metrics` (half a second at most, so a paused node
/// is simply no answer): (the leader it follows, 0 for none; its term).
pub fn raft_view(url: &str, token: &str) -> Option<(u64, u64)> {
    let reply = http::call(
        url,
        "GET",
        "/metrics",
        Some(token),
        None,
        Duration::from_millis(500),
    )
    .ok()
    .filter(|reply| reply.status == 200)?;
    let gauge = |name: &str| {
        reply
            .body
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<u64>().ok())
    };
    Some((gauge("edgeflow_raft_leader")?, gauge("edgeflow_raft_term")?))
}

/// Log entries between snapshots in test clusters.
pub const SNAPSHOT_EVERY: u64 = 1_000;

fn scripts() -> PathBuf {
    super::root().join("examples/cluster")
}

impl Cluster {
    /// Starts `count` voters with data under a fresh directory named after the test.
    pub fn up(name: &str, count: usize) -> Cluster {
        Cluster::up_with_workers(name, count, 0)
    }

    /// Starts `count` voters and `workers` workers (edges `w1`…, node ids 101…) and
    /// returns once the workers are idle.
    pub fn up_with_workers(name: &str, count: usize, workers: usize) -> Cluster {
        Cluster::up_prepared(name, count, workers, |_| {})
    }

    /// Like `up_with_workers`, with `prepare(dir)` run on the fresh cluster directory
    /// before any node starts (to mount a small file system at `dir/data-1`, say).
    pub fn up_prepared(
        name: &str,
        count: usize,
        workers: usize,
        prepare: impl FnOnce(&std::path::Path),
    ) -> Cluster {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
        if dir.exists() {
            let _ = Command::new(scripts().join("down.sh")).arg(&dir).status();
            std::fs::remove_dir_all(&dir).expect("old cluster dir removed");
        }
        std::fs::create_dir_all(&dir).expect("cluster dir");
        prepare(&dir);
        let mut up = Command::new(scripts().join("up.sh"));
        // Small snapshots: a node down for a while must catch up from one.
        up.arg(count.to_string())
            .arg(&dir)
            .env("EDGEFLOW_SNAPSHOT_EVERY", SNAPSHOT_EVERY.to_string());
        if workers > 0 {
            up.args(["--workers", &workers.to_string()]);
        }
        let output = up
            .env("EDGEFLOW_BIN", super::bin())
            .output()
            .expect("up.sh runs");
        let cluster = Cluster {
            dir,
            urls: String::from_utf8_lossy(&output.stdout)
                .lines()
                .map(str::to_string)
                .collect(),
            children: Mutex::new(Vec::new()),
        };
        assert!(
            output.status.success() && cluster.urls.len() == count,
            "up.sh failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        cluster
    }

    pub fn url(&self, id: u64) -> &str {
        &self.urls[id as usize - 1]
    }

    pub fn token_file(&self, id: u64) -> PathBuf {
        self.dir.join(format!("{id}.token"))
    }

    pub fn token(&self, id: u64) -> String {
        std::fs::read_to_string(self.token_file(id)).expect("token file")
    }

    pub fn config(&self, id: u64) -> PathBuf {
        self.dir.join(format!("{id}.toml"))
    }

    /// The pid of node `id`'s process, from its pid file.
    pub fn pid(&self, id: u64) -> Option<u32> {
        std::fs::read_to_string(self.dir.join(format!("{id}.pid")))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Starts `count` voters whose Raft traffic all goes through `proxy` (each node's
    /// recorded Raft address is its proxy port), bootstrapped into one cluster.
    pub fn up_behind_proxy(name: &str, count: u64, proxy: &Proxy) -> Cluster {
        Cluster::up_behind_proxy_prepared(name, count, proxy, |_| {})
    }

    /// Like `up_behind_proxy`, with `prepare(dir)` run on the fresh cluster directory
    /// before any node starts (to mount a small file system at `dir/data-3`, say).
    pub fn up_behind_proxy_prepared(
        name: &str,
        count: u64,
        proxy: &Proxy,
        prepare: impl FnOnce(&std::path::Path),
    ) -> Cluster {
        let mut cluster = Cluster::empty(name);
        prepare(&cluster.dir);
        for id in 1..=count {
            cluster.configure_new_member(id, Some(proxy));
            cluster.start(id);
            cluster.await_healthy(id);
            let config = cluster.config(id).to_string_lossy().to_string();
            let admin = match id {
                1 => cluster.cli(1, &["cluster", "init"]),
                _ => cluster.cli(1, &["cluster", "add", "--config", &config]),
            };
            assert!(
                admin.status.success(),
                "node {id}: {}",
                super::stderr(&admin)
            );
        }
        let voters: Vec<String> = (2..=count).map(|id| id.to_string()).collect();
        let mut promote = vec!["cluster", "promote"];
        promote.extend(voters.iter().map(String::as_str));
        let promoted = cluster.cli(1, &promote);
        assert!(promoted.status.success(), "{}", super::stderr(&promoted));
        cluster
    }

    /// A fresh directory named after the test and no node yet (add them with
    /// `configure_new_member` and `start`).
    pub fn empty(name: &str) -> Cluster {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
        if dir.exists() {
            let _ = Command::new(scripts().join("down.sh")).arg(&dir).status();
            std::fs::remove_dir_all(&dir).expect("old cluster dir removed");
        }
        std::fs::create_dir_all(&dir).expect("cluster dir");
        Cluster {
            dir,
            urls: Vec::new(),
            children: Mutex::new(Vec::new()),
        }
    }

    /// Waits until node `id`'s API answers its health probe.
    pub fn await_healthy(&self, id: u64) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while http::get(self.url(id), "/healthz", None).map_or(0, |r| r.status) != 200 {
            assert!(Instant::now() < deadline, "node {id} never answered");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Writes a configuration and token for a new voter `id` that knows the cluster's
    /// current nodes as peers (start it with `start`, then `edgeflow cluster add`); with
    /// a proxy, peers reach it through the proxy.
    pub fn configure_new_member(&mut self, id: u64, proxy: Option<&Proxy>) {
        let (raft, api) = (super::free_port(), super::free_port());
        std::fs::write(
            self.token_file(id),
            super::strong_token(&format!("token-of-node-{id}")),
        )
        .expect("token");
        let mut config = format!(
            "id = {id}\nedge = \"node_{id}\"\nrole = \"voter\"\ndata_dir = \"{}\"\n\
             raft_listen = \"127.0.0.1:{raft}\"\napi_listen = \"127.0.0.1:{api}\"\ntoken_file = \"{}\"\n",
            self.dir.join(format!("data-{id}")).display(),
            self.token_file(id).display()
        );
        if let Some(proxy) = proxy {
            let target = format!("127.0.0.1:{raft}").parse().expect("address");
            config.push_str(&format!(
                "raft_advertise = \"{}\"\n",
                proxy.front(id, target)
            ));
        }
        for peer in 1..=self.urls.len() as u64 {
            let peer_config = std::fs::read_to_string(self.config(peer)).expect("peer config");
            let raft_line = peer_config
                .lines()
                .find(|l| l.starts_with("raft_listen"))
                .expect("raft_listen")
                .replace("raft_listen", "raft");
            let hash = edgeflow_runtime::member::token_sha256(self.token(peer).trim());
            config.push_str(&format!(
                "\n[[peers]]\nid = {peer}\n{raft_line}\napi = \"{}\"\ntoken_sha256 = \"{hash}\"\n",
                self.url(peer).trim_start_matches("http://")
            ));
        }
        std::fs::write(self.config(id), config).expect("config");
        self.urls.push(format!("http://127.0.0.1:{api}"));
    }

    /// Signals the process whose pid is in `DIR/NAME.pid` (a worker: `w1`) and waits
    /// until it is gone.
    pub fn signal(&self, name: &str, signal: &str) {
        let pid: u32 = std::fs::read_to_string(self.dir.join(format!("{name}.pid")))
            .expect("pid file")
            .trim()
            .parse()
            .expect("pid");
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} {pid} failed");
        await_exit(pid, name);
    }

    /// `kill -9` node `id` and wait until the process is gone.
    pub fn kill(&self, id: u64) {
        let mut children = self.children.lock().expect("children");
        if let Some(index) = children.iter().position(|(child_id, _)| *child_id == id) {
            let (_, mut child) = children.remove(index);
            let _ = child.kill();
            let _ = child.wait();
            return;
        }
        let pid = self.pid(id).expect("node has a pid file");
        let status = Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -9 {pid} failed");
        await_exit(pid, &format!("node {id}"));
    }

    /// Starts node `id` from its configuration file (a restart, or a new member).
    pub fn start(&self, id: u64) {
        self.start_wrapped(id, &[]);
    }

    /// Starts node `id` through a wrapper that execs it (`prlimit --nofile=…`).
    pub fn start_wrapped(&self, id: u64, wrapper: &[&str]) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{id}.log")))
            .expect("log file");
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(super::bin());
                command
            }
            None => Command::new(super::bin()),
        };
        let child = command
            .args(["node", "--config"])
            .arg(self.config(id))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("node starts");
        std::fs::write(self.dir.join(format!("{id}.pid")), child.id().to_string())
            .expect("pid file");
        self.children.lock().expect("children").push((id, child));
    }

    /// Runs `edgeflow ARGS… --cluster URL(via) --token-file TOKEN(via)`.
    pub fn cli(&self, via: u64, args: &[&str]) -> std::process::Output {
        Command::new(super::bin())
            .args(args)
            .arg("--cluster")
            .arg(self.url(via))
            .arg("--token-file")
            .arg(self.token_file(via))
            .output()
            .expect("edgeflow runs")
    }

    /// `METHOD PATH` on node `via` with its own token.
    pub fn call(&self, via: u64, method: &str, path: &str, body: Option<&str>) -> Reply {
        let token = self.token(via);
        http::request(
            self.url(via),
            method,
            path,
            Some(&token),
            body.map(str::as_bytes),
        )
        .unwrap_or_else(|e| panic!("node {via} answers: {e}"))
    }

    pub fn put(&self, via: u64, namespace: &str, key: &str, value: &str) -> Reply {
        let token = self.token(via);
        http::request(
            self.url(via),
            "PUT",
            &format!("/v1/state/{namespace}/{key}"),
            Some(&token),
            Some(value.as_bytes()),
        )
        .unwrap_or_else(|e| panic!("node {via} answers: {e}"))
    }

    pub fn get(&self, via: u64, namespace: &str, key: &str, local: bool) -> Reply {
        let token = self.token(via);
        let consistency = if local { "local" } else { "linearizable" };
        http::get(
            self.url(via),
            &format!("/v1/state/{namespace}/{key}?consistency={consistency}"),
            Some(&token),
        )
        .unwrap_or_else(|e| panic!("node {via} answers: {e}"))
    }

    /// Node `via`'s own view of the cluster (it redirects to the leader when it knows
    /// one: then the leader's view).
    pub fn status(&self, via: u64) -> Option<serde_json::Value> {
        let token = self.token(via);
        let mut url = self.url(via).to_string();
        for _ in 0..3 {
            let reply = http::get(&url, "/v1/cluster/status", Some(&token)).ok()?;
            match reply.status {
                200 => return Some(reply.json()),
                421 => url = reply.json()["leader_api"].as_str()?.to_string(),
                _ => return None,
            }
        }
        None
    }

    /// Registers and starts one more worker, node `id` of edge `edge` with `labels`
    /// (TOML lines of its `[labels]` table); with a `gate`, the worker reaches the
    /// voters' APIs only through it. Needs a cluster started with workers (it copies
    /// `w1.toml`'s list of voters). Its files are `ID.toml`, `ID.token`, `ID.log`.
    pub fn add_worker(&self, id: u64, edge: &str, labels: &str, gate: Option<&Gate>) {
        let template = std::fs::read_to_string(self.dir.join("w1.toml")).expect("w1.toml");
        let peers: Vec<String> = template
            .lines()
            .skip_while(|line| *line != "[[peers]]")
            .take_while(|line| *line != "[labels]")
            .map(|line| match (line.strip_prefix("api = \""), gate) {
                (Some(address), Some(gate)) => {
                    let target = address.trim_end_matches('"').parse().expect("api address");
                    format!("api = \"{}\"", gate.front(target))
                }
                _ => line.to_string(),
            })
            .collect();
        let token_file = self.token_file(id);
        std::fs::write(
            &token_file,
            super::strong_token(&format!("worker-{id}-token")),
        )
        .expect("token file");
        let config = format!(
            "id = {id}\nedge = \"{edge}\"\nrole = \"worker\"\ndata_dir = \"{}\"\n\
             api_listen = \"127.0.0.1:{}\"\ntoken_file = \"{}\"\n\n{}\n[labels]\n{labels}\n\n\
             [timeouts]\nfleet_heartbeat = \"200ms\"\n",
            self.dir.join(format!("data-{id}")).display(),
            super::free_port(),
            token_file.display(),
            peers.join("\n"),
        );
        std::fs::write(self.config(id), config).expect("worker config");
        let config = self.config(id);
        let added = self.cli(1, &["worker", "add", "--config", &config.to_string_lossy()]);
        assert!(
            added.status.success(),
            "{}",
            String::from_utf8_lossy(&added.stderr)
        );
        self.start(id);
    }

    /// Waits until node `via` enforces the deployed `policy` (a deployment is applied on
    /// each node a moment after the cluster committed it). The probe asks for more
    /// tokens than any test policy admits at once: 400 once the policy is known there,
    /// 404 before, and it takes nothing.
    pub fn await_policy(&self, via: u64, policy: &str) {
        let probe = serde_json::json!({"policy": policy, "tokens": 1_000_000}).to_string();
        let token = self.token(via);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let reply = http::request(
                self.url(via),
                "POST",
                "/v1/ratelimit/check",
                Some(&token),
                Some(probe.as_bytes()),
            )
            .expect("answer");
            if reply.status == 400 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "node {via} does not enforce `{policy}`: {} {}",
                reply.status,
                reply.body
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until `survivors` agree on a leader among them; returns it.
    pub fn leader_among(&self, survivors: &[u64]) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let views: Vec<Option<u64>> = survivors
                .iter()
                .map(|id| self.status(*id).and_then(|s| s["leader"].as_u64()))
                .collect();
            if let Some(Some(leader)) = views.first() {
                if survivors.contains(leader) && views.iter().all(|v| *v == Some(*leader)) {
                    return *leader;
                }
            }
            assert!(Instant::now() < deadline, "no agreed leader: {views:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Ok(children) = self.children.get_mut() {
            for (_, child) in children.iter_mut() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let _ = Command::new(scripts().join("down.sh"))
            .arg(&self.dir)
            .status();
    }
}
