//! Flow-control workloads (issue 13), each compared with `drain` of the same run: draining
//! across named queues, under a queue's global limit, under per-key limits; and a queue's
//! rate limit held over 2,000 jobs.

use std::time::Duration;

use pgsched::RateLimit;

use super::worker::Workers;
use super::workloads::{DRAIN_JOBS, fill_due_soon_with, wait_drained};
use super::{Bench, BenchResult};

/// `drain_queues`: `DRAIN_JOBS` no-op jobs over 4 queues without limits, one worker serving
/// the four (25 slots in all, like `drain`: `q0:7,q1:6,q2:6,q3:6`), each queue given jobs in
/// proportion to its slots so that the four drain together. (With equal shares, `q0` ran dry
/// first and the last quarter of a second drained three, then one, 6-slot queue: a queue's
/// slots, not the claim, bound it then, whatever the claim path costs.)
pub(crate) async fn drain_queues(bench: &mut Bench) -> BenchResult {
    let scheduler = bench.fresh_schema("bench_drain_queues").await?;
    let _workers = Workers::start_with(&scheduler, &bench.url, 1, Some("queues4")).await?;
    let due = fill_due_soon_with(&scheduler, DRAIN_JOBS, |index, spec| {
        spec.queue(QUEUES4_BY_SLOT[index % QUEUES4_BY_SLOT.len()])
    })
    .await?;
    let done = wait_drained(&scheduler, None).await?;
    let rate = DRAIN_JOBS as f64 / done.saturating_duration_since(due).as_secs_f64();
    bench.report("drain_queues", rate, "jobs/s");
    Ok(())
}

/// One entry per slot of the `queues4` worker profile: job `i` goes to queue
/// `QUEUES4_BY_SLOT[i % 25]`, so each queue gets jobs in proportion to its slots.
const QUEUES4_BY_SLOT: [&str; 25] = [
    "q0", "q1", "q2", "q3", "q0", "q1", "q2", "q3", "q0", "q1", "q2", "q3", "q0", "q1", "q2", "q3",
    "q0", "q1", "q2", "q3", "q0", "q1", "q2", "q3", "q0",
];

/// `drain_global_limit`: `DRAIN_JOBS` jobs of one queue whose cluster-wide limit equals the
/// worker's 25 slots (every claim takes numbered slots).
pub(crate) async fn drain_global_limit(bench: &mut Bench) -> BenchResult {
    let scheduler = bench.fresh_schema("bench_drain_global_limit").await?;
    scheduler.set_queue_limit("limited", 25).await?;
    let _workers = Workers::start_with(&scheduler, &bench.url, 1, Some("limited")).await?;
    let due = fill_due_soon_with(&scheduler, DRAIN_JOBS, |_, spec| spec.queue("limited")).await?;
    let done = wait_drained(&scheduler, None).await?;
    let rate = DRAIN_JOBS as f64 / done.saturating_duration_since(due).as_secs_f64();
    bench.report("drain_global_limit", rate, "jobs/s");
    Ok(())
}

/// Keys and jobs per key of `drain_per_key`.
const PER_KEY_KEYS: usize = 1_000;
const PER_KEY_JOBS: usize = 20;

/// `drain_per_key`: 1,000 keys × 20 jobs, at most one running per key.
pub(crate) async fn drain_per_key(bench: &mut Bench) -> BenchResult {
    let scheduler = bench.fresh_schema("bench_drain_per_key").await?;
    let _workers = Workers::start(&scheduler, &bench.url, 1).await?;
    let jobs = PER_KEY_KEYS * PER_KEY_JOBS;
    let due = fill_due_soon_with(&scheduler, jobs, |index, spec| {
        spec.concurrency_key(format!("k{:04}", index % PER_KEY_KEYS))
    })
    .await?;
    let done = wait_drained(&scheduler, None).await?;
    let rate = jobs as f64 / done.saturating_duration_since(due).as_secs_f64();
    bench.report("drain_per_key", rate, "jobs/s");
    Ok(())
}

/// Jobs of `queue_rate` and its limit: 100 starts per 10 s.
const RATE_JOBS: usize = 2_000;
const RATE_STARTS: u32 = 100;
const RATE_PERIOD: Duration = Duration::from_secs(10);

/// `queue_rate`: 2,000 jobs through a queue limited to 100 starts per 10 s (about 190 s):
/// the busiest sliding window's starts (at most 100) and the throughput as a share of the
/// limit's (`queue_rate_of_limit`, 1.0 = at the limit).
pub(crate) async fn queue_rate(bench: &mut Bench) -> BenchResult {
    let scheduler = bench.fresh_schema("bench_queue_rate").await?;
    let rate = RateLimit::new(RATE_STARTS, RATE_PERIOD)?;
    scheduler.set_queue_rate("limited", Some(rate)).await?;
    let _workers = Workers::start_with(&scheduler, &bench.url, 2, Some("limited")).await?;
    fill_due_soon_with(&scheduler, RATE_JOBS, |_, spec| spec.queue("limited")).await?;
    wait_drained(&scheduler, None).await?;
    let jobs = format!(
        "{}.jobs",
        pgsched::__private::store(&scheduler).schema().quoted()
    );
    let busiest: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT max(n)::int8 FROM (
             SELECT (SELECT count(*) FROM {jobs} b
                      WHERE b.started_at >= a.started_at
                        AND b.started_at < a.started_at + $1 * interval '1 millisecond') AS n
               FROM {jobs} a) AS windows"
    )))
    .bind(i64::try_from(RATE_PERIOD.as_millis())?)
    .fetch_one(scheduler.pool())
    .await?;
    let span: f64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT extract(epoch FROM max(started_at) - min(started_at))::float8 FROM {jobs}"
    )))
    .fetch_one(scheduler.pool())
    .await?;
    let ideal = (RATE_JOBS as f64 / f64::from(RATE_STARTS) - 1.0) * RATE_PERIOD.as_secs_f64();
    bench.report("queue_rate_busiest_window", busiest as f64, "starts");
    bench.report("queue_rate_of_limit", ideal / span, "x");
    Ok(())
}
