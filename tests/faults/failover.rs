//! Failover on the same address (issue 10, fencing test 2): a primary with an asynchronous
//! streaming replica (`pg_basebackup`); two real worker processes drain 2,000 jobs; mid-drain
//! the primary is stopped `-m immediate`, the replica is stopped, started on the primary's port
//! and promoted. The workers are not restarted: they must reconnect by themselves.
//!
//! What a failover to an asynchronous replica costs: the claims and outcomes the replica had
//! not received are lost (worker statements commit with `synchronous_commit = off`, and only
//! flushed WAL is streamed), so those jobs run again — a lost claim with the same attempt
//! number, a lost outcome after the replicated claim's lease expires. Nothing is lost, and no
//! lease token is handed out twice for a job.
//!
//! The oracle (`effects`, one row per attempt: job, attempt, lease token, pid) lives on the
//! shared test database, not on the cluster that fails over: attempts recorded on the old
//! primary would otherwise vanish with the WAL the replica never got, and a zombie's run would
//! leave no trace.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use pgsched_devdb::StopMode;
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Row};

use crate::harness::{Lab, gate, work_job};
use crate::{private_cluster, wait_for};

const JOBS: usize = 2_000;
/// How long each job sleeps.
const JOB_MILLIS: u64 = 10;
/// The primary is stopped when this many jobs have completed.
const FAILOVER_AT: i64 = 600;
/// Replication on, stated (these are PostgreSQL's defaults). Only flushed WAL is streamed,
/// and the WAL writer flushes asynchronous commits every 10 s here (default 200 ms), so at the
/// crash the replica lacks everything since the last synchronous commit — the workers'
/// heartbeats, about every half second: a replica a fraction of a second behind.
const PRIMARY_SETTINGS: [(&str, &str); 4] = [
    ("wal_level", "replica"),
    ("max_wal_senders", "4"),
    ("hot_standby", "on"),
    ("wal_writer_delay", "10s"),
];
/// The primary crashes once at least this much of its WAL is not flushed (so not streamed):
/// about a hundred jobs' claims and outcomes.
const UNREPLICATED: i64 = 96 * 1024;
/// How long the workers get to run jobs and LISTEN again on the new primary.
const BACK_WITHIN: Duration = Duration::from_secs(20);

/// `pg_lsn` as bytes, e.g. `lsn_sql("pg_last_wal_replay_lsn()")`.
fn lsn_sql(function: &str) -> String {
    format!("SELECT ({function} - '0/0')::int8")
}

async fn replica_lsn(replica: &PgPool, function: &str) -> i64 {
    sqlx::query_scalar::<_, Option<i64>>(sqlx::AssertSqlSafe(lsn_sql(function)))
        .fetch_one(replica)
        .await
        .unwrap_or_else(|error| panic!("{function} on the replica: {error}"))
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn failover_to_an_async_replica_on_the_same_port_loses_nothing_and_reuses_no_token() {
    let _permit = gate(2);
    // The oracle: a schema on the shared test database (pgsched's tables there stay unused).
    let oracle = Lab::new().await;
    let mut primary = private_cluster(&PRIMARY_SETTINGS);
    let mut replica = tokio::task::block_in_place(|| primary.replica(&[]))
        .unwrap_or_else(|error| panic!("a streaming replica: {error}"));
    let lab = Lab::on(&primary.url(), oracle.schema(), |b| b).await;
    let specs = (0..JOBS)
        .map(|i| work_job(format!("f{i:04}"), "f", JOB_MILLIS).max_retries(3))
        .collect();
    lab.enqueue(specs).await;

    // The schedule is flushed (synchronous commit) and replayed by the replica.
    let scheduled_at = lab.i64(&lsn_sql("pg_current_wal_flush_lsn()")).await;
    let replica_pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&replica.url())
        .await
        .expect("connects to the replica");
    wait_for(
        "the replica to replay the schedule",
        BACK_WITHIN,
        async || replica_lsn(&replica_pool, "pg_last_wal_replay_lsn()").await >= scheduled_at,
    )
    .await;
    let on_replica: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {}",
        lab.t("jobs")
    )))
    .fetch_one(&replica_pool)
    .await
    .expect("count on the replica");
    assert_eq!(on_replica, JOBS as i64, "the replica has the schedule");

    let spec = lab
        .worker()
        .set("concurrency", 8)
        .set("oracle_url", pgsched_tests::database_url())
        .set("retry_initial_ms", 100)
        .set("retry_max_ms", 1000);
    let mut workers = [spec.spawn("f0"), spec.spawn("f1")];
    for worker in &mut workers {
        worker.wait_ready().await;
    }
    let pids: Vec<i32> = workers
        .iter()
        .map(|worker| i32::try_from(worker.pid()).expect("pid"))
        .collect();
    let started = Instant::now();
    let completed_sql = format!(
        "SELECT count(*) FROM {} WHERE status = 'completed'",
        lab.t("jobs")
    );
    wait_for(
        &format!("{FAILOVER_AT} completions"),
        Duration::from_secs(60),
        async || {
            lab.try_i64(&completed_sql)
                .await
                .is_ok_and(|done| done >= FAILOVER_AT)
        },
    )
    .await;

    // The crash, mid-drain, once the replica lacks at least UNREPLICATED bytes of WAL (WAL
    // inserted but not flushed, so not streamed; this query flushes nothing).
    let mut completed_before: i64 = 0;
    let mut primary_inserted: i64 = 0;
    let mut unflushed: i64 = 0;
    let lag_sql = format!(
        "SELECT (pg_current_wal_insert_lsn() - pg_current_wal_flush_lsn())::int8,
                (pg_current_wal_insert_lsn() - '0/0')::int8,
                (SELECT count(*) FROM {} WHERE status = 'completed')",
        lab.t("jobs")
    );
    wait_for("unflushed WAL to build up", BACK_WITHIN, async || {
        let row = sqlx::query(sqlx::AssertSqlSafe(lag_sql.clone()))
            .fetch_one(lab.scheduler.pool())
            .await
            .expect("WAL positions on the primary");
        (unflushed, primary_inserted, completed_before) = (row.get(0), row.get(1), row.get(2));
        unflushed >= UNREPLICATED
    })
    .await;
    let crash_at = oracle.db_now().await;
    let crash = Instant::now();
    tokio::task::block_in_place(|| primary.stop(StopMode::Immediate))
        .unwrap_or_else(|error| panic!("primary stop -m immediate: {error}"));
    let replica_received = replica_lsn(&replica_pool, "pg_last_wal_receive_lsn()").await;
    let replica_replayed = replica_lsn(&replica_pool, "pg_last_wal_replay_lsn()").await;
    replica_pool.close().await;
    let port = primary.port();
    tokio::task::block_in_place(|| {
        replica.stop(StopMode::Fast)?;
        replica.start_on(port)?;
        replica.promote()
    })
    .unwrap_or_else(|error| panic!("failover to the replica on port {port}: {error}"));
    let promoted = crash.elapsed();
    let promoted_at = oracle.db_now().await;

    // On the new primary: what survived, then the workers coming back by themselves.
    let mut completed_after = -1;
    wait_for("the new primary to answer", BACK_WITHIN, async || match lab
        .try_i64(&completed_sql)
        .await
    {
        Ok(done) => {
            completed_after = done;
            true
        }
        Err(_) => false,
    })
    .await;
    wait_for("a completion on the new primary", BACK_WITHIN, async || {
        lab.try_i64(&completed_sql)
            .await
            .is_ok_and(|done| done > completed_after)
    })
    .await;
    let resumed = crash.elapsed();
    let listen_sql = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN \"pgsched_jobs_{}\"'",
        lab.schema()
    );
    wait_for("both workers to LISTEN again", BACK_WITHIN, async || {
        lab.try_i64(&listen_sql).await.is_ok_and(|n| n == 2)
    })
    .await;
    let relisten = crash.elapsed();
    for worker in &mut workers {
        assert!(
            worker.exited().is_none(),
            "worker {} exited after the failover:\n{}",
            worker.label(),
            worker.stderr_tail(30)
        );
    }
    let drain = lab.wait_drained(Duration::from_secs(60), |_| {}).await;
    let total = started.elapsed();

    // The verdict, from the new primary and the oracle.
    let statuses = lab.statuses().await;
    let running = lab
        .i64(&format!(
            "SELECT count(*) FROM {} WHERE status = 'running' OR lease_token IS NOT NULL",
            lab.t("jobs")
        ))
        .await;
    let effects = oracle.t("effects");
    let attempts_recorded = oracle.i64(&format!("SELECT count(*) FROM {effects}")).await;
    let unrecorded = oracle
        .i64(&format!(
            "SELECT count(*) FROM (SELECT DISTINCT job_id FROM {effects} WHERE t_end IS NOT NULL) d"
        ))
        .await;
    let same_token_two_pids = oracle
        .rows(&format!(
            "SELECT job_id, lease_token, array_agg(pid ORDER BY pid)::text
               FROM {effects} GROUP BY job_id, lease_token
             HAVING count(DISTINCT pid) > 1 ORDER BY job_id LIMIT 10"
        ))
        .await
        .iter()
        .map(|row| {
            (
                row.get::<String, _>(0),
                row.get::<i64, _>(1),
                row.get::<String, _>(2),
            )
        })
        .collect::<Vec<_>>();
    let same_token_twice = oracle
        .i64(&format!(
            "SELECT count(*) FROM (SELECT 1 FROM {effects} GROUP BY job_id, lease_token
                                    HAVING count(*) > 1) d"
        ))
        .await;
    // Issue 10: a token is unique across crashes and promotions, not only per job.
    let token_for_two_jobs = oracle
        .i64(&format!(
            "SELECT count(*) FROM (SELECT 1 FROM {effects} GROUP BY lease_token
                                    HAVING count(DISTINCT job_id) > 1) d"
        ))
        .await;
    // Jobs that ran before the crash and again after it, by why: the re-run has the same
    // attempt number when the claim was lost, a higher one when the claim was replicated but
    // the outcome was not (recovered once the lease expired).
    let rerun_rows = oracle
        .rows(&format!(
            "SELECT e.job_id, bool_or(e.attempt = last.attempt), bool_or(e.attempt > last.attempt)
               FROM {effects} e
               JOIN (SELECT DISTINCT ON (job_id) job_id, attempt FROM {effects}
                      WHERE t_start < to_timestamp({crash_at})
                      ORDER BY job_id, t_start DESC) last USING (job_id)
              WHERE e.t_start >= to_timestamp({crash_at})
              GROUP BY e.job_id"
        ))
        .await;
    let rerun = rerun_rows.len();
    let claim_lost = rerun_rows
        .iter()
        .filter(|row| row.get::<bool, _>(1))
        .count();
    let outcome_lost = rerun_rows
        .iter()
        .filter(|row| row.get::<bool, _>(2))
        .count();
    let after_promotion: BTreeMap<i32, i64> = oracle
        .rows(&format!(
            "SELECT pid, count(*) FROM {effects}
              WHERE t_start >= to_timestamp({promoted_at}) GROUP BY pid"
        ))
        .await
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let first_start_after = oracle
        .f64(&format!(
            "SELECT extract(epoch FROM min(t_start))::float8 - {crash_at}
               FROM {effects} WHERE t_start >= to_timestamp({promoted_at})"
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
    let on_cluster = lab
        .i64(&format!("SELECT count(*) FROM {}", lab.t("effects")))
        .await;
    let relistened: Vec<usize> = workers
        .iter()
        .map(|worker| worker.stderr().matches("LISTEN re-established").count())
        .collect();
    let completed = statuses.get("completed").copied().unwrap_or(0);
    println!(
        "failover: {JOBS} jobs of {JOB_MILLIS} ms, 2 workers x 8; primary stopped -m immediate \
         at {completed_before} completed with {unflushed} bytes of WAL not flushed (inserted up \
         to {primary_inserted}; the replica had received {replica_received}, replayed \
         {replica_replayed}); replica promoted on port \
         {port} {promoted:.2?} after the crash, with {completed_after} completed ({} \
         completions lost); first job started {first_start_after:.2} s after the crash, first \
         completion written {resumed:.2?} and LISTEN x2 by {relisten:.2?} after it; drained \
         {drain:.1?} after that ({total:.1?} in all); statuses {statuses:?}; lost {}; attempts \
         recorded {attempts_recorded}; jobs re-run after the failover {rerun} (claim not \
         replicated {claim_lost}, outcome not replicated {outcome_lost}); (job, token) pairs \
         run by two pids {}, recorded twice {same_token_twice}; token values handed out for two \
         jobs {token_for_two_jobs}; attempts after promotion per \
         pid {after_promotion:?}; attempts histogram {histogram:?}; LISTEN re-established per \
         worker {relistened:?}",
        completed_before - completed_after,
        JOBS as i64 - completed,
        same_token_two_pids.len(),
    );

    assert!(
        rerun > 0,
        "no job ran again: the failover lost no claim or outcome, so it tested nothing"
    );
    assert_eq!(completed, JOBS as i64, "lost jobs: {statuses:?}");
    assert_eq!(running, 0, "jobs left running or holding a lease");
    assert_eq!(
        unrecorded, JOBS as i64,
        "every job has a finished attempt in the oracle"
    );
    assert!(
        same_token_two_pids.is_empty(),
        "one lease token of a job was held by two workers: {same_token_two_pids:?}"
    );
    assert_eq!(
        same_token_twice, 0,
        "a lease token of a job was handed out for two attempts"
    );
    assert_eq!(
        token_for_two_jobs, 0,
        "lease token values were handed out again after the failover (for other jobs): a token \
         must be unique across crashes and promotions"
    );
    for pid in &pids {
        assert!(
            after_promotion.get(pid).is_some_and(|n| *n > 0),
            "worker {pid} ran nothing after the failover: {after_promotion:?}"
        );
    }
    assert_eq!(on_cluster, 0, "the oracle lives off the failing cluster");
    for worker in &mut workers {
        assert!(worker.exited().is_none(), "{}", worker.stderr_tail(30));
        let status = worker.stop_gracefully(Duration::from_secs(15)).await;
        assert!(status.is_some_and(|s| s.success()), "{status:?}");
    }
    lab.cleanup().await;
    oracle.cleanup().await;
    tokio::task::block_in_place(move || drop((primary, replica)));
}
