//! Retention ("vacuum"): each policy against rows of known ages (aged by the database clock,
//! no sleeping), keep_last per name, expired rows, bounded batches, concurrent passes, and
//! statistics.

use std::time::Duration;

use pgsched::{JobStatus, Scheduler, VacuumConfig, VacuumPolicy};
use pgsched_core::retention::{RetentionBatch, RetentionRule};
use pgsched_core::store::JobStore;
use pgsched_tests::{TestDb, setup};
use sqlx::AssertSqlSafe;

/// Inserts a job of `status` named `name` that finished `age_hours` ago (pending and running
/// rows get no finish time).
async fn job(db: &TestDb, id: &str, name: &str, status: &str, age_hours: f64) {
    let mut connection = db.connect().await;
    let finished = if matches!(status, "pending" | "running") {
        "NULL"
    } else {
        "now() - $4 * interval '1 hour'"
    };
    let statement = format!(
        "INSERT INTO \"{}\".jobs (id, name, payload, run_at, status, created_at, finished_at) \
         VALUES ($1, $2, '\\x', now(), $3, now() - $4 * interval '1 hour' - interval '1 hour', {finished})",
        db.schema()
    );
    sqlx::query(AssertSqlSafe(statement))
        .bind(id)
        .bind(name)
        .bind(status)
        .bind(age_hours)
        .execute(&mut connection)
        .await
        .expect("insert");
}

async fn remaining(db: &TestDb) -> Vec<String> {
    let mut connection = db.connect().await;
    sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT id FROM \"{}\".jobs ORDER BY id",
        db.schema()
    )))
    .fetch_all(&mut connection)
    .await
    .expect("select")
}

async fn scheduler(db: &TestDb, vacuum: VacuumConfig) -> Scheduler {
    db.scheduler(|b| b.vacuum(vacuum)).await
}

#[tokio::test]
async fn default_policies_delete_by_age_since_finishing_and_never_touch_live_jobs() {
    let t = setup().await;
    let db = &t.db;
    let scheduler = scheduler(db, VacuumConfig::default()).await;
    // Defaults: completed 1 day, failed 7, cancelled 3, expired 7.
    for (id, status, hours) in [
        ("completed-old", "completed", 25.0),
        ("completed-new", "completed", 23.0),
        ("failed-old", "failed", 24.0 * 7.0 + 1.0),
        ("failed-new", "failed", 24.0 * 6.0),
        ("cancelled-old", "cancelled", 24.0 * 3.0 + 1.0),
        ("cancelled-new", "cancelled", 24.0 * 2.0),
        ("expired-old", "expired", 24.0 * 7.0 + 1.0),
        ("expired-new", "expired", 24.0),
        ("pending-ancient", "pending", 24.0 * 365.0),
        ("running-ancient", "running", 24.0 * 365.0),
    ] {
        job(db, id, "j", status, hours).await;
    }
    let report = scheduler.run_vacuum().await.expect("vacuum");
    assert_eq!(
        (
            report.completed,
            report.failed,
            report.cancelled,
            report.expired
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(
        remaining(db).await,
        [
            "cancelled-new",
            "completed-new",
            "expired-new",
            "failed-new",
            "pending-ancient",
            "running-ancient"
        ]
    );
}

#[tokio::test]
async fn immediate_never_and_keep_last_per_name() {
    let t = setup().await;
    let db = &t.db;
    let vacuum = VacuumConfig::new()
        .completed(VacuumPolicy::immediate())
        .failed(VacuumPolicy::keep_last(2))
        .cancelled(VacuumPolicy::never())
        .expired(VacuumPolicy::immediate());
    let scheduler = scheduler(db, vacuum).await;
    job(db, "done-just-now", "a", "completed", 0.0).await;
    job(db, "cancelled-ancient", "a", "cancelled", 24.0 * 365.0).await;
    job(db, "expired-just-now", "a", "expired", 0.0).await;
    for (i, hours) in [5.0, 4.0, 3.0, 2.0].into_iter().enumerate() {
        job(db, &format!("a-failed-{i}"), "a", "failed", hours).await;
        job(db, &format!("b-failed-{i}"), "b", "failed", hours).await;
    }
    let report = scheduler.run_vacuum().await.expect("vacuum");
    assert_eq!(
        (
            report.completed,
            report.failed,
            report.cancelled,
            report.expired
        ),
        (1, 4, 0, 1)
    );
    assert_eq!(
        remaining(db).await,
        [
            "a-failed-2",
            "a-failed-3",
            "b-failed-2",
            "b-failed-3",
            "cancelled-ancient"
        ],
        "the newest two failures of each name are kept"
    );
}

#[tokio::test]
async fn keep_last_batches_resume_at_the_name_the_previous_one_stopped_in() {
    let t = setup().await;
    let db = &t.db;
    let scheduler = scheduler(
        db,
        VacuumConfig::new()
            .failed(VacuumPolicy::keep_last(2))
            .batch_size(4),
    )
    .await;
    // Three names, seven failures each: five of each name are beyond the newest two.
    for name in ["a", "b", "c"] {
        for i in 0..7 {
            job(
                db,
                &format!("{name}-{i}"),
                name,
                "failed",
                f64::from(10 - i),
            )
            .await;
        }
    }
    let store = pgsched::__private::store(&scheduler);
    let batch = |resume_at: Option<String>| async move {
        store
            .delete_finished(RetentionBatch {
                status: JobStatus::Failed,
                rule: RetentionRule::KeepLast(2),
                resume_at: resume_at.as_deref(),
                limit: 4,
                timeout: Duration::from_secs(5),
            })
            .await
            .expect("purge")
    };
    let first = batch(None).await;
    assert_eq!(
        (first.deleted, first.resume_at.as_deref()),
        (4, Some("a")),
        "the first batch stops inside name a"
    );
    let second = batch(first.resume_at).await;
    assert_eq!(
        (second.deleted, second.resume_at.as_deref()),
        (4, Some("b")),
        "the second resumes in a and stops inside b"
    );
    let report = scheduler.run_vacuum().await.expect("vacuum");
    assert_eq!(
        report.failed, 7,
        "the pass deletes what the two batches left"
    );
    let expected: Vec<String> = ["a", "b", "c"]
        .iter()
        .flat_map(|name| [format!("{name}-5"), format!("{name}-6")])
        .collect();
    assert_eq!(
        remaining(db).await,
        expected,
        "each name keeps its newest two"
    );
}

#[tokio::test]
async fn deletes_are_bounded_batches() {
    let t = setup().await;
    let db = &t.db;
    let scheduler = scheduler(
        db,
        VacuumConfig::new()
            .completed(VacuumPolicy::immediate())
            .batch_size(10),
    )
    .await;
    for i in 0..35 {
        job(db, &format!("c{i:02}"), "j", "completed", 1.0).await;
    }
    let one = pgsched::__private::store(&scheduler)
        .delete_finished(RetentionBatch {
            status: JobStatus::Completed,
            rule: RetentionRule::FinishedBefore(Duration::ZERO),
            resume_at: None,
            limit: 10,
            timeout: Duration::from_secs(5),
        })
        .await
        .expect("purge")
        .deleted;
    assert_eq!(one, 10, "one statement deletes at most its batch");
    let report = scheduler.run_vacuum().await.expect("vacuum");
    assert_eq!(report.completed, 25, "a pass continues batch after batch");
    assert!(remaining(db).await.is_empty());
}

#[tokio::test]
async fn concurrent_passes_delete_each_row_once_and_record_stats_once_per_pass() {
    let t = setup().await;
    let db = &t.db;
    let vacuum = VacuumConfig::new()
        .completed(VacuumPolicy::immediate())
        .batch_size(50)
        .track_metrics(true);
    let first = scheduler(db, vacuum).await;
    let second = scheduler(db, vacuum).await;
    let mut connection = db.connect().await;
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO \"{}\".jobs (id, name, payload, run_at, status, finished_at) \
         SELECT 'c' || g, 'j', '\\x', now(), 'completed', now() - interval '1 hour' FROM generate_series(1, 2000) g",
        db.schema()
    )))
    .execute(&mut connection)
    .await
    .expect("insert");
    let (a, b) = tokio::join!(first.run_vacuum(), second.run_vacuum());
    let (a, b) = (a.expect("vacuum"), b.expect("vacuum"));
    assert_eq!(
        a.completed + b.completed,
        2000,
        "every row deleted exactly once: {a:?} {b:?}"
    );
    assert!(remaining(db).await.is_empty());

    let totals = first.total_vacuum_stats().await.expect("totals");
    assert_eq!(totals.deleted.completed, 2000);
    assert_eq!(totals.runs, 2);
    assert!(totals.last_run.is_some());
    let days = second.vacuum_stats(7).await.expect("stats");
    assert_eq!(days.len(), 1, "today only");
    assert_eq!(days[0].deleted.completed, 2000);
    assert_eq!(days[0].runs, 2);
}

#[tokio::test]
async fn one_replica_per_interval_takes_the_retention_turn() {
    let t = setup().await;
    let db = &t.db;
    let scheduler = scheduler(db, VacuumConfig::default()).await;
    let store = pgsched::__private::store(&scheduler);
    let interval = Duration::from_secs(3600);
    let turns = futures_turns(store, interval).await;
    assert_eq!(turns.iter().filter(|won| **won).count(), 1, "{turns:?}");
    assert!(
        !store
            .claim_retention_turn("late", interval)
            .await
            .expect("turn"),
        "not again within the interval"
    );
    assert!(
        store
            .claim_retention_turn("soon", Duration::from_millis(1))
            .await
            .expect("turn")
            || {
                tokio::time::sleep(Duration::from_millis(5)).await;
                store
                    .claim_retention_turn("soon", Duration::from_millis(1))
                    .await
                    .expect("turn")
            }
    );
}

async fn futures_turns(store: &pgsched_pg::PgStore, interval: Duration) -> Vec<bool> {
    let mut handles = Vec::new();
    for i in 0..6 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            store.claim_retention_turn(&format!("w{i}"), interval).await
        }));
    }
    let mut turns = Vec::new();
    for handle in handles {
        turns.push(handle.await.expect("task").expect("turn"));
    }
    turns
}

#[tokio::test]
async fn a_worker_runs_retention_on_its_timer() {
    let t = setup().await;
    let db = &t.db;
    let vacuum = VacuumConfig::new()
        .completed(VacuumPolicy::immediate())
        .interval(Duration::from_millis(200))
        .track_metrics(true);
    let scheduler = db
        .scheduler(|b| b.vacuum(vacuum).state(pgsched_tests::Recorder::default()))
        .await;
    job(db, "finished", "j", "completed", 0.0).await;
    scheduler.start().await.expect("worker");
    pgsched_tests::eventually("the timer's pass", || async {
        remaining(db).await.is_empty().then_some(())
    })
    .await;
    let totals = pgsched_tests::eventually("the pass's statistics", || async {
        let totals = scheduler.total_vacuum_stats().await.expect("totals");
        (totals.runs >= 1).then_some(totals)
    })
    .await;
    assert_eq!(totals.deleted.completed, 1);
    scheduler.shutdown().await.expect("shutdown");
}
