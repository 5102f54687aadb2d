//! The soak: hours of production compressed into minutes. A steady offered load at half the
//! measured `drain` rate, enqueued one job per transaction from 4 clients and drained by 2
//! worker processes whose retention deletes completed jobs at every pass (once a minute).
//! Per minute it prints what was done against what was offered, the queue lag (start minus
//! due time) p50/p99 of the jobs that finished, and the jobs table's rows, size and dead
//! tuples, which must plateau. The `_held_xmin` variant runs the same while another session
//! holds the cluster's `xmin` horizon for the whole run.
//!
//! Minutes: `PGSCHED_SOAK_MINUTES` (default 10); `soak_quick` runs 2.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tokio_util::sync::CancellationToken;

use super::worker::{SOAK_PROFILE, Workers, bench_noop};
use super::{Bench, BenchResult};

const CLIENTS: u32 = 4;
const WORKERS: usize = 2;
/// How often finished jobs are sampled for their queue lag (more often than retention runs,
/// so few finish and get deleted between two samples).
const SAMPLE_EVERY: Duration = Duration::from_secs(2);
const MINUTE: Duration = Duration::from_secs(60);
/// Offered load when no `drain` figure was measured in this run.
const OFFERED_FALLBACK: f64 = 2000.0;

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
    let offered = bench
        .figure("drain")
        .map_or(OFFERED_FALLBACK, |drain| drain / 2.0);
    let scheduler = bench.fresh_schema(&format!("bench_{name}")).await?;
    let schema = pgsched::__private::store(&scheduler).schema().quoted();
    let mut holder = PgConnection::connect(&bench.url).await?;
    if hold_xmin {
        sqlx::query("BEGIN").execute(&mut holder).await?;
        sqlx::query("SELECT txid_current()")
            .execute(&mut holder)
            .await?;
    }
    let _workers = Workers::start_with(&scheduler, &bench.url, WORKERS, Some(SOAK_PROFILE)).await?;
    eprintln!(
        "bench: {name}: {minutes} min at {offered:.0} jobs/s offered (hold xmin: {hold_xmin})"
    );
    println!(
        "soak {name} minute offered_per_s done_per_s lag_p50_ms lag_p99_ms rows size_mib dead_tuples"
    );

    let enqueued = Arc::new(AtomicU64::new(0));
    let stop = CancellationToken::new();
    let mut clients = tokio::task::JoinSet::new();
    let period = Duration::from_secs_f64(f64::from(CLIENTS) / offered);
    for _ in 0..CLIENTS {
        let scheduler = scheduler.clone();
        let enqueued = Arc::clone(&enqueued);
        let stop = stop.clone();
        clients.spawn(async move {
            let mut next = tokio::time::Instant::now();
            while !stop.is_cancelled() {
                next += period;
                tokio::time::sleep_until(next).await;
                bench_noop::enqueue(bench_noop::Args {})
                    .on(&scheduler)
                    .await?;
                enqueued.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<(), pgsched::Error>(())
        });
    }

    let mut monitor = PgConnection::connect(&bench.url).await?;
    let mut last_done = 0_i64;
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
        let done = i64::try_from(enqueued.load(Ordering::Relaxed))? - waiting;
        let rate = (done - last_done) as f64 / MINUTE.as_secs_f64();
        last_done = done;
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
            "soak {name} {minute} {offered:.0} {rate:.0} {:.1} {:.1} {rows} {:.1} {dead}",
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
    bench.report(&format!("{name}_last_minute"), last_rate, "jobs/s");
    bench.report(&format!("{name}_offered"), offered, "jobs/s");
    Ok(())
}
