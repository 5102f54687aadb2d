//! What every chaos scenario shares: worker processes (`pgsched-testworker`) that are killed
//! when dropped, a schema with the `effects` oracle, SQL helpers, deadlines, a seeded RNG, and
//! a gate that keeps heavy scenarios from running at the same time on a 2-core machine.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use pgsched::{ConflictResolution, JobSpec, Scheduled, Scheduler, SchedulerBuilder};
use pgsched_tests::TestDb;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sqlx::postgres::PgRow;

/// The worker binary built from `tests/bin/testworker.rs`.
pub(crate) const TESTWORKER: &str = env!("CARGO_BIN_EXE_pgsched-testworker");

/// Test timings (reliability.md §4.1); the test worker's defaults.
pub(crate) const LEASE: Duration = Duration::from_secs(3);
pub(crate) const SWEEP: Duration = Duration::from_secs(1);
pub(crate) const POLL: Duration = Duration::from_millis(500);

// ---------------------------------------------------------------------------------------------
// The gate: at most 2 units of scenarios at once; a heavy scenario (4 workers, or timing
// sensitive under load) takes both.

static GATE: (Mutex<u32>, Condvar) = (Mutex::new(0), Condvar::new());
const GATE_CAPACITY: u32 = 2;

/// Held while a scenario runs; dropping it lets the next one in.
pub(crate) struct Permit(u32);

/// Blocks this test's thread until `weight` units are free (1 = light, 2 = heavy).
pub(crate) fn gate(weight: u32) -> Permit {
    let weight = weight.min(GATE_CAPACITY);
    let (lock, freed) = &GATE;
    let mut used = lock
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    while *used + weight > GATE_CAPACITY {
        used = freed
            .wait(used)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
    }
    *used += weight;
    Permit(weight)
}

impl Drop for Permit {
    fn drop(&mut self) {
        let (lock, freed) = &GATE;
        let mut used = lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *used -= self.0;
        freed.notify_all();
    }
}

// ---------------------------------------------------------------------------------------------
// Seeds.

/// The run's seed: `CHAOS_SEED` if set, else the clock. Printed so a failure can be replayed.
pub(crate) fn seeded_rng(scenario: &str) -> (u64, StdRng) {
    let seed = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_nanos());
            u64::try_from(nanos % u128::from(u64::MAX)).unwrap_or(0)
        });
    println!("{scenario}: seed {seed} (replay with CHAOS_SEED={seed})");
    (seed, StdRng::seed_from_u64(seed))
}

// ---------------------------------------------------------------------------------------------
// Worker processes.

/// How to start a test worker: URL, schema and `--name=value` settings.
#[derive(Debug, Clone)]
pub(crate) struct WorkerSpec {
    url: String,
    schema: String,
    settings: BTreeMap<String, String>,
}

impl WorkerSpec {
    /// Sets one of the test worker's settings (see `tests/bin/testworker.rs`).
    #[must_use]
    pub(crate) fn set(mut self, name: &str, value: impl ToString) -> WorkerSpec {
        self.settings.insert(name.to_owned(), value.to_string());
        self
    }

    /// Starts a worker process; its stderr goes to a file under the target's tmp dir.
    pub(crate) fn spawn(&self, label: &str) -> WorkerProc {
        static SPAWNED: AtomicU64 = AtomicU64::new(0);
        let n = SPAWNED.fetch_add(1, Ordering::Relaxed);
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("chaos");
        std::fs::create_dir_all(&dir).expect("log directory");
        let log = dir.join(format!("{}-{label}-{n}.stderr", self.schema));
        let stderr = File::create(&log).expect("worker log file");
        let mut command = Command::new(TESTWORKER);
        command
            .env("DATABASE_URL", &self.url)
            .env("RUST_LOG", "info")
            .arg(format!("--schema={}", self.schema))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        for (name, value) in &self.settings {
            command.arg(format!("--{name}={value}"));
        }
        let child = command.spawn().expect("spawn pgsched-testworker");
        WorkerProc {
            pid: child.id(),
            child,
            label: label.to_owned(),
            log,
            exit: None,
        }
    }
}

/// A running test worker. Dropping it kills it (SIGKILL) and reaps it, so a failing test
/// leaves no process behind.
pub(crate) struct WorkerProc {
    child: Child,
    pid: u32,
    label: String,
    log: PathBuf,
    exit: Option<ExitStatus>,
}

impl WorkerProc {
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    /// Everything the worker wrote to stderr so far.
    pub(crate) fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last `lines` lines of stderr (for failure messages).
    pub(crate) fn stderr_tail(&self, lines: usize) -> String {
        let text = self.stderr();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Its exit status, if it has exited (reaps it).
    pub(crate) fn exited(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().expect("try_wait");
        }
        self.exit
    }

    /// Waits until the worker has registered and started claiming.
    pub(crate) async fn wait_ready(&mut self) {
        let start = Instant::now();
        loop {
            if self.stderr().contains("testworker ready") {
                return;
            }
            if let Some(status) = self.exited() {
                panic!(
                    "worker {} exited before it was ready ({status}):\n{}",
                    self.label,
                    self.stderr_tail(30)
                );
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "worker {} not ready after 30 s:\n{}",
                self.label,
                self.stderr_tail(30)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `kill -9`, then reaps it.
    pub(crate) fn kill9(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            self.exit = self.child.wait().ok();
        }
    }

    /// Sends a signal by name (`TERM`, `STOP`, `CONT`, …) with kill(1).
    pub(crate) fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid.to_string())
            .status()
            .expect("run kill(1)");
        assert!(status.success(), "kill -{name} {} failed", self.pid);
    }

    /// Waits up to `limit` for the process to exit; returns its status and how long it took.
    pub(crate) async fn wait_exit(&mut self, limit: Duration) -> Option<(ExitStatus, Duration)> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.exited() {
                return Some((status, start.elapsed()));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    }

    /// Waits until stderr contains `needle`; returns how long that took, or `None` at `limit`.
    pub(crate) async fn wait_log(&self, needle: &str, limit: Duration) -> Option<Duration> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.stderr().contains(needle) {
                return Some(start.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// SIGTERM, then waits for a clean exit (for the end of a scenario).
    pub(crate) async fn stop_gracefully(&mut self, limit: Duration) -> Option<ExitStatus> {
        if self.exited().is_none() {
            self.signal("TERM");
        }
        self.wait_exit(limit).await.map(|(status, _)| status)
    }
}

impl Drop for WorkerProc {
    fn drop(&mut self) {
        if self.exit.is_none() {
            // SIGKILL also ends a stopped (SIGSTOP) process.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The lab: a scheduler on a schema of its own, with the oracle table.

/// A schema with pgsched's tables and the `effects` oracle, and a scheduler to enqueue and
/// inspect through.
pub(crate) struct Lab {
    pub(crate) scheduler: Scheduler,
    schema: String,
    url: String,
    db: Option<TestDb>,
}

impl Lab {
    /// A fresh schema on the shared test database (`TestDb`).
    pub(crate) async fn new() -> Lab {
        let db = TestDb::new();
        let scheduler = db.scheduler(|b| b.pool_size(3)).await;
        let lab = Lab {
            scheduler,
            schema: db.schema().to_owned(),
            url: pgsched_tests::database_url().to_owned(),
            db: Some(db),
        };
        lab.create_oracle().await;
        lab
    }

    /// A schema on another database (a throwaway cluster), built with `configure`.
    pub(crate) async fn on(
        url: &str,
        schema: &str,
        configure: impl FnOnce(SchedulerBuilder) -> SchedulerBuilder,
    ) -> Lab {
        let scheduler = configure(Scheduler::builder().url(url).schema(schema).pool_size(3))
            .build()
            .await
            .expect("scheduler builds");
        scheduler.initialize_db().await.expect("migrations run");
        let lab = Lab {
            scheduler,
            schema: schema.to_owned(),
            url: url.to_owned(),
            db: None,
        };
        lab.create_oracle().await;
        lab
    }

    pub(crate) fn schema(&self) -> &str {
        &self.schema
    }

    /// `"<schema>".<table>`, for SQL.
    pub(crate) fn t(&self, table: &str) -> String {
        format!("\"{}\".{table}", self.schema)
    }

    async fn create_oracle(&self) {
        self.exec(&format!(
            "CREATE TABLE {} (
                 id          bigserial PRIMARY KEY,
                 job_id      text        NOT NULL,
                 attempt     int         NOT NULL,
                 lease_token bigint      NOT NULL,
                 pid         int         NOT NULL,
                 key         bytea,
                 t_start     timestamptz NOT NULL DEFAULT clock_timestamp(),
                 t_end       timestamptz
             )",
            self.t("effects")
        ))
        .await;
        self.exec(&format!(
            "CREATE INDEX ON {} (job_id, attempt)",
            self.t("effects")
        ))
        .await;
    }

    /// A worker on this lab's schema with the test timings.
    pub(crate) fn worker(&self) -> WorkerSpec {
        WorkerSpec {
            url: self.url.clone(),
            schema: self.schema.clone(),
            settings: BTreeMap::new(),
        }
    }

    pub(crate) async fn exec(&self, sql: &str) {
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(self.scheduler.pool())
            .await
            .unwrap_or_else(|error| panic!("{sql}: {error}"));
    }

    pub(crate) async fn try_i64(&self, sql: &str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar::<_, Option<i64>>(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_optional(self.scheduler.pool())
            .await
            .map(|value| value.flatten().unwrap_or(0))
    }

    /// One `bigint` (no row or NULL reads as 0).
    pub(crate) async fn i64(&self, sql: &str) -> i64 {
        self.try_i64(sql)
            .await
            .unwrap_or_else(|error| panic!("{sql}: {error}"))
    }

    /// Waits until `sql` (a count) is above zero; panics with `what` after `limit`.
    pub(crate) async fn until_some(&self, sql: &str, limit: Duration, what: &str) {
        let deadline = std::time::Instant::now() + limit;
        while self.i64(sql).await == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "{what} after {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// One `double precision` (NULL reads as NaN).
    pub(crate) async fn f64(&self, sql: &str) -> f64 {
        sqlx::query_scalar::<_, Option<f64>>(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(self.scheduler.pool())
            .await
            .unwrap_or_else(|error| panic!("{sql}: {error}"))
            .unwrap_or(f64::NAN)
    }

    pub(crate) async fn rows(&self, sql: &str) -> Vec<PgRow> {
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_all(self.scheduler.pool())
            .await
            .unwrap_or_else(|error| panic!("{sql}: {error}"))
    }

    /// The database clock now, as seconds since the epoch (to compare with oracle times).
    pub(crate) async fn db_now(&self) -> f64 {
        self.f64("SELECT extract(epoch FROM clock_timestamp())::float8")
            .await
    }

    /// Jobs per status.
    pub(crate) async fn statuses(&self) -> BTreeMap<String, i64> {
        let rows = self
            .rows(&format!(
                "SELECT status, count(*) FROM {} GROUP BY status",
                self.t("jobs")
            ))
            .await;
        rows.iter()
            .map(|row| {
                use sqlx::Row;
                (row.get::<String, _>(0), row.get::<i64, _>(1))
            })
            .collect()
    }

    /// Schedules `specs` in bulk and checks that every one was inserted.
    pub(crate) async fn enqueue(&self, specs: Vec<JobSpec>) {
        let count = specs.len();
        let results = self
            .scheduler
            .schedule_bulk(specs, ConflictResolution::Raise, 1000)
            .await
            .expect("bulk schedule");
        let inserted = results
            .iter()
            .filter(|result| matches!(result, Scheduled::Inserted(_)))
            .count();
        assert_eq!(inserted, count, "every job inserted");
    }

    /// Waits until no job is pending or running (ignoring database errors, which happen while
    /// PostgreSQL restarts); `tick` runs every 100 ms with the number still open. Returns the
    /// time it took, or panics at `limit` with the status counts.
    pub(crate) async fn wait_drained(
        &self,
        limit: Duration,
        mut tick: impl FnMut(i64),
    ) -> Duration {
        let start = Instant::now();
        let sql = format!(
            "SELECT count(*) FROM {} WHERE status IN ('scheduled', 'pending', 'running')",
            self.t("jobs")
        );
        loop {
            if let Ok(open) = self.try_i64(&sql).await {
                if open == 0 {
                    return start.elapsed();
                }
                tick(open);
            }
            assert!(
                start.elapsed() < limit,
                "not drained after {limit:?}: {:?}",
                self.statuses().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Drops the schema (at the end of a passing scenario).
    pub(crate) async fn cleanup(mut self) {
        if let Some(db) = self.db.take() {
            db.drop_schema().await;
        }
        self.scheduler.pool().close().await;
    }
}

impl Drop for Lab {
    /// A failed scenario drops its schema too (after its workers, declared later, were
    /// killed), unless `CHAOS_KEEP` is set to look at it.
    fn drop(&mut self) {
        let Some(db) = self.db.take() else { return };
        if std::env::var_os("CHAOS_KEEP").is_some() {
            eprintln!("chaos: keeping schema {}", db.schema());
            return;
        }
        // The test's runtime may be unwinding: drop the schema from a runtime of its own.
        let _ = std::thread::spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                runtime.block_on(db.drop_schema());
            }
        })
        .join();
    }
}

/// The postcard payload of `work(key, millis)`: the `Args` fields in order.
pub(crate) fn work_payload(key: &str, millis: u64) -> Vec<u8> {
    postcard::to_allocvec(&(key, millis)).expect("encode work args")
}

/// A `work` job by name with the given id.
pub(crate) fn work_job(id: impl Into<String>, key: &str, millis: u64) -> JobSpec {
    JobSpec::by_name("work", work_payload(key, millis)).job_id(id)
}

/// The `p`-quantile (0..=1) of `values` (sorted in place).
pub(crate) fn quantile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let last = values.len() - 1;
    let rank = (p * last as f64).round() as usize;
    values[rank.min(last)]
}
