//! Wake-ups for whoever waits on placed steps: when this node applies an assignment to
//! node N, only N's waiters wake (its long poll, or a voter's own loop); when it applies
//! a step's outcome, only that step's driver wakes. Not every waiter on every applied
//! entry — with a thousand workers polling and hundreds of steps in flight that would
//! be hundreds of thousands of wake-ups a second.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// What a waiter waits for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    /// A step assigned to this node.
    AssignedTo(u64),
    /// This step (`run_id/step`) finished or was cancelled.
    Step(String),
}

#[derive(Clone, Default)]
pub struct AssignmentSignals {
    senders: Arc<Mutex<HashMap<Topic, watch::Sender<u64>>>>,
}

impl AssignmentSignals {
    /// A receiver that changes whenever `topic` happens. Subscribe before looking at
    /// the state, so that nothing applied in between is missed.
    pub fn subscribe(&self, topic: Topic) -> watch::Receiver<u64> {
        self.lock()
            .entry(topic)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// `topic` happened. Topics nobody waits for any more are forgotten.
    pub fn signal(&self, topic: &Topic) {
        let mut senders = self.lock();
        if let Some(sender) = senders.get(topic) {
            if sender.receiver_count() == 0 {
                senders.remove(topic);
            } else {
                sender.send_modify(|count| *count += 1);
            }
        }
    }

    /// The state was replaced (a snapshot installed): everyone looks again.
    pub fn everyone(&self) {
        let mut senders = self.lock();
        senders.retain(|_, sender| sender.receiver_count() > 0);
        for sender in senders.values() {
            sender.send_modify(|count| *count += 1);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Topic, watch::Sender<u64>>> {
        self.senders.lock().unwrap_or_else(|e| e.into_inner())
    }
}
