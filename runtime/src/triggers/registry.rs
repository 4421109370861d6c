//! This subsystem's slice of the replicated state: the tick each schedule last fired
//! (its idempotency key: a tick fires once whoever proposes it, and an older one never
//! fires after a newer one) and the events already seen, by CloudEvents' (`source`,
//! `id`), for the dedup window.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How long a seen event is remembered: a resend within it starts nothing.
pub const DEDUP_WINDOW_MS: u64 = 24 * 3600 * 1000;
/// Events remembered at most; past it the oldest are forgotten first.
pub const DEDUP_EVENTS_MAX: usize = 100_000;

/// A schedule's latest tick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fired {
    pub tick_ms: u64,
    /// The run the latest started tick began.
    pub run_id: Option<String>,
    /// Whether the latest tick was skipped because that run was still running.
    pub skipped: bool,
    /// Ticks skipped so, in all.
    pub skipped_total: u64,
}

/// An event already seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeenEvent {
    pub at_ms: u64,
    pub run_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Triggers {
    /// By trigger id (`DEPLOYMENT/WORKFLOW#INDEX`).
    fired: BTreeMap<String, Fired>,
    /// By `SOURCE\u{0}ID`.
    seen: BTreeMap<String, SeenEvent>,
    /// The same keys by when they were seen, oldest first.
    seen_order: BTreeMap<(u64, String), ()>,
}

/// The key of an event among those seen.
pub fn event_key(source: &str, id: &str) -> String {
    format!("{source}\u{0}{id}")
}

impl Triggers {
    pub fn fired(&self, trigger_id: &str) -> Option<&Fired> {
        self.fired.get(trigger_id)
    }

    /// Whether `tick_ms` is newer than the trigger's latest.
    pub fn is_new_tick(&self, trigger_id: &str, tick_ms: u64) -> bool {
        self.fired
            .get(trigger_id)
            .is_none_or(|fired| tick_ms > fired.tick_ms)
    }

    pub fn record_tick(&mut self, trigger_id: &str, tick_ms: u64, run_id: Option<String>) {
        let previous = self.fired.get(trigger_id);
        let skipped_total = previous.map_or(0, |f| f.skipped_total) + u64::from(run_id.is_none());
        let fired = Fired {
            tick_ms,
            skipped: run_id.is_none(),
            run_id: run_id.or_else(|| previous.and_then(|f| f.run_id.clone())),
            skipped_total,
        };
        self.fired.insert(trigger_id.to_string(), fired);
    }

    /// The runs a resend of an event within the window started the first time.
    pub fn seen(&self, source: &str, id: &str, now_ms: u64) -> Option<&SeenEvent> {
        self.seen
            .get(&event_key(source, id))
            .filter(|seen| now_ms.saturating_sub(seen.at_ms) < DEDUP_WINDOW_MS)
    }

    /// Remembers an event, forgetting those past the window (and the oldest past the cap).
    pub fn record_event(&mut self, source: &str, id: &str, now_ms: u64, run_ids: Vec<String>) {
        while let Some(((at_ms, key), ())) = self.seen_order.first_key_value() {
            let expired = now_ms.saturating_sub(*at_ms) >= DEDUP_WINDOW_MS;
            if !expired && self.seen.len() < DEDUP_EVENTS_MAX {
                break;
            }
            let (at_ms, key) = (*at_ms, key.clone());
            self.seen_order.remove(&(at_ms, key.clone()));
            if self.seen.get(&key).is_some_and(|seen| seen.at_ms == at_ms) {
                self.seen.remove(&key);
            }
        }
        let key = event_key(source, id);
        if let Some(old) = self.seen.insert(
            key.clone(),
            SeenEvent {
                at_ms: now_ms,
                run_ids,
            },
        ) {
            self.seen_order.remove(&(old.at_ms, key.clone()));
        }
        self.seen_order.insert((now_ms, key), ());
    }

    /// Forgets the ticks of triggers no deployment arms any more.
    pub fn retain(&mut self, armed: impl Fn(&str) -> bool) {
        self.fired.retain(|id, _| armed(id));
    }

    pub fn events_remembered(&self) -> usize {
        self.seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tick_fires_once_and_never_after_a_newer_one() {
        let mut triggers = Triggers::default();
        assert!(triggers.is_new_tick("d/w#0", 2000));
        triggers.record_tick("d/w#0", 2000, Some("r1".into()));
        assert!(!triggers.is_new_tick("d/w#0", 2000));
        assert!(!triggers.is_new_tick("d/w#0", 1000));
        triggers.record_tick("d/w#0", 4000, None);
        let fired = triggers.fired("d/w#0").expect("fired");
        assert!(fired.skipped && fired.skipped_total == 1);
        assert_eq!(fired.run_id.as_deref(), Some("r1"), "the run still running");
    }

    #[test]
    fn the_slice_survives_a_snapshot_encoding() {
        let mut triggers = Triggers::default();
        triggers.record_tick("d/w#0", 2000, Some("r1".into()));
        triggers.record_event("s", "1", 5, vec!["r2".into()]);
        let decoded: Triggers =
            crate::encoding::decode(&crate::encoding::encode(&triggers)).expect("decodes");
        assert_eq!(decoded, triggers);
    }

    #[test]
    fn events_are_remembered_for_the_window_and_bounded() {
        let mut triggers = Triggers::default();
        triggers.record_event("s", "1", 0, vec!["r".into()]);
        assert_eq!(
            triggers.seen("s", "1", 10).map(|e| e.run_ids.len()),
            Some(1)
        );
        assert!(triggers.seen("s", "1", DEDUP_WINDOW_MS).is_none());
        assert!(triggers.seen("s", "2", 10).is_none());
        triggers.record_event("s", "2", DEDUP_WINDOW_MS + 1, vec![]);
        assert_eq!(triggers.events_remembered(), 1, "the expired one is gone");
        for n in 0..DEDUP_EVENTS_MAX as u64 + 5 {
            triggers.record_event("bulk", &n.to_string(), DEDUP_WINDOW_MS + 2, vec![]);
        }
        assert_eq!(triggers.events_remembered(), DEDUP_EVENTS_MAX);
    }
}
