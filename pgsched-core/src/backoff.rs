//! Capped exponential backoff for the loops that retry an operation while the database is
//! away: the claim loop, the outcome writer and the LISTEN reconnection. One definition, so
//! the three back off the same way (start small, double, stop growing at a cap).

use std::time::Duration;

/// The delays between attempts of a retried operation: `min`, then doubling, never more than
/// `max`. [`Backoff::reset`] starts again from `min` after a success.
///
/// ```
/// use std::time::Duration;
/// use pgsched_core::backoff::Backoff;
/// let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(300));
/// assert_eq!(backoff.next_delay(), Duration::from_millis(100));
/// assert_eq!(backoff.next_delay(), Duration::from_millis(200));
/// assert_eq!(backoff.next_delay(), Duration::from_millis(300));
/// ```
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Backoff starting at `min`, capped at `max` (a `max` below `min` caps at `min`).
    #[must_use]
    pub fn new(min: Duration, max: Duration) -> Backoff {
        Backoff {
            min,
            max: max.max(min),
            next: min,
        }
    }

    /// The delay to wait before the next attempt; the one after it is twice as long, up to
    /// the cap.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        delay
    }

    /// Starts again from the shortest delay (after a success).
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn doubles_up_to_the_cap_and_stays_there() {
        let mut backoff = Backoff::new(50 * MS, 5000 * MS);
        let delays: Vec<u128> = (0..10).map(|_| backoff.next_delay().as_millis()).collect();
        assert_eq!(
            delays,
            [50, 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]
        );
    }

    #[test]
    fn reset_starts_again_from_the_shortest_delay() {
        let mut backoff = Backoff::new(100 * MS, 5000 * MS);
        backoff.next_delay();
        backoff.next_delay();
        backoff.reset();
        assert_eq!(backoff.next_delay(), 100 * MS);
        assert_eq!(backoff.next_delay(), 200 * MS);
    }

    #[test]
    fn never_overflows_and_a_low_cap_is_the_floor() {
        let mut huge = Backoff::new(Duration::from_secs(u64::MAX / 2 + 1), Duration::MAX);
        huge.next_delay();
        assert_eq!(huge.next_delay(), Duration::MAX);
        assert_eq!(huge.next_delay(), Duration::MAX);
        let mut inverted = Backoff::new(100 * MS, 10 * MS);
        assert_eq!(inverted.next_delay(), 100 * MS);
        assert_eq!(inverted.next_delay(), 100 * MS);
    }
}
