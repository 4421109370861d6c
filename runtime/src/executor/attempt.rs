//! Calling one op step: `timeout` bounds every attempt, `retry N backoff D` retries a
//! failed attempt up to N more times, waiting D, 2D, 4D… with ±20% jitter so that
//! retries from many runs do not arrive together.

use crate::op::{Args, Op, OpContext, OpError};
use edgeflow_compiler::value::Value;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// The wait before the first retry when no `backoff` is given.
pub const DEFAULT_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

pub struct AttemptPolicy {
    pub retries: u32,
    pub backoff: Duration,
    pub timeout: Option<Duration>,
}

/// The op's value and how many attempts it took, or the last attempt's error.
pub async fn call_with_retries(
    op: Arc<dyn Op>,
    mut context: OpContext,
    args: Args,
    policy: AttemptPolicy,
) -> (Result<Value, OpError>, u32) {
    let span = tracing::info_span!(
        "step",
        run = %context.run_id,
        step = %context.step,
        op = %context.op,
        attempt = tracing::field::Empty,
    );
    let mut attempt = 0;
    loop {
        attempt += 1;
        context.attempt = attempt;
        span.record("attempt", attempt);
        let call = op.call(&context, &args).instrument(span.clone());
        let result = match policy.timeout {
            Some(limit) => match tokio::time::timeout(limit, call).await {
                Ok(result) => result,
                Err(_) => Err(OpError::Failed(format!(
                    "timed out after {}",
                    format_duration(limit)
                ))),
            },
            None => call.await,
        };
        let retryable = !matches!(
            result,
            Err(OpError::NotAvailable { .. }
                | OpError::Unknown { .. }
                | OpError::BadArgument { .. })
        );
        if result.is_ok() || !retryable || attempt > policy.retries {
            return (result, attempt);
        }
        tokio::time::sleep(backoff_delay(policy.backoff, attempt)).await;
    }
}

/// `base × 2^(attempt−1)`, capped, with ±20% jitter.
fn backoff_delay(base: Duration, attempt: u32) -> Duration {
    let exponential = base
        .saturating_mul(1 << (attempt - 1).min(16))
        .min(MAX_BACKOFF);
    exponential.mul_f64(0.8 + fastrand::f64() * 0.4)
}

fn format_duration(duration: Duration) -> String {
    edgeflow_compiler::value::format_duration(duration.as_nanos().min(i64::MAX as u128) as i64)
}

#[cfg(test)]
mod tests {
    use super::backoff_delay;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        let base = Duration::from_millis(100);
        for attempt in 1..=4 {
            let delay = backoff_delay(base, attempt);
            let nominal = base * (1 << (attempt - 1));
            assert!(
                delay >= nominal.mul_f64(0.8) && delay <= nominal.mul_f64(1.2),
                "{delay:?} for {attempt}"
            );
        }
        assert!(backoff_delay(base, 30) <= Duration::from_secs(72));
    }
}
