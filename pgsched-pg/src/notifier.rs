//! Wake-ups for listening workers when a schedule call writes a job that is runnable soon.
//!
//! A notifying commit holds a cluster-wide lock until its WAL flush (PostgreSQL keeps the
//! notification queue in commit order that way), so if every enqueue notified, concurrent
//! durable enqueues would commit one at a time. A store therefore notifies only when a job
//! it wrote is due within `soon` (the poll interval: later jobs are found by the workers'
//! promotion timer), and at most once per [`NOTIFY_COALESCE`] window; PostgreSQL folds the
//! identical notifications of one transaction into one. A worker woken by a notification
//! claims again one window later (see the dispatcher), so a job whose enqueue fell inside
//! the window of an earlier notification is not left for the poll.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use pgsched_core::NewJob;
use pgsched_core::store::NOTIFY_COALESCE;

/// Decides when a store's schedule calls notify, shared by its clones.
#[derive(Debug, Clone)]
pub(crate) struct Notifier {
    /// The channel workers of this schema listen on.
    pub(crate) channel: String,
    /// Jobs due within this are runnable soon.
    soon: Duration,
    /// The window start of the last notification, in milliseconds since `epoch` (+1; 0: none).
    last: Arc<AtomicU64>,
    epoch: Instant,
}

impl Notifier {
    pub(crate) fn new(channel: String, soon: Duration) -> Notifier {
        Notifier {
            channel,
            soon,
            last: Arc::new(AtomicU64::new(0)),
            epoch: Instant::now(),
        }
    }

    /// Whether writing `jobs` should wake the workers now: one of them is due soon, and no
    /// notification was sent by this store within the coalescing window. Claims the window
    /// when it answers yes, so concurrent callers do not both notify.
    pub(crate) fn should_wake(&self, jobs: &[NewJob]) -> bool {
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1) + 1;
        self.should_wake_at(jobs, now)
    }

    /// [`Notifier::should_wake`] at `now` (milliseconds since `epoch`, plus one).
    fn should_wake_at(&self, jobs: &[NewJob], now: u64) -> bool {
        let horizon = Utc::now() + self.soon;
        if !jobs
            .iter()
            .any(|job| job.run_at.is_none_or(|at| at <= horizon))
        {
            return false;
        }
        let window = u64::try_from(NOTIFY_COALESCE.as_millis()).unwrap_or(u64::MAX);
        let last = self.last.load(Ordering::Relaxed);
        (last == 0 || now.saturating_sub(last) >= window)
            && self
                .last
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgsched_core::JobOptions;

    fn job(run_at: Option<chrono::DateTime<Utc>>) -> NewJob {
        NewJob {
            run_at,
            ..NewJob::new("some_job", Vec::new(), JobOptions::STANDARD)
        }
    }

    #[test]
    fn only_jobs_due_soon_wake_workers() {
        let notifier = Notifier::new("c".into(), Duration::from_secs(1));
        let tomorrow = Utc::now() + chrono::Duration::days(1);
        assert!(!notifier.should_wake(&[job(Some(tomorrow))]));
        assert!(notifier.should_wake(&[job(Some(tomorrow)), job(None)]));
    }

    #[test]
    fn one_notification_per_window_shared_by_clones() {
        let notifier = Notifier::new("c".into(), Duration::from_secs(1));
        let clone = notifier.clone();
        let window = u64::try_from(NOTIFY_COALESCE.as_millis()).expect("small");
        assert!(notifier.should_wake_at(&[job(None)], 1));
        assert!(!clone.should_wake_at(&[job(None)], 2));
        assert!(!notifier.should_wake_at(&[job(Some(Utc::now()))], window));
        assert!(clone.should_wake_at(&[job(None)], 1 + window));
        assert!(!notifier.should_wake_at(&[job(None)], 2 + window));
    }
}
