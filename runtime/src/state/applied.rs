//! Requests that carry an idempotency key apply once: a replay answers the response
//! recorded the first time. The key is bound to the command it was first used with (by
//! a SHA-256 of the command's encoding): the same key with another command is refused,
//! so a key can be neither poisoned ahead of a real step nor reused for a different
//! change. Keys start with their run id and are dropped when the run finishes.

use crate::command::{Command, Response};
use crate::encoding;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// What a key was used for and what it answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Applied {
    pub command_sha256: [u8; 32],
    pub response: Response,
}

/// The applied keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AppliedKeys {
    by_key: BTreeMap<String, Applied>,
}

/// What to do with a keyed request.
pub enum Replay {
    /// Not applied yet: apply it, then `record` the response under this digest.
    Apply { command_sha256: [u8; 32] },
    /// Applied before: answer this.
    Answer(Response),
}

impl AppliedKeys {
    /// Whether a request with `key` and `command` was applied, for the same command.
    pub fn replay(&self, key: &str, command: &Command) -> Replay {
        let command_sha256: [u8; 32] = Sha256::digest(encoding::encode(command)).into();
        match self.by_key.get(key) {
            None => Replay::Apply { command_sha256 },
            Some(applied) if applied.command_sha256 == command_sha256 => {
                Replay::Answer(applied.response.clone())
            }
            Some(_) => Replay::Answer(Response::Refused {
                reason: format!(
                    "the idempotency key `{key}` was used for another command; a key names one change"
                ),
            }),
        }
    }

    pub fn record(&mut self, key: &str, command_sha256: [u8; 32], response: Response) {
        self.by_key.insert(
            key.to_string(),
            Applied {
                command_sha256,
                response,
            },
        );
    }

    /// Forgets the keys of a finished run.
    pub fn drop_run(&mut self, run_id: &str) {
        let prefix = format!("{run_id}/");
        self.by_key.retain(|key, _| !key.starts_with(&prefix));
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}
