//! Retention on a table of CI size (200,000 finished rows over 50 job names): every policy
//! deletes exactly what it should, waiting and running jobs and periodic schedules are left
//! alone, statistics are recorded, and a policy whose statement fails stops only itself.

use pgsched::{Scheduler, VacuumConfig, VacuumPolicy};
use pgsched_tests::{TestDb, setup};
use sqlx::AssertSqlSafe;

const NAMES: i64 = 50;
const PER_STATUS: i64 = 50_000;
const KEEP_LAST: u32 = 100;

/// Fills the table: `PER_STATUS` rows of each terminal status across `NAMES` names, finished
/// 0.5, 1.5, … 9.5 days ago (a tenth each, each row a millisecond apart, so no two share a
/// finish time and no age is near a policy's boundary), plus live rows that
/// retention must never touch: pending, scheduled (due tomorrow), running, and a periodic
/// schedule.
async fn fill(db: &TestDb) {
    let mut connection = db.connect().await;
    let schema = db.schema();
    for status in ["completed", "failed", "cancelled", "expired"] {
        let statement = format!(
            "INSERT INTO \"{schema}\".jobs (id, name, payload, run_at, status, finished_at) \
             SELECT $1 || '-' || g, 'job_' || (g % $2), '\\x', now() - interval '11 days', $1, \
                    now() - (((g - 1) % 10) + 0.5) * interval '1 day' - g * interval '1 millisecond' \
               FROM generate_series(1, $3) AS g"
        );
        sqlx::query(AssertSqlSafe(statement))
            .bind(status)
            .bind(NAMES)
            .bind(PER_STATUS)
            .execute(&mut connection)
            .await
            .expect("finished rows");
    }
    let live = format!(
        "INSERT INTO \"{schema}\".jobs (id, name, payload, run_at, status, lease_token, lease_expires_at) VALUES \
           ('live-pending', 'job_1', '\\x', now() - interval '30 days', 'pending', NULL, NULL), \
           ('live-scheduled', 'job_1', '\\x', now() + interval '1 day', 'scheduled', NULL, NULL), \
           ('live-running', 'job_1', '\\x', now() - interval '30 days', 'running', 7, now() + interval '1 hour'); \
         INSERT INTO \"{schema}\".periodic_schedules (dedup_key, job_name, schedule, enabled) \
           VALUES ('job_1', 'job_1', '@daily', true)"
    );
    sqlx::raw_sql(AssertSqlSafe(live))
        .execute(&mut connection)
        .await
        .expect("live rows");
    sqlx::query(AssertSqlSafe(format!("ANALYZE \"{schema}\".jobs")))
        .execute(&mut connection)
        .await
        .expect("analyze");
}

/// Rows left per status.
async fn left(db: &TestDb, status: &str) -> i64 {
    let mut connection = db.connect().await;
    sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT count(*) FROM \"{}\".jobs WHERE status = $1",
        db.schema()
    )))
    .bind(status)
    .fetch_one(&mut connection)
    .await
    .expect("count")
}

/// The most rows any one job name kept in `status`.
async fn most_kept_per_name(db: &TestDb, status: &str) -> (i64, i64) {
    let mut connection = db.connect().await;
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT min(kept), max(kept) FROM (SELECT count(*) AS kept FROM \"{}\".jobs \
          WHERE status = $1 GROUP BY name) AS per_name",
        db.schema()
    )))
    .bind(status)
    .fetch_one(&mut connection)
    .await
    .expect("count per name")
}

async fn scheduler(db: &TestDb) -> Scheduler {
    db.scheduler(|b| {
        b.vacuum(
            VacuumConfig::new()
                .completed(VacuumPolicy::after_days(1))
                .failed(VacuumPolicy::keep_last(KEEP_LAST))
                .cancelled(VacuumPolicy::immediate())
                .expired(VacuumPolicy::after_days(5))
                .track_metrics(true),
        )
    })
    .await
}

async fn live_rows_untouched(db: &TestDb) {
    let mut connection = db.connect().await;
    let live: Vec<(String, String)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT id, status FROM \"{}\".jobs WHERE id LIKE 'live-%' ORDER BY id",
        db.schema()
    )))
    .fetch_all(&mut connection)
    .await
    .expect("live rows");
    assert_eq!(
        live,
        [
            ("live-pending".into(), "pending".into()),
            ("live-running".into(), "running".into()),
            ("live-scheduled".into(), "scheduled".into()),
        ]
    );
    let schedules: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT count(*) FROM \"{}\".periodic_schedules",
        db.schema()
    )))
    .fetch_one(&mut connection)
    .await
    .expect("schedules");
    assert_eq!(schedules, 1);
}

#[tokio::test]
async fn every_policy_applies_at_scale_and_live_rows_are_untouched() {
    let t = setup().await;
    let db = &t.db;
    let scheduler = scheduler(db).await;
    fill(db).await;

    let report = scheduler.run_vacuum().await.expect("pass");

    // Finish ages are spread evenly over 10 days: 1 day keeps a tenth, 5 days half.
    assert_eq!(left(db, "completed").await, PER_STATUS / 10);
    assert_eq!(
        report.completed,
        u64::try_from(PER_STATUS * 9 / 10).expect("positive")
    );
    assert_eq!(left(db, "cancelled").await, 0);
    assert_eq!(left(db, "expired").await, PER_STATUS / 2);
    // keep_last: exactly the newest KEEP_LAST of every name (finish times are distinct).
    assert_eq!(
        most_kept_per_name(db, "failed").await,
        (i64::from(KEEP_LAST), i64::from(KEEP_LAST))
    );
    assert_eq!(
        report.failed,
        u64::try_from(PER_STATUS - NAMES * i64::from(KEEP_LAST)).expect("positive")
    );
    live_rows_untouched(db).await;
    let totals = scheduler.total_vacuum_stats().await.expect("stats");
    assert_eq!(totals.runs, 1);
    assert_eq!(totals.deleted.total(), report.total());
}

#[tokio::test]
async fn a_failing_policy_stops_only_itself_and_the_pass_is_recorded() {
    let t = setup().await;
    let db = &t.db;
    let scheduler = scheduler(db).await;
    fill(db).await;
    // Every delete of a failed job now fails, as a statement timeout or a broken index would.
    let mut connection = db.connect().await;
    sqlx::raw_sql(AssertSqlSafe(format!(
        "CREATE FUNCTION \"{schema}\".refuse() RETURNS trigger LANGUAGE plpgsql AS \
           $$ BEGIN RAISE EXCEPTION 'this delete is refused'; END $$; \
         CREATE TRIGGER refuse_failed BEFORE DELETE ON \"{schema}\".jobs \
           FOR EACH ROW WHEN (OLD.status = 'failed') EXECUTE FUNCTION \"{schema}\".refuse()",
        schema = db.schema()
    )))
    .execute(&mut connection)
    .await
    .expect("trigger");

    let error = scheduler
        .run_vacuum()
        .await
        .expect_err("the failed-jobs policy fails");
    assert!(error.to_string().contains("refused"), "{error}");

    // The policies after it (cancelled, expired) and before it (completed) still ran.
    assert_eq!(left(db, "failed").await, PER_STATUS);
    assert_eq!(left(db, "completed").await, PER_STATUS / 10);
    assert_eq!(left(db, "cancelled").await, 0);
    assert_eq!(left(db, "expired").await, PER_STATUS / 2);
    live_rows_untouched(db).await;
    // And the pass was recorded with what it deleted.
    let totals = scheduler.total_vacuum_stats().await.expect("stats");
    assert_eq!(totals.runs, 1);
    assert_eq!(
        totals.deleted.total(),
        u64::try_from(PER_STATUS * 9 / 10 + PER_STATUS + PER_STATUS / 2).expect("positive")
    );
}
