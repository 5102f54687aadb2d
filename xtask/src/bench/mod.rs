//! `cargo xtask bench`: pgsched's workloads and the PostgreSQL ceilings they are compared to,
//! measured in the same run on the same database.
//!
//! Each workload uses a schema of its own (`bench_<workload>`, recreated each run). Output:
//! one `bench <workload> <value> <unit>` line per figure and `ratio <name> <value>` lines;
//! progress goes to stderr. Worker processes are this binary started again as
//! `xtask bench-worker <schema>` (see [`worker`]).

mod ceilings;
mod dashboard;
mod queues;
mod soak;
pub(crate) mod worker;
mod workloads;

use std::error::Error;

use pgsched::Scheduler;
use sqlx::{AssertSqlSafe, Connection, PgConnection};

pub(crate) type BenchResult<T = ()> = Result<T, Box<dyn Error + Send + Sync>>;

/// The figures of one run.
pub(crate) struct Bench {
    pub(crate) url: String,
    figures: Vec<(String, f64)>,
}

impl Bench {
    pub(crate) fn report(&mut self, workload: &str, value: f64, unit: &str) {
        println!("bench {workload} {value:.2} {unit}");
        self.figures.push((workload.to_owned(), value));
    }

    pub(crate) fn figure(&self, workload: &str) -> Option<f64> {
        self.figures
            .iter()
            .find(|(name, _)| name == workload)
            .map(|(_, v)| *v)
    }

    fn ratio(&self, name: &str, numerator: &str, denominator: &str) {
        if let (Some(n), Some(d)) = (self.figure(numerator), self.figure(denominator)) {
            println!("ratio {name} {:.3}", n / d);
        }
    }

    /// A migrated scheduler on a freshly recreated schema `schema` (no worker started).
    pub(crate) async fn fresh_schema(&self, schema: &str) -> BenchResult<Scheduler> {
        Bench::fresh_schema_at(&self.url, schema, pgsched::defaults::POOL_SIZE_DEFAULT).await
    }

    /// A migrated, empty `schema` on the server at `url` (dropped first if it exists), and a
    /// scheduler on it with a pool of `pool_size`.
    pub(crate) async fn fresh_schema_at(
        url: &str,
        schema: &str,
        pool_size: u32,
    ) -> BenchResult<Scheduler> {
        let mut connection = PgConnection::connect(url).await?;
        sqlx::query(AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
        )))
        .execute(&mut connection)
        .await?;
        connection.close().await?;
        let scheduler = Bench::scheduler_at(url, schema, pool_size).await?;
        scheduler.initialize_db().await?;
        Ok(scheduler)
    }

    /// A scheduler on `schema` at `url` with a pool of `pool_size` (no migration).
    pub(crate) async fn scheduler_at(
        url: &str,
        schema: &str,
        pool_size: u32,
    ) -> BenchResult<Scheduler> {
        Ok(Scheduler::builder()
            .url(url)
            .schema(schema)
            .pool_size(pool_size)
            .build()
            .await?)
    }
}

impl Bench {
    /// Waits for a workload's concurrent clients (started at `start`, writing `jobs` in all)
    /// and reports their combined rate as `name`.
    pub(crate) async fn report_clients(
        &mut self,
        name: &str,
        mut clients: tokio::task::JoinSet<BenchResult>,
        jobs: usize,
        start: std::time::Instant,
    ) -> BenchResult {
        while let Some(done) = clients.join_next().await {
            done??;
        }
        self.report(name, jobs as f64 / start.elapsed().as_secs_f64(), "jobs/s");
        Ok(())
    }

    /// Drops a workload's schema, so its dead rows leave no autovacuum work behind to
    /// disturb the next workload.
    pub(crate) async fn drop_schema(&self, schema: &str) -> BenchResult {
        let mut connection = PgConnection::connect(&self.url).await?;
        sqlx::query(AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
        )))
        .execute(&mut connection)
        .await?;
        connection.close().await?;
        Ok(())
    }
}

/// Every workload, in run order: (name used to select it, function).
pub(crate) const WORKLOADS: &[&str] = &[
    "ceiling_insert",
    "enqueue_single",
    "ceiling_insert_4clients",
    "enqueue_single_4clients",
    "ceiling_bulk",
    "enqueue_bulk",
    "ceiling_claim_complete",
    "ceiling_claim_complete_async",
    "drain",
    "drain_4proc",
    "drain_history",
    "drain_future_backlog",
    "drain_expired_backlog",
    "drain_100k",
    "drain_held_xmin",
    "drain_queues",
    "drain_global_limit",
    "drain_per_key",
    "queue_rate",
    "workflow_fanout",
    "retention_keep_last",
    "soak",
    "soak_held_xmin",
    "latency",
    "wait_latency",
    "peak_rss",
    "dashboard_jobs_page",
];

/// Every schema the workloads create.
const SCHEMAS: &[&str] = &[
    "bench_ceiling_insert",
    "bench_enqueue_single",
    "bench_ceiling_bulk",
    "bench_enqueue_bulk",
    "bench_ceiling_claim",
    "bench_drain",
    "bench_drain_4proc",
    "bench_drain_history",
    "bench_drain_future_backlog",
    "bench_drain_expired_backlog",
    "bench_drain_100k",
    "bench_drain_held_xmin",
    "bench_drain_queues",
    "bench_drain_global_limit",
    "bench_drain_per_key",
    "bench_queue_rate",
    "bench_workflow_fanout",
    "bench_retention_keep_last",
    "bench_soak",
    "bench_soak_held_xmin",
    "bench_soak_quick",
    "bench_soak_quick_held_xmin",
    "bench_ceiling_insert_4clients",
    "bench_enqueue_single_4clients",
    "bench_latency",
    "bench_wait_latency",
    "bench_peak_rss",
    "bench_dashboard",
];

/// Whether `selection` selects `workload`: a prefix selects every workload it begins
/// (`drain` is every drain), a name ending in `$` only that one (`drain$`).
fn selects(selection: &str, workload: &str) -> bool {
    match selection.strip_suffix('$') {
        Some(exact) => workload == exact,
        None => workload.starts_with(selection),
    }
}

/// Runs the selected workloads (all when `selected` is empty; a prefix selects several, a
/// name ending in `$` only itself).
pub(crate) async fn run(selected: &[String]) -> BenchResult {
    let database = pgsched_devdb::DevDatabase::find_or_start()?;
    eprintln!("bench: PostgreSQL {database}");
    let mut bench = Bench {
        url: database.url().to_owned(),
        figures: Vec::new(),
    };
    for workload in WORKLOADS {
        if !(selected.is_empty() || selected.iter().any(|s| selects(s, workload))) {
            continue;
        }
        eprintln!("bench: {workload}…");
        match *workload {
            "ceiling_insert" => ceilings::insert(&mut bench).await?,
            "enqueue_single" => workloads::enqueue_single(&mut bench).await?,
            "ceiling_insert_4clients" => {
                ceilings::insert_concurrent(&mut bench, 4, "ceiling_insert_4clients").await?;
            }
            "enqueue_single_4clients" => {
                workloads::enqueue_single_concurrent(&mut bench, 4, "enqueue_single_4clients")
                    .await?;
            }
            "ceiling_bulk" => ceilings::bulk(&mut bench).await?,
            "enqueue_bulk" => workloads::enqueue_bulk(&mut bench).await?,
            "ceiling_claim_complete" => ceilings::claim_complete(&mut bench, false).await?,
            "ceiling_claim_complete_async" => ceilings::claim_complete(&mut bench, true).await?,
            "drain" => workloads::drain(&mut bench, 1, "drain").await?,
            "drain_4proc" => workloads::drain(&mut bench, 4, "drain_4proc").await?,
            "drain_history" => workloads::drain_history(&mut bench).await?,
            "drain_future_backlog" => workloads::drain_future_backlog(&mut bench).await?,
            "drain_expired_backlog" => workloads::drain_expired_backlog(&mut bench).await?,
            "drain_100k" => workloads::drain_held_xmin(&mut bench, false, "drain_100k").await?,
            "drain_held_xmin" => {
                workloads::drain_held_xmin(&mut bench, true, "drain_held_xmin").await?;
            }
            "drain_queues" => queues::drain_queues(&mut bench).await?,
            "drain_global_limit" => queues::drain_global_limit(&mut bench).await?,
            "drain_per_key" => queues::drain_per_key(&mut bench).await?,
            "queue_rate" => queues::queue_rate(&mut bench).await?,
            "workflow_fanout" => workloads::workflow_fanout(&mut bench).await?,
            "retention_keep_last" => workloads::retention_keep_last(&mut bench).await?,
            "soak" => soak::soak(&mut bench, "soak", soak::minutes(), false).await?,
            "soak_held_xmin" => {
                soak::soak(&mut bench, "soak_held_xmin", soak::minutes(), true).await?;
            }
            "latency" => workloads::latency(&mut bench).await?,
            "wait_latency" => workloads::wait_latency(&mut bench).await?,
            "peak_rss" => workloads::peak_rss(&mut bench).await?,
            "dashboard_jobs_page" => dashboard::jobs_page(&mut bench).await?,
            _ => {}
        }
        for schema in SCHEMAS {
            bench.drop_schema(schema).await?;
        }
    }
    // `soak_quick`: both soaks, two minutes each (not part of a full run), after the
    // selected workloads, so that a `drain` measured in the same run sets their offered load..
    if selected.iter().any(|s| s == "soak_quick") {
        soak::soak(&mut bench, "soak_quick", 2, false).await?;
        soak::soak(&mut bench, "soak_quick_held_xmin", 2, true).await?;
    }
    bench.ratio(
        "drain/ceiling_claim_complete",
        "drain",
        "ceiling_claim_complete",
    );
    bench.ratio(
        "drain/ceiling_claim_complete_async",
        "drain",
        "ceiling_claim_complete_async",
    );
    bench.ratio(
        "enqueue_single/ceiling_insert",
        "enqueue_single",
        "ceiling_insert",
    );
    bench.ratio("enqueue_bulk/ceiling_bulk", "enqueue_bulk", "ceiling_bulk");
    bench.ratio("drain_4proc/drain", "drain_4proc", "drain");
    bench.ratio("drain_queues/drain", "drain_queues", "drain");
    bench.ratio("drain_global_limit/drain", "drain_global_limit", "drain");
    bench.ratio("drain_per_key/drain", "drain_per_key", "drain");
    bench.ratio("drain_history/drain", "drain_history", "drain");
    bench.ratio(
        "enqueue_single_4clients/ceiling_insert_4clients",
        "enqueue_single_4clients",
        "ceiling_insert_4clients",
    );
    bench.ratio(
        "drain_future_backlog/drain",
        "drain_future_backlog",
        "drain",
    );
    bench.ratio(
        "drain_held_xmin/drain_100k",
        "drain_held_xmin",
        "drain_100k",
    );
    for soak in [
        "soak",
        "soak_held_xmin",
        "soak_quick",
        "soak_quick_held_xmin",
    ] {
        bench.ratio(
            &format!("{soak}_last_minute/offered"),
            &format!("{soak}_last_minute"),
            &format!("{soak}_offered"),
        );
    }
    bench.ratio("workflow_fanout/drain", "workflow_fanout", "drain");
    bench.ratio(
        "drain_expired_backlog/drain",
        "drain_expired_backlog",
        "drain",
    );
    Ok(())
}
