//! What `pgsched::testing` does beyond the happy path, on jobs this test file defines itself
//! (a test binary may define jobs of its own): retries and panics as a worker handles them,
//! jobs enqueued by drained jobs, the limit, and a periodic clock that jumps ahead.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use pgsched::testing::{PeriodicClock, TestDb, TestingError, assert_enqueued, drain, enqueued};
use pgsched::{
    ArgsSchema, ConflictResolution, JobContext, JobSpec, JobStatus, RetryPolicy, Scheduler, State,
    job, periodic,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Fails every attempt, saying which.
#[job(max_retries = 2)]
async fn always_fails(ctx: JobContext) -> Result<(), String> {
    Err(format!("attempt {} failed", ctx.attempt()))
}

/// Panics.
#[job]
async fn panics() {
    panic!("the job panicked");
}

/// The scheduler jobs enqueue on, set once the test built it.
#[derive(Debug, Clone, Default)]
struct Enqueuer(Arc<OnceLock<Scheduler>>);

/// Enqueues `count` leaves.
#[job]
async fn fan_out(count: u32, enqueuer: State<Enqueuer>) -> Result<(), pgsched::Error> {
    let Some(scheduler) = enqueuer.0.get() else {
        return Err(pgsched::Error::EmptyRegistry);
    };
    for index in 0..count {
        leaf::enqueue(leaf::Args { index }).on(scheduler).await?;
    }
    Ok(())
}

/// Does nothing, as one of many.
#[job]
async fn leaf(index: u32) {
    let _ = index;
}

/// `greet` as it was: one name.
#[pgsched::args]
struct GreetV1 {
    name: String,
}

fn from_v1(old: GreetV1) -> greet::Args {
    greet::Args {
        names: vec![old.name],
    }
}

/// Greets everyone (it took one name before).
#[job(upgrade = from_v1)]
async fn greet(names: Vec<String>) {
    let _ = names;
}

/// Every day at 06:00 UTC.
#[periodic(cron = "0 6 * * *")]
async fn morning_sync() {}

#[tokio::test]
async fn a_retry_due_at_once_runs_in_the_same_drain_until_the_job_fails() -> TestResult {
    let db =
        TestDb::with(|builder| builder.retry_policy(RetryPolicy::new().initial(Duration::ZERO)))
            .await?;
    always_fails::enqueue(always_fails::Args {})
        .on(db.scheduler())
        .await?;

    let runs = drain(db.scheduler()).await?;
    let seen: Vec<(u32, Option<JobStatus>)> =
        runs.iter().map(|run| (run.attempt, run.status)).collect();
    assert_eq!(
        seen,
        [
            (1, Some(JobStatus::Pending)),
            (2, Some(JobStatus::Pending)),
            (3, Some(JobStatus::Failed)),
        ],
        "{runs:?}"
    );
    assert_eq!(runs[2].error.as_deref(), Some("error: attempt 3 failed"));
    Ok(())
}

#[tokio::test]
async fn a_retry_waits_for_its_delay_and_stays_enqueued() -> TestResult {
    let db = TestDb::new().await?;
    always_fails::enqueue(always_fails::Args {})
        .on(db.scheduler())
        .await?;

    let runs = drain(db.scheduler()).await?;
    assert_eq!(
        runs.len(),
        1,
        "the retry is due after the default 5 s: {runs:?}"
    );
    assert_eq!(runs[0].status, Some(JobStatus::Pending));
    let waiting = assert_enqueued::<always_fails::Args>(db.scheduler(), |_| true).await;
    assert_eq!(waiting.info.attempts, 1);
    assert!(waiting.info.run_at > pgsched::chrono::Utc::now());
    Ok(())
}

#[tokio::test]
async fn a_panic_fails_the_job_not_the_test() -> TestResult {
    let db = TestDb::new().await?;
    panics::enqueue(panics::Args {}).on(db.scheduler()).await?;

    let runs = drain(db.scheduler()).await?;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].status, Some(JobStatus::Failed));
    assert_eq!(
        runs[0].error.as_deref(),
        Some("panic: job panicked: the job panicked")
    );
    Ok(())
}

#[tokio::test]
async fn jobs_enqueued_by_drained_jobs_run_in_the_same_drain_up_to_the_limit() -> TestResult {
    let enqueuer = Enqueuer::default();
    let db = TestDb::with(|builder| builder.state(enqueuer.clone())).await?;
    let _ = enqueuer.0.set(db.scheduler().clone());
    fan_out::enqueue(fan_out::Args { count: 3 })
        .on(db.scheduler())
        .await?;

    let runs = drain(db.scheduler()).limit(2).await?;
    let names: Vec<&str> = runs.iter().map(|run| run.name.as_str()).collect();
    assert_eq!(names, [fan_out::NAME, leaf::NAME], "{runs:?}");
    let rest = drain(db.scheduler()).await?;
    assert_eq!(rest.len(), 2, "{rest:?}");
    assert!(
        rest.iter()
            .all(|run| run.status == Some(JobStatus::Completed))
    );
    Ok(())
}

#[tokio::test]
async fn a_clock_that_jumps_days_ahead_runs_only_the_latest_window_as_after_an_outage() -> TestResult
{
    let db = TestDb::new().await?;
    let mut clock = PeriodicClock::new(db.scheduler()).await?;
    let next = clock.next_window(morning_sync::NAME).await?;

    // Three days after the next 06:00: the windows before it are older than the misfire
    // grace (300 s), so they are skipped, as when every worker was down for three days.
    let windows = clock
        .advance_to(next + pgsched::chrono::Duration::days(3))
        .await?;
    let ours: Vec<_> = windows
        .iter()
        .filter(|window| window.key == morning_sync::NAME)
        .collect();
    assert_eq!(ours.len(), 1, "{windows:?}");
    assert_eq!(ours[0].window, next + pgsched::chrono::Duration::days(3));
    let runs = drain(db.scheduler()).await?;
    assert!(
        runs.iter()
            .any(|run| run.id == ours[0].id && run.status == Some(JobStatus::Completed)),
        "{runs:?}"
    );

    let back = clock.advance_to(next).await;
    assert!(
        matches!(back, Err(TestingError::ClockBackwards { .. })),
        "{back:?}"
    );
    let unknown = clock.next_window("no_such_schedule").await;
    assert!(
        matches!(&unknown, Err(TestingError::UnknownPeriodic { known, .. }) if known.iter().any(|key| key == morning_sync::NAME)),
        "{unknown:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_payload_of_an_earlier_version_is_listed_and_run_through_its_upgrade() -> TestResult {
    let db = TestDb::new().await?;
    // What a replica still running the earlier version enqueues.
    let old = postcard::to_allocvec(&GreetV1 {
        name: "Ada".to_owned(),
    })?;
    let spec = JobSpec::by_name(greet::NAME, old).schema_hash(GreetV1::SCHEMA_HASH);
    db.scheduler()
        .schedule(spec, ConflictResolution::Raise)
        .await?;

    let job = assert_enqueued::<greet::Args>(db.scheduler(), |args| args.names == ["Ada"]).await;
    assert_eq!(job.info.schema_hash, Some(GreetV1::SCHEMA_HASH));
    let runs = drain(db.scheduler()).await?;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].status, Some(JobStatus::Completed), "{runs:?}");

    // A schema the job knows nothing of cannot be listed as its arguments.
    let unknown = JobSpec::by_name(greet::NAME, vec![0]).schema_hash(7);
    db.scheduler()
        .schedule(unknown, ConflictResolution::Raise)
        .await?;
    let listed = enqueued::<greet::Args>(db.scheduler()).await;
    assert!(
        matches!(&listed, Err(TestingError::Undecodable { reason, .. }) if reason.contains("greet")),
        "{:?}",
        listed.as_ref().map(Vec::len)
    );
    Ok(())
}
