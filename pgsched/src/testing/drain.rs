//! [`drain`]: run every due job now, on the test's task, through the worker's own path.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use pgsched_core::runtime::InlineRun;

use super::TestingError;
use crate::Scheduler;

/// Most attempts one drain runs unless told otherwise ([`Drain::limit`]): a job that enqueues
/// itself again would otherwise drain forever.
pub const DRAIN_LIMIT_DEFAULT: usize = 10_000;

/// Runs every job that is due now, one after another on the calling task, until none is due;
/// returns each attempt in the order they ran (id, name, attempt, status, error). Await it, or
/// set a [`limit`](Drain::limit) first.
///
/// It takes the path a started worker takes, through the store: it makes due the scheduled
/// jobs whose time came, claims the most urgent due job with a lease, runs it as the worker's
/// executor does (schema check, decoding, `State<T>` from the scheduler's builder, timeout,
/// panics caught) and writes its outcome fenced by the lease, so a failure is retried or
/// failed by the job's `max_retries` and the scheduler's retry policy. Jobs the drained jobs
/// enqueue run in the same drain when they are due. No [`Scheduler::start`] is needed, and
/// none should run on the same schema meanwhile (it would take some of the jobs).
///
/// ```no_run
/// # async fn demo(scheduler: &pgsched::Scheduler) -> Result<(), pgsched::testing::TestingError> {
/// use pgsched::JobStatus;
/// let runs = pgsched::testing::drain(scheduler).await?;
/// for run in &runs {
///     assert_eq!(run.status, Some(JobStatus::Completed), "{} failed: {:?}", run.name, run.error);
/// }
/// # Ok(()) }
/// ```
#[must_use = "a drain does nothing until awaited"]
pub fn drain(scheduler: &Scheduler) -> Drain<'_> {
    Drain {
        scheduler,
        limit: DRAIN_LIMIT_DEFAULT,
    }
}

/// A drain to run: await it (see [`drain`]).
#[derive(Debug)]
#[must_use = "a drain does nothing until awaited"]
pub struct Drain<'a> {
    scheduler: &'a Scheduler,
    limit: usize,
}

impl Drain<'_> {
    /// Stops after this many attempts, due jobs left or not. Default
    /// [`DRAIN_LIMIT_DEFAULT`].
    pub fn limit(mut self, attempts: usize) -> Self {
        self.limit = attempts;
        self
    }

    async fn run(self) -> Result<Vec<InlineRun>, TestingError> {
        let worker = self.scheduler.inline_worker()?;
        Ok(worker.drain(self.limit).await?)
    }
}

impl<'a> IntoFuture for Drain<'a> {
    type Output = Result<Vec<InlineRun>, TestingError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}
