//! A periodic schedule's identity is its key (the job's name), not its expression: replicas
//! that disagree about the expression follow the most recently started one, an operator's
//! disable survives a restart with a changed expression, and a brand-new schedule runs no
//! window from before its registration.
//!
//! These workers are built by hand (`pgsched_core::Worker` over a registry of their own) so
//! that two of them can carry different expressions for one job name, as two binaries in a
//! rolling deploy do; their `PeriodicDefinition`s are leaked to get the `&'static` the
//! registry wants.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use pgsched::{JobContext, State, job};
use pgsched_core::periodic::{PeriodicDefinition, PeriodicSchedule, legacy_default_key};
use pgsched_core::store::JobStore;
use pgsched_core::{JobDefinition, Registry, States, Worker, WorkerHandle};
use pgsched_tests::{Recorder, TestDb, eventually, setup};
use sqlx::AssertSqlSafe;

use crate::window_ms;

/// The job whose schedule the replicas below disagree about.
#[job]
async fn drifting(ctx: JobContext, rec: State<Recorder>) {
    rec.record("drifting", window_ms(&ctx));
}

/// An unrelated schedule every second: its runs show that ticks happened.
#[job]
async fn probe(ctx: JobContext, rec: State<Recorder>) {
    rec.record("probe", window_ms(&ctx));
}

fn every(millis: u64) -> PeriodicSchedule {
    PeriodicSchedule::Every(Duration::from_millis(millis))
}

fn schedule_of(
    job: &'static JobDefinition,
    schedule: PeriodicSchedule,
) -> &'static PeriodicDefinition {
    Box::leak(Box::new(PeriodicDefinition {
        job,
        schedule,
        dedup_key: None,
        advisory_lock: false,
        enabled: true,
    }))
}

/// A worker on `db` whose only periodic schedules are `drifting` on `schedule` and, with
/// `probe`, `probe` every second.
async fn replica(
    db: &TestDb,
    rec: &Recorder,
    schedule: PeriodicSchedule,
    with_probe: bool,
) -> WorkerHandle {
    let scheduler = db
        .scheduler(|b| b.periodic_tick(Duration::from_millis(200)))
        .await;
    let mut periodic = vec![schedule_of(&drifting::DEFINITION, schedule)];
    if with_probe {
        periodic.push(schedule_of(&probe::DEFINITION, every(1000)));
    }
    let registry = Registry::from_definitions([&drifting::DEFINITION, &probe::DEFINITION])
        .and_then(|registry| registry.with_periodic(periodic))
        .expect("registry");
    let store: Arc<dyn JobStore> = Arc::new(pgsched::__private::store(&scheduler).clone());
    Worker::new(
        store,
        registry,
        scheduler.worker_config().clone(),
        *pgsched::__private::schedule_defaults(&scheduler),
        States::default().with(rec.clone()),
    )
    .start()
    .await
    .expect("worker starts")
}

/// One value from the schema's `periodic_schedules`, by SQL that reads the same before and
/// after schema 5 (so these tests can run against older versions too).
async fn scalar<T>(db: &TestDb, select: &str) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    let mut connection = db.connect().await;
    let statement = select.replace(
        "SCHEDULES",
        &format!("\"{}\".periodic_schedules", db.schema()),
    );
    sqlx::query_scalar(AssertSqlSafe(statement))
        .fetch_one(&mut connection)
        .await
        .expect("query")
}

async fn db_now(db: &TestDb) -> DateTime<Utc> {
    scalar(db, "SELECT now()").await
}

/// Log lines written on this thread while it lives. `#[tokio::test]` runs the runtime on
/// the test's thread, so the workers' tasks log here, and only this test's.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let sink = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn lines_with(&self, needles: &[&str]) -> Vec<String> {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter(|line| needles.iter().all(|needle| line.contains(needle)))
            .map(str::to_owned)
            .collect()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn replicas_with_different_expressions_run_no_window_twice_and_the_older_one_says_why() {
    let logs = Logs::default();
    let _capture = logs.capture();
    let t = setup().await;
    let (db, rec) = (&t.db, &t.rec);

    // The old binary: every 500 ms.
    let old = replica(db, rec, every(500), false).await;
    let old_worker = old.worker_id().to_owned();
    rec.wait_for("drifting", 2).await;
    // A new binary starts while the old one lives: every second.
    let new = replica(db, rec, every(1000), false).await;
    eventually("the new replica's registration", || async {
        let registered: i64 = scalar(
            db,
            "SELECT count(*) FROM SCHEDULES WHERE schedule = 'every:1000ms'",
        )
        .await;
        (registered == 1).then_some(())
    })
    .await;
    // Both live and tick (every 200 ms) through several more windows.
    let seen = rec.values("drifting").len();
    rec.wait_for("drifting", seen + 4).await;
    new.shutdown().await.expect("shutdown");
    old.shutdown().await.expect("shutdown");

    let windows = rec.values("drifting");
    let distinct: HashSet<i64> = windows.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        windows.len(),
        "no window ran twice: {windows:?}"
    );
    // The old replica said, once, why it stands down, naming both schedules.
    let standing_down = [
        old_worker.as_str(),
        "every:500ms",
        "every:1000ms",
        "enqueues nothing",
    ];
    assert_eq!(
        logs.lines_with(&standing_down).len(),
        1,
        "logged once, not at every tick:\n{}",
        logs.lines_with(&["enqueues nothing"]).join("\n")
    );
    // From the new registration on, only the new schedule's windows ran.
    let since: DateTime<Utc> = scalar(
        db,
        "SELECT schedule_since FROM SCHEDULES WHERE dedup_key = 'drifting'",
    )
    .await;
    let since_ms = since.timestamp_millis();
    let after: Vec<i64> = windows.iter().copied().filter(|w| *w >= since_ms).collect();
    assert!(after.len() >= 4, "{windows:?} (since {since_ms})");
    assert!(
        after.iter().all(|w| w % 1000 == 0),
        "after the new registration only its windows run: {after:?} (since {since_ms})"
    );
    println!(
        "two replicas, 500 ms vs 1 s: {} windows, none twice, {} after the switch",
        windows.len(),
        after.len()
    );
}

#[tokio::test]
async fn a_disable_survives_a_restart_with_a_changed_expression() {
    let t = setup().await;
    let (db, rec) = (&t.db, &t.rec);
    let first = replica(db, rec, every(1000), true).await;
    rec.wait_for("drifting", 1).await;
    let key: String = scalar(
        db,
        "SELECT dedup_key FROM SCHEDULES WHERE job_name = 'drifting'",
    )
    .await;
    let store = db.scheduler(|b| b).await;
    assert!(
        pgsched::__private::store(&store)
            .set_periodic_enabled(&key, false)
            .await
            .expect("disable")
    );
    first.shutdown().await.expect("shutdown");
    let settled = rec.values("drifting").len();

    // Redeployed with another expression.
    let probes = rec.values("probe").len();
    let second = replica(db, rec, every(2000), true).await;
    // A bounded observation, which this property forces (proving that nothing runs): five
    // probe windows (whole seconds, after the restart) span more than one 2 s window of
    // `drifting`, which would have been enqueued in the same ticks had it been enabled.
    rec.wait_for("probe", probes + 5).await;
    second.shutdown().await.expect("shutdown");

    assert_eq!(
        rec.values("drifting").len(),
        settled,
        "the disabled schedule stays disabled after the restart"
    );
    let rows: i64 = scalar(
        db,
        "SELECT count(*) FROM SCHEDULES WHERE job_name = 'drifting'",
    )
    .await;
    assert_eq!(rows, 1, "one schedule for the job, not one per expression");
    let enabled: bool = scalar(
        db,
        "SELECT bool_or(enabled) FROM SCHEDULES WHERE job_name = 'drifting'",
    )
    .await;
    assert!(!enabled);
    let in_force: String = scalar(
        db,
        "SELECT schedule FROM SCHEDULES WHERE job_name = 'drifting'",
    )
    .await;
    assert_eq!(
        in_force, "every:2000ms",
        "the row records the expression in force"
    );
}

#[tokio::test]
async fn a_brand_new_schedule_runs_no_window_from_before_its_registration() {
    let t = setup().await;
    let (db, rec) = (&t.db, &t.rec);
    // Migrate first, so `before` is close to the worker's registration.
    let _migrated = db.scheduler(|b| b).await;
    let before = db_now(db).await;
    let worker = replica(db, rec, every(3000), false).await;
    let first = rec.wait_for("drifting", 1).await[0];
    worker.shutdown().await.expect("shutdown");
    assert!(
        first >= before.timestamp_millis(),
        "the first window ({first}) must not be before the registration ({})",
        before.timestamp_millis()
    );
}

#[tokio::test]
async fn the_first_registration_adopts_the_row_an_older_version_kept_under_its_hashed_key() {
    let t = setup().await;
    let (db, rec) = (&t.db, &t.rec);
    let _migrated = db.scheduler(|b| b).await;
    // Before schema 5 the default key hashed name and schedule, so each expression the job
    // had left a row. The operator disabled the latest one; an older one is still enabled.
    let latest = legacy_default_key("drifting", "every:500ms");
    let older = legacy_default_key("drifting", "every:250ms");
    let mut connection = db.connect().await;
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO \"{}\".periodic_schedules \
         (dedup_key, job_name, schedule, enabled, last_window, last_job_id, updated_at) VALUES \
         ($1, 'drifting', 'every:500ms', false, now() + interval '1 hour', 'periodic:x:1', now()), \
         ($2, 'drifting', 'every:250ms', true, now() - interval '1 day', 'periodic:y:1', \
          now() - interval '1 day')",
        db.schema()
    )))
    .bind(&latest)
    .bind(&older)
    .execute(&mut connection)
    .await
    .expect("legacy rows");
    let legacy_window: DateTime<Utc> = scalar(
        db,
        &format!("SELECT last_window FROM SCHEDULES WHERE dedup_key = '{latest}'"),
    )
    .await;

    let worker = replica(db, rec, every(1000), true).await;
    rec.wait_for("probe", 1).await; // registered, and ticking
    worker.shutdown().await.expect("shutdown");

    let (enabled, last_window, schedule): (bool, Option<DateTime<Utc>>, String) = {
        let statement = format!(
            "SELECT enabled, last_window, schedule FROM \"{}\".periodic_schedules \
             WHERE dedup_key = 'drifting'",
            db.schema()
        );
        sqlx::query_as(AssertSqlSafe(statement))
            .fetch_one(&mut connection)
            .await
            .expect("the new row")
    };
    assert!(!enabled, "the operator's disable is carried over");
    assert_eq!(
        last_window,
        Some(legacy_window),
        "so is the last window (no window runs twice across the upgrade)"
    );
    assert_eq!(schedule, "every:1000ms");
    assert!(rec.values("drifting").is_empty());
    let left: Vec<String> = {
        let statement = format!(
            "SELECT dedup_key FROM \"{}\".periodic_schedules WHERE job_name = 'drifting' \
             ORDER BY dedup_key",
            db.schema()
        );
        sqlx::query_scalar(AssertSqlSafe(statement))
            .fetch_all(&mut connection)
            .await
            .expect("rows")
    };
    let mut expected = vec!["drifting".to_owned(), older];
    expected.sort();
    assert_eq!(
        left, expected,
        "the adopted row is gone; an older one stays, inert"
    );
}
