//! Scheduling and running one-off jobs: the seed's "basic" scenarios, typed.

use std::time::Duration;

use chrono::Utc;
use pgsched::{ConflictResolution, Error, JobStatus, Priority};
use pgsched_core::runtime::{TickEvent, TickSource};
use pgsched_tests::{eventually, next_event, setup, setup_with};

use crate::jobs::{add, mark, nap};

fn soon(millis: i64) -> chrono::DateTime<Utc> {
    Utc::now() + chrono::Duration::milliseconds(millis)
}

#[tokio::test]
async fn a_scheduled_job_runs_exactly_once_with_its_arguments() {
    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    scheduler.start().await.expect("worker starts");

    let id = add::schedule(soon(300), add::Args { a: 5, b: 3 })
        .on(scheduler)
        .await
        .expect("scheduled");
    assert!(!id.as_str().is_empty());
    assert_eq!(rec.wait_for("sum", 1).await, [8]);

    let job = eventually("the job to complete", || async {
        let job = scheduler.job(id.as_str()).await.expect("inspect")?;
        (job.status == JobStatus::Completed).then_some(job)
    })
    .await;
    assert_eq!(job.attempts, 1);
    assert_eq!(job.name, "add");
    assert!(job.finished_at.is_some() && job.started_at.is_some());
    assert!(
        job.started_at >= Some(job.run_at),
        "never starts before it is due"
    );
    scheduler.shutdown().await.expect("shutdown");
    assert_eq!(rec.values("sum"), [8], "ran exactly once");
}

#[tokio::test]
async fn copies_of_one_spec_are_jobs_of_their_own() {
    let t = setup().await;
    let scheduler = &t.scheduler;
    let spec = add::spec(soon(0), add::Args { a: 1, b: 2 });
    let once = scheduler
        .schedule(spec.clone(), ConflictResolution::Raise)
        .await
        .expect("scheduled");
    let again = scheduler
        .schedule(spec.clone(), ConflictResolution::Raise)
        .await
        .expect("a copy is scheduled as a new job, not refused as the same id");
    let bulk = scheduler
        .schedule_many(vec![spec.clone(), spec], ConflictResolution::Raise)
        .await
        .expect("scheduled");
    let mut ids = vec![once, again];
    ids.extend(bulk.into_iter().map(|result| match result {
        pgsched::Scheduled::Inserted(id) => id,
        other => panic!("each copy in a bulk call is inserted: {other:?}"),
    }));
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "four copies, four jobs");
}

#[tokio::test]
async fn jobs_due_at_the_same_time_all_run_and_past_jobs_run_at_once() {
    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    scheduler.start().await.expect("worker starts");
    let at = soon(200);
    for value in 0..5 {
        mark::schedule(
            at,
            mark::Args {
                label: "same".into(),
                value,
            },
        )
        .on(scheduler)
        .await
        .expect("scheduled");
    }
    mark::schedule(
        Utc::now() - chrono::Duration::seconds(5),
        mark::Args {
            label: "past".into(),
            value: 1,
        },
    )
    .on(scheduler)
    .await
    .expect("scheduled");
    let mut values = rec.wait_for("same", 5).await;
    values.sort_unstable();
    assert_eq!(values, [0, 1, 2, 3, 4]);
    assert_eq!(rec.wait_for("past", 1).await, [1]);
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn jobs_run_in_due_time_order() {
    let t = setup_with(|b| b.max_concurrent_jobs(1)).await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    scheduler.start().await.expect("worker starts");
    for (value, delay) in [(3, 900), (1, 300), (2, 600)] {
        mark::schedule(
            soon(delay),
            mark::Args {
                label: "order".into(),
                value,
            },
        )
        .on(scheduler)
        .await
        .expect("scheduled");
    }
    assert_eq!(rec.wait_for("order", 3).await, [1, 2, 3]);
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn conflict_modes_raise_ignore_and_replace() {
    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    let later = soon(60_000);
    let id = mark::schedule(
        later,
        mark::Args {
            label: "v".into(),
            value: 1,
        },
    )
    .job_id("welcome:42")
    .on(scheduler)
    .await
    .expect("scheduled");
    assert_eq!(id, "welcome:42", "a custom id is returned unchanged");

    let raised = mark::schedule(
        later,
        mark::Args {
            label: "v".into(),
            value: 2,
        },
    )
    .job_id("welcome:42")
    .on(scheduler)
    .await;
    match raised {
        Err(Error::AlreadyExists { id, status }) => {
            assert_eq!(id, "welcome:42");
            assert_eq!(status, JobStatus::Pending);
        }
        other => panic!("expected AlreadyExists, got {other:?}"),
    }

    let ignored = mark::schedule(
        later,
        mark::Args {
            label: "v".into(),
            value: 3,
        },
    )
    .job_id("welcome:42")
    .conflict(ConflictResolution::Ignore)
    .on(scheduler)
    .await
    .expect("ignore returns the existing id");
    assert_eq!(ignored, "welcome:42");

    let replaced = mark::schedule(
        soon(100),
        mark::Args {
            label: "v".into(),
            value: 4,
        },
    )
    .job_id("welcome:42")
    .priority(Priority::High)
    .conflict(ConflictResolution::Replace)
    .on(scheduler)
    .await
    .expect("replace");
    assert_eq!(replaced, "welcome:42");
    let job = scheduler
        .job("welcome:42")
        .await
        .expect("inspect")
        .expect("exists");
    assert_eq!(job.priority, Priority::High);

    scheduler.start().await.expect("worker starts");
    assert_eq!(rec.wait_for("v", 1).await, [4], "only the replacement runs");
    scheduler.shutdown().await.expect("shutdown");
    assert_eq!(rec.values("v"), [4]);
}

#[tokio::test]
async fn replace_leaves_a_running_job_alone_and_says_so() {
    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    scheduler.start().await.expect("worker starts");
    nap::enqueue(nap::Args { millis: 1500 })
        .job_id("busy")
        .on(scheduler)
        .await
        .expect("scheduled");
    rec.wait_for("start", 1).await;
    let replaced = nap::enqueue(nap::Args { millis: 1 })
        .job_id("busy")
        .conflict(ConflictResolution::Replace)
        .on(scheduler)
        .await;
    assert!(
        matches!(replaced, Err(Error::JobRunning { .. })),
        "{replaced:?}"
    );
    assert_eq!(
        rec.wait_for("end", 1).await,
        [1500],
        "the running attempt finished untouched"
    );
    let job = eventually("the job to complete", || async {
        let job = scheduler.job("busy").await.expect("inspect")?;
        (job.status == JobStatus::Completed).then_some(job)
    })
    .await;
    assert_eq!(job.attempts, 1);
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_completed_job_id_can_be_replaced_and_runs_again() {
    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    scheduler.start().await.expect("worker starts");
    mark::enqueue(mark::Args {
        label: "again".into(),
        value: 1,
    })
    .job_id("daily")
    .on(scheduler)
    .await
    .expect("scheduled");
    rec.wait_for("again", 1).await;
    eventually("completion", || async {
        let job = scheduler.job("daily").await.expect("inspect")?;
        (job.status == JobStatus::Completed).then_some(())
    })
    .await;
    mark::enqueue(mark::Args {
        label: "again".into(),
        value: 2,
    })
    .job_id("daily")
    .conflict(ConflictResolution::Replace)
    .on(scheduler)
    .await
    .expect("replace a finished job");
    assert_eq!(rec.wait_for("again", 2).await, [1, 2]);
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn concurrency_never_exceeds_max_concurrent_jobs() {
    let t = setup_with(|b| b.max_concurrent_jobs(2)).await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    for _ in 0..5 {
        nap::enqueue(nap::Args { millis: 300 })
            .on(scheduler)
            .await
            .expect("scheduled");
    }
    scheduler.start().await.expect("worker starts");
    rec.wait_for("end", 5).await;
    let mut running = 0_i32;
    let mut peak = 0_i32;
    for (label, _) in rec.events() {
        running += if label == "start" { 1 } else { -1 };
        peak = peak.max(running);
    }
    assert_eq!(peak, 2, "two at a time, never more");
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn transactional_enqueue_exists_only_if_the_transaction_commits() {
    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    scheduler.start().await.expect("worker starts");

    let mut tx = scheduler.pool().begin().await.expect("begin");
    let rolled_back = mark::enqueue(mark::Args {
        label: "tx".into(),
        value: 1,
    })
    .on(scheduler)
    .in_tx(&mut tx)
    .await
    .expect("scheduled in tx");
    tx.rollback().await.expect("rollback");

    let mut tx = scheduler.pool().begin().await.expect("begin");
    let committed = mark::enqueue(mark::Args {
        label: "tx".into(),
        value: 2,
    })
    .on(scheduler)
    .in_tx(&mut tx)
    .await
    .expect("scheduled in tx");
    tx.commit().await.expect("commit");

    assert_eq!(rec.wait_for("tx", 1).await, [2]);
    assert!(
        scheduler
            .job(rolled_back.as_str())
            .await
            .expect("inspect")
            .is_none()
    );
    assert!(
        scheduler
            .job(committed.as_str())
            .await
            .expect("inspect")
            .is_some()
    );
    scheduler.shutdown().await.expect("shutdown");
    assert_eq!(rec.values("tx"), [2], "the rolled-back job never ran");
}

#[tokio::test]
async fn a_notification_wakes_an_idle_worker_long_before_its_poll() {
    let ticks = TickSource::observed();
    let mut events = ticks.subscribe().expect("an observed source reports");
    let t = setup_with(|b| {
        b.poll_interval(Duration::from_secs(3600))
            .tick_source(ticks)
    })
    .await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    scheduler.start().await.expect("worker starts");
    // The worker subscribed to notifications, finished its first (empty) claim and went idle
    // on its hour-long poll (an idle worker must not claim again every few milliseconds: then
    // any job would be found without a notification, and this test would prove nothing).
    let mut listening = false;
    let mut idle = false;
    next_event(&mut events, "the worker to listen and go idle", |event| {
        match event {
            TickEvent::Listening => listening = true,
            TickEvent::ClaimIdle { wait } => {
                assert_eq!(
                    *wait,
                    Duration::from_secs(3600),
                    "idle on the poll interval"
                );
                idle = true;
            }
            _ => {}
        }
        (listening && idle).then_some(())
    })
    .await;
    mark::enqueue(mark::Args {
        label: "woken".into(),
        value: 1,
    })
    .on(scheduler)
    .await
    .expect("scheduled");
    // Only LISTEN/NOTIFY can wake it within the test's deadline.
    assert_eq!(rec.wait_for("woken", 1).await, [1]);
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn cancelled_pending_jobs_never_run() {
    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    let id = mark::schedule(
        soon(500),
        mark::Args {
            label: "cancel".into(),
            value: 1,
        },
    )
    .on(scheduler)
    .await
    .expect("scheduled");
    assert!(scheduler.cancel_job(id.as_str()).await.expect("cancel"));
    assert!(
        !scheduler
            .cancel_job(id.as_str())
            .await
            .expect("cancel twice"),
        "already cancelled"
    );
    assert!(
        !scheduler
            .cancel_job("no-such-job")
            .await
            .expect("cancel unknown")
    );
    mark::schedule(
        soon(600),
        mark::Args {
            label: "after".into(),
            value: 1,
        },
    )
    .on(scheduler)
    .await
    .expect("scheduled");
    scheduler.start().await.expect("worker starts");
    rec.wait_for("after", 1).await;
    let job = scheduler
        .job(id.as_str())
        .await
        .expect("inspect")
        .expect("exists");
    assert_eq!(job.status, JobStatus::Cancelled);
    assert!(rec.values("cancel").is_empty());
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn payloads_over_the_limit_are_refused_and_nothing_is_written() {
    let t = setup_with(|b| b.max_payload_bytes(64)).await;
    let scheduler = &t.scheduler;
    let result = mark::enqueue(mark::Args {
        label: "x".repeat(100),
        value: 1,
    })
    .job_id("big")
    .on(scheduler)
    .await;
    assert!(
        matches!(result, Err(Error::PayloadTooLarge { limit: 64, .. })),
        "{result:?}"
    );
    assert!(scheduler.job("big").await.expect("inspect").is_none());
    let bad_id = mark::enqueue(mark::Args {
        label: "x".into(),
        value: 1,
    })
    .job_id("a\0b")
    .on(scheduler)
    .await;
    assert!(
        matches!(bad_id, Err(Error::InvalidInput { what: "job id", .. })),
        "{bad_id:?}"
    );
}

#[tokio::test]
async fn hostile_ids_round_trip_as_data() {
    let t = setup().await;
    let scheduler = &t.scheduler;
    for id in [
        "'; DROP TABLE jobs;--",
        "\"quoted\"",
        "$1 %s %I \\",
        "\u{5e9}\u{202e}abc",
        &"long".repeat(100),
    ] {
        let stored = mark::schedule(
            soon(60_000),
            mark::Args {
                label: id.into(),
                value: 1,
            },
        )
        .job_id(id)
        .on(scheduler)
        .await
        .expect("scheduled");
        assert_eq!(stored, id);
        let job = scheduler.job(id).await.expect("inspect").expect("exists");
        assert_eq!(job.id, id);
    }
}

#[test]
fn generated_args_are_debug_clone_and_comparable() {
    let args = mark::Args {
        label: "a".into(),
        value: 1,
    };
    let copy = args.clone();
    assert_eq!(copy, args);
    assert_ne!(
        copy,
        mark::Args {
            label: "a".into(),
            value: 2
        }
    );
    assert_eq!(format!("{args:?}"), r#"Args { label: "a", value: 1 }"#);
}
