//! `pgsched-testworker`: a real worker process for the chaos tests (`tests/chaos`).
//!
//! It runs pgsched's worker over one schema until SIGTERM or SIGINT, then shuts down
//! gracefully and exits 0. Every setting comes from `--name=value` arguments or, failing that,
//! from `TESTWORKER_<NAME>` environment variables (durations in milliseconds):
//!
//! | setting | meaning | default |
//! |---|---|---|
//! | `database_url` (or `DATABASE_URL`) | PostgreSQL URL | required |
//! | `schema` | pgsched schema, which also holds the oracle table `effects` | required |
//! | `concurrency` | `max_concurrent_jobs` | 8 |
//! | `queues` | the queues served and their slots, like `default:8,limited:4` (replaces `concurrency`) | only `default` |
//! | `batch` | `batch_claim_limit` | 16 |
//! | `pool_size` | main pool connections | 4 |
//! | `oracle_pool_size` | connections of the pool the jobs write `effects` with | 2 |
//! | `oracle_url` | where `<schema>.effects` lives, e.g. a server the test does not fail over | `database_url` |
//! | `lease_ms`, `heartbeat_ms`, `sweep_ms`, `poll_ms`, `grace_ms` | timings | 3000, 1000, 1000, 500, 5000 |
//! | `retry_initial_ms`, `retry_max_ms` | retry backoff (factor 2, no jitter) | 50, 200 |
//! | `unknown_job_attempts` | attempts of an unknown job name or argument schema | 2 |
//! | `lost_lease_retries` | retries after a lost lease | 2 |
//! | `listen` | LISTEN/NOTIFY wake-ups | true |
//! | `drift_every_ms` | adds the periodic schedule of `drift` (key `drift`, enabled) every that many ms, so that two processes can disagree about one job's schedule | none |
//! | `wait_for` | runs no worker: waits for the `square` job of this id to end, prints `output: <n>` (or `error: <error>`) on stdout and exits | none |
//!
//! Jobs: `work(key, millis)` records one row per attempt in `<schema>.effects` (the test
//! oracle), on its own autocommit connection: inserted at the start, `t_end` set at the end, so
//! an attempt that was killed leaves `t_end` NULL. `panics`, `hangs` and `fails` are poison.
//! `fan_root`, `fan_square` and `fan_sum` are a fan-out and its fan-in (workflows), which
//! pass outputs along.
//! Logs go to stderr (`RUST_LOG`, default `info`), without colours, so tests can grep them.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use pgsched::{
    JobContext, RetryPolicy, Scheduler, State, VacuumConfig, VacuumPolicy, job, periodic,
};
use pgsched_core::periodic::{PeriodicDefinition, PeriodicSchedule};
use pgsched_core::{Registry, States, Worker, WorkerHandle};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::signal::unix::{SignalKind, signal};

/// How long a job keeps retrying an oracle write while the database is away.
const ORACLE_PATIENCE: Duration = Duration::from_secs(20);

/// The unit of work of the chaos tests: records its attempt in `effects`, sleeps `millis`,
/// records its end. With `millis == 0` one statement records both.
#[job]
async fn work(
    key: String,
    millis: u64,
    ctx: JobContext,
    oracle: State<PgPool>,
) -> Result<(), String> {
    let attempt = i32::try_from(ctx.attempt()).unwrap_or(i32::MAX);
    let pid = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
    let done_at_once = millis == 0;
    let row: i64 = with_patience("effects insert", || {
        sqlx::query_scalar(
            "INSERT INTO effects (job_id, attempt, lease_token, pid, key, t_end) \
             VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 THEN clock_timestamp() END) RETURNING id",
        )
        .bind(ctx.id().as_str())
        .bind(attempt)
        .bind(ctx.lease_token())
        .bind(pid)
        .bind(key.as_bytes())
        .bind(done_at_once)
        .fetch_one(&*oracle)
    })
    .await?;
    if done_at_once {
        return Ok(());
    }
    tokio::time::sleep(Duration::from_millis(millis)).await;
    with_patience("effects update", || {
        sqlx::query("UPDATE effects SET t_end = clock_timestamp() WHERE id = $1")
            .bind(row)
            .execute(&*oracle)
    })
    .await?;
    Ok(())
}

/// Records one run of a periodic window in `effects` (key = the dedup key).
async fn record_window(ctx: &JobContext, key: &str, oracle: &PgPool) -> Result<(), String> {
    let attempt = i32::try_from(ctx.attempt()).unwrap_or(i32::MAX);
    let pid = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
    with_patience("periodic effects insert", || {
        sqlx::query(
            "INSERT INTO effects (job_id, attempt, lease_token, pid, key, t_end) \
             VALUES ($1, $2, $3, $4, $5, clock_timestamp())",
        )
        .bind(ctx.id().as_str())
        .bind(attempt)
        .bind(ctx.lease_token())
        .bind(pid)
        .bind(key.as_bytes())
        .execute(oracle)
    })
    .await
    .map(|_| ())
}

/// Every second, for the multi-replica periodic scenario (enabled by the test).
#[periodic(every = "1s", enabled = false, dedup_key = "replica_tick")]
async fn replica_tick(ctx: JobContext, oracle: State<PgPool>) -> Result<(), String> {
    record_window(&ctx, "replica_tick", &oracle).await
}

/// Every minute in Berlin, for the multi-replica periodic scenario (enabled by the test).
#[periodic(
    cron = "* * * * *",
    tz = "Europe/Berlin",
    enabled = false,
    dedup_key = "replica_minute"
)]
async fn replica_minute(ctx: JobContext, oracle: State<PgPool>) -> Result<(), String> {
    record_window(&ctx, "replica_minute", &oracle).await
}

/// Every second under an advisory lock, for the multi-replica periodic scenario.
#[periodic(
    every = "1s",
    advisory_lock,
    enabled = false,
    dedup_key = "replica_locked_tick"
)]
async fn replica_locked_tick(ctx: JobContext, oracle: State<PgPool>) -> Result<(), String> {
    record_window(&ctx, "replica_locked_tick", &oracle).await
}

/// Every second under an advisory lock, each run lasting 3 s (longer than its interval), for
/// the exclusive-periodic scenario: records its start in `effects` (key = the dedup key) and
/// sets `t_end` when it ends, like `work`.
#[periodic(
    every = "1s",
    advisory_lock,
    enabled = false,
    dedup_key = "replica_locked_slow"
)]
async fn replica_locked_slow(ctx: JobContext, oracle: State<PgPool>) -> Result<(), String> {
    work("replica_locked_slow".to_owned(), 3_000, ctx, oracle).await
}

/// Records its window in `effects` (key `drift`). Its schedule is not in an attribute but
/// built at start from `drift_every_ms`, so processes can run it on different schedules.
#[job]
async fn drift(ctx: JobContext, oracle: State<PgPool>) -> Result<(), String> {
    record_window(&ctx, "drift", &oracle).await
}

/// The `drift` schedule every `millis`, leaked for the `&'static` the registry wants.
fn drift_schedule(millis: u64) -> &'static PeriodicDefinition {
    Box::leak(Box::new(PeriodicDefinition {
        job: &drift::DEFINITION,
        schedule: PeriodicSchedule::Every(Duration::from_millis(millis)),
        dedup_key: None,
        advisory_lock: false,
        enabled: true,
    }))
}

/// The worker this process runs: the scheduler's own, or (with `drift_every_ms`) one over
/// this binary's registry plus the `drift` schedule.
enum Running {
    Scheduler,
    Custom(WorkerHandle),
}

/// Returns `n * n` (its output), for a process that waits for it (`wait_for`).
#[job]
async fn square(n: u64) -> Result<u64, String> {
    n.checked_mul(n)
        .ok_or_else(|| format!("{n} squared overflows"))
}

/// Workflows: the root of a fan-out; returns `width`, the number of jobs it fans out to.
#[job]
async fn fan_root(width: u64) -> Result<u64, String> {
    Ok(width)
}

/// Workflows: one job of a fan-out; reads its parent's output (the width), checks `i` is
/// within it, and returns `i * i`, recording its attempt in `effects` (key `fan`).
#[job]
async fn fan_square(i: u64, ctx: JobContext, oracle: State<PgPool>) -> Result<u64, String> {
    let widths: Vec<(pgsched::JobId, u64)> = ctx
        .parent_outputs()
        .await
        .map_err(|error| error.to_string())?;
    let [(_, width)] = widths.as_slice() else {
        return Err(format!("expected one parent, found {}", widths.len()));
    };
    if i >= *width {
        return Err(format!("{i} is outside the fan-out of {width}"));
    }
    record_window(&ctx, "fan", &oracle).await?;
    Ok(i * i)
}

/// Workflows: the fan-in; returns the sum of its parents' outputs, recording its attempt in
/// `effects` (key `fan_sum`).
#[job]
async fn fan_sum(ctx: JobContext, oracle: State<PgPool>) -> Result<u64, String> {
    let squares: Vec<(pgsched::JobId, u64)> = ctx
        .parent_outputs()
        .await
        .map_err(|error| error.to_string())?;
    record_window(&ctx, "fan_sum", &oracle).await?;
    Ok(squares.iter().map(|(_, square)| square).sum())
}

/// Poison: panics on every attempt.
#[job]
async fn panics() {
    panic!("poisoned on purpose");
}

/// Poison: ignores cancellation and sleeps far past its 1 s timeout.
#[job(timeout = "1s")]
async fn hangs() {
    tokio::time::sleep(Duration::from_secs(60)).await;
}

/// Poison: fails with `msg` on every attempt.
#[job]
async fn fails(msg: String) -> Result<(), String> {
    Err(msg)
}

/// Retries a database call for up to [`ORACLE_PATIENCE`] (PostgreSQL may be restarting).
async fn with_patience<T, F, Fut>(what: &str, mut call: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    let start = tokio::time::Instant::now();
    let mut delay = Duration::from_millis(50);
    loop {
        match call().await {
            Ok(value) => return Ok(value),
            Err(error) if start.elapsed() < ORACLE_PATIENCE => {
                eprintln!("testworker: {what} failed, retrying: {error}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(1));
            }
            Err(error) => return Err(format!("{what} failed: {error}")),
        }
    }
}

/// `--name=value` from the arguments, else `TESTWORKER_<NAME>` from the environment.
fn setting(name: &str) -> Option<String> {
    let flag = format!("--{name}=");
    std::env::args()
        .skip(1)
        .find_map(|arg| arg.strip_prefix(&flag).map(str::to_owned))
        .or_else(|| std::env::var(format!("TESTWORKER_{}", name.to_ascii_uppercase())).ok())
}

fn number(name: &str, default: u64) -> Result<u64, String> {
    match setting(name) {
        Some(value) => value
            .parse()
            .map_err(|error| format!("{name}={value:?}: {error}")),
        None => Ok(default),
    }
}

fn millis(name: &str, default: u64) -> Result<Duration, String> {
    number(name, default).map(Duration::from_millis)
}

fn small(name: &str, default: u64) -> Result<u32, String> {
    u32::try_from(number(name, default)?).map_err(|error| format!("{name}: {error}"))
}

async fn run() -> Result<(), String> {
    let url = setting("database_url")
        .or_else(|| std::env::var("DATABASE_URL").ok())
        .ok_or("no database: pass --database_url=… or set DATABASE_URL")?;
    let schema = setting("schema").ok_or("no schema: pass --schema=…")?;
    let listen = setting("listen").is_none_or(|value| value != "false");

    // Register for the signals before the worker starts, so an early SIGTERM is not fatal.
    let mut terminate = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;

    // `--vacuum_immediate=true`: completed jobs are deleted as soon as a pass runs (200 ms).
    let vacuum = if setting("vacuum_immediate").is_some_and(|value| value == "true") {
        VacuumConfig::new()
            .completed(VacuumPolicy::immediate())
            .interval(Duration::from_millis(200))
    } else {
        VacuumConfig::default()
    };
    let oracle_url = setting("oracle_url").unwrap_or_else(|| url.clone());
    let options: PgConnectOptions = oracle_url.parse().map_err(|e| format!("oracle URL: {e}"))?;
    let oracle = PgPoolOptions::new()
        .max_connections(small("oracle_pool_size", 2)?)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(options.options([("search_path", schema.as_str())]));

    let scheduler = Scheduler::builder()
        .url(url)
        .schema(schema.clone())
        .pool_size(small("pool_size", 4)?)
        .max_concurrent_jobs(usize::try_from(number("concurrency", 8)?).unwrap_or(8))
        .batch_claim_limit(small("batch", 16)?)
        .lease_duration(millis("lease_ms", 3000)?)
        .heartbeat_interval(millis("heartbeat_ms", 1000)?)
        .sweep_interval(millis("sweep_ms", 1000)?)
        .poll_interval(millis("poll_ms", 500)?)
        .shutdown_grace(millis("grace_ms", 5000)?)
        .retry_policy(
            RetryPolicy::new()
                .initial(millis("retry_initial_ms", 50)?)
                .factor(2.0)
                .max(millis("retry_max_ms", 200)?)
                .jitter(0.0),
        )
        .unknown_job_attempts(small("unknown_job_attempts", 2)?)
        .lost_lease_retries(small("lost_lease_retries", 2)?)
        .listen(listen)
        .periodic_tick(millis("periodic_tick_ms", 1000)?)
        .vacuum(vacuum)
        .state(oracle.clone());
    let scheduler = match setting("queues") {
        Some(queues) => scheduler.queues(queues.parse().map_err(|e| format!("queues: {e}"))?),
        None => scheduler,
    }
    .build()
    .await
    .map_err(|e| format!("build: {e}"))?;
    if let Some(id) = setting("wait_for") {
        let id = pgsched::JobId::new(id).map_err(|e| format!("wait_for: {e}"))?;
        eprintln!("testworker waiting: pid {} job {id}", std::process::id());
        match square::handle(id).on(&scheduler).wait().await {
            Ok(output) => println!("output: {output}"),
            Err(error) => println!("error: {error}"),
        }
        return Ok(());
    }
    let running = match setting("drift_every_ms") {
        None => {
            scheduler.start().await.map_err(|e| format!("start: {e}"))?;
            Running::Scheduler
        }
        Some(_) => {
            scheduler
                .initialize_db()
                .await
                .map_err(|e| format!("migrate: {e}"))?;
            let drift = drift_schedule(number("drift_every_ms", 1000)?);
            let registry = Registry::from_inventory()
                .and_then(|registry| registry.with_periodic([drift]))
                .map_err(|e| format!("registry: {e}"))?;
            let handle = Worker::new(
                Arc::new(pgsched::__private::store(&scheduler).clone()),
                registry,
                scheduler.worker_config().clone(),
                *pgsched::__private::schedule_defaults(&scheduler),
                States::default().with(oracle),
            )
            .start()
            .await
            .map_err(|e| format!("start: {e}"))?;
            Running::Custom(handle)
        }
    };
    eprintln!(
        "testworker ready: pid {} schema {schema}",
        std::process::id()
    );

    let signal = tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    };
    eprintln!("testworker: {signal} received, shutting down");
    let report = match running {
        Running::Scheduler => scheduler.shutdown().await,
        Running::Custom(handle) => handle.shutdown().await,
    }
    .map_err(|e| format!("shutdown: {e}"))?;
    eprintln!("testworker: shutdown done: {report:?}");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("testworker: {error}");
            ExitCode::from(2)
        }
    }
}
