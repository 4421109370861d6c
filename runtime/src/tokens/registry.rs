//! The client tokens the cluster knows: this subsystem's slice of the replicated state,
//! its commands and how they apply. Only a token's SHA-256 is kept. A token is usable
//! while it is neither revoked nor past its expiry; revoked and expired records stay
//! listed until there are `MAX_TOKENS`, then the oldest of them make room.

use super::scope::{Scope, Scopes};
use crate::trust::equal_in_constant_time;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Token records kept at most (usable or not).
pub const MAX_TOKENS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientToken {
    pub id: String,
    /// Lower-case hex SHA-256 of the token; never leaves the node.
    pub token_sha256: String,
    pub scopes: Vec<Scope>,
    pub created_at_ms: u64,
    pub expires_at_ms: Option<u64>,
    pub revoked_at_ms: Option<u64>,
    #[serde(default)]
    pub description: Option<String>,
}

impl ClientToken {
    pub fn usable_at(&self, now_ms: u64) -> bool {
        self.revoked_at_ms.is_none() && self.expires_at_ms.is_none_or(|at| now_ms < at)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum TokenCommand {
    Create {
        id: String,
        token_sha256: String,
        scopes: Vec<Scope>,
        expires_at_ms: Option<u64>,
        description: Option<String>,
    },
    Revoke {
        id: String,
    },
}

/// The tokens, by id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tokens {
    by_id: BTreeMap<String, ClientToken>,
}

impl Tokens {
    /// The scopes of the usable token with this hash at `now_ms`.
    pub fn scopes_of(&self, hash: &str, now_ms: u64) -> Option<Scopes> {
        self.by_id
            .values()
            .find(|t| equal_in_constant_time(t.token_sha256.as_bytes(), hash.as_bytes()))
            .filter(|t| t.usable_at(now_ms))
            .map(|t| t.scopes.iter().copied().collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = &ClientToken> {
        self.by_id.values()
    }

    /// Applies a command at `now_ms` (the proposer's clock): `Err` says why nothing
    /// changed.
    pub fn apply(&mut self, command: &TokenCommand, now_ms: u64) -> Result<(), String> {
        match command {
            TokenCommand::Create {
                id,
                token_sha256,
                scopes,
                expires_at_ms,
                description,
            } => {
                if self.by_id.contains_key(id)
                    || self.by_id.values().any(|t| t.token_sha256 == *token_sha256)
                {
                    return Err(format!("a token `{id}` exists already"));
                }
                if self.by_id.len() >= MAX_TOKENS && !self.make_room(now_ms) {
                    return Err(format!(
                        "the cluster keeps at most {MAX_TOKENS} tokens; revoke some first"
                    ));
                }
                self.by_id.insert(
                    id.clone(),
                    ClientToken {
                        id: id.clone(),
                        token_sha256: token_sha256.clone(),
                        scopes: scopes.clone(),
                        created_at_ms: now_ms,
                        expires_at_ms: *expires_at_ms,
                        revoked_at_ms: None,
                        description: description.clone(),
                    },
                );
                Ok(())
            }
            TokenCommand::Revoke { id } => match self.by_id.get_mut(id) {
                Some(token) => {
                    token.revoked_at_ms.get_or_insert(now_ms);
                    Ok(())
                }
                None => Err(format!("no token `{id}`")),
            },
        }
    }

    /// Forgets the token that stopped being usable longest ago; whether one was.
    fn make_room(&mut self, now_ms: u64) -> bool {
        let oldest = self
            .by_id
            .values()
            .filter(|t| !t.usable_at(now_ms))
            .min_by_key(|t| t.revoked_at_ms.or(t.expires_at_ms).unwrap_or(0))
            .map(|t| t.id.clone());
        oldest.is_some_and(|id| self.by_id.remove(&id).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(id: &str, hash: &str, expires_at_ms: Option<u64>) -> TokenCommand {
        TokenCommand::Create {
            id: id.into(),
            token_sha256: hash.into(),
            scopes: vec![Scope::Submit],
            expires_at_ms,
            description: None,
        }
    }

    #[test]
    fn a_token_is_usable_until_revoked_or_expired() {
        let mut tokens = Tokens::default();
        tokens.apply(&create("a", "aa", None), 0).expect("created");
        tokens
            .apply(&create("b", "bb", Some(100)), 0)
            .expect("created");
        assert!(tokens.apply(&create("a", "cc", None), 0).is_err());
        assert!(tokens.apply(&create("c", "aa", None), 0).is_err());
        assert!(tokens
            .scopes_of("aa", 50)
            .is_some_and(|s| s.contains(Scope::Submit)));
        assert!(tokens.scopes_of("bb", 99).is_some());
        assert!(tokens.scopes_of("bb", 100).is_none());
        tokens
            .apply(&TokenCommand::Revoke { id: "a".into() }, 60)
            .expect("revoked");
        assert!(tokens.scopes_of("aa", 61).is_none());
        assert!(tokens
            .apply(&TokenCommand::Revoke { id: "z".into() }, 60)
            .is_err());
    }
}
