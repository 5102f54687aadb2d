//! T5, PostgreSQL restarts: a throwaway cluster owned by the test is restarted once with
//! `-m fast` and once with `-m immediate` (crash recovery) while 2 workers drain 3,000 jobs.
//! No worker process exits, both run queries and LISTEN again soon after, and every job
//! completes (an attempt in flight during an outage may run again: at least once).

use std::sync::Arc;
use std::time::{Duration, Instant};

use pgsched_devdb::DevDatabase;
use sqlx::Row;

use crate::harness::{Lab, gate, work_job};

const JOBS: usize = 3_000;
/// Restart when this many jobs have completed.
const RESTARTS: [(&str, i64); 2] = [("fast", 600), ("immediate", 1_800)];
const SCHEMA: &str = "chaos";
/// Workers must run jobs and LISTEN again within this long after PostgreSQL is back.
const BACK_WITHIN: Duration = Duration::from_secs(10);

async fn wait_for(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if check().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn fast_and_immediate_restarts_lose_nothing_and_kill_no_worker() {
    let _permit = gate(2);
    let db = Arc::new(
        tokio::task::spawn_blocking(DevDatabase::start_throwaway)
            .await
            .expect("join")
            .expect("a throwaway PostgreSQL cluster"),
    );
    let lab = Lab::on(db.url(), SCHEMA, |b| b).await;
    let specs = (0..JOBS)
        .map(|i| work_job(format!("r{i}"), "r", 5).max_retries(3))
        .collect();
    lab.enqueue(specs).await;
    let spec = lab
        .worker()
        .set("concurrency", 8)
        .set("retry_initial_ms", 100)
        .set("retry_max_ms", 1000);
    let mut workers = [spec.spawn("r0"), spec.spawn("r1")];
    for worker in &mut workers {
        worker.wait_ready().await;
    }
    let completed_sql = format!(
        "SELECT count(*) FROM {} WHERE status = 'completed'",
        lab.t("jobs")
    );
    let listen_sql = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN \"pgsched_jobs_{SCHEMA}\"'"
    );
    let start = Instant::now();
    let mut figures = Vec::new();
    for (mode, at) in RESTARTS {
        wait_for(
            &format!("{at} completions"),
            Duration::from_secs(60),
            async || {
                lab.try_i64(&completed_sql)
                    .await
                    .is_ok_and(|done| done >= at)
            },
        )
        .await;
        let done_before = lab.i64(&completed_sql).await;
        let restarting = Instant::now();
        let cluster = Arc::clone(&db);
        let mode_owned = mode.to_owned();
        tokio::task::spawn_blocking(move || cluster.restart(&mode_owned))
            .await
            .expect("join")
            .unwrap_or_else(|e| panic!("restart -m {mode}: {e}"));
        let outage = restarting.elapsed();
        // Back: an attempt started after the new postmaster did.
        let resumed = wait_for(
            "a job to start after the restart",
            BACK_WITHIN,
            async || {
                lab.try_i64(&format!(
                    "SELECT count(*) FROM {} WHERE t_start > pg_postmaster_start_time()",
                    lab.t("effects")
                ))
                .await
                .is_ok_and(|started| started > 0)
            },
        )
        .await;
        let relisten = wait_for("both workers to LISTEN again", BACK_WITHIN, async || {
            lab.try_i64(&listen_sql).await.is_ok_and(|n| n == 2)
        })
        .await;
        for worker in &mut workers {
            assert!(
                worker.exited().is_none(),
                "worker {} exited after restart -m {mode}:\n{}",
                worker.label(),
                worker.stderr_tail(30)
            );
        }
        // The two waits run one after the other, both from the moment it accepted connections.
        let relisten = resumed + relisten;
        figures.push(format!(
            "-m {mode} at {done_before} completed: down {outage:.2?}, jobs running again {resumed:.2?} \
             and LISTEN x2 within {relisten:.2?} after it accepted connections"
        ));
    }
    let drain = lab.wait_drained(Duration::from_secs(90), |_| {}).await;
    let total = start.elapsed();
    let statuses = lab.statuses().await;
    let completed = statuses.get("completed").copied().unwrap_or(0);
    let effects = lab.t("effects");
    // Attempts are told apart by lease token: the oracle's own retry of an insert whose commit
    // was not acknowledged (the connection died) can record one attempt twice.
    let rerun = lab
        .i64(&format!(
            "SELECT count(*) FROM (SELECT job_id FROM {effects} GROUP BY job_id
                                    HAVING count(DISTINCT lease_token) > 1) d"
        ))
        .await;
    let histogram: Vec<(i32, i64)> = lab
        .rows(&format!(
            "SELECT attempts, count(*) FROM {} GROUP BY attempts ORDER BY attempts",
            lab.t("jobs")
        ))
        .await
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let relistened: Vec<usize> = workers
        .iter()
        .map(|worker| worker.stderr().matches("LISTEN re-established").count())
        .collect();
    println!(
        "pg_restart: {JOBS} jobs of 5 ms, 2 workers x 8; {}; drained {drain:.1?} after the last restart ({total:.1?} in all); \
         statuses {statuses:?}; lost {}; worker exits 0; jobs run more than once (at-least-once) {rerun}; \
         attempts histogram {histogram:?}; LISTEN re-established per worker {relistened:?}",
        figures.join("; "),
        i64::try_from(JOBS).unwrap_or(0) - completed
    );
    assert_eq!(
        completed,
        i64::try_from(JOBS).unwrap_or(0),
        "lost jobs: {statuses:?}"
    );
    for worker in &mut workers {
        assert!(worker.exited().is_none(), "{}", worker.stderr_tail(30));
        let status = worker.stop_gracefully(Duration::from_secs(15)).await;
        assert!(status.is_some_and(|s| s.success()), "{status:?}");
    }
    lab.cleanup().await;
    tokio::task::spawn_blocking(move || drop(db))
        .await
        .expect("cluster stopped");
}
