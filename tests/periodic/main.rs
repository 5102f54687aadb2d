//! Periodic jobs end to end: aligned windows, exactly one run per window across schedulers,
//! enable/disable/trigger/status, advisory locks, chains that survive failures.
//!
//! A test binary of its own: every periodic job defined here is enqueued by every scheduler
//! in this binary, so they must not disturb the one-off tests in `it`.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pgsched::{JobContext, JobStatus, Scheduler, State, periodic};
use pgsched_tests::{Recorder, TestDb, eventually};
use sqlx::{AssertSqlSafe, Row};

mod identity;

/// Every second; records its window (the job id ends with the window's Unix ms).
#[periodic(every = "1s")]
async fn every_second(ctx: JobContext, rec: State<Recorder>) {
    rec.record("every_second", window_ms(&ctx));
}

/// Every minute in New York.
#[periodic(cron = "* * * * *", tz = "America/New_York")]
async fn every_minute_ny(ctx: JobContext, rec: State<Recorder>) {
    rec.record("every_minute_ny", window_ms(&ctx));
}

/// Starts disabled.
#[periodic(every = "1s", enabled = false, dedup_key = "dormant")]
async fn dormant(rec: State<Recorder>) {
    rec.record("dormant", 1);
}

/// Fails every run; its chain must go on.
#[periodic(every = "1s", max_retries = 0, dedup_key = "always_failing")]
async fn always_failing(ctx: JobContext, rec: State<Recorder>) -> Result<(), String> {
    rec.record("always_failing", window_ms(&ctx));
    Err("broken on purpose".into())
}

/// Holds the advisory lock while it runs (about 400 ms).
#[periodic(every = "1s", advisory_lock, dedup_key = "locked")]
async fn locked(ctx: JobContext, rec: State<Recorder>) {
    rec.record("locked_start", window_ms(&ctx));
    tokio::time::sleep(Duration::from_millis(400)).await;
    rec.record("locked_end", window_ms(&ctx));
}

pub(crate) fn window_ms(ctx: &JobContext) -> i64 {
    ctx.id()
        .as_str()
        .rsplit(':')
        .next()
        .and_then(|ms| ms.parse().ok())
        .unwrap_or(-1)
}

fn key_of(scheduler_jobs: &[pgsched::PeriodicJobInfo], job: &str) -> String {
    scheduler_jobs
        .iter()
        .find(|info| info.job_name == job)
        .map(|info| info.key.clone())
        .expect("registered")
}

async fn worker(db: &TestDb, rec: &Recorder) -> Scheduler {
    let scheduler = db
        .scheduler(|b| {
            b.state(rec.clone())
                .periodic_tick(Duration::from_millis(200))
        })
        .await;
    scheduler.start().await.expect("worker");
    scheduler
}

#[tokio::test]
async fn interval_windows_are_aligned_and_run_once_each_across_two_workers() {
    let db = TestDb::new();
    let rec = Recorder::default();
    let first = worker(&db, &rec).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let second = worker(&db, &rec).await; // starts late, same schema, same schedules
    rec.wait_for("every_second", 4).await;
    first.shutdown().await.expect("shutdown");
    second.shutdown().await.expect("shutdown");

    let windows = rec.values("every_second");
    let distinct: HashSet<i64> = windows.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        windows.len(),
        "one run per window: {windows:?}"
    );
    assert!(
        windows.iter().all(|w| w % 1000 == 0),
        "aligned to whole seconds: {windows:?}"
    );
    let mut sorted = windows.clone();
    sorted.sort_unstable();
    assert!(
        sorted.windows(2).all(|pair| pair[1] - pair[0] == 1000),
        "no window missing while a worker lived: {sorted:?}"
    );

    let mut connection = db.connect().await;
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT count(*) AS runs, count(DISTINCT id) AS windows FROM \"{}\".jobs WHERE name = 'every_second'",
        db.schema()
    )))
    .fetch_one(&mut connection)
    .await
    .expect("count");
    let (runs, windows): (i64, i64) = (rows.get("runs"), rows.get("windows"));
    assert_eq!(runs, windows);
    println!("every_second: {windows} windows, {runs} enqueues");
    db.drop_schema().await;
}

#[tokio::test]
async fn a_cron_schedule_in_a_zone_runs_its_current_minute_once() {
    let db = TestDb::new();
    let rec = Recorder::default();
    // The schedule was registered before the current minute began (by a management call;
    // the row's `schedule_since` is moved back to the minute) and no worker ran since: the
    // current minute's window was missed while no worker ran, and runs late, within its
    // misfire grace. (A brand-new schedule waits for the next minute: see `identity`.)
    let registering = db.scheduler(|b| b).await;
    registering.periodic_jobs().await.expect("registered");
    let mut connection = db.connect().await;
    sqlx::query(AssertSqlSafe(format!(
        "UPDATE \"{}\".periodic_schedules SET schedule_since = date_trunc('minute', now()) \
         WHERE dedup_key = 'every_minute_ny'",
        db.schema()
    )))
    .execute(&mut connection)
    .await
    .expect("backdated");
    let first = worker(&db, &rec).await;
    let windows = rec.wait_for("every_minute_ny", 1).await;
    let second = worker(&db, &rec).await;
    tokio::time::sleep(Duration::from_millis(600)).await; // a few ticks of the second worker
    first.shutdown().await.expect("shutdown");
    second.shutdown().await.expect("shutdown");
    let window = windows[0];
    assert_eq!(window % 60_000, 0, "a minute boundary");
    let at = DateTime::<Utc>::from_timestamp_millis(window).expect("valid");
    assert!(Utc::now() - at < chrono::Duration::seconds(75));
    let runs = rec.values("every_minute_ny");
    let distinct: HashSet<i64> = runs.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        runs.len(),
        "each minute at most once: {runs:?}"
    );
    db.drop_schema().await;
}

#[tokio::test]
async fn enable_disable_trigger_and_status() {
    let db = TestDb::new();
    let rec = Recorder::default();
    let scheduler = worker(&db, &rec).await;
    let jobs = scheduler.periodic_jobs().await.expect("list");
    let dormant = jobs
        .iter()
        .find(|info| info.key == "dormant")
        .expect("listed");
    assert!(!dormant.enabled);
    assert_eq!(dormant.schedule, "every:1000ms");
    assert!(dormant.next_fire.is_some());
    let every_key = key_of(&jobs, "every_second");
    assert_eq!(
        every_key, "every_second",
        "the default key is the job's name"
    );
    let every_info = jobs
        .iter()
        .find(|info| info.key == every_key)
        .expect("listed");
    assert_eq!(every_info.schedule_in_force, every_info.schedule);
    eventually("the worker's start to register it", || async {
        let jobs = scheduler.periodic_jobs().await.expect("list");
        jobs.into_iter()
            .find(|info| info.key == "every_second")
            .and_then(|info| info.registered_by)
    })
    .await;

    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        rec.values("dormant").is_empty(),
        "disabled schedules never run"
    );

    let triggered = scheduler
        .trigger_periodic_job("dormant")
        .await
        .expect("trigger");
    assert!(triggered.as_str().starts_with("manual:dormant:"));
    rec.wait_for("dormant", 1).await;

    assert!(
        scheduler
            .enable_periodic_job("dormant")
            .await
            .expect("enable")
    );
    rec.wait_for("dormant", 3).await;
    assert!(
        scheduler
            .disable_periodic_job("dormant")
            .await
            .expect("disable")
    );
    tokio::time::sleep(Duration::from_millis(600)).await; // a run already started may finish
    let settled = rec.values("dormant").len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        rec.values("dormant").len(),
        settled,
        "disabling stops the schedule"
    );

    let status = scheduler
        .periodic_job_status(&every_key)
        .await
        .expect("status");
    assert!(status.info.enabled);
    assert!(status.last_window.is_some());
    assert!(status.info.next_fire > status.last_window);
    let last_run = eventually("the last window to run", || async {
        let status = scheduler
            .periodic_job_status(&every_key)
            .await
            .expect("status");
        status
            .last_run
            .filter(|job| job.status == JobStatus::Completed)
    })
    .await;
    assert_eq!(last_run.name, "every_second");
    assert!(matches!(
        scheduler.enable_periodic_job("no-such-key").await,
        Err(pgsched::Error::UnknownPeriodicJob { .. })
    ));
    scheduler.shutdown().await.expect("shutdown");
    db.drop_schema().await;
}

#[tokio::test]
async fn a_failing_run_does_not_end_the_chain() {
    let db = TestDb::new();
    let rec = Recorder::default();
    let scheduler = worker(&db, &rec).await;
    let windows = rec.wait_for("always_failing", 3).await;
    scheduler.shutdown().await.expect("shutdown");
    assert!(
        windows.windows(2).all(|pair| pair[1] > pair[0]),
        "{windows:?}"
    );
    let status = scheduler
        .periodic_job_status("always_failing")
        .await
        .expect("status");
    assert!(status.info.enabled);
    db.drop_schema().await;
}

#[tokio::test]
async fn an_advisory_locked_run_holds_its_lock_and_a_contended_run_is_skipped_and_recorded() {
    let db = TestDb::new();
    let rec = Recorder::default();
    let scheduler = worker(&db, &rec).await;
    rec.wait_for("locked_start", 1).await;
    let lock_key = format!("pgsched:{}:locked", db.schema());
    let mut observer = db.connect().await;
    let held: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)",
    )
    .bind(&lock_key)
    .fetch_one(&mut observer)
    .await
    .expect("pg_locks");
    assert_eq!(
        held, 1,
        "the lock is held, by another connection, while the run is in progress"
    );

    // A hostile holder takes the lock between two runs (each holds it ~400 ms a second);
    // the next runs cannot get it, so they are skipped and recorded. `_holder` keeps that
    // connection (and so the lock) until the end of the test.
    rec.wait_for("locked_end", 1).await;
    let _holder = eventually("the lock between two runs", || {
        let lock_key = lock_key.clone();
        let db = &db;
        async move {
            let mut observer = db.connect().await;
            let taken: bool =
                sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
                    .bind(&lock_key)
                    .fetch_one(&mut observer)
                    .await
                    .expect("lock");
            taken.then_some(observer)
        }
    })
    .await;
    let started = rec.values("locked_start").len();
    let skipped = eventually("a skipped run", || async {
        let mut connection = db.connect().await;
        sqlx::query_scalar::<_, String>(AssertSqlSafe(format!(
            "SELECT last_error FROM \"{}\".jobs WHERE name = 'locked' AND status = 'cancelled' LIMIT 1",
            db.schema()
        )))
        .fetch_optional(&mut connection)
        .await
        .expect("query")
    })
    .await;
    assert!(
        skipped.starts_with("skipped: the advisory lock of periodic job \"locked\""),
        "{skipped}"
    );
    assert!(
        rec.values("locked_start").len() <= started + 1,
        "skipped runs do not run"
    );
    scheduler.shutdown().await.expect("shutdown");
    db.drop_schema().await;
}

#[tokio::test]
async fn deleting_finished_runs_immediately_never_reopens_their_windows() {
    let db = TestDb::new();
    let rec = Recorder::default();
    let vacuum = pgsched::VacuumConfig {
        completed: pgsched::VacuumPolicy::immediate(),
        cancelled: pgsched::VacuumPolicy::immediate(),
        failed: pgsched::VacuumPolicy::immediate(),
        interval: Duration::from_millis(100),
        track_metrics: true,
        ..pgsched::VacuumConfig::default()
    };
    let start = |rec: Recorder| {
        let db = db.clone();
        async move {
            let scheduler = db
                .scheduler(|b| {
                    b.state(rec)
                        .periodic_tick(Duration::from_millis(200))
                        .vacuum(vacuum)
                })
                .await;
            scheduler.start().await.expect("worker");
            scheduler
        }
    };
    let first = start(rec.clone()).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let second = start(rec.clone()).await;
    rec.wait_for("every_second", 5).await;
    let deleted = eventually("retention to delete finished runs", || async {
        let totals = first.total_vacuum_stats().await.expect("totals");
        (totals.deleted.completed >= 3).then_some(totals.deleted.completed)
    })
    .await;
    first.shutdown().await.expect("shutdown");
    second.shutdown().await.expect("shutdown");
    let mut windows = rec.values("every_second");
    let runs = windows.len();
    windows.sort_unstable();
    windows.dedup();
    assert_eq!(
        windows.len(),
        runs,
        "one run per window although finished runs were deleted"
    );
    assert!(
        windows.windows(2).all(|pair| pair[1] - pair[0] == 1000),
        "{windows:?}"
    );
    println!("immediate retention: {runs} windows, {deleted} finished runs deleted, 0 duplicates");
    db.drop_schema().await;
}
