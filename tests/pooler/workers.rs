//! Workers through the pooler: two workers claim and complete many jobs (none run twice), a
//! failing job is retried up to failure, exclusive periodic runs never overlap, retention
//! deletes finished jobs and records statistics, and the queues' limits and pause hold.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use pgsched::{ConflictResolution, JobSpec, JobStatus, Scheduler, VacuumConfig, VacuumPolicy};
use pgsched_tests::{Recorder, TestDb, eventually};
use sqlx::{AssertSqlSafe, Row};

use crate::bouncer::{Bouncer, StartupParameters};
use crate::jobs::{InProgress, Overlap, capped, doomed, flaky, mark, per_tenant};
use crate::pooled;

async fn worker(db: &TestDb, bouncer: &Bouncer, rec: &Recorder) -> Scheduler {
    let scheduler = pooled(db, bouncer, |b| {
        b.state(rec.clone()).max_concurrent_jobs(10)
    })
    .await;
    scheduler.start().await.expect("worker starts");
    scheduler
}

fn marks(label: &str, values: std::ops::Range<i64>) -> Vec<JobSpec> {
    values
        .map(|value| {
            mark::spec(
                Utc::now(),
                mark::Args {
                    label: label.into(),
                    value,
                },
            )
        })
        .collect()
}

#[tokio::test]
async fn two_workers_claim_and_complete_every_job_once() {
    let bouncer = Bouncer::start(StartupParameters::Refused);
    let db = TestDb::new();
    let rec = Recorder::default();
    let first = worker(&db, &bouncer, &rec).await;
    let second = worker(&db, &bouncer, &rec).await;
    // 400 jobs from four clients at once while both workers claim.
    let mut clients = Vec::new();
    for client in 0..4_i64 {
        let scheduler = first.clone();
        clients.push(tokio::spawn(async move {
            let values = client * 100..client * 100 + 100;
            scheduler
                .schedule_bulk(marks("ran", values), ConflictResolution::Raise, 25)
                .await
        }));
    }
    for client in clients {
        client.await.expect("client").expect("scheduled");
    }
    let ran = rec.wait_for("ran", 400).await;
    let distinct: HashSet<i64> = ran.iter().copied().collect();
    assert_eq!(distinct.len(), 400, "every job ran");

    let row = eventually("every job completed", || async {
        let mut connection = db.connect().await;
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT count(*) FILTER (WHERE status = 'completed') AS completed, \
                    max(attempts) AS most_attempts, count(DISTINCT worker_id) AS workers \
               FROM \"{}\".jobs",
            db.schema()
        )))
        .fetch_one(&mut connection)
        .await
        .expect("counts");
        (row.get::<i64, _>("completed") == 400).then_some(row)
    })
    .await;
    first.shutdown().await.expect("shutdown");
    second.shutdown().await.expect("shutdown");
    assert_eq!(rec.values("ran").len(), 400, "no job ran twice");
    assert_eq!(row.get::<Option<i32>, _>("most_attempts"), Some(1));
    println!(
        "400 jobs through PgBouncer, 2 workers: {} distinct claimers recorded",
        row.get::<i64, _>("workers")
    );
    db.drop_schema().await;
}

#[tokio::test]
async fn a_failing_job_is_retried_until_it_fails() {
    let bouncer = Bouncer::start(StartupParameters::Refused);
    let db = TestDb::new();
    let rec = Recorder::default();
    let first = worker(&db, &bouncer, &rec).await;
    let second = worker(&db, &bouncer, &rec).await;
    let id = flaky::enqueue(flaky::Args {})
        .on(&first)
        .await
        .expect("scheduled");
    assert_eq!(rec.wait_for("attempt", 4).await, [1, 2, 3, 4]);
    let job = eventually("the job to fail", || async {
        let job = second.job(id.as_str()).await.expect("inspect")?;
        (job.status == JobStatus::Failed).then_some(job)
    })
    .await;
    first.shutdown().await.expect("shutdown");
    second.shutdown().await.expect("shutdown");
    assert_eq!(
        job.attempts, 4,
        "the first attempt and max_retries = 3 retries"
    );
    let error = job.last_error.unwrap_or_default();
    assert!(
        error.starts_with("error:") && error.contains("boom #4"),
        "{error}"
    );
    assert_eq!(
        rec.values("attempt"),
        [1, 2, 3, 4],
        "no attempt after failure"
    );
    db.drop_schema().await;
}

#[tokio::test]
async fn exclusive_periodic_runs_never_overlap_across_two_workers() {
    let bouncer = Bouncer::start(StartupParameters::Refused);
    let db = TestDb::new();
    let rec = Recorder::default();
    let overlap = Overlap::default();
    let start = || {
        pooled(&db, &bouncer, |b| {
            b.state(rec.clone())
                .state(overlap.clone())
                .periodic_tick(Duration::from_millis(200))
        })
    };
    let first = start().await;
    let second = start().await;
    first
        .enable_periodic_job("pooled_exclusive")
        .await
        .expect("enable");
    first.start().await.expect("worker");
    second.start().await.expect("worker");
    // Runs last 1.2 s and windows come every second: without the exclusion two of them would
    // be in progress at once, on the two workers.
    rec.wait_for("exclusive_end", 3).await;
    first.shutdown().await.expect("shutdown");
    second.shutdown().await.expect("shutdown");
    assert_eq!(overlap.most(), 1, "never two runs in progress at once");
    println!(
        "exclusive periodic job: {} runs started, {} finished, at most {} at once",
        rec.values("exclusive_start").len(),
        rec.values("exclusive_end").len(),
        overlap.most()
    );
    db.drop_schema().await;
}

#[tokio::test]
async fn retention_deletes_finished_jobs_and_records_statistics() {
    let bouncer = Bouncer::start(StartupParameters::Refused);
    let db = TestDb::new();
    let rec = Recorder::default();
    let vacuum = VacuumConfig::new()
        .completed(VacuumPolicy::immediate())
        .failed(VacuumPolicy::immediate())
        .interval(Duration::from_millis(200))
        .batch_size(7)
        .track_metrics(true);
    let start = || pooled(&db, &bouncer, |b| b.state(rec.clone()).vacuum(vacuum));
    let first = start().await;
    let second = start().await;
    first.start().await.expect("worker");
    second.start().await.expect("worker");
    first
        .schedule_bulk(marks("kept", 0..40), ConflictResolution::Raise, 1000)
        .await
        .expect("scheduled");
    doomed::enqueue(doomed::Args {})
        .on(&second)
        .await
        .expect("scheduled");
    rec.wait_for("kept", 40).await;
    rec.wait_for("doomed", 1).await;
    let totals = eventually("passes that deleted every finished job", || async {
        let totals = first.total_vacuum_stats().await.expect("totals");
        (totals.deleted.completed == 40 && totals.deleted.failed == 1).then_some(totals)
    })
    .await;
    first.shutdown().await.expect("shutdown");
    second.shutdown().await.expect("shutdown");
    assert!(totals.runs >= 1 && totals.last_run.is_some(), "{totals:?}");
    let days = second.vacuum_stats(1).await.expect("stats");
    assert_eq!(days.len(), 1, "today");
    assert_eq!(days[0].deleted.completed, 40);
    let mut connection = db.connect().await;
    let left: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT count(*) FROM \"{}\".jobs",
        db.schema()
    )))
    .fetch_one(&mut connection)
    .await
    .expect("count");
    assert_eq!(left, 0);
    println!("retention through PgBouncer: {totals:?}");
    db.drop_schema().await;
}

#[tokio::test]
async fn queue_and_key_limits_and_pause_hold_across_two_workers() {
    const JOBS: i64 = 60;
    let bouncer = Bouncer::start(StartupParameters::Refused);
    let db = TestDb::new();
    let rec = Recorder::default();
    let runs = InProgress::default();
    // Each worker has more slots in each queue than its limits allow.
    let start = || {
        pooled(&db, &bouncer, |b| {
            b.state(rec.clone())
                .state(runs.clone())
                .queue("capped", 4)
                .queue("tenants", 4)
                .poll_interval(Duration::from_millis(100))
        })
    };
    let first = start().await;
    let second = start().await;
    first.set_queue_limit("capped", 2).await.expect("limit");
    first.pause_queue("tenants").await.expect("pause");
    let mut specs: Vec<JobSpec> = (0..JOBS)
        .map(|value| capped::spec(Utc::now(), capped::Args { value }))
        .collect();
    specs.extend((0..JOBS).map(|value| {
        per_tenant::spec(
            Utc::now(),
            per_tenant::Args {
                tenant: u32::try_from(value % 3).unwrap_or(0),
                value,
            },
        )
    }));
    first
        .schedule_bulk(specs, ConflictResolution::Raise, 1000)
        .await
        .expect("scheduled");
    first.start().await.expect("worker");
    second.start().await.expect("worker");
    // The paused queue waits while the other drains; then it is resumed and drains too.
    assert_eq!(
        rec.wait_for("capped", JOBS as usize).await.len(),
        JOBS as usize
    );
    assert!(rec.values("tenant").is_empty(), "a paused queue ran a job");
    second.resume_queue("tenants").await.expect("resume");
    assert_eq!(
        rec.wait_for("tenant", JOBS as usize).await.len(),
        JOBS as usize
    );
    first.shutdown().await.expect("shutdown");
    second.shutdown().await.expect("shutdown");
    println!(
        "queues through PgBouncer, 2 workers x 4 slots: capped (limit 2) at most {} at once; \
         tenants at most {} at once, each tenant (limit 1) at most {}",
        runs.most("capped"),
        runs.most("tenants"),
        (0..3)
            .map(|tenant| runs.most(&format!("tenant:{tenant}")))
            .max()
            .unwrap_or(0)
    );
    assert_eq!(runs.most("capped"), 2, "the queue's limit, and used");
    for tenant in 0..3 {
        assert_eq!(runs.most(&format!("tenant:{tenant}")), 1, "tenant {tenant}");
    }
    assert!(runs.most("tenants") >= 2, "different tenants ran at once");
    assert_eq!(rec.values("capped").len(), JOBS as usize, "none ran twice");
    assert_eq!(rec.values("tenant").len(), JOBS as usize, "none ran twice");
    db.drop_schema().await;
}
