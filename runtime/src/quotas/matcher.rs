//! Which requests a deployed policy applies to, and which of its budgets a request draws
//! from. A gateway describes a request by its route and descriptor entries (`user:
//! alice`, `tenant: acme`), as Envoy's rate-limit descriptors and the HTTP check do; a
//! policy's `match` selects requests, its `by` keys pick the budget:
//!
//! - `route("/api/v1/generate")`: the request's route is exactly that path; a pattern
//!   ending in `*` matches every route starting with what precedes it.
//! - `key("user")`: the request carries a descriptor entry `user` (any value).
//! - `descriptor({ tier: "free" })`: the request carries every one of these entries,
//!   each with that value.
//!
//! The budget key of a policy with `by` is the value of its one `by` entry, or for
//! several the JSON array of their values in `by`'s order (unambiguous whatever the
//! values hold). An entry the request lacks counts as the empty value: requests without
//! it share one budget rather than escaping the policy.

use edgeflow_compiler::value::{Matcher, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyMatch {
    Route(String),
    Key(String),
    Descriptor(BTreeMap<String, String>),
}

/// A request as a gateway describes it.
#[derive(Debug, Clone, Copy)]
pub struct Described<'a> {
    pub route: Option<&'a str>,
    pub descriptors: &'a BTreeMap<String, String>,
}

impl PolicyMatch {
    /// The policy's `match` from the IR (descriptor values in their text form).
    pub fn from_ir(matcher: &Matcher) -> PolicyMatch {
        match matcher {
            Matcher::Route(route) => PolicyMatch::Route(route.clone()),
            Matcher::Key(key) => PolicyMatch::Key(key.clone()),
            Matcher::Descriptor(entries) => PolicyMatch::Descriptor(
                entries
                    .iter()
                    .map(|(name, value)| (name.clone(), descriptor_text(value)))
                    .collect(),
            ),
        }
    }

    pub fn matches(&self, request: Described<'_>) -> bool {
        match self {
            PolicyMatch::Route(pattern) => {
                request
                    .route
                    .is_some_and(|route| match pattern.strip_suffix('*') {
                        Some(prefix) => route.starts_with(prefix),
                        None => route == pattern,
                    })
            }
            PolicyMatch::Key(key) => request.descriptors.contains_key(key),
            PolicyMatch::Descriptor(entries) => entries
                .iter()
                .all(|(name, value)| request.descriptors.get(name) == Some(value)),
        }
    }
}

impl std::fmt::Display for PolicyMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PolicyMatch::Route(route) => write!(f, "route({route:?})"),
            PolicyMatch::Key(key) => write!(f, "key({key:?})"),
            PolicyMatch::Descriptor(entries) => {
                let entries: Vec<String> =
                    entries.iter().map(|(k, v)| format!("{k}: {v:?}")).collect();
                write!(f, "descriptor({{ {} }})", entries.join(", "))
            }
        }
    }
}

/// A descriptor value's text: a string as itself, anything else as its JSON.
fn descriptor_text(value: &Value) -> String {
    match value.to_json() {
        serde_json::Value::String(text) => text,
        other => other.to_string(),
    }
}

/// The budget key a described request draws from under a policy partitioned `by` these
/// entries (none: the policy's one budget, `""`).
pub fn budget_key(by: &[String], descriptors: &BTreeMap<String, String>) -> String {
    let value = |name: &String| descriptors.get(name).map_or("", String::as_str);
    match by {
        [] => String::new(),
        [one] => value(one).to_string(),
        several => {
            serde_json::Value::from(several.iter().map(value).collect::<Vec<_>>()).to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn described<'a>(route: Option<&'a str>, d: &'a BTreeMap<String, String>) -> Described<'a> {
        Described {
            route,
            descriptors: d,
        }
    }

    #[test]
    fn routes_keys_and_descriptors_select_requests() {
        let entries = BTreeMap::from([
            ("user".to_string(), "alice".to_string()),
            ("tier".to_string(), "free".to_string()),
        ]);
        let exact = PolicyMatch::Route("/api/v1/generate".into());
        assert!(exact.matches(described(Some("/api/v1/generate"), &entries)));
        assert!(!exact.matches(described(Some("/api/v1/generate/x"), &entries)));
        assert!(!exact.matches(described(None, &entries)));
        let prefix = PolicyMatch::Route("/api/*".into());
        assert!(prefix.matches(described(Some("/api/v2"), &entries)));
        assert!(!prefix.matches(described(Some("/health"), &entries)));
        assert!(PolicyMatch::Key("user".into()).matches(described(None, &entries)));
        assert!(!PolicyMatch::Key("tenant".into()).matches(described(None, &entries)));
        let free = PolicyMatch::Descriptor(BTreeMap::from([("tier".into(), "free".into())]));
        assert!(free.matches(described(None, &entries)));
        let paid = PolicyMatch::Descriptor(BTreeMap::from([("tier".into(), "paid".into())]));
        assert!(!paid.matches(described(None, &entries)));
    }

    #[test]
    fn budget_keys_are_the_by_values_and_never_ambiguous() {
        let d = BTreeMap::from([
            ("user".to_string(), "alice".to_string()),
            ("tenant".to_string(), "a\",\"b".to_string()),
        ]);
        assert_eq!(budget_key(&[], &d), "");
        assert_eq!(budget_key(&["user".into()], &d), "alice");
        assert_eq!(budget_key(&["missing".into()], &d), "");
        let two = budget_key(&["user".into(), "tenant".into()], &d);
        assert_eq!(two, r#"["alice","a\",\"b"]"#);
    }
}
