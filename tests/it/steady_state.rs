//! The soak's smoke variant (the full soak is `cargo xtask bench soak`): a steady load of
//! single enqueues from two clients into a running worker whose retention deletes completed
//! jobs every second, while another session holds the cluster's `xmin` horizon. Every job
//! runs, and the table does not keep what retention should have deleted.

use std::time::Duration;

use chrono::Utc;
use pgsched::{VacuumConfig, VacuumPolicy};
use pgsched_tests::{Recorder, TestDb, eventually};
use sqlx::AssertSqlSafe;

use crate::jobs::mark;

const CLIENTS: i64 = 2;
const JOBS_PER_CLIENT: i64 = 150;
const SPACING: Duration = Duration::from_millis(20);

#[tokio::test]
async fn steady_load_with_a_held_horizon_runs_every_job_and_retention_keeps_up() {
    let db = TestDb::new();
    let rec = Recorder::default();
    let scheduler = db
        .scheduler(|b| {
            b.state(rec.clone()).vacuum(
                VacuumConfig::new()
                    .completed(VacuumPolicy::immediate())
                    .interval(Duration::from_secs(1)),
            )
        })
        .await;
    // A report, a backup or a forgotten psql: VACUUM can remove nothing from here on.
    let mut holder = db.connect().await;
    sqlx::query("BEGIN")
        .execute(&mut holder)
        .await
        .expect("begin");
    sqlx::query("SELECT txid_current()")
        .execute(&mut holder)
        .await
        .expect("xid");
    scheduler.start().await.expect("worker starts");

    let mut clients = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        let scheduler = scheduler.clone();
        clients.spawn(async move {
            let mut ticker = tokio::time::interval(SPACING);
            for n in 0..JOBS_PER_CLIENT {
                ticker.tick().await;
                mark::schedule(
                    Utc::now(),
                    mark::Args {
                        label: "steady".into(),
                        value: client * JOBS_PER_CLIENT + n,
                    },
                )
                .on(&scheduler)
                .await
                .expect("enqueued");
            }
        });
    }
    while let Some(done) = clients.join_next().await {
        done.expect("client");
    }
    let mut ran = rec
        .wait_for("steady", (CLIENTS * JOBS_PER_CLIENT) as usize)
        .await;
    ran.sort_unstable();
    ran.dedup();
    assert_eq!(
        ran.len(),
        (CLIENTS * JOBS_PER_CLIENT) as usize,
        "every job ran once"
    );

    // Retention keeps up: completed jobs are deleted pass after pass, the held horizon
    // notwithstanding (it keeps dead row versions, not live rows).
    let count = format!(
        "SELECT count(*) FROM \"{}\".jobs WHERE status = 'completed'",
        db.schema()
    );
    eventually("retention to delete the completed jobs", || {
        let statement = count.clone();
        let pool = scheduler.pool().clone();
        async move {
            let left: i64 = sqlx::query_scalar(AssertSqlSafe(statement))
                .fetch_one(&pool)
                .await
                .expect("count");
            (left == 0).then_some(())
        }
    })
    .await;
    sqlx::query("ROLLBACK")
        .execute(&mut holder)
        .await
        .expect("rollback");
    scheduler.shutdown().await.expect("shutdown");
    db.drop_schema().await;
}
