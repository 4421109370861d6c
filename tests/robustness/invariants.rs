//! The checks beyond linearizability, each over the whole history or the nodes' final
//! state: one Raft leader per term; one holder per lease fencing term, and terms that
//! never go back in real time; `global_order` numbers handed out once each, in
//! contiguous runs, without gaps other than those indeterminate calls may have taken,
//! and the same last number on every node; proposals at distinct log indexes; a key's
//! versions never repeated.

use crate::history::{Answer, Entry, Op, Outcome};
use crate::register::{KvOp, KvRet};
use crate::workload::LeadersByTerm;
use std::collections::{BTreeMap, BTreeSet};

/// Terms in which more than one node said it led.
pub fn split_brain(leaders: &LeadersByTerm) -> Vec<String> {
    leaders
        .iter()
        .filter(|(_, nodes)| nodes.len() > 1)
        .map(|(term, nodes)| format!("Raft term {term} had leaders {nodes:?}"))
        .collect()
}

/// A lease observation: the group, its fencing term and holder, when it was asked and
/// answered.
struct LeaseSeen<'a> {
    group: &'a str,
    term: u64,
    holder: Option<&'a str>,
    invoked_us: u64,
    returned_us: u64,
}

fn lease_observations(entries: &[Entry]) -> Vec<LeaseSeen<'_>> {
    entries
        .iter()
        .filter_map(|entry| {
            let (group, term, holder) = match (&entry.op, &entry.outcome) {
                (
                    Op::Campaign { group, .. },
                    Outcome::Ok(Answer::Leadership { holder, term, .. }),
                )
                | (Op::Leader { group }, Outcome::Ok(Answer::Leader { holder, term })) => {
                    (group.as_str(), *term, holder.as_deref())
                }
                _ => return None,
            };
            Some(LeaseSeen {
                group,
                term,
                holder,
                invoked_us: entry.invoked_us,
                returned_us: entry.returned_us,
            })
        })
        .collect()
}

/// Two holders in one fencing term, or a term older than one already seen to have
/// completed before the asking started.
pub fn lease_violations(entries: &[Entry]) -> Vec<String> {
    let seen = lease_observations(entries);
    let mut problems = Vec::new();
    let mut holders: BTreeMap<(&str, u64), BTreeSet<&str>> = BTreeMap::new();
    for observation in &seen {
        if let Some(holder) = observation.holder {
            holders
                .entry((observation.group, observation.term))
                .or_default()
                .insert(holder);
        }
    }
    for ((group, term), names) in &holders {
        if names.len() > 1 {
            problems.push(format!(
                "lease {group}: fencing term {term} had holders {names:?}"
            ));
        }
    }
    // Real time: the highest term answered before each observation was asked for.
    let mut by_return: Vec<&LeaseSeen> = seen.iter().collect();
    by_return.sort_by_key(|o| o.returned_us);
    let mut by_invoke: Vec<&LeaseSeen> = seen.iter().collect();
    by_invoke.sort_by_key(|o| o.invoked_us);
    let mut highest: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut next = 0;
    for observation in by_invoke {
        while next < by_return.len() && by_return[next].returned_us < observation.invoked_us {
            let done = by_return[next];
            let best = highest.entry(done.group).or_insert((0, 0));
            if done.term > best.0 {
                *best = (done.term, done.returned_us);
            }
            next += 1;
        }
        if let Some((term, at)) = highest.get(observation.group) {
            if observation.term < *term {
                problems.push(format!(
                    "lease {}: term {} answered at {} µs after term {term} was answered at {at} µs",
                    observation.group, observation.term, observation.returned_us
                ));
            }
        }
    }
    problems
}

/// `global_order` against the last number every node holds.
pub fn order_violations(entries: &[Entry], last_sequences: &BTreeMap<u64, u64>) -> Vec<String> {
    let mut problems = Vec::new();
    let distinct: BTreeSet<u64> = last_sequences.values().copied().collect();
    if distinct.len() > 1 {
        problems.push(format!(
            "global_order: the nodes end at different numbers {last_sequences:?}"
        ));
    }
    let last = distinct.into_iter().next().unwrap_or(0);
    let mut handed_out = BTreeSet::new();
    let mut maybe_taken = 0;
    for entry in entries {
        let Op::Order { events, .. } = &entry.op else {
            continue;
        };
        match &entry.outcome {
            Outcome::Ok(Answer::Order(numbers)) => {
                let contiguous = numbers.windows(2).all(|w| w[1] == w[0] + 1);
                if numbers.len() != *events || !contiguous {
                    problems.push(format!(
                        "global_order of {events} events answered {numbers:?}"
                    ));
                }
                for number in numbers {
                    if !handed_out.insert(*number) {
                        problems.push(format!("global_order handed out {number} twice"));
                    }
                    if *number > last {
                        problems.push(format!(
                            "global_order handed out {number} past the last, {last}"
                        ));
                    }
                }
            }
            Outcome::Indeterminate(_) => maybe_taken += *events as u64,
            _ => {}
        }
    }
    let missing = last.saturating_sub(handed_out.len() as u64);
    if missing > maybe_taken {
        problems.push(format!(
            "global_order: {missing} numbers up to {last} went to nobody, but only {maybe_taken} \
             could have gone to calls whose answer was lost"
        ));
    }
    problems
}

/// Proposals acknowledged at the same log index.
pub fn proposal_violations(entries: &[Entry]) -> Vec<String> {
    let mut indexes = BTreeMap::new();
    let mut problems = Vec::new();
    for entry in entries {
        if let (Op::Propose { value, .. }, Outcome::Ok(Answer::Proposed { index })) =
            (&entry.op, &entry.outcome)
        {
            if let Some(other) = indexes.insert(*index, value) {
                problems.push(format!(
                    "proposals {other} and {value} both at log index {index}"
                ));
            }
        }
    }
    problems
}

/// Acknowledged writes of one key at the same version.
pub fn repeated_versions(entries: &[Entry]) -> Vec<String> {
    let mut versions: BTreeMap<(&str, u64), &str> = BTreeMap::new();
    let mut problems = Vec::new();
    for entry in entries {
        let (Op::Kv { key, op }, Outcome::Ok(Answer::Kv(KvRet::Written(version)))) =
            (&entry.op, &entry.outcome)
        else {
            continue;
        };
        let value = match op {
            KvOp::Write(value) | KvOp::CompareAndSet { value, .. } => value.as_str(),
            _ => continue,
        };
        if let Some(other) = versions.insert((key, *version), value) {
            problems.push(format!(
                "key {key}: {other} and {value} both written at version {version}"
            ));
        }
    }
    problems
}
