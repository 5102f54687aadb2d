//! Waiting for a job's output (issue 14): a typed handle waits through LISTEN/NOTIFY (from a
//! process that runs no worker too), through polling when LISTEN is off, returns the job's
//! final error when it does not complete, and gives up at its timeout.
//!
//! The notified tests run with a poll interval far past the deadline: a wait that ends in
//! time was woken by its notification, not by a poll.

use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::Utc;
use pgsched::{Error, JobHandle, JobId, JobStatus, MisfireGrace, Scheduler, job};
use pgsched_tests::{DEADLINE, database_url, eventually, setup, setup_with};

use crate::outputs::{Thumbnail, output_resize};

/// Fails for good with its output type declared.
#[job]
async fn wait_fails(reason: String) -> Result<u32, String> {
    Err(reason)
}

/// No poll can rescue a wait within the test's deadline.
const NO_POLL: Duration = Duration::from_secs(600);

/// Waits until the job is marked awaited (its wait has started).
async fn awaited(t: &pgsched_tests::Setup, id: &JobId) {
    let sql = format!("SELECT awaited FROM {}.jobs WHERE id = $1", t.schema());
    eventually(&format!("job {id} to be awaited"), || async {
        let awaited: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
            .bind(id.as_str())
            .fetch_one(t.pool())
            .await
            .expect("read awaited");
        awaited.then_some(())
    })
    .await;
}

fn resize_args(width: u32) -> output_resize::Args {
    output_resize::Args {
        path: "w.png".into(),
        width,
    }
}

#[tokio::test]
async fn a_handle_waits_for_the_typed_output_by_notification() {
    let t = setup_with(|builder| builder.poll_interval(NO_POLL)).await;
    let scheduler = &t.scheduler;
    // Due in a moment, so the wait starts before the job ends.
    let handle = output_resize::schedule(
        Utc::now() + chrono::Duration::milliseconds(300),
        resize_args(32),
    )
    .on(scheduler)
    .handle()
    .await
    .expect("scheduled");
    let waiting = {
        let handle = handle.clone();
        tokio::spawn(async move { handle.wait().await })
    };
    awaited(&t, handle.id()).await;
    scheduler.start().await.expect("worker");
    let thumbnail = tokio::time::timeout(DEADLINE, waiting)
        .await
        .expect("notified before the deadline")
        .expect("task")
        .expect("the output");
    assert_eq!(thumbnail.width, 32);
    // A job that already ended is answered at once; by id, through the generated handle.
    let again: Thumbnail = output_resize::handle(handle.id().clone())
        .on(scheduler)
        .wait_timeout(DEADLINE)
        .await
        .expect("ended already");
    assert_eq!(again, thumbnail);
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_wait_returns_the_final_error_of_a_failed_cancelled_or_expired_job() {
    let t = setup_with(|builder| builder.poll_interval(NO_POLL)).await;
    let scheduler = &t.scheduler;
    // Failed, waited on before it runs.
    let failed = wait_fails::enqueue(wait_fails::Args {
        reason: "no such image".into(),
    })
    .on(scheduler)
    .handle()
    .await
    .expect("scheduled");
    let waiting = {
        let failed = failed.clone();
        tokio::spawn(async move { failed.wait().await })
    };
    awaited(&t, failed.id()).await;
    scheduler.start().await.expect("worker");
    let err = waiting.await.expect("task").expect_err("it failed");
    match err {
        Error::JobFailed { id, error } => {
            assert_eq!(&id, failed.id());
            assert_eq!(error, "error: no such image");
        }
        other => panic!("expected JobFailed, got {other:?}"),
    }

    // Cancelled while waited on.
    let later = output_resize::schedule(Utc::now() + chrono::Duration::hours(1), resize_args(1))
        .on(scheduler)
        .handle()
        .await
        .expect("scheduled");
    let waiting = {
        let later = later.clone();
        tokio::spawn(async move { later.wait().await })
    };
    awaited(&t, later.id()).await;
    assert!(scheduler.cancel_job(later.id()).await.expect("cancel"));
    let err = waiting.await.expect("task").expect_err("cancelled");
    assert!(
        matches!(err, Error::JobCancelled { ref id } if id == later.id()),
        "{err:?}"
    );

    // Expired while waited on: due an hour ago, with a grace of a millisecond.
    let missed = output_resize::schedule(Utc::now() - chrono::Duration::hours(1), resize_args(2))
        .misfire_grace(MisfireGrace::After(Duration::from_millis(1)))
        .on(scheduler)
        .handle()
        .await
        .expect("scheduled");
    let err = tokio::time::timeout(DEADLINE, missed.wait())
        .await
        .expect("the worker's sweep expires it")
        .expect_err("expired");
    match err {
        Error::JobExpired { error, .. } => assert!(error.starts_with("misfire:"), "{error}"),
        other => panic!("expected JobExpired, got {other:?}"),
    }
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn wait_timeout_gives_up_and_the_job_goes_on() {
    let t = setup().await;
    let scheduler = &t.scheduler;
    let handle = output_resize::schedule(Utc::now() + chrono::Duration::hours(1), resize_args(3))
        .on(scheduler)
        .handle()
        .await
        .expect("scheduled");
    let err = handle
        .wait_timeout(Duration::from_millis(200))
        .await
        .expect_err("the job is an hour away");
    match err {
        Error::WaitTimeout { id, waited, status } => {
            assert_eq!(&id, handle.id());
            assert!(waited >= Duration::from_millis(200), "{waited:?}");
            assert_eq!(status, JobStatus::Pending);
        }
        other => panic!("expected WaitTimeout, got {other:?}"),
    }
    let job = scheduler
        .job(handle.id())
        .await
        .expect("inspect")
        .expect("exists");
    assert_eq!(
        job.status,
        JobStatus::Pending,
        "a wait that gave up leaves the job alone"
    );
    let err = JobHandle::<u32>::new(JobId::new("never-written").expect("id"))
        .on(scheduler)
        .wait()
        .await
        .expect_err("no such job");
    assert!(matches!(err, Error::JobNotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn waits_poll_when_listen_is_off() {
    let t = setup_with(|builder| builder.listen(false)).await;
    let scheduler = &t.scheduler;
    scheduler.start().await.expect("worker");
    let handle = output_resize::enqueue(resize_args(5))
        .on(scheduler)
        .handle()
        .await
        .expect("scheduled");
    let thumbnail = tokio::time::timeout(DEADLINE, handle.wait())
        .await
        .expect("found by polling")
        .expect("the output");
    assert_eq!(thumbnail.width, 5);
    let job = scheduler
        .job(handle.id())
        .await
        .expect("inspect")
        .expect("exists");
    assert!(
        !awaited_flag(&t, handle.id()).await,
        "nothing listens, so nothing is marked: {job:?}"
    );
    scheduler.shutdown().await.expect("shutdown");
}

async fn awaited_flag(t: &pgsched_tests::Setup, id: &JobId) -> bool {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT awaited FROM {}.jobs WHERE id = $1",
        t.schema()
    )))
    .bind(id.as_str())
    .fetch_one(t.pool())
    .await
    .expect("read awaited")
}

/// A process that runs no worker waits for a job that a worker process runs: both are
/// `pgsched-testworker` processes (`square(n) -> u64`), the waiter with no poll before the
/// deadline, so its answer came by notification.
#[tokio::test]
async fn a_process_without_a_worker_waits_for_a_job_another_process_runs() {
    const TESTWORKER: &str = env!("CARGO_BIN_EXE_pgsched-testworker");
    let t = setup().await;
    let scheduler: &Scheduler = &t.scheduler;
    // `square` is not linked into this binary: scheduled by name, its payload and hash as
    // the testworker's `#[job]` computes them.
    let payload = postcard::to_allocvec(&7_u64).expect("encodes");
    let spec = pgsched::JobSpec::by_name("square", payload)
        .schema_hash(pgsched::__private::schema_hash("n:u64"))
        .at(Utc::now() + chrono::Duration::seconds(1));
    let id = scheduler
        .schedule(spec, pgsched::ConflictResolution::Raise)
        .await
        .expect("scheduled");
    let spawn = |extra: &str| {
        Command::new(TESTWORKER)
            .env("DATABASE_URL", database_url())
            .env("RUST_LOG", "warn")
            .arg(format!("--schema={}", t.schema()))
            .arg(extra)
            .arg(format!("--poll_ms={}", NO_POLL.as_millis()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn pgsched-testworker")
    };
    let mut waiter = Killed(spawn(&format!("--wait_for={id}")));
    awaited(&t, &id).await;
    let _worker = Killed(spawn("--concurrency=2"));
    let exited = eventually("the waiting process to exit", || {
        let status = waiter.0.try_wait().expect("poll the waiter");
        async move { status }
    })
    .await;
    let mut stdout = String::new();
    std::io::Read::read_to_string(
        &mut waiter.0.stdout.take().expect("piped stdout"),
        &mut stdout,
    )
    .expect("read the waiter's output");
    assert!(exited.success(), "{exited:?}: {stdout}");
    assert_eq!(stdout.trim(), "output: 49");
}

/// A child process, killed and reaped when dropped (a failing test leaves none behind).
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
