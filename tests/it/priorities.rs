//! Priorities: the seed's "priorities" scenarios.

use chrono::Utc;
use pgsched::{ConflictResolution, JobStatus, Priority};
use pgsched_tests::{eventually, setup, setup_with};

use crate::jobs::{flaky, mark};

#[tokio::test]
async fn due_jobs_run_most_urgent_first() {
    let t = setup_with(|b| b.max_concurrent_jobs(1).batch_claim_limit(1)).await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    let at = Utc::now();
    // Scheduled least urgent first, so insertion order cannot explain the result.
    for (value, priority) in [
        (8, Priority::Low),
        (5, Priority::Normal),
        (3, Priority::High),
        (1, Priority::Critical),
    ] {
        mark::schedule(
            at,
            mark::Args {
                label: "p".into(),
                value,
            },
        )
        .priority(priority)
        .on(scheduler)
        .await
        .expect("scheduled");
    }
    let high = mark::schedule(
        at + chrono::Duration::hours(1),
        mark::Args {
            label: "later".into(),
            value: 0,
        },
    )
    .priority(Priority::High)
    .on(scheduler)
    .await
    .expect("scheduled");
    let stored = scheduler
        .job(high.as_str())
        .await
        .expect("inspect")
        .expect("exists");
    assert_eq!(stored.priority.db_value(), 3);
    scheduler.start().await.expect("worker");
    assert_eq!(rec.wait_for("p", 4).await, [1, 3, 5, 8]);
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn due_time_gates_priority() {
    let t = setup_with(|b| b.max_concurrent_jobs(1)).await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    let now = Utc::now();
    mark::schedule(
        now + chrono::Duration::milliseconds(800),
        mark::Args {
            label: "g".into(),
            value: 1,
        },
    )
    .priority(Priority::Critical)
    .on(scheduler)
    .await
    .expect("scheduled");
    mark::schedule(
        now,
        mark::Args {
            label: "g".into(),
            value: 8,
        },
    )
    .priority(Priority::Low)
    .on(scheduler)
    .await
    .expect("scheduled");
    scheduler.start().await.expect("worker");
    assert_eq!(
        rec.wait_for("g", 2).await,
        [8, 1],
        "a due Low job runs before a not-yet-due Critical one"
    );
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_retried_job_keeps_its_priority() {
    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    let id = flaky::enqueue(flaky::Args {})
        .priority(Priority::Critical)
        .conflict(ConflictResolution::Raise)
        .on(scheduler)
        .await
        .expect("scheduled");
    scheduler.start().await.expect("worker");
    rec.wait_for("attempt", 2).await;
    let job = eventually("a retry to be recorded", || async {
        let job = scheduler.job(id.as_str()).await.expect("inspect")?;
        (job.attempts >= 2 && job.status != JobStatus::Running).then_some(job)
    })
    .await;
    assert_eq!(job.priority, Priority::Critical);
    scheduler.shutdown().await.expect("shutdown");
}
