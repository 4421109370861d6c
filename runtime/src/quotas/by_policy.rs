//! What an edge keeps per policy and key — its leases, its per-edge budgets — found
//! without building a name: policies in a short list (a node enforces a handful, ids
//! compared in place), the one budget of a policy without `by` in a slot of its own (no
//! hashing on the hot path), keyed budgets in a map with the standard, flood-resistant
//! hasher (keys are client-chosen). At most `max` keys per policy: past it, entries that
//! `forgettable` says hold nothing are dropped, and while still past it a new key gets
//! no entry (its request waits: a key is never given fresh state for an old one's).

use std::collections::HashMap;

struct PerPolicy<T> {
    id: String,
    keyless: Option<T>,
    by_key: HashMap<String, T>,
}

pub struct ByPolicy<T>(Vec<PerPolicy<T>>);

impl<T> Default for ByPolicy<T> {
    fn default() -> Self {
        ByPolicy(Vec::new())
    }
}

impl<T> ByPolicy<T> {
    /// The entry of `key` (`""`: the policy's one budget) of policy `id`, if any.
    pub fn get(&mut self, id: &str, key: &str) -> Option<&mut T> {
        let policy = self.0.iter_mut().find(|p| p.id == id)?;
        match key {
            "" => policy.keyless.as_mut(),
            key => policy.by_key.get_mut(key),
        }
    }

    /// Every entry, with its policy id and key.
    pub fn entries_mut(&mut self) -> impl Iterator<Item = (&str, &str, &mut T)> {
        self.0.iter_mut().flat_map(|policy| {
            let id = policy.id.as_str();
            let keyless = policy.keyless.iter_mut().map(move |entry| (id, "", entry));
            let keyed = policy
                .by_key
                .iter_mut()
                .map(move |(key, entry)| (id, key.as_str(), entry));
            keyless.chain(keyed)
        })
    }

    /// The entry of `key` of policy `id`, made with `make` when there is none — unless
    /// the policy has `max` keys already and none of them is `forgettable`.
    pub fn get_or_insert(
        &mut self,
        id: &str,
        key: &str,
        max: usize,
        forgettable: impl Fn(&T) -> bool,
        make: impl FnOnce() -> T,
    ) -> Option<&mut T> {
        let index = match self.0.iter().position(|p| p.id == id) {
            Some(index) => index,
            None => {
                self.0.push(PerPolicy {
                    id: id.to_string(),
                    keyless: None,
                    by_key: HashMap::new(),
                });
                self.0.len() - 1
            }
        };
        let policy = &mut self.0[index];
        if key.is_empty() {
            return Some(policy.keyless.get_or_insert_with(make));
        }
        if policy.by_key.len() >= max && !policy.by_key.contains_key(key) {
            policy.by_key.retain(|_, entry| !forgettable(entry));
            if policy.by_key.len() >= max {
                return None;
            }
        }
        Some(policy.by_key.entry(key.to_string()).or_insert_with(make))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_bounded_and_only_forgettable_ones_make_room() {
        let mut map: ByPolicy<u32> = ByPolicy::default();
        assert_eq!(
            map.get_or_insert("p", "a", 2, |v| *v == 0, || 1).copied(),
            Some(1)
        );
        assert_eq!(
            map.get_or_insert("p", "b", 2, |v| *v == 0, || 0).copied(),
            Some(0)
        );
        // Full: "b" holds nothing and makes room for "c".
        assert_eq!(
            map.get_or_insert("p", "c", 2, |v| *v == 0, || 1).copied(),
            Some(1)
        );
        assert!(map.get("p", "b").is_none());
        // Full of entries that hold something: a new key gets none.
        assert!(map.get_or_insert("p", "d", 2, |v| *v == 0, || 1).is_none());
        // The keyless slot and other policies are not counted.
        assert!(map.get_or_insert("p", "", 2, |v| *v == 0, || 5).is_some());
        assert!(map.get_or_insert("q", "d", 2, |v| *v == 0, || 1).is_some());
        assert_eq!(map.get("p", "").copied(), Some(5));
    }
}
