//! Which due job runs next, and when a job scheduled for later becomes claimable: priority,
//! then due time, then insertion order; a later job waits apart ("scheduled") and is promoted
//! by the database clock when it comes due, without a notification.

use std::time::Duration;

use chrono::{DateTime, Utc};
use pgsched::{JobStatus, Priority, State, job};
use pgsched_tests::{Recorder, eventually, setup, setup_with};

use crate::jobs::mark;

/// Records when it started, in Unix milliseconds, under "started".
#[job]
async fn stamp_start(rec: State<Recorder>) {
    rec.record("started", Utc::now().timestamp_millis());
}

async fn schedule_mark(
    scheduler: &pgsched::Scheduler,
    at: DateTime<Utc>,
    priority: Priority,
    value: i64,
) {
    mark::schedule(
        at,
        mark::Args {
            label: "order".into(),
            value,
        },
    )
    .priority(priority)
    .on(scheduler)
    .await
    .expect("scheduled");
}

#[tokio::test]
async fn due_jobs_run_by_priority_then_due_time_then_insertion_order() {
    let t = setup_with(|b| b.max_concurrent_jobs(1).batch_claim_limit(1)).await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    let at = Utc::now() - chrono::Duration::seconds(10);
    // Same priority and due time, one schedule call each: insertion order.
    for value in 1..=5 {
        schedule_mark(scheduler, at, Priority::Normal, value).await;
    }
    // Written later but due earlier: before them.
    schedule_mark(
        scheduler,
        at - chrono::Duration::seconds(1),
        Priority::Normal,
        0,
    )
    .await;
    // Written last and due with them, but more urgent: first.
    schedule_mark(scheduler, at, Priority::High, -1).await;
    // One batch due a little later: after them, in the order written.
    let batch: Vec<_> = (6..=8)
        .map(|value| {
            mark::spec(
                at + chrono::Duration::seconds(1),
                mark::Args {
                    label: "order".into(),
                    value,
                },
            )
        })
        .collect();
    scheduler
        .schedule_many(batch, pgsched::ConflictResolution::Raise)
        .await
        .expect("batch written");

    scheduler.start().await.expect("worker starts");
    assert_eq!(
        rec.wait_for("order", 10).await,
        [-1, 0, 1, 2, 3, 4, 5, 6, 7, 8]
    );
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_job_due_later_is_promoted_on_time_without_a_notification() {
    let t = setup().await;
    let rec = &t.rec;
    let poll = Duration::from_millis(300);
    let scheduler = &t.scheduler(|b| b.listen(false).poll_interval(poll)).await;
    scheduler.start().await.expect("worker starts");
    let due = Utc::now() + chrono::Duration::milliseconds(1500);
    let id = stamp_start::schedule(due, stamp_start::Args {})
        .on(scheduler)
        .await
        .expect("scheduled");
    // Waiting for its due time, it reads as pending.
    let waiting = scheduler.job(&id).await.expect("read").expect("exists");
    assert_eq!(waiting.status, JobStatus::Pending);

    let started = rec.wait_for("started", 1).await[0];
    let due_ms = due.timestamp_millis();
    assert!(
        started >= due_ms,
        "started {} ms before its due time",
        due_ms - started
    );
    // Within one poll interval of its due time (plus generous room for a loaded machine).
    let allowed = i64::try_from((poll + Duration::from_secs(2)).as_millis()).expect("small");
    assert!(
        started - due_ms <= allowed,
        "started {} ms after its due time",
        started - due_ms
    );
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn back_to_back_enqueues_wake_an_idle_worker_long_before_its_poll() {
    let t = setup().await;
    let rec = &t.rec;
    // Without notifications these jobs would wait for a poll that never comes in time.
    let scheduler = &t
        .scheduler(|b| b.listen(true).poll_interval(Duration::from_secs(600)))
        .await;
    scheduler.start().await.expect("worker starts");
    // The first job proves the worker listens (it can only run through a notification)...
    schedule_mark(scheduler, Utc::now(), Priority::Normal, 0).await;
    assert_eq!(rec.wait_for("order", 1).await, [0]);
    // ...then several at once: their wake-ups fold into one, and every job still runs.
    for value in 1..=5 {
        schedule_mark(scheduler, Utc::now(), Priority::Normal, value).await;
    }
    let mut ran = rec.wait_for("order", 6).await;
    ran.sort_unstable();
    assert_eq!(ran, [0, 1, 2, 3, 4, 5]);
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_job_written_past_its_grace_expires_and_never_runs() {
    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    let id = mark::schedule(
        Utc::now() - chrono::Duration::minutes(5),
        mark::Args {
            label: "late".into(),
            value: 1,
        },
    )
    .misfire_grace(Duration::from_secs(60))
    .on(scheduler)
    .await
    .expect("scheduled");
    scheduler.start().await.expect("worker starts");
    let status = eventually("the late job to expire", || async {
        let job = scheduler.job(&id).await.expect("read").expect("exists");
        (job.status != JobStatus::Pending).then_some(job.status)
    })
    .await;
    assert_eq!(status, JobStatus::Expired);
    assert!(rec.values("late").is_empty(), "an expired job ran");
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_claim_starts_each_priority_at_its_floor_and_the_front_finds_the_rest() {
    use pgsched_core::store::{ClaimFloor, JobStore};

    let t = setup().await;
    let (db, scheduler) = (&t.db, &t.scheduler);
    let now = Utc::now();
    let mut ids = Vec::new();
    for (seconds_ago, priority) in [
        (3, Priority::Normal),
        (2, Priority::Normal),
        (1, Priority::Normal),
        (5, Priority::Critical),
    ] {
        let id = mark::schedule(
            now - chrono::Duration::seconds(seconds_ago),
            mark::Args {
                label: "floor".into(),
                value: seconds_ago,
            },
        )
        .priority(priority)
        .on(scheduler)
        .await
        .expect("scheduled");
        ids.push(id);
    }
    // The floor at Normal: the job due 2 s ago, as if this worker had claimed it already.
    let mut connection = db.connect().await;
    let (run_at, created_at): (DateTime<Utc>, DateTime<Utc>) =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT run_at, created_at FROM \"{}\".jobs WHERE id = $1",
            db.schema()
        )))
        .bind(ids[1].as_str())
        .fetch_one(&mut connection)
        .await
        .expect("key");
    let mut floor = ClaimFloor::FRONT;
    floor.raise(&[pgsched_core::store::ClaimedJob {
        lease: pgsched_core::store::Lease {
            id: ids[1].clone(),
            token: 0,
        },
        name: "mark".into(),
        payload: Vec::new(),
        schema_hash: None,
        attempt: 1,
        max_retries: 0,
        priority: Priority::Normal,
        run_at,
        created_at,
        claimed_at: run_at,
        queue: pgsched_core::QueueName::DEFAULT,
        concurrency_key: None,
        passes_slot: false,
        timeout: None,
        trace_context: None,
    }]);
    let lease = Duration::from_secs(30);
    let store = pgsched::__private::store(scheduler);
    let after_floor: Vec<_> = store
        .claim("w", &pgsched_core::QueueName::DEFAULT, 10, lease, &floor)
        .await
        .expect("claim")
        .into_iter()
        .map(|job| job.lease.id)
        .collect();
    // Critical has no floor (all of it); Normal from the floor on, in order.
    assert_eq!(
        after_floor,
        [ids[3].clone(), ids[1].clone(), ids[2].clone()]
    );
    let from_front: Vec<_> = store
        .claim(
            "w",
            &pgsched_core::QueueName::DEFAULT,
            10,
            lease,
            &ClaimFloor::FRONT,
        )
        .await
        .expect("claim")
        .into_iter()
        .map(|job| job.lease.id)
        .collect();
    assert_eq!(from_front, [ids[0].clone()]);
}
