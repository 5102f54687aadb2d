//! `cargo xtask bench`: pgsched's workloads and the PostgreSQL ceilings they are compared to,
//! measured in the same run on the same database.
//!
//! Each workload uses a schema of its own (`bench_<workload>`, recreated each run). Output:
//! one `bench <workload> <value> <unit>` line per figure and `ratio <name> <value>` lines;
//! progress and settings go to stderr.

use std::error::Error;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::Utc;
use pgsched::{ConflictResolution, Scheduler, State, job};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tokio::sync::Notify;

type BenchResult<T = ()> = Result<T, Box<dyn Error>>;

const ENQUEUE_SINGLE_JOBS: usize = 10_000;
const ENQUEUE_BULK_JOBS: usize = 100_000;
const DRAIN_JOBS: usize = 20_000;
const HISTORY_ROWS: i64 = 1_000_000;
const LATENCY_JOBS: usize = 500;
const LATENCY_SPACING: Duration = Duration::from_millis(10);
const CEILING_ROWS: i64 = 200_000;
const CEILING_DURATION: Duration = Duration::from_secs(5);
const CEILING_CLIENTS: usize = 2;
const CEILING_BATCH: i64 = 10;

/// Counts executions and latencies of the bench jobs.
#[derive(Default)]
struct Probe {
    runs: AtomicUsize,
    latencies_us: Mutex<Vec<i64>>,
    changed: Notify,
}

impl Probe {
    fn ran(&self) {
        self.runs.fetch_add(1, Ordering::Relaxed);
        self.changed.notify_waiters();
    }

    async fn wait_for_runs(&self, count: usize) {
        loop {
            let changed = self.changed.notified();
            if self.runs.load(Ordering::Relaxed) >= count {
                return;
            }
            // Wake-ups are coalesced; a periodic re-check keeps this robust.
            let _ = tokio::time::timeout(Duration::from_millis(50), changed).await;
        }
    }
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The no-op job of the throughput workloads.
#[job]
async fn bench_noop(probe: State<Arc<Probe>>) {
    probe.ran();
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
    probe.ran();
}

struct Bench {
    url: String,
    figures: Vec<(String, f64)>,
}

impl Bench {
    fn report(&mut self, workload: &str, value: f64, unit: &str) {
        println!("bench {workload} {value:.2} {unit}");
        self.figures.push((workload.to_owned(), value));
    }

    fn figure(&self, workload: &str) -> Option<f64> {
        self.figures
            .iter()
            .find(|(name, _)| name == workload)
            .map(|(_, v)| *v)
    }

    async fn fresh_scheduler(&self, schema: &str, probe: &Arc<Probe>) -> BenchResult<Scheduler> {
        let mut connection = PgConnection::connect(&self.url).await?;
        sqlx::query(AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
        )))
        .execute(&mut connection)
        .await?;
        connection.close().await?;
        let scheduler = Scheduler::builder()
            .url(&self.url)
            .schema(schema)
            .state(Arc::clone(probe))
            .build()
            .await?;
        scheduler.initialize_db().await?;
        Ok(scheduler)
    }
}

/// Runs the selected workloads (all when `selected` is empty).
pub(crate) async fn run(selected: &[String]) -> BenchResult {
    let database = pgsched_devdb::DevDatabase::find_or_start()?;
    eprintln!(
        "bench: PostgreSQL {} ({})",
        database.url(),
        database.source()
    );
    let mut bench = Bench {
        url: database.url().to_owned(),
        figures: Vec::new(),
    };
    let wants =
        |name: &str| selected.is_empty() || selected.iter().any(|s| name.starts_with(s.as_str()));

    if wants("enqueue_single") {
        enqueue_single(&mut bench).await?;
    }
    if wants("enqueue_bulk") {
        enqueue_bulk(&mut bench).await?;
    }
    if wants("ceiling_claim_complete") {
        ceiling_claim_complete(&mut bench).await?;
    }
    if wants("drain") {
        drain(&mut bench).await?;
    }
    if wants("drain_history") {
        drain_history(&mut bench).await?;
    }
    if wants("latency") {
        latency(&mut bench).await?;
    }
    if let (Some(drain), Some(ceiling)) = (
        bench.figure("drain"),
        bench.figure("ceiling_claim_complete"),
    ) {
        println!("ratio drain/ceiling_claim_complete {:.3}", drain / ceiling);
    }
    Ok(())
}

async fn enqueue_single(bench: &mut Bench) -> BenchResult {
    let probe = Arc::new(Probe::default());
    let scheduler = bench
        .fresh_scheduler("bench_enqueue_single", &probe)
        .await?;
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

async fn enqueue_bulk(bench: &mut Bench) -> BenchResult {
    let probe = Arc::new(Probe::default());
    let scheduler = bench.fresh_scheduler("bench_enqueue_bulk", &probe).await?;
    let at = Utc::now();
    let specs: Vec<_> = (0..ENQUEUE_BULK_JOBS)
        .map(|_| bench_noop::spec(at, bench_noop::Args {}))
        .collect();
    let start = Instant::now();
    let results = scheduler
        .schedule_bulk(
            specs,
            ConflictResolution::Ignore,
            pgsched::BULK_BATCH_SIZE_DEFAULT,
        )
        .await?;
    let rate = results.len() as f64 / start.elapsed().as_secs_f64();
    bench.report("enqueue_bulk", rate, "jobs/s");
    Ok(())
}

async fn fill(scheduler: &Scheduler, jobs: usize) -> BenchResult {
    let at = Utc::now() - chrono::Duration::seconds(1);
    let specs: Vec<_> = (0..jobs)
        .map(|_| bench_noop::spec(at, bench_noop::Args {}))
        .collect();
    scheduler
        .schedule_bulk(specs, ConflictResolution::Ignore, 5000)
        .await?;
    let mut connection = scheduler.pool().acquire().await?;
    sqlx::query(AssertSqlSafe(format!(
        "ANALYZE \"{}\".jobs",
        scheduler.store().schema()
    )))
    .execute(&mut *connection)
    .await?;
    Ok(())
}

async fn drain(bench: &mut Bench) -> BenchResult {
    let probe = Arc::new(Probe::default());
    let scheduler = bench.fresh_scheduler("bench_drain", &probe).await?;
    fill(&scheduler, DRAIN_JOBS).await?;
    let rate = drain_filled(&scheduler, &probe).await?;
    bench.report("drain", rate, "jobs/s");
    Ok(())
}

/// `drain` with 1,000,000 finished jobs in the table: the claim path must not slow down as
/// history grows (partial indexes, not scans).
async fn drain_history(bench: &mut Bench) -> BenchResult {
    let probe = Arc::new(Probe::default());
    let scheduler = bench.fresh_scheduler("bench_drain_history", &probe).await?;
    let schema = scheduler.store().schema().quoted();
    let mut connection = PgConnection::connect(&bench.url).await?;
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO {schema}.jobs (id, name, payload, run_at, status, attempts, started_at, finished_at) \
         SELECT 'h' || g, 'bench_noop', '\\x'::bytea, now() - interval '1 day', \
                (ARRAY['completed','completed','completed','failed','cancelled','expired'])[1 + g % 6], \
                1, now() - interval '1 hour', now() - interval '1 hour' + g * interval '1 microsecond' \
         FROM generate_series(1, $1) g"
    )))
    .bind(HISTORY_ROWS)
    .execute(&mut connection)
    .await?;
    connection.close().await?;
    fill(&scheduler, DRAIN_JOBS).await?;
    let rate = drain_filled(&scheduler, &probe).await?;
    bench.report("drain_history", rate, "jobs/s");
    Ok(())
}

/// Starts a worker on a filled table and measures until every job is completed.
async fn drain_filled(scheduler: &Scheduler, probe: &Arc<Probe>) -> BenchResult<f64> {
    // Done when nothing is pending or running (both probes use partial indexes, so this stays
    // cheap with a large history).
    let done_sql = format!(
        "SELECT NOT EXISTS (SELECT 1 FROM {schema}.jobs WHERE status = 'pending') \
            AND NOT EXISTS (SELECT 1 FROM {schema}.jobs WHERE status = 'running')",
        schema = scheduler.store().schema().quoted()
    );
    let start = Instant::now();
    scheduler.start().await?;
    probe.wait_for_runs(DRAIN_JOBS).await;
    loop {
        let done: bool = sqlx::query_scalar(AssertSqlSafe(done_sql.clone()))
            .fetch_one(scheduler.pool())
            .await?;
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rate = DRAIN_JOBS as f64 / start.elapsed().as_secs_f64();
    scheduler.shutdown().await?;
    Ok(rate)
}

async fn latency(bench: &mut Bench) -> BenchResult {
    let probe = Arc::new(Probe::default());
    let scheduler = bench.fresh_scheduler("bench_latency", &probe).await?;
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
    probe.wait_for_runs(LATENCY_JOBS).await;
    scheduler.shutdown().await?;
    let mut latencies = probe
        .latencies_us
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    latencies.sort_unstable();
    let percentile = |p: f64| {
        let index = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[index] as f64 / 1000.0
    };
    bench.report("latency_p50", percentile(0.50), "ms");
    bench.report("latency_p99", percentile(0.99), "ms");
    Ok(())
}

/// PostgreSQL driven directly with the minimal SQL of the hot path: claim 10 due jobs
/// (`FOR UPDATE SKIP LOCKED` on the same table and index), then mark those 10 completed.
/// This is the baseline `drain` is steered by; it is not product SQL.
async fn ceiling_claim_complete(bench: &mut Bench) -> BenchResult {
    let probe = Arc::new(Probe::default());
    let scheduler = bench.fresh_scheduler("bench_ceiling", &probe).await?;
    let schema = scheduler.store().schema().quoted();
    let mut connection = PgConnection::connect(&bench.url).await?;
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO {schema}.jobs (id, name, payload, run_at) \
         SELECT 'c' || g, 'bench_noop', '\\x'::bytea, now() - interval '1 second' \
         FROM generate_series(1, $1) g"
    )))
    .bind(CEILING_ROWS)
    .execute(&mut connection)
    .await?;
    sqlx::query(AssertSqlSafe(format!("ANALYZE {schema}.jobs")))
        .execute(&mut connection)
        .await?;
    connection.close().await?;

    let claim = format!(
        "WITH c AS (SELECT id FROM {schema}.jobs WHERE status = 'pending' AND run_at <= now() \
         ORDER BY priority, run_at LIMIT $1 FOR UPDATE SKIP LOCKED) \
         UPDATE {schema}.jobs j SET status = 'running' FROM c WHERE j.id = c.id RETURNING j.id"
    );
    let complete = format!(
        "UPDATE {schema}.jobs SET status = 'completed', finished_at = now() WHERE id = ANY($1)"
    );
    let deadline = Instant::now() + CEILING_DURATION;
    let start = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..CEILING_CLIENTS {
        let url = bench.url.clone();
        let (claim, complete) = (claim.clone(), complete.clone());
        clients.push(tokio::spawn(async move {
            let mut connection = PgConnection::connect(&url).await?;
            let mut rows = 0_usize;
            while Instant::now() < deadline {
                let ids: Vec<String> = sqlx::query_scalar(AssertSqlSafe(claim.clone()))
                    .bind(CEILING_BATCH)
                    .fetch_all(&mut connection)
                    .await?;
                if ids.is_empty() {
                    break;
                }
                rows += ids.len();
                sqlx::query(AssertSqlSafe(complete.clone()))
                    .bind(ids)
                    .execute(&mut connection)
                    .await?;
            }
            Ok::<usize, sqlx::Error>(rows)
        }));
    }
    let mut rows = 0;
    for client in clients {
        rows += client.await??;
    }
    let rate = rows as f64 / start.elapsed().as_secs_f64();
    bench.report("ceiling_claim_complete", rate, "rows/s");
    Ok(())
}
