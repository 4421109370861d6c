//! The rate-limit algorithms against reference models, over random limits and random
//! request sequences with a controlled clock: GCRA admits exactly what the token bucket
//! does; the bucket never admits more than `burst + rate × interval` over any interval;
//! a `retry_after` is exact (allowed then, not a nanosecond earlier); fixed and sliding
//! windows agree with models that recount the admitted requests from scratch.

use edgeflow_runtime::quotas::algorithm::{Algorithm, Budget, Decision, Limit};
use proptest::prelude::*;

/// A request: how long after the previous one, and how many tokens.
#[derive(Debug, Clone, Copy)]
struct Request {
    after_ns: u64,
    tokens: u64,
}

fn limit() -> impl Strategy<Value = Limit> {
    (1u64..50, 1u64..2_000_000_000, 1u64..60).prop_map(|(count, per_ns, burst)| Limit {
        count,
        per_ns,
        burst,
    })
}

fn requests(limit: Limit) -> impl Strategy<Value = Vec<Request>> {
    let max_gap = limit.per_ns.saturating_mul(2).max(2);
    prop::collection::vec(
        (0..max_gap, 1u64..=limit.burst.max(limit.count) + 1)
            .prop_map(|(after_ns, tokens)| Request { after_ns, tokens }),
        1..120,
    )
}

fn case() -> impl Strategy<Value = (Limit, u64, Vec<Request>)> {
    limit().prop_flat_map(|limit| {
        (
            Just(limit),
            1_700_000_000_000_000_000u64..1_800_000_000_000_000_000,
            requests(limit),
        )
    })
}

/// Runs the requests; returns (time, tokens, decision) for each.
fn run(
    algorithm: Algorithm,
    limit: &Limit,
    start: u64,
    requests: &[Request],
) -> Vec<(u64, u64, Decision)> {
    let mut budget = Budget::new(algorithm, limit, start);
    let mut now = start;
    requests
        .iter()
        .map(|request| {
            now += request.after_ns;
            (now, request.tokens, budget.take(limit, now, request.tokens))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn gcra_admits_exactly_what_the_token_bucket_admits((limit, start, requests) in case()) {
        let bucket = run(Algorithm::TokenBucket, &limit, start, &requests);
        let gcra = run(Algorithm::Gcra, &limit, start, &requests);
        prop_assert_eq!(bucket, gcra);
    }

    #[test]
    fn the_token_bucket_never_admits_more_than_burst_plus_rate_over_any_interval((limit, start, requests) in case()) {
        let admitted: Vec<(u64, u64)> = run(Algorithm::TokenBucket, &limit, start, &requests)
            .into_iter()
            .filter(|(_, _, d)| matches!(d, Decision::Allowed { .. }))
            .map(|(t, n, _)| (t, n))
            .collect();
        for i in 0..admitted.len() {
            let mut sum = 0u128;
            for j in i..admitted.len() {
                sum += u128::from(admitted[j].1);
                let interval = u128::from(admitted[j].0 - admitted[i].0);
                let allowed = u128::from(limit.burst)
                    + interval * u128::from(limit.count) / u128::from(limit.per_ns);
                prop_assert!(sum <= allowed, "{} tokens in {} ns, allowed {}", sum, interval, allowed);
            }
        }
    }

    #[test]
    fn retry_after_is_exact((limit, start, requests) in case(), which in 0..4usize) {
        let algorithm = [Algorithm::TokenBucket, Algorithm::Gcra, Algorithm::FixedWindow, Algorithm::SlidingWindow][which];
        let mut budget = Budget::new(algorithm, &limit, start);
        let mut now = start;
        for request in &requests {
            now += request.after_ns;
            let before = budget.clone();
            match budget.take(&limit, now, request.tokens) {
                Decision::Allowed { .. } => {}
                Decision::Denied { retry_after_ns: None } => {
                    let most = match algorithm {
                        Algorithm::TokenBucket | Algorithm::Gcra => limit.burst,
                        _ => limit.count,
                    };
                    prop_assert!(request.tokens > most);
                }
                Decision::Denied { retry_after_ns: Some(wait) } => {
                    prop_assert!(wait > 0);
                    let mut then = before.clone();
                    prop_assert!(
                        matches!(then.take(&limit, now + wait, request.tokens), Decision::Allowed { .. }),
                        "{:?} not allowed after {} ns", algorithm, wait
                    );
                    let mut earlier = before.clone();
                    prop_assert!(
                        matches!(earlier.take(&limit, now + wait - 1, request.tokens), Decision::Denied { .. }),
                        "{:?} allowed before {} ns", algorithm, wait
                    );
                }
            }
        }
    }

    #[test]
    fn fixed_windows_count_each_epoch_aligned_window((limit, start, requests) in case()) {
        let decisions = run(Algorithm::FixedWindow, &limit, start, &requests);
        let mut admitted: Vec<(u64, u64)> = Vec::new();
        for (now, tokens, decision) in decisions {
            let window = now / limit.per_ns;
            let taken: u64 = admitted.iter().filter(|(t, _)| t / limit.per_ns == window).map(|(_, n)| n).sum();
            let model = taken + tokens <= limit.count;
            prop_assert_eq!(matches!(decision, Decision::Allowed { .. }), model);
            if model {
                admitted.push((now, tokens));
            }
        }
    }

    #[test]
    fn sliding_windows_weigh_the_previous_window_by_its_overlap((limit, start, requests) in case()) {
        let decisions = run(Algorithm::SlidingWindow, &limit, start, &requests);
        let mut admitted: Vec<(u64, u64)> = Vec::new();
        let per = u128::from(limit.per_ns);
        for (now, tokens, decision) in decisions {
            let window = now / limit.per_ns;
            let sum = |w: u64| -> u128 { admitted.iter().filter(|(t, _)| t / limit.per_ns == w).map(|(_, n)| u128::from(*n)).sum() };
            let previous = if window == 0 { 0 } else { sum(window - 1) };
            let current = sum(window);
            let elapsed = u128::from(now - window * limit.per_ns);
            let model = previous * (per - elapsed) + (current + u128::from(tokens)) * per
                <= u128::from(limit.count) * per;
            prop_assert_eq!(matches!(decision, Decision::Allowed { .. }), model);
            if model {
                admitted.push((now, tokens));
            }
        }
    }

    #[test]
    fn tokens_given_back_restore_the_budget_never_beyond_it((limit, start, requests) in case(), which in 0..4usize) {
        let algorithm = [Algorithm::TokenBucket, Algorithm::Gcra, Algorithm::FixedWindow, Algorithm::SlidingWindow][which];
        let mut budget = Budget::new(algorithm, &limit, start);
        let mut now = start;
        for request in &requests {
            now += request.after_ns;
            let before = budget.available(&limit, now);
            if let Decision::Allowed { .. } = budget.take(&limit, now, request.tokens) {
                budget.give_back(&limit, now, now, request.tokens);
                prop_assert_eq!(budget.available(&limit, now), before);
            }
            let most = match algorithm {
                Algorithm::TokenBucket | Algorithm::Gcra => limit.burst,
                _ => limit.count,
            };
            budget.give_back(&limit, now, now, most * 2);
            prop_assert!(budget.available(&limit, now) <= most);
        }
    }
}
