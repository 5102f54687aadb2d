//! pgsched's own workloads: enqueue one at a time and in bulk, drain with one and with four
//! worker processes (and with a large history), enqueue-to-start latency, worker memory.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::Utc;
use pgsched::{ConflictResolution, JobSpec, Scheduler, State, job};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tokio::sync::Notify;

use super::worker::{Workers, bench_noop, peak_rss_mib};
use super::{Bench, BenchResult};

const ENQUEUE_SINGLE_JOBS: usize = 10_000;
const ENQUEUE_BULK_JOBS: usize = 100_000;
pub(crate) const DRAIN_JOBS: usize = 20_000;
const HISTORY_ROWS: i64 = 1_000_000;
const RSS_PENDING_ROWS: i64 = 1_000_000;
const RSS_DRAIN_TIME: Duration = Duration::from_secs(5);
const LATENCY_JOBS: usize = 500;
const LATENCY_SPACING: Duration = Duration::from_millis(10);
/// Drain jobs become due this long after they are written, so insert time and worker start-up
/// are outside the measurement.
const DRAIN_LEAD: Duration = Duration::from_secs(2);
/// How often a drain asks whether it is done. Not more often: under a held `xmin` horizon
/// each probe steps over every dead index entry the drain left, and probing every few
/// milliseconds would take a core from the drain it measures.
const DRAINED_PROBE_EVERY: Duration = Duration::from_millis(100);

pub(crate) async fn enqueue_single(bench: &mut Bench) -> BenchResult {
    let scheduler = bench.fresh_schema("bench_enqueue_single").await?;
    let start = Instant::now();
    for _ in 0..ENQUEUE_SINGLE_JOBS {
        bench_noop::enqueue(bench_noop::Args {})
            .on(&scheduler)
            .await?;
    }
    let rate = ENQUEUE_SINGLE_JOBS as f64 / start.elapsed().as_secs_f64();
    bench.report("enqueue_single", rate, "jobs/s");
    Ok(())
}

/// `enqueue_single` from `clients` tasks sharing one scheduler, each enqueueing
/// `ENQUEUE_SINGLE_JOBS / clients` jobs one per call (one transaction each), while a session
/// LISTENs on the schema's channel (so the notifications are delivered, as to an idle
/// worker; no worker runs, since its claims and completions would compete with the enqueues
/// the ceiling does not have): jobs/s over all.
pub(crate) async fn enqueue_single_concurrent(
    bench: &mut Bench,
    clients: usize,
    name: &str,
) -> BenchResult {
    let scheduler = bench.fresh_schema(&format!("bench_{name}")).await?;
    let mut listener = PgConnection::connect(&bench.url).await?;
    let channel = pgsched::__private::store(&scheduler).schema().channel();
    sqlx::query(AssertSqlSafe(format!("LISTEN \"{channel}\"")))
        .execute(&mut listener)
        .await?;
    let per_client = ENQUEUE_SINGLE_JOBS / clients;
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let scheduler = scheduler.clone();
        tasks.spawn(async move {
            for _ in 0..per_client {
                bench_noop::enqueue(bench_noop::Args {})
                    .on(&scheduler)
                    .await?;
            }
            Ok(())
        });
    }
    bench
        .report_clients(name, tasks, per_client * clients, start)
        .await
}

pub(crate) async fn enqueue_bulk(bench: &mut Bench) -> BenchResult {
    let scheduler = bench.fresh_schema("bench_enqueue_bulk").await?;
    let at = Utc::now();
    let specs: Vec<_> = (0..ENQUEUE_BULK_JOBS)
        .map(|_| bench_noop::spec(at, bench_noop::Args {}))
        .collect();
    let start = Instant::now();
    let results = scheduler
        .schedule_bulk(
            specs,
            ConflictResolution::Ignore,
            pgsched::defaults::BULK_BATCH_SIZE_DEFAULT,
        )
        .await?;
    let rate = results.len() as f64 / start.elapsed().as_secs_f64();
    bench.report("enqueue_bulk", rate, "jobs/s");
    Ok(())
}

/// Writes `jobs` no-op jobs due `DRAIN_LEAD` from now; returns when they become due. A
/// checkpoint first: the WAL of a workload's set-up (a million-row backlog, its VACUUM) would
/// otherwise start a checkpoint during the measurement, and the drain would pay for it in
/// buffer writes and full-page images. Every drain gets it, the baseline too.
async fn fill_due_soon(scheduler: &Scheduler, jobs: usize) -> BenchResult<Instant> {
    fill_due_soon_with(scheduler, jobs, |_, spec| spec).await
}

/// [`fill_due_soon`] with each job's spec shaped by `shape(index, spec)` (its queue, key).
pub(crate) async fn fill_due_soon_with(
    scheduler: &Scheduler,
    jobs: usize,
    shape: impl Fn(usize, JobSpec) -> JobSpec,
) -> BenchResult<Instant> {
    let mut connection = scheduler.pool().acquire().await?;
    sqlx::query("CHECKPOINT").execute(&mut *connection).await?;
    drop(connection);
    let due = Utc::now() + chrono::Duration::from_std(DRAIN_LEAD)?;
    let due_local = Instant::now() + DRAIN_LEAD;
    let specs: Vec<_> = (0..jobs)
        .map(|index| shape(index, bench_noop::spec(due, bench_noop::Args {})))
        .collect();
    scheduler
        .schedule_bulk(specs, ConflictResolution::Ignore, 5000)
        .await?;
    analyze(scheduler).await?;
    Ok(due_local)
}

async fn analyze(scheduler: &Scheduler) -> BenchResult {
    on_jobs_table(scheduler, "ANALYZE").await
}

/// Runs `command` (`ANALYZE`, `VACUUM ANALYZE`) on the scheduler's jobs table.
async fn on_jobs_table(scheduler: &Scheduler, command: &str) -> BenchResult {
    let mut connection = scheduler.pool().acquire().await?;
    sqlx::query(AssertSqlSafe(format!(
        "{command} {}.jobs",
        pgsched::__private::store(scheduler).schema().quoted()
    )))
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Waits until every job due by `horizon` (all jobs, without one) that can still run has run:
/// none scheduled and still within its misfire window, none pending, none running (the
/// probes use partial indexes, so this stays cheap with a large history); returns when.
pub(crate) async fn wait_drained(
    scheduler: &Scheduler,
    horizon: Option<chrono::DateTime<Utc>>,
) -> BenchResult<Instant> {
    let done_sql = format!(
        "SELECT NOT EXISTS (SELECT 1 FROM {schema}.jobs WHERE status = 'scheduled' \
                               AND run_at <= coalesce($1, 'infinity') \
                               AND (expires_at IS NULL OR expires_at >= now())) \
            AND NOT EXISTS (SELECT 1 FROM {schema}.jobs WHERE status = 'pending') \
            AND NOT EXISTS (SELECT 1 FROM {schema}.jobs WHERE status = 'running')",
        schema = pgsched::__private::store(scheduler).schema().quoted()
    );
    loop {
        let done: bool = sqlx::query_scalar(AssertSqlSafe(done_sql.clone()))
            .bind(horizon)
            .fetch_one(scheduler.pool())
            .await?;
        if done {
            return Ok(Instant::now());
        }
        tokio::time::sleep(DRAINED_PROBE_EVERY).await;
    }
}

/// Ready no-op jobs drained by `processes` worker processes (default settings: 25 concurrent
/// jobs each): jobs/s from the moment they are due to the last completion.
pub(crate) async fn drain(bench: &mut Bench, processes: usize, name: &str) -> BenchResult {
    let scheduler = bench.fresh_schema(&format!("bench_{name}")).await?;
    let _workers = Workers::start(&scheduler, &bench.url, processes).await?;
    let due = fill_due_soon(&scheduler, DRAIN_JOBS).await?;
    let done = wait_drained(&scheduler, None).await?;
    let rate = DRAIN_JOBS as f64 / done.saturating_duration_since(due).as_secs_f64();
    bench.report(name, rate, "jobs/s");
    Ok(())
}

/// `drain` with 1,000,000 finished jobs in the table: the claim path must not slow down as
/// history grows (partial indexes, not scans).
pub(crate) async fn drain_history(bench: &mut Bench) -> BenchResult {
    let scheduler = bench.fresh_schema("bench_drain_history").await?;
    let mut connection = PgConnection::connect(&bench.url).await?;
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO {schema}.jobs (id, name, payload, run_at, status, attempts, started_at, finished_at) \
         SELECT 'h' || g, 'bench_noop', '\\x'::bytea, now() - interval '2 hours', \
                (ARRAY['completed','completed','completed','failed','cancelled','expired'])[1 + g % 6], \
                1, now() - interval '1 hour', now() - interval '1 hour' + g * interval '1 microsecond' \
         FROM generate_series(1, $1) g",
        schema = pgsched::__private::store(&scheduler).schema().quoted()
    )))
    .bind(HISTORY_ROWS)
    .execute(&mut connection)
    .await?;
    connection.close().await?;
    let _workers = Workers::start(&scheduler, &bench.url, 1).await?;
    let due = fill_due_soon(&scheduler, DRAIN_JOBS).await?;
    let done = wait_drained(&scheduler, None).await?;
    let rate = DRAIN_JOBS as f64 / done.saturating_duration_since(due).as_secs_f64();
    bench.report("drain_history", rate, "jobs/s");
    Ok(())
}

/// Jobs of the held-`xmin` drain and of its baseline.
const HELD_XMIN_JOBS: usize = 100_000;

/// `drain` of `HELD_XMIN_JOBS` jobs, with (`hold`) or without another session holding the
/// cluster's `xmin` horizon for the whole drain (`BEGIN; SELECT txid_current();` on a second
/// connection, as a report or a forgotten psql would): VACUUM can then remove none of the
/// dead rows and index entries the drain leaves behind.
pub(crate) async fn drain_held_xmin(bench: &mut Bench, hold: bool, name: &str) -> BenchResult {
    let scheduler = bench.fresh_schema(&format!("bench_{name}")).await?;
    let mut holder = PgConnection::connect(&bench.url).await?;
    if hold {
        sqlx::query("BEGIN").execute(&mut holder).await?;
        let xid: i64 = sqlx::query_scalar("SELECT txid_current()")
            .fetch_one(&mut holder)
            .await?;
        eprintln!("bench: {name}: transaction {xid} holds the xmin horizon");
    }
    let _workers = Workers::start(&scheduler, &bench.url, 1).await?;
    let due = fill_due_soon(&scheduler, HELD_XMIN_JOBS).await?;
    let done = wait_drained(&scheduler, None).await?;
    let rate = HELD_XMIN_JOBS as f64 / done.saturating_duration_since(due).as_secs_f64();
    bench.report(name, rate, "jobs/s");
    holder.close().await?;
    Ok(())
}

/// Failed rows of the `keep_last` retention workload, and their job names.
const KEEP_LAST_ROWS: i64 = 1_000_000;
const KEEP_LAST_NAMES: i64 = 100;
const KEEP_LAST_KEEP: u32 = 1000;

/// One retention pass over 1,000,000 failed jobs across 100 names with `keep_last(1000)`:
/// the pass's wall time and deleted rows/s. The pass fails (and so does this workload) if any
/// delete statement reaches the 5 s statement timeout.
pub(crate) async fn retention_keep_last(bench: &mut Bench) -> BenchResult {
    bench.fresh_schema("bench_retention_keep_last").await?;
    let scheduler = Scheduler::builder()
        .url(&bench.url)
        .schema("bench_retention_keep_last")
        .vacuum(
            pgsched::VacuumConfig::new().failed(pgsched::VacuumPolicy::keep_last(KEEP_LAST_KEEP)),
        )
        .build()
        .await?;
    let mut connection = PgConnection::connect(&bench.url).await?;
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO {schema}.jobs (id, name, payload, run_at, status, attempts, started_at, finished_at) \
         SELECT 'f' || g, 'job_' || (g % $2), '\\x'::bytea, now() - interval '2 hours', 'failed', \
                1, now() - interval '1 hour', now() - interval '1 hour' + g * interval '1 millisecond' \
         FROM generate_series(1, $1) g",
        schema = pgsched::__private::store(&scheduler).schema().quoted()
    )))
    .bind(KEEP_LAST_ROWS)
    .bind(KEEP_LAST_NAMES)
    .execute(&mut connection)
    .await?;
    connection.close().await?;
    analyze(&scheduler).await?;
    let start = Instant::now();
    let report = scheduler.run_vacuum().await?;
    let elapsed = start.elapsed().as_secs_f64();
    let expected = KEEP_LAST_ROWS - KEEP_LAST_NAMES * i64::from(KEEP_LAST_KEEP);
    if i64::try_from(report.failed)? != expected {
        return Err(format!(
            "keep_last deleted {} rows, expected {expected}",
            report.failed
        )
        .into());
    }
    bench.report("retention_keep_last_pass", elapsed, "s");
    bench.report(
        "retention_keep_last",
        report.failed as f64 / elapsed,
        "rows/s",
    );
    Ok(())
}

/// A backlog `drain` must not pay for: 1,000,000 Critical jobs due tomorrow.
const FUTURE_BACKLOG_ROWS: i64 = 1_000_000;
/// A backlog `drain` must not pay for: 300,000 jobs that came due an hour ago, while no
/// worker ran, with a one-minute misfire grace.
const EXPIRED_BACKLOG_ROWS: i64 = 300_000;

/// `drain` with 1,000,000 pending Critical jobs due tomorrow in the table (written through
/// the bulk API): they must cost the claim nothing.
pub(crate) async fn drain_future_backlog(bench: &mut Bench) -> BenchResult {
    let scheduler = bench.fresh_schema("bench_drain_future_backlog").await?;
    let tomorrow = Utc::now() + chrono::Duration::days(1);
    write_backlog(&scheduler, FUTURE_BACKLOG_ROWS, tomorrow, None).await?;
    drain_once(bench, &scheduler, "drain_future_backlog").await
}

/// `drain` with 300,000 jobs in the table that came due an hour ago with a one-minute
/// misfire grace (past it: they must be expired, never started, and cost the claim nothing).
pub(crate) async fn drain_expired_backlog(bench: &mut Bench) -> BenchResult {
    let scheduler = bench.fresh_schema("bench_drain_expired_backlog").await?;
    let an_hour_ago = Utc::now() - chrono::Duration::hours(1);
    write_backlog(
        &scheduler,
        EXPIRED_BACKLOG_ROWS,
        an_hour_ago,
        Some(Duration::from_secs(60)),
    )
    .await?;
    drain_once(bench, &scheduler, "drain_expired_backlog").await
}

/// Writes `rows` no-op jobs due `at` through the bulk API (Critical priority).
async fn write_backlog(
    scheduler: &Scheduler,
    rows: i64,
    at: chrono::DateTime<Utc>,
    grace: Option<Duration>,
) -> BenchResult {
    let specs: Vec<_> = (0..rows)
        .map(|_| {
            let spec =
                bench_noop::spec(at, bench_noop::Args {}).priority(pgsched::Priority::Critical);
            match grace {
                Some(grace) => spec.misfire_grace(grace),
                None => spec,
            }
        })
        .collect();
    eprintln!("bench: writing a backlog of {rows} jobs…");
    scheduler
        .schedule_bulk(specs, ConflictResolution::Ignore, 5000)
        .await?;
    // A standing backlog has been vacuumed and analysed long since; a fresh one would have
    // autovacuum scan a million rows during the measurement.
    on_jobs_table(scheduler, "VACUUM ANALYZE").await
}

/// `drain` on a schema that is already filled with a backlog: one worker process.
async fn drain_once(bench: &mut Bench, scheduler: &Scheduler, name: &str) -> BenchResult {
    let _workers = Workers::start(scheduler, &bench.url, 1).await?;
    let due = fill_due_soon(scheduler, DRAIN_JOBS).await?;
    let horizon = Utc::now() + chrono::Duration::from_std(DRAIN_LEAD)?;
    let done = wait_drained(scheduler, Some(horizon)).await?;
    let rate = DRAIN_JOBS as f64 / done.saturating_duration_since(due).as_secs_f64();
    bench.report(name, rate, "jobs/s");
    Ok(())
}

/// A worker process's peak resident memory while it drains with 1,000,000 pending jobs in
/// the table.
pub(crate) async fn peak_rss(bench: &mut Bench) -> BenchResult {
    let scheduler = bench.fresh_schema("bench_peak_rss").await?;
    let mut connection = PgConnection::connect(&bench.url).await?;
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO {schema}.jobs (id, name, payload, schema_hash, run_at) \
         SELECT 'p' || g, 'bench_noop', '\\x'::bytea, $2, now() - interval '1 second' \
         FROM generate_series(1, $1) g",
        schema = pgsched::__private::store(&scheduler).schema().quoted()
    )))
    .bind(RSS_PENDING_ROWS)
    .bind(i64::from_ne_bytes(bench_noop::SCHEMA_HASH.to_ne_bytes()))
    .execute(&mut connection)
    .await?;
    connection.close().await?;
    analyze(&scheduler).await?;
    let workers = Workers::start(&scheduler, &bench.url, 1).await?;
    tokio::time::sleep(RSS_DRAIN_TIME).await;
    let pid = workers.pids()[0];
    let peak = peak_rss_mib(pid)?;
    let drained: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT count(*) FROM {}.jobs WHERE status = 'completed'",
        pgsched::__private::store(&scheduler).schema().quoted()
    )))
    .fetch_one(scheduler.pool())
    .await?;
    eprintln!("bench: peak_rss worker drained {drained} jobs in {RSS_DRAIN_TIME:?}");
    bench.report("peak_rss_mb", peak, "MiB");
    Ok(())
}

/// Collects enqueue-to-start latencies of the probe job.
#[derive(Default)]
struct Probe {
    latencies_us: Mutex<Vec<i64>>,
    changed: Notify,
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The latency probe: records enqueue-to-start time.
#[job]
async fn bench_probe(sent_us: i64, probe: State<Arc<Probe>>) {
    let latency = now_micros() - sent_us;
    probe
        .latencies_us
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(latency);
    probe.changed.notify_waiters();
}

/// 500 jobs scheduled for now, one every 10 ms, into an idle running worker (in this
/// process): milliseconds from before the enqueue call to the job's first instruction.
pub(crate) async fn latency(bench: &mut Bench) -> BenchResult {
    bench.fresh_schema("bench_latency").await?;
    let probe = Arc::new(Probe::default());
    let scheduler = Scheduler::builder()
        .url(&bench.url)
        .schema("bench_latency")
        .state(Arc::clone(&probe))
        .build()
        .await?;
    scheduler.start().await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut ticker = tokio::time::interval(LATENCY_SPACING);
    for _ in 0..LATENCY_JOBS {
        ticker.tick().await;
        bench_probe::enqueue(bench_probe::Args {
            sent_us: now_micros(),
        })
        .on(&scheduler)
        .await?;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut latencies = loop {
        let changed = probe.changed.notified();
        let latencies = probe
            .latencies_us
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if latencies.len() >= LATENCY_JOBS || Instant::now() > deadline {
            break latencies;
        }
        let _ = tokio::time::timeout(Duration::from_millis(50), changed).await;
    };
    scheduler.shutdown().await?;
    if latencies.len() < LATENCY_JOBS {
        return Err(format!("only {} of {LATENCY_JOBS} probes ran", latencies.len()).into());
    }
    latencies.sort_unstable();
    let percentile = |p: f64| {
        let index = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[index] as f64 / 1000.0
    };
    bench.report("latency_p50", percentile(0.50), "ms");
    bench.report("latency_p99", percentile(0.99), "ms");
    Ok(())
}

/// Jobs in the middle of the `workflow_fanout` workload.
const FANOUT_WIDTH: usize = 10_000;

/// A workflow drained by one worker process, as `drain` is: one root job, `FANOUT_WIDTH`
/// jobs that run after it, one job that runs after all of those (every completion in the
/// middle counts its parents down); all no-ops, written before the root is due: jobs/s from
/// when the root is due to when the last job completed.
pub(crate) async fn workflow_fanout(bench: &mut Bench) -> BenchResult {
    let scheduler = bench.fresh_schema("bench_workflow_fanout").await?;
    let _workers = Workers::start(&scheduler, &bench.url, 1).await?;
    let mut connection = scheduler.pool().acquire().await?;
    sqlx::query("CHECKPOINT").execute(&mut *connection).await?;
    drop(connection);
    let due = Utc::now() + chrono::Duration::from_std(DRAIN_LEAD)?;
    let due_local = Instant::now() + DRAIN_LEAD;
    let root = bench_noop::schedule(due, bench_noop::Args {})
        .on(&scheduler)
        .await?;
    let middle: Vec<_> = (0..FANOUT_WIDTH)
        .map(|_| bench_noop::spec(due, bench_noop::Args {}).after([&root]))
        .collect();
    let middle = scheduler
        .schedule_bulk(middle, ConflictResolution::Raise, 5000)
        .await?;
    let middle: Vec<_> = middle
        .iter()
        .map(|scheduled| scheduled.id().clone())
        .collect();
    bench_noop::schedule(due, bench_noop::Args {})
        .after(&middle)
        .on(&scheduler)
        .await?;
    if Instant::now() > due_local {
        return Err("workflow_fanout: writing the workflow took longer than its lead".into());
    }
    analyze(&scheduler).await?;
    let done = wait_workflow_done(&scheduler).await?;
    let jobs = FANOUT_WIDTH + 2;
    let rate = jobs as f64 / done.saturating_duration_since(due_local).as_secs_f64();
    bench.report("workflow_fanout", rate, "jobs/s");
    Ok(())
}

/// Waits until no job is blocked, waiting or running (see [`wait_drained`]).
async fn wait_workflow_done(scheduler: &Scheduler) -> BenchResult<Instant> {
    let blocked_sql = format!(
        "SELECT NOT EXISTS (SELECT 1 FROM {}.jobs WHERE status = 'blocked')",
        pgsched::__private::store(scheduler).schema().quoted()
    );
    loop {
        let done = wait_drained(scheduler, None).await?;
        let unblocked: bool = sqlx::query_scalar(AssertSqlSafe(blocked_sql.clone()))
            .fetch_one(scheduler.pool())
            .await?;
        if unblocked {
            return Ok(done);
        }
        tokio::time::sleep(DRAINED_PROBE_EVERY).await;
    }
}

/// Schedule-and-wait round trips of `wait_latency`.
const WAIT_LATENCY_JOBS: usize = 300;

/// `WAIT_LATENCY_JOBS` no-op jobs, one at a time, each scheduled for now with a handle and
/// waited for ([`pgsched::JobHandle::wait`]) while an idle worker runs in this process:
/// milliseconds from before the schedule call to the wait's return (the job claimed, run,
/// completed, its end notified and read back).
pub(crate) async fn wait_latency(bench: &mut Bench) -> BenchResult {
    let scheduler = bench.fresh_schema("bench_wait_latency").await?;
    scheduler.start().await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut latencies = Vec::with_capacity(WAIT_LATENCY_JOBS);
    for _ in 0..WAIT_LATENCY_JOBS {
        let start = Instant::now();
        let handle = bench_noop::enqueue(bench_noop::Args {})
            .on(&scheduler)
            .handle()
            .await?;
        tokio::time::timeout(Duration::from_secs(30), handle.wait()).await??;
        latencies.push(start.elapsed());
    }
    scheduler.shutdown().await?;
    latencies.sort_unstable();
    let percentile = |p: f64| {
        let index = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[index].as_secs_f64() * 1000.0
    };
    bench.report("wait_latency_p50", percentile(0.50), "ms");
    bench.report("wait_latency_p99", percentile(0.99), "ms");
    Ok(())
}
