//! What a client token may do: one scope per family of routes. `submit` runs workflows
//! and follows them; `state:read` and `state:write` the replicated key-value state;
//! `ratelimit` asks rate-limit decisions; `events` posts CloudEvents. A token carries
//! any set of them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    #[serde(rename = "submit")]
    Submit,
    #[serde(rename = "state:read")]
    StateRead,
    #[serde(rename = "state:write")]
    StateWrite,
    #[serde(rename = "ratelimit")]
    Ratelimit,
    #[serde(rename = "events")]
    Events,
}

impl Scope {
    pub const ALL: [Scope; 5] = [
        Scope::Submit,
        Scope::StateRead,
        Scope::StateWrite,
        Scope::Ratelimit,
        Scope::Events,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scope::Submit => "submit",
            Scope::StateRead => "state:read",
            Scope::StateWrite => "state:write",
            Scope::Ratelimit => "ratelimit",
            Scope::Events => "events",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(text: &str) -> Result<Scope, String> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.name() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Scope::ALL.iter().map(|s| s.name()).collect();
                format!("unknown scope `{text}` (scopes: {})", names.join(", "))
            })
    }
}

/// A set of scopes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scopes(u8);

impl Scopes {
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(scopes: I) -> Scopes {
        Scopes(scopes.into_iter().fold(0, |bits, s| bits | s.bit()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_by_name_and_form_sets() {
        assert_eq!("state:read".parse::<Scope>(), Ok(Scope::StateRead));
        assert!("state"
            .parse::<Scope>()
            .unwrap_err()
            .contains("state:write"));
        let set: Scopes = [Scope::Submit, Scope::Events].into_iter().collect();
        assert!(set.contains(Scope::Events) && !set.contains(Scope::StateRead));
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            vec![Scope::Submit, Scope::Events]
        );
    }
}
