//! Bulk scheduling: the seed's "bulk" scenarios, plus alignment and in-batch duplicates.

use chrono::Utc;
use pgsched::{ConflictResolution, JobSpec, JobStatus, Priority, Scheduled};
use pgsched_tests::{setup, setup_with};

use crate::jobs::mark;

fn spec(label: &str, value: i64, id: Option<&str>) -> JobSpec {
    let spec = mark::spec(
        Utc::now(),
        mark::Args {
            label: label.into(),
            value,
        },
    );
    match id {
        Some(id) => spec.job_id(id),
        None => spec,
    }
}

#[tokio::test]
async fn empty_single_and_many() {
    let t = setup().await;
    let scheduler = &t.scheduler;
    let none = scheduler
        .schedule_bulk(vec![], ConflictResolution::Ignore, 1000)
        .await
        .expect("empty");
    assert!(none.is_empty());
    let one = scheduler
        .schedule_bulk(vec![spec("a", 1, None)], ConflictResolution::Ignore, 1000)
        .await
        .expect("one");
    assert!(matches!(one.as_slice(), [Scheduled::Inserted(_)]));
    let specs = (0..50).map(|v| spec("a", v, None)).collect();
    let fifty = scheduler
        .schedule_bulk(specs, ConflictResolution::Ignore, 10)
        .await
        .expect("fifty");
    let mut ids: Vec<String> = fifty.iter().map(|s| s.id().to_string()).collect();
    assert!(fifty.iter().all(Scheduled::is_written));
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 50, "unique ids");
}

#[tokio::test]
async fn bulk_jobs_run_with_their_own_arguments_and_priorities() {
    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    let priorities = [
        Priority::Low,
        Priority::Critical,
        Priority::Normal,
        Priority::High,
        Priority::Normal,
    ];
    let specs = (0..5)
        .map(|v| spec("bulk", v, None).priority(priorities[v as usize]))
        .collect();
    let results = scheduler
        .schedule_bulk(specs, ConflictResolution::Ignore, 1000)
        .await
        .expect("bulk");
    let stored = scheduler
        .job(results[1].id().as_str())
        .await
        .expect("inspect")
        .expect("exists");
    assert_eq!(stored.priority, Priority::Critical);
    scheduler.start().await.expect("worker");
    let mut values = rec.wait_for("bulk", 5).await;
    values.sort_unstable();
    assert_eq!(values, [0, 1, 2, 3, 4]);
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn results_are_aligned_with_the_input_for_every_conflict_mode() {
    let t = setup().await;
    let (rec, scheduler) = (&t.rec, &t.scheduler);
    let first = vec![
        spec("r", 1, Some("x")),
        spec("r", 2, None),
        spec("r", 3, Some("y")),
    ];
    let results = scheduler
        .schedule_bulk(first, ConflictResolution::Ignore, 1000)
        .await
        .expect("bulk");
    assert_eq!(
        results[0],
        Scheduled::Inserted(pgsched::JobId::new("x").expect("id"))
    );
    assert_eq!(results[2].id(), "y");

    // Ignore: existing ids are kept, new ones inserted, positions preserved.
    let again = vec![
        spec("r", 9, Some("y")),
        spec("r", 4, Some("z")),
        spec("r", 9, Some("x")),
    ];
    let results = scheduler
        .schedule_bulk(again, ConflictResolution::Ignore, 1000)
        .await
        .expect("bulk");
    assert!(matches!(&results[0], Scheduled::Kept(id) if id == "y"));
    assert!(matches!(&results[1], Scheduled::Inserted(id) if id == "z"));
    assert!(matches!(&results[2], Scheduled::Kept(id) if id == "x"));

    // Raise: conflicts are reported per entry with the existing status; the rest is written.
    let raise = vec![spec("r", 9, Some("x")), spec("r", 5, Some("w"))];
    let results = scheduler
        .schedule_bulk(raise, ConflictResolution::Raise, 1000)
        .await
        .expect("bulk");
    assert!(
        matches!(&results[0], Scheduled::AlreadyExists { id, status: JobStatus::Pending } if id == "x")
    );
    assert!(matches!(&results[1], Scheduled::Inserted(id) if id == "w"));

    // Replace with the same id twice in one batch: no database error, the last one wins.
    let replace = vec![
        spec("r", 100, Some("x")),
        spec("r", 101, Some("y")),
        spec("r", 102, Some("x")),
    ];
    let results = scheduler
        .schedule_bulk(replace, ConflictResolution::Replace, 1000)
        .await
        .expect("bulk");
    assert!(
        results.iter().all(|r| matches!(r, Scheduled::Replaced(_))),
        "{results:?}"
    );

    scheduler.start().await.expect("worker");
    let mut values = rec.wait_for("r", 5).await;
    values.sort_unstable();
    assert_eq!(
        values,
        [2, 4, 5, 101, 102],
        "replaced jobs run with their new arguments only"
    );
    scheduler.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_failing_batch_writes_nothing() {
    let t = setup_with(|b| b.max_payload_bytes(32)).await;
    let scheduler = &t.scheduler;
    let specs = vec![
        spec("ok", 1, Some("fine")),
        spec(&"x".repeat(64), 2, Some("too-big")),
    ];
    let result = scheduler
        .schedule_bulk(specs, ConflictResolution::Ignore, 1)
        .await;
    assert!(
        matches!(result, Err(pgsched::Error::PayloadTooLarge { .. })),
        "{result:?}"
    );
    assert!(
        scheduler.job("fine").await.expect("inspect").is_none(),
        "all or nothing"
    );
}
