//! [`PeriodicClock`]: periodic decisions at instants a test chooses.

use std::time::Duration;

use chrono::{DateTime, Utc};
use pgsched_core::JobId;
use pgsched_core::runtime::{InlineWorker, ScheduleDecision};

use super::TestingError;
use crate::Scheduler;

/// A window a [`PeriodicClock`] enqueued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnqueuedWindow {
    /// The schedule's key (its job's name unless `dedup_key` says otherwise).
    pub key: String,
    /// The window (the fire instant).
    pub window: DateTime<Utc>,
    /// The run's id: `periodic:<key>:<window in Unix ms>`.
    pub id: JobId,
}

/// A clock for periodic jobs: move it forward and the windows it passes are enqueued, as a
/// worker's periodic loop would enqueue them when its clock reads that time.
///
/// [`PeriodicClock::new`] registers this binary's periodic schedules as a starting worker
/// does, and starts at the database's time. Each move runs one periodic tick at the clock's
/// new time through the worker's enqueuer: the schedules' state is read from the database,
/// every window up to the clock's time not enqueued yet is enqueued with the same
/// compare-and-set (so a window is never enqueued twice, and windows missed by more than the
/// job's misfire grace are skipped, as after an outage), and none is enqueued ahead. Then
/// [`super::drain`] runs them.
///
/// Only periodic decisions follow this clock. Due times, misfires and leases follow the
/// database clock, which a test cannot move: a window the clock enqueues after the database's
/// time is due at once (its id still names the window), and `JobContext::run_at` of its run
/// reads the database time it was enqueued at.
///
/// ```no_run
/// # use pgsched::periodic;
/// # #[periodic(every = "15m")] async fn cleanup() {}
/// # async fn demo(scheduler: &pgsched::Scheduler) -> Result<(), pgsched::testing::TestingError> {
/// use pgsched::testing::{PeriodicClock, drain};
/// let mut clock = PeriodicClock::new(scheduler).await?;
/// let next = clock.next_window(cleanup::NAME).await?;
/// let windows = clock.advance_to_next_window(cleanup::NAME).await?;
/// assert_eq!((windows.len(), windows[0].window, clock.now()), (1, next, next));
/// assert_eq!(drain(scheduler).await?.len(), 1);
/// // The same window is never enqueued twice.
/// assert!(clock.advance(std::time::Duration::from_secs(1)).await?.is_empty());
/// # Ok(()) }
/// # fn main() {}
/// ```
#[derive(Debug)]
pub struct PeriodicClock {
    worker: InlineWorker,
    now: DateTime<Utc>,
}

impl PeriodicClock {
    /// Registers this binary's periodic schedules on `scheduler`'s schema (making them the
    /// ones in force, as a starting worker does) and starts at the database's time.
    ///
    /// # Errors
    /// [`crate::Error::EmptyRegistry`] when no job is linked in, or a store error.
    pub async fn new(scheduler: &Scheduler) -> Result<PeriodicClock, TestingError> {
        let worker = scheduler.inline_worker()?;
        worker.register_periodic().await?;
        let now = worker.database_now().await?;
        Ok(PeriodicClock { worker, now })
    }

    /// What the clock reads.
    #[must_use]
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// The next window of a schedule, given by its key or by its job's name: the first one
    /// not enqueued yet, and not before the clock's time.
    ///
    /// # Errors
    /// [`TestingError::UnknownPeriodic`], [`TestingError::NoNextWindow`], or a store error.
    pub async fn next_window(&self, key_or_job: &str) -> Result<DateTime<Utc>, TestingError> {
        let key = self.key(key_or_job)?;
        let first = self.worker.next_window(&key).await?;
        let schedule = self
            .worker
            .registry()
            .periodic_by_key(&key)
            .map(|periodic| &periodic.schedule);
        let next = match (first, schedule) {
            (Some(first), _) if first >= self.now => Some(first),
            // Windows before the clock's time that were not enqueued were skipped: the next
            // one is at or after the clock's time.
            (Some(_), Some(schedule)) => schedule.first_at_or_after(self.now),
            _ => None,
        };
        next.ok_or(TestingError::NoNextWindow { key })
    }

    /// Moves the clock to the next window of a schedule (given by its key or by its job's
    /// name) and enqueues what is due by then: that window, and windows of other schedules
    /// the clock passed. Returns what was enqueued.
    ///
    /// # Errors
    /// As [`PeriodicClock::next_window`] and [`PeriodicClock::advance_to`].
    pub async fn advance_to_next_window(
        &mut self,
        key_or_job: &str,
    ) -> Result<Vec<EnqueuedWindow>, TestingError> {
        let next = self.next_window(key_or_job).await?;
        self.advance_to(next).await
    }

    /// Moves the clock forward by `by` and enqueues what is due by then.
    ///
    /// # Errors
    /// As [`PeriodicClock::advance_to`].
    pub async fn advance(&mut self, by: Duration) -> Result<Vec<EnqueuedWindow>, TestingError> {
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
        let at = self
            .now
            .checked_add_signed(by)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        self.advance_to(at).await
    }

    /// Moves the clock to `at` and runs one periodic tick there: every window up to `at` not
    /// enqueued yet is enqueued (see [`PeriodicClock`]). Returns what was enqueued, in
    /// schedule-key order.
    ///
    /// # Errors
    /// [`TestingError::ClockBackwards`] when `at` is before [`PeriodicClock::now`], or
    /// [`TestingError::Tick`] when the tick could not read or write the schedules.
    pub async fn advance_to(
        &mut self,
        at: DateTime<Utc>,
    ) -> Result<Vec<EnqueuedWindow>, TestingError> {
        if at < self.now {
            return Err(TestingError::ClockBackwards {
                now: self.now,
                asked: at,
            });
        }
        self.now = at;
        let tick = self.worker.periodic_tick_at(at).await;
        if let Some(error) = tick.error {
            return Err(TestingError::Tick(error));
        }
        let mut windows = Vec::new();
        for schedule in tick.schedules {
            if let ScheduleDecision::Evaluated {
                enqueued, error, ..
            } = schedule.decision
            {
                if let Some(error) = error {
                    return Err(TestingError::Tick(error));
                }
                // The tick reports the registry's own schedules, so the key is always found.
                let Some(periodic) = self.worker.registry().periodic_by_key(&schedule.key) else {
                    continue;
                };
                for window in enqueued {
                    windows.push(EnqueuedWindow {
                        key: schedule.key.clone(),
                        window,
                        id: JobId::from_stored(periodic.job_id(window)),
                    });
                }
            }
        }
        Ok(windows)
    }

    /// The key of the schedule with this key, else of the schedule of the job of this name.
    fn key(&self, key_or_job: &str) -> Result<String, TestingError> {
        let registry = self.worker.registry();
        registry
            .periodic_by_key(key_or_job)
            .or_else(|| registry.periodic_by_job(key_or_job))
            .map(|periodic| periodic.key.clone())
            .ok_or_else(|| TestingError::UnknownPeriodic {
                asked: key_or_job.to_owned(),
                known: registry
                    .periodic()
                    .iter()
                    .map(|periodic| periodic.key.clone())
                    .collect(),
            })
    }
}
