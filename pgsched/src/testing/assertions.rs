//! What is enqueued, typed: [`enqueued`], [`assert_enqueued`], [`assert_not_enqueued`].

use std::fmt::Write;

use pgsched_core::store::JobFilter;
use pgsched_core::{JobArgs, JobInfo, JobStatus, Shown};

use super::TestingError;
use crate::Scheduler;

/// One enqueued job with its arguments decoded.
#[derive(Debug, Clone)]
pub struct EnqueuedJob<A> {
    /// Its arguments, decoded as the worker would decode them.
    pub args: A,
    /// The rest of what is stored: id, priority, due time (`run_at`), attempts, options.
    pub info: JobInfo,
}

/// The jobs of type `A` (a job's generated `Args`, which names the job) waiting to run —
/// pending, whether due now or later —, oldest first, with their arguments decoded.
///
/// ```no_run
/// # use pgsched::job;
/// # #[job] async fn send_email(to: String) {}
/// # async fn demo(scheduler: &pgsched::Scheduler) -> Result<(), pgsched::testing::TestingError> {
/// let waiting = pgsched::testing::enqueued::<send_email::Args>(scheduler).await?;
/// let recipients: Vec<&str> = waiting.iter().map(|job| job.args.to.as_str()).collect();
/// assert_eq!(recipients, ["ada@example.com"]);
/// # Ok(()) }
/// # fn main() {}
/// ```
///
/// # Errors
/// [`TestingError::Undecodable`] for a job of that name stored with arguments that do not
/// decode as `A` (another argument schema), or a store error.
pub async fn enqueued<A: JobArgs>(
    scheduler: &Scheduler,
) -> Result<Vec<EnqueuedJob<A>>, TestingError> {
    let filter = JobFilter::new()
        .status(JobStatus::Pending)
        .name(A::DEFINITION.name)
        .limit(u32::MAX);
    let mut stored = scheduler.list_jobs(&filter).await?;
    // Newest first from the store; a test reads them in the order they were enqueued.
    stored.reverse();
    stored
        .into_iter()
        .map(|info| match A::decode(&info.payload, info.schema_hash) {
            Ok(args) => Ok(EnqueuedJob { args, info }),
            Err(reason) => Err(TestingError::Undecodable {
                id: info.id,
                name: info.name,
                reason: reason.to_string(),
            }),
        })
        .collect()
}

/// Asserts that a job of type `A` whose arguments satisfy `matches` is enqueued (pending), and
/// returns the first such job.
///
/// ```no_run
/// # use pgsched::job;
/// # #[job] async fn send_email(to: String, subject: String) {}
/// # async fn demo(scheduler: &pgsched::Scheduler) {
/// use pgsched::testing::assert_enqueued;
/// let job = assert_enqueued::<send_email::Args>(scheduler, |args| args.to == "ada@example.com").await;
/// assert_eq!(job.args.subject, "Welcome");
/// # }
/// # fn main() {}
/// ```
///
/// # Panics
/// When no enqueued job of type `A` matches (the message lists those that are enqueued, their
/// arguments as JSON), or when they cannot be read or decoded.
pub async fn assert_enqueued<A: JobArgs>(
    scheduler: &Scheduler,
    matches: impl Fn(&A) -> bool,
) -> EnqueuedJob<A> {
    let jobs = read::<A>(scheduler).await;
    let listing = listing(&jobs);
    match jobs.into_iter().find(|job| matches(&job.args)) {
        Some(job) => job,
        None => panic!(
            "expected an enqueued {} job whose arguments match, found none; {listing}",
            Shown(A::DEFINITION.name)
        ),
    }
}

/// Asserts that no job of type `A` whose arguments satisfy `matches` is enqueued (pending);
/// `|_| true` asserts that none of type `A` is.
///
/// # Panics
/// When one is (the message lists those that match), or when they cannot be read or decoded.
pub async fn assert_not_enqueued<A: JobArgs>(scheduler: &Scheduler, matches: impl Fn(&A) -> bool) {
    let jobs = read::<A>(scheduler).await;
    let matching: Vec<EnqueuedJob<A>> = jobs.into_iter().filter(|job| matches(&job.args)).collect();
    assert!(
        matching.is_empty(),
        "expected no enqueued {} job whose arguments match; {}",
        Shown(A::DEFINITION.name),
        listing(&matching)
    );
}

/// [`enqueued`], panicking with the reason when it fails.
async fn read<A: JobArgs>(scheduler: &Scheduler) -> Vec<EnqueuedJob<A>> {
    match enqueued::<A>(scheduler).await {
        Ok(jobs) => jobs,
        Err(error) => panic!(
            "could not read the enqueued {} jobs: {error}",
            Shown(A::DEFINITION.name)
        ),
    }
}

/// `enqueued: N` and one line per job: id, due time, arguments as JSON.
fn listing<A: JobArgs>(jobs: &[EnqueuedJob<A>]) -> String {
    let mut text = format!("enqueued: {}", jobs.len());
    for job in jobs {
        let args = match (A::DEFINITION.args_to_json)(&job.info.payload) {
            Ok(json) => json.to_string(),
            Err(reason) => format!("(no JSON form: {reason})"),
        };
        let _ = write!(
            text,
            "\n  {} due {} args {args}",
            Shown(job.info.id.as_str()),
            job.info.run_at
        );
    }
    text
}
