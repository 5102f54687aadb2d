//! The soak: hours of production compressed into minutes. A steady offered load at half of
//! what this machine does end to end, enqueued one job per transaction from 4 clients and
//! drained by 2 worker processes whose retention deletes completed jobs at every pass (once a
//! minute).
//!
//! End to end, because the clients, the workers and PostgreSQL share the same cores: every
//! job costs one durable insert and its share of a drain, so the machine's capacity is
//! `1 / (1/drain + 1/ceiling_insert_4clients)` from the figures of the same run (on two cores
//! about 3,300 jobs/s with `drain` at 9,000 and the insert ceiling at 5,100), and half of it
//! is offered. Half of `drain` alone (4,500 jobs/s) would need the inserts alone to take about
//! 90 % of both cores on top of the drain's 50 %: that soak measures a saturated machine, a
//! queue that grows by the minute, not a steady state.
//! Per minute it prints what was enqueued and done against what was offered, the queue lag
//! (start minus due time) p50/p99 of the jobs that finished, and the jobs table's rows, size
//! and dead tuples, which must plateau. The `_held_xmin` variant runs the same while another
//! session holds the cluster's `xmin` horizon for the whole run.
//!
//! A soak runs on a private cluster of its own, started with PostgreSQL's defaults plus the
//! shared server's memory settings: autovacuum on, as on any production server (the shared
//! server of these machines runs with `autovacuum = off`, under which no table that deletes
//! rows keeps its size). Each client is a scheduler with its own pool that starts one
//! enqueue per period (open loop: a client that falls behind catches up, and the enqueued
//! column shows it) with at most [`IN_FLIGHT_PER_CLIENT`] of them waiting for their commit at
//! once, as the request handlers of an application server would; one client waiting for each
//! commit before the next could not offer more than one job per WAL flush.
//!
//! Minutes: `PGSCHED_SOAK_MINUTES` (default 10); `soak_quick` runs 2.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use pgsched::Scheduler;
use pgsched_devdb::PrivateCluster;
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::worker::{SOAK_PROFILE, Workers, bench_noop};
use super::{Bench, BenchResult};

const CLIENTS: u32 = 4;
/// Enqueues one client may have waiting for their commit at once (its pool's size).
const IN_FLIGHT_PER_CLIENT: u32 = 8;
const WORKERS: usize = 2;
/// How often finished jobs are sampled for their queue lag (more often than retention runs,
/// so few finish and get deleted between two samples).
const SAMPLE_EVERY: Duration = Duration::from_secs(2);
const MINUTE: Duration = Duration::from_secs(60);
/// Offered load when `drain` or `ceiling_insert_4clients` was not measured in this run.
const OFFERED_FALLBACK: f64 = 1500.0;
/// The private cluster's settings beyond PostgreSQL's defaults: the shared server's memory.
const CLUSTER_SETTINGS: &[(&str, &str)] = &[
    ("shared_buffers", "128MB"),
    ("max_wal_size", "1GB"),
    ("max_connections", "100"),
];

/// Minutes of a full soak.
pub(crate) fn minutes() -> u32 {
    std::env::var("PGSCHED_SOAK_MINUTES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(10)
}

/// Runs one soak of `minutes`, with or without a held `xmin` horizon, reporting as `name`.
pub(crate) async fn soak(
    bench: &mut Bench,
    name: &str,
    minutes: u32,
    hold_xmin: bool,
) -> BenchResult {
    let offered = offered_load(bench);
    let cluster = tokio::task::spawn_blocking(|| PrivateCluster::start(CLUSTER_SETTINGS)).await??;
    let url = cluster.url();
    let schema_name = format!("bench_{name}");
    let scheduler = Bench::fresh_schema_at(&url, &schema_name, 2).await?;
    let schema = pgsched::__private::store(&scheduler).schema().quoted();
    let mut holder = PgConnection::connect(&url).await?;
    if hold_xmin {
        sqlx::query("BEGIN").execute(&mut holder).await?;
        sqlx::query("SELECT txid_current()")
            .execute(&mut holder)
            .await?;
    }
    let workers = Workers::start_with(&scheduler, &url, WORKERS, Some(SOAK_PROFILE)).await?;
    eprintln!(
        "bench: {name}: {minutes} min at {offered:.0} jobs/s offered, on a private cluster \
         (hold xmin: {hold_xmin})"
    );
    println!(
        "soak {name} minute offered_per_s enqueued_per_s done_per_s lag_p50_ms lag_p99_ms rows \
         size_mib dead_tuples"
    );

    let enqueued = Arc::new(AtomicU64::new(0));
    let stop = CancellationToken::new();
    let mut clients = tokio::task::JoinSet::new();
    let period = Duration::from_secs_f64(f64::from(CLIENTS) / offered);
    for _ in 0..CLIENTS {
        let client = Bench::scheduler_at(&url, &schema_name, IN_FLIGHT_PER_CLIENT).await?;
        clients.spawn(offer(client, period, Arc::clone(&enqueued), stop.clone()));
    }

    let mut monitor = PgConnection::connect(&url).await?;
    let mut last_done = 0_i64;
    let mut last_enqueued = 0_u64;
    let mut last_sample = chrono::Utc::now();
    let mut last_rate = 0.0;
    for minute in 1..=minutes {
        let minute_end = Instant::now() + MINUTE;
        let mut lags: Vec<f64> = Vec::new();
        while Instant::now() < minute_end {
            tokio::time::sleep(
                SAMPLE_EVERY.min(minute_end.saturating_duration_since(Instant::now())),
            )
            .await;
            let sampled_at = chrono::Utc::now();
            let mut batch: Vec<f64> = sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT extract(epoch FROM started_at - run_at)::float8 * 1000 FROM {schema}.jobs \
                  WHERE status = 'completed' AND finished_at > $1"
            )))
            .bind(last_sample)
            .fetch_all(&mut monitor)
            .await?;
            lags.append(&mut batch);
            last_sample = sampled_at;
        }
        let enqueued_now = enqueued.load(Ordering::Relaxed);
        let waiting: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT count(*) FROM {schema}.jobs WHERE status IN ('scheduled', 'pending', 'running')"
        )))
        .fetch_one(&mut monitor)
        .await?;
        let (rows, bytes, dead): (i64, i64, i64) = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT (SELECT count(*) FROM {schema}.jobs), \
                    pg_total_relation_size('{schema}.jobs'), \
                    coalesce((SELECT n_dead_tup FROM pg_stat_user_tables \
                               WHERE relid = '{schema}.jobs'::regclass), 0)"
        )))
        .fetch_one(&mut monitor)
        .await?;
        let done = i64::try_from(enqueued_now)? - waiting;
        let rate = (done - last_done) as f64 / MINUTE.as_secs_f64();
        let enqueue_rate = (enqueued_now - last_enqueued) as f64 / MINUTE.as_secs_f64();
        last_done = done;
        last_enqueued = enqueued_now;
        last_rate = rate;
        lags.sort_by(f64::total_cmp);
        let percentile = |p: f64| {
            if lags.is_empty() {
                f64::NAN
            } else {
                lags[((lags.len() as f64 - 1.0) * p).round() as usize]
            }
        };
        println!(
            "soak {name} {minute} {offered:.0} {enqueue_rate:.0} {rate:.0} {:.1} {:.1} {rows} \
             {:.1} {dead}",
            percentile(0.50),
            percentile(0.99),
            bytes as f64 / 1_048_576.0
        );
    }
    stop.cancel();
    while let Some(done) = clients.join_next().await {
        done??;
    }
    if hold_xmin {
        sqlx::query("ROLLBACK").execute(&mut holder).await?;
    }
    holder.close().await?;
    monitor.close().await?;
    drop(workers);
    scheduler.pool().close().await;
    drop(cluster);
    bench.report(&format!("{name}_last_minute"), last_rate, "jobs/s");
    bench.report(&format!("{name}_offered"), offered, "jobs/s");
    Ok(())
}

/// Half of the machine's end-to-end capacity for one-by-one enqueued jobs (see the module
/// docs), from this run's `drain` and `ceiling_insert_4clients`.
fn offered_load(bench: &Bench) -> f64 {
    match (
        bench.figure("drain"),
        bench.figure("ceiling_insert_4clients"),
    ) {
        (Some(drain), Some(insert)) if drain > 0.0 && insert > 0.0 => {
            0.5 / (1.0 / drain + 1.0 / insert)
        }
        _ => OFFERED_FALLBACK,
    }
}

/// One client: starts an enqueue every `period` until `stop`, at most
/// [`IN_FLIGHT_PER_CLIENT`] waiting for their commit at once, counting those that committed.
async fn offer(
    client: Scheduler,
    period: Duration,
    enqueued: Arc<AtomicU64>,
    stop: CancellationToken,
) -> BenchResult {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT_PER_CLIENT as usize));
    let mut in_flight = tokio::task::JoinSet::new();
    let mut next = tokio::time::Instant::now();
    while !stop.is_cancelled() {
        next += period;
        tokio::time::sleep_until(next).await;
        let slot = Arc::clone(&slots).acquire_owned().await?;
        let client = client.clone();
        let enqueued = Arc::clone(&enqueued);
        in_flight.spawn(async move {
            bench_noop::enqueue(bench_noop::Args {}).on(&client).await?;
            enqueued.fetch_add(1, Ordering::Relaxed);
            drop(slot);
            Ok::<(), pgsched::Error>(())
        });
        while let Some(done) = in_flight.try_join_next() {
            done??;
        }
    }
    while let Some(done) = in_flight.join_next().await {
        done??;
    }
    client.pool().close().await;
    Ok(())
}
