//! Retry backoff: exponential, capped, with jitter, so failing jobs neither hammer their
//! dependencies nor retry in lock-step.

use std::time::Duration;

/// The longest delay a retry is scheduled with (365 days): a policy asking for more is
/// clamped to it, so the due time always fits the database's timestamp range.
pub const LONGEST_RETRY_DELAY: Duration = Duration::from_secs(365 * 24 * 3600);

/// How long to wait before retrying a failed attempt.
///
/// The delay before retry *n* (n = 1 after the first failure) is
/// `min(initial · factorⁿ⁻¹, max)`, then moved by a random ±`jitter` fraction.
///
/// Build one with [`RetryPolicy::new`] (the defaults) and the setters, each named after the
/// field it sets:
///
/// ```
/// use std::time::Duration;
/// use pgsched_core::RetryPolicy;
/// let policy = RetryPolicy::new()
///     .initial(Duration::from_secs(1))
///     .factor(3.0)
///     .max(Duration::from_secs(60))
///     .jitter(0.0);
/// assert_eq!(policy.delay(1), Duration::from_secs(1));
/// assert_eq!(policy.delay(2), Duration::from_secs(3));
/// assert_eq!(policy.delay(30), Duration::from_secs(60)); // capped
///
/// let default = RetryPolicy::new().jitter(0.0);
/// assert_eq!(default.delay(1), Duration::from_secs(5));
/// assert_eq!(default.delay(2), Duration::from_secs(10));
/// assert_eq!(default.delay(30), Duration::from_secs(600));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Delay before the first retry. Default 5 s.
    pub initial: Duration,
    /// Growth per retry. Default 2.
    pub factor: f64,
    /// Upper bound of the delay before jitter. Default 10 minutes.
    pub max: Duration,
    /// Random spread as a fraction of the delay (0.2 = ±20 %). Default 0.2.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    /// 5 s, doubling, capped at 10 minutes, ±20 % jitter.
    fn default() -> Self {
        RetryPolicy::new()
    }
}

impl RetryPolicy {
    /// The default policy: 5 s, doubling, capped at 10 minutes, ±20 % jitter.
    #[must_use]
    pub const fn new() -> RetryPolicy {
        RetryPolicy {
            initial: Duration::from_secs(5),
            factor: 2.0,
            max: Duration::from_secs(600),
            jitter: 0.2,
        }
    }

    /// Delay before the first retry.
    #[must_use]
    pub const fn initial(mut self, initial: Duration) -> RetryPolicy {
        self.initial = initial;
        self
    }

    /// Growth per retry (values below 1 count as 1).
    #[must_use]
    pub const fn factor(mut self, factor: f64) -> RetryPolicy {
        self.factor = factor;
        self
    }

    /// Upper bound of the delay before jitter.
    #[must_use]
    pub const fn max(mut self, max: Duration) -> RetryPolicy {
        self.max = max;
        self
    }

    /// Random spread as a fraction of the delay (0.2 = ±20 %; 0 for none).
    #[must_use]
    pub const fn jitter(mut self, jitter: f64) -> RetryPolicy {
        self.jitter = jitter;
        self
    }

    /// The delay before retry number `retry` (1-based), with jitter applied, at most
    /// [`LONGEST_RETRY_DELAY`].
    #[must_use]
    pub fn delay(&self, retry: u32) -> Duration {
        let spread = if self.jitter > 0.0 {
            rand::random_range(-self.jitter..=self.jitter)
        } else {
            0.0
        };
        self.delay_with_spread(retry, spread)
    }

    /// The delay before retry `retry` with a given jitter fraction in `[-jitter, jitter]`.
    #[must_use]
    pub fn delay_with_spread(&self, retry: u32, spread: f64) -> Duration {
        let exponent = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
        let base = self.initial.as_secs_f64() * self.factor.max(1.0).powi(exponent);
        let capped = base.min(self.max.as_secs_f64());
        let jittered = capped * (1.0 + spread.clamp(-self.jitter.abs(), self.jitter.abs()));
        Duration::try_from_secs_f64(jittered.max(0.0))
            .unwrap_or(self.max)
            .min(LONGEST_RETRY_DELAY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_then_caps() {
        let policy = RetryPolicy::new().jitter(0.0);
        let delays: Vec<u64> = (1..=9).map(|n| policy.delay(n).as_secs()).collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 320, 600, 600]);
        assert_eq!(policy.delay(u32::MAX), Duration::from_secs(600));
    }

    #[test]
    fn huge_policies_are_clamped_to_the_longest_delay() {
        let policy = RetryPolicy::new()
            .initial(Duration::from_secs(u64::MAX / 4))
            .max(Duration::MAX)
            .jitter(0.0);
        assert_eq!(policy.delay(1), LONGEST_RETRY_DELAY);
        assert_eq!(policy.delay(40), LONGEST_RETRY_DELAY);
    }

    #[test]
    fn jitter_stays_within_its_band() {
        let policy = RetryPolicy::default();
        for _ in 0..1000 {
            let delay = policy.delay(2).as_secs_f64();
            assert!((8.0..=12.0).contains(&delay), "{delay}");
        }
        assert_eq!(policy.delay_with_spread(1, 0.2), Duration::from_secs(6));
        assert_eq!(
            policy.delay_with_spread(1, 5.0),
            Duration::from_secs(6),
            "spread is clamped"
        );
    }

    #[test]
    fn retry_zero_behaves_like_the_first() {
        let policy = RetryPolicy::new().jitter(0.0);
        assert_eq!(policy.delay(0), policy.delay(1));
    }
}
