//! Graceful shutdown and orphan recovery with a real worker.

use std::time::Duration;

use pgsched::JobStatus;
use pgsched_tests::{eventually, setup, setup_with};

use crate::jobs::{mark, nap, wait_for_cancel};

#[tokio::test]
async fn shutdown_waits_for_running_jobs_within_the_grace_period() {
    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    scheduler.start().await.expect("worker");
    let id = nap::enqueue(nap::Args { millis: 400 })
        .on(scheduler)
        .await
        .expect("scheduled");
    rec.wait_for("start", 1).await;
    let report = scheduler.shutdown().await.expect("shutdown");
    assert_eq!(report.cancelled, 0);
    assert_eq!(rec.values("end"), [400], "the running job finished");
    let job = scheduler
        .job(id.as_str())
        .await
        .expect("inspect")
        .expect("exists");
    assert_eq!(
        job.status,
        JobStatus::Completed,
        "its outcome was written before returning"
    );
}

#[tokio::test]
async fn shutdown_releases_jobs_still_running_after_the_grace_period() {
    let t = setup_with(|b| b.shutdown_grace(Duration::from_millis(200))).await;
    let (db, rec, scheduler) = (&t.db, &t.rec, &t.scheduler);
    scheduler.start().await.expect("worker");
    let id = wait_for_cancel::enqueue(wait_for_cancel::Args {})
        .on(scheduler)
        .await
        .expect("scheduled");
    rec.wait_for("waiting", 1).await;
    let workers = scheduler.workers().await.expect("workers");
    let [worker] = workers.as_slice() else {
        panic!("one worker runs: {workers:?}");
    };
    let report = scheduler.shutdown().await.expect("shutdown");
    assert_eq!(report.cancelled, 1);
    let job = scheduler
        .job(id.as_str())
        .await
        .expect("inspect")
        .expect("exists");
    assert_eq!(job.status, JobStatus::Pending, "released, not left running");
    assert_eq!(job.attempts, 1, "a started attempt counts");
    assert_eq!(
        job.last_error.as_deref(),
        Some(
            format!(
                "shutdown: released by worker {} before completion",
                worker.id
            )
            .as_str()
        ),
        "the release says why the attempt counted"
    );

    // Another worker picks it up at once (no lease to wait out).
    let next = db.scheduler(|b| b.state(rec.clone())).await;
    next.start().await.expect("worker");
    rec.wait_for("waiting", 2).await;
    next.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn jobs_of_a_dead_worker_are_recovered_and_run() {
    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    let store = pgsched::__private::store(scheduler);
    mark::enqueue(mark::Args {
        label: "orphan".into(),
        value: 1,
    })
    .job_id("orphan")
    .on(scheduler)
    .await
    .expect("scheduled");
    // A worker that claims and then vanishes: a 1 s lease nobody renews.
    let claimed = pgsched_core::store::JobStore::claim(
        store,
        "dead-worker",
        &pgsched_core::QueueName::DEFAULT,
        1,
        Duration::from_secs(1),
        &pgsched_core::store::ClaimFloor::FRONT,
    )
    .await
    .expect("claim");
    assert_eq!(claimed.len(), 1);
    scheduler.start().await.expect("worker");
    assert_eq!(rec.wait_for("orphan", 1).await, [1]);
    let job = eventually("completion", || async {
        let job = scheduler.job("orphan").await.expect("inspect")?;
        (job.status == JobStatus::Completed).then_some(job)
    })
    .await;
    assert_eq!(job.attempts, 2);
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn close_stops_the_worker_and_closes_the_connections_it_opened() {
    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    scheduler.start().await.expect("worker");
    mark::enqueue(mark::Args {
        label: "before-close".into(),
        value: 1,
    })
    .on(scheduler)
    .await
    .expect("scheduled");
    rec.wait_for("before-close", 1).await;
    scheduler.close().await.expect("close");
    assert!(!scheduler.is_running().await, "the worker was shut down");
    assert!(scheduler.pool().is_closed(), "its own pool is closed");
    assert!(
        scheduler.job("anything").await.is_err(),
        "a closed scheduler reaches no database"
    );

    // A pool given to the builder belongs to the caller: left open.
    let given = sqlx::PgPool::connect(pgsched_tests::database_url())
        .await
        .expect("connects");
    let borrowing =
        t.db.builder()
            .pool(given.clone())
            .build()
            .await
            .expect("builds");
    borrowing.close().await.expect("close");
    assert!(!given.is_closed(), "the caller's pool stays open");
    given.close().await;
}
