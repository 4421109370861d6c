//! What the cluster knows about each member, replicated in Raft's membership: where to
//! reach it (Raft and API addresses), which edge it is, and the SHA-256 of its token so
//! every node can authenticate requests from every other without sharing secrets.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// `Debug` leaves the token hash out: openraft prints memberships in its errors, and
/// those reach logs and API answers.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The edge this node is (the name `.edgeflow` files use).
    pub edge: String,
    /// `host:port` of its Raft endpoint (empty for the embedded single node).
    pub raft: String,
    /// Base URL of its HTTP API (empty for the embedded single node).
    pub api: String,
    /// Lower-case hex SHA-256 of its token.
    pub token_sha256: String,
}

impl NodeInfo {
    /// The embedded single node of `edgeflow run`: it has no addresses and no token.
    pub fn embedded(edge: &str) -> NodeInfo {
        NodeInfo {
            edge: edge.to_string(),
            ..NodeInfo::default()
        }
    }
}

impl fmt::Debug for NodeInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeInfo")
            .field("edge", &self.edge)
            .field("raft", &self.raft)
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for NodeInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (raft {}, api {})", self.edge, self.raft, self.api)
    }
}

/// Lower-case hex SHA-256 of a token, as stored in `NodeInfo::token_sha256` and in
/// node configuration files.
pub fn token_sha256(token: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(token.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    hex
}

/// Bits of entropy a node's token must carry at least (32 random bytes).
pub const MIN_TOKEN_BITS: f64 = 256.0;

/// Whether a node's token is strong enough to guard a cluster: its length times the bits
/// each character can carry given the alphabet it is written in (hex 4, alphanumerics
/// about 6, anything else about 6.5), at least `MIN_TOKEN_BITS`, and not a repetition of
/// a few characters. 64 hex digits or 43 base64 characters of random bytes pass.
pub fn check_token_strength(token: &str) -> Result<(), String> {
    let per_char = if token.chars().all(|c| c.is_ascii_hexdigit()) {
        4.0
    } else if token
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_'))
    {
        6.0
    } else {
        6.5
    };
    let mut distinct: Vec<char> = token.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    let bits = token.chars().count() as f64 * per_char;
    if bits < MIN_TOKEN_BITS || distinct.len() < 8 {
        return Err(format!(
            "the token is too weak ({} characters, about {bits:.0} bits; at least {MIN_TOKEN_BITS:.0} are needed):              use 32 random bytes, e.g. `head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n' > TOKEN_FILE`",
            token.chars().count()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_members_debug_form_leaves_its_token_hash_out() {
        let info = NodeInfo {
            edge: "node_1".into(),
            raft: "127.0.0.1:1".into(),
            api: "http://127.0.0.1:2".into(),
            token_sha256: token_sha256("secret"),
        };
        let printed = format!("{info:?}");
        assert!(printed.contains("node_1") && printed.contains("127.0.0.1:1"));
        assert!(!printed.contains(&info.token_sha256), "{printed}");
    }

    #[test]
    fn weak_tokens_are_refused_and_random_ones_pass() {
        assert!(check_token_strength("abc").is_err());
        assert!(check_token_strength(&"ab".repeat(40)).is_err());
        assert!(check_token_strength(&token_sha256("x")[..48]).is_err());
        assert!(check_token_strength(&token_sha256("x")).is_ok());
        assert!(check_token_strength("Vq3xZ9kL2mN8pR4tW7yB1cD6fG0hJ5sA-uE_oI9aQ2xY").is_ok());
    }

    #[test]
    fn token_hash_is_hex_sha256() {
        assert_eq!(
            token_sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
