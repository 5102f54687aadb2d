//! Failure isolation: retries, panics, timeouts, bad payloads, unknown jobs, misfires,
//! cancellation of a running attempt. Each fails (or stops) alone; the worker keeps going.
//! (Payloads of an unknown argument schema: `evolution.rs`.)

use std::time::Duration;

use chrono::Utc;
use pgsched::{ConflictResolution, JobInfo, JobStatus, Scheduler};
use pgsched_tests::{Recorder, eventually, setup, setup_with};

use crate::jobs::{add, explode, flaky, hang, mark, refuse, wait_for_cancel};

async fn settled(scheduler: &Scheduler, id: &str, status: JobStatus) -> JobInfo {
    eventually(&format!("job {id} to be {status}"), || async {
        let job = scheduler.job(id).await.expect("inspect")?;
        (job.status == status).then_some(job)
    })
    .await
}

async fn proof_of_life(scheduler: &Scheduler, rec: &Recorder) {
    mark::enqueue(mark::Args {
        label: "alive".into(),
        value: 1,
    })
    .on(scheduler)
    .await
    .expect("scheduled");
    rec.wait_for("alive", 1).await;
}

#[tokio::test]
async fn failing_jobs_retry_with_backoff_then_fail_with_their_error() {
    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    scheduler.start().await.expect("worker");
    let id = flaky::enqueue(flaky::Args {})
        .on(scheduler)
        .await
        .expect("scheduled");
    let job = settled(scheduler, id.as_str(), JobStatus::Failed).await;
    assert_eq!(
        rec.values("attempt"),
        [1, 2, 3, 4],
        "1 attempt + max_retries (3) retries"
    );
    assert_eq!(job.attempts, 4);
    assert_eq!(job.last_error.as_deref(), Some("error: boom #4"));
    let retried_once = flaky::enqueue(flaky::Args {})
        .max_retries(1)
        .on(scheduler)
        .await
        .expect("scheduled");
    let job = settled(scheduler, retried_once.as_str(), JobStatus::Failed).await;
    assert_eq!(
        job.attempts, 2,
        "the builder overrides the attribute's max_retries"
    );
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_fatal_error_fails_the_job_at_once_without_retries() {
    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    scheduler.start().await.expect("worker");
    let id = refuse::enqueue(refuse::Args {})
        .on(scheduler)
        .await
        .expect("scheduled");
    let job = settled(scheduler, id.as_str(), JobStatus::Failed).await;
    assert_eq!(job.attempts, 1, "no retry after a fatal error");
    assert_eq!(job.max_retries, 3, "although retries were allowed");
    assert_eq!(
        job.last_error.as_deref(),
        Some("fatal: no point retrying #1")
    );
    // Had it been retried, a second attempt would show up here.
    proof_of_life(scheduler, rec).await;
    assert_eq!(rec.values("fatal_attempt"), [1]);
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_panicking_job_fails_alone() {
    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    scheduler.start().await.expect("worker");
    let id = explode::enqueue(explode::Args {})
        .on(scheduler)
        .await
        .expect("scheduled");
    let job = settled(scheduler, id.as_str(), JobStatus::Failed).await;
    assert_eq!(
        job.last_error.as_deref(),
        Some("panic: job panicked: kaboom")
    );
    proof_of_life(scheduler, rec).await;
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_job_past_its_timeout_is_cancelled_and_fails_with_timeout() {
    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    scheduler.start().await.expect("worker");
    let id = hang::enqueue(hang::Args {})
        .on(scheduler)
        .await
        .expect("scheduled");
    let job = settled(scheduler, id.as_str(), JobStatus::Failed).await;
    assert_eq!(
        job.last_error.as_deref(),
        Some("timeout: attempt cancelled after 300ms")
    );
    let shorter = hang::enqueue(hang::Args {})
        .timeout(Duration::from_millis(50))
        .on(scheduler)
        .await
        .expect("scheduled");
    let job = settled(scheduler, shorter.as_str(), JobStatus::Failed).await;
    assert_eq!(
        job.last_error.as_deref(),
        Some("timeout: attempt cancelled after 50ms")
    );
    assert!(rec.values("woke").is_empty());
    proof_of_life(scheduler, rec).await;
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn an_undecodable_payload_fails_with_a_decode_error() {
    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    scheduler.start().await.expect("worker");
    let id = scheduler
        .schedule_by_name(add::NAME, vec![0xff, 0xff, 0xff], ConflictResolution::Raise)
        .await
        .expect("scheduled");
    let job = settled(scheduler, id.as_str(), JobStatus::Failed).await;
    let error = job.last_error.unwrap_or_default();
    assert!(
        error.starts_with("decode: could not decode the arguments"),
        "{error}"
    );
    proof_of_life(scheduler, rec).await;
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn an_unknown_job_is_retried_then_failed_with_its_name() {
    let t = setup_with(|b| b.unknown_job_attempts(3)).await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    scheduler.start().await.expect("worker");
    let id = scheduler
        .schedule_by_name("no_such_job", vec![], ConflictResolution::Raise)
        .await
        .expect("scheduled");
    let job = settled(scheduler, id.as_str(), JobStatus::Failed).await;
    assert_eq!(job.attempts, 3, "kept alive for a worker that knows it");
    assert_eq!(
        job.last_error.as_deref(),
        Some("unknown_job: no job named \"no_such_job\" is registered in this worker")
    );
    proof_of_life(scheduler, rec).await;
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_job_missing_its_state_fails_with_the_type_it_needs() {
    let t = setup().await;
    // Not the bundle's scheduler: that one gives jobs the recorder this test withholds.
    let scheduler = &t.db.scheduler(|b| b).await;
    scheduler.start().await.expect("worker");
    let id = add::enqueue(add::Args { a: 1, b: 2 })
        .on(scheduler)
        .await
        .expect("scheduled");
    let job = settled(scheduler, id.as_str(), JobStatus::Failed).await;
    let error = job.last_error.unwrap_or_default();
    assert!(
        error.starts_with("missing_state: the job needs State<pgsched_tests::Recorder>"),
        "{error}"
    );
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn jobs_past_their_misfire_grace_expire_and_never_run() {
    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    let long_ago = Utc::now() - chrono::Duration::seconds(30);
    let late = mark::schedule(
        long_ago,
        mark::Args {
            label: "late".into(),
            value: 1,
        },
    )
    .misfire_grace(Some(Duration::from_secs(5)))
    .on(scheduler)
    .await
    .expect("scheduled");
    let default_grace = mark::schedule(
        Utc::now() - chrono::Duration::seconds(400),
        mark::Args {
            label: "late".into(),
            value: 2,
        },
    )
    .on(scheduler)
    .await
    .expect("scheduled");
    let patient = mark::schedule(
        long_ago,
        mark::Args {
            label: "patient".into(),
            value: 1,
        },
    )
    .misfire_grace(None)
    .on(scheduler)
    .await
    .expect("scheduled");
    mark::schedule(
        long_ago,
        mark::Args {
            label: "within".into(),
            value: 1,
        },
    )
    .misfire_grace(Some(Duration::from_secs(3600)))
    .on(scheduler)
    .await
    .expect("scheduled");
    scheduler.start().await.expect("worker");
    rec.wait_for("patient", 1).await;
    rec.wait_for("within", 1).await;
    for id in [late, default_grace] {
        let job = settled(scheduler, id.as_str(), JobStatus::Expired).await;
        assert!(job.last_error.unwrap_or_default().starts_with("misfire: "));
        assert_eq!(job.attempts, 0);
    }
    assert!(rec.values("late").is_empty());
    let patient = scheduler
        .job(patient.as_str())
        .await
        .expect("inspect")
        .expect("exists");
    assert_eq!(patient.misfire_grace, None);
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn cancelling_a_running_job_stops_its_attempt() {
    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    scheduler.start().await.expect("worker");
    let id = wait_for_cancel::enqueue(wait_for_cancel::Args {})
        .on(scheduler)
        .await
        .expect("scheduled");
    rec.wait_for("waiting", 1).await;
    assert!(scheduler.cancel_job(id.as_str()).await.expect("cancel"));
    rec.wait_for("cancelled", 1).await;
    let job = scheduler
        .job(id.as_str())
        .await
        .expect("inspect")
        .expect("exists");
    assert_eq!(
        job.status,
        JobStatus::Cancelled,
        "the stopped attempt wrote nothing over it"
    );
    proof_of_life(scheduler, rec).await;
    scheduler.shutdown().await.expect("shutdown");
}
