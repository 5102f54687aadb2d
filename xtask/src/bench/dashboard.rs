//! `dashboard_jobs_page`: the server time of the dashboard's jobs list with 1,000,000 jobs in
//! the table, p50 and p99 (target ≤ 50 ms p99), over a mix of the pages an operator opens:
//! the first page, a page deep in by keyset, a status filter, a job name filter, an id
//! prefix, a small queue, the oldest first. The requests go straight to the router (no socket), so the time
//! is the server's: routing, the queries, rendering.

use std::time::Instant;

use pgsched::web::{Settings, axum};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tower::ServiceExt as _;

use super::{Bench, BenchResult};

const SCHEMA: &str = "bench_dashboard";
/// Jobs in the table.
const JOBS: u64 = 1_000_000;
/// Requests of each kind.
const ROUNDS: usize = 40;

/// Writes `JOBS` jobs in one statement: ten job names, finished jobs of the last 30 days
/// (mostly completed, some failed, cancelled, expired) and a tail of pending and scheduled
/// ones, created in order over the 30 days; one job in a hundred in the queue
/// `bench_reports`, the others in `default`.
async fn fill(url: &str) -> BenchResult {
    let mut connection = PgConnection::connect(url).await?;
    let insert = format!(
        "INSERT INTO \"{SCHEMA}\".jobs
              (id, name, status, priority, run_at, payload, attempts, max_retries,
               created_at, started_at, finished_at, last_error, queue)
         SELECT 'job-' || lpad(n::text, 8, '0'),
                'bench_job_' || (n % 10),
                s.status, 5, t, '\\x00'::bytea, 1, 0,
                t, CASE WHEN s.status IN ('completed', 'failed') THEN t END,
                CASE WHEN s.status NOT IN ('pending', 'scheduled') THEN t END,
                CASE WHEN s.status = 'failed' THEN 'error: failed on purpose' END,
                CASE WHEN n % 100 = 0 THEN 'bench_reports' ELSE 'default' END
           FROM generate_series(1, {JOBS}) AS n,
                LATERAL (SELECT now() - interval '30 days' + n * interval '2592 milliseconds' AS t) AS at,
                LATERAL (SELECT CASE
                    WHEN n > {JOBS} - 2000 THEN 'scheduled'
                    WHEN n > {JOBS} - 5000 THEN 'pending'
                    WHEN n % 50 = 0 THEN 'failed'
                    WHEN n % 97 = 0 THEN 'cancelled'
                    WHEN n % 89 = 0 THEN 'expired'
                    ELSE 'completed' END AS status) AS s"
    );
    sqlx::query(AssertSqlSafe(insert))
        .execute(&mut connection)
        .await?;
    sqlx::query(AssertSqlSafe(format!("VACUUM ANALYZE \"{SCHEMA}\".jobs")))
        .execute(&mut connection)
        .await?;
    connection.close().await?;
    Ok(())
}

/// Server time of one GET of `path`, in milliseconds; fails unless it is a 200.
async fn time_get(router: &axum::Router, path: &str) -> BenchResult<f64> {
    let request = axum::http::Request::get(path).body(axum::body::Body::empty())?;
    let start = Instant::now();
    let response = router.clone().oneshot(request).await?;
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    let elapsed = start.elapsed().as_secs_f64() * 1000.0;
    if !status.is_success() {
        return Err(format!("GET {path}: {status}: {}", String::from_utf8_lossy(&body)).into());
    }
    Ok(elapsed)
}

/// `dashboard_jobs_page_p50` / `_p99` (and the overview's p99 for reference).
pub(crate) async fn jobs_page(bench: &mut Bench) -> BenchResult {
    let scheduler = bench.fresh_schema(SCHEMA).await?;
    let filled = Instant::now();
    fill(&bench.url).await?;
    eprintln!(
        "bench: {JOBS} jobs written in {:.1} s",
        filled.elapsed().as_secs_f64()
    );
    let router = scheduler.dashboard(&Settings::new());
    // A cursor in the middle of the table: the page after job 500,000.
    let middle = {
        let mut connection = PgConnection::connect(&bench.url).await?;
        let at: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT created_at FROM \"{SCHEMA}\".jobs WHERE id = 'job-00500000'"
        )))
        .fetch_one(&mut connection)
        .await?;
        connection.close().await?;
        at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    };
    let pages = [
        "/jobs".to_owned(),
        format!(
            "/jobs?after_at={}&after_id=job-00500000",
            middle.replace('+', "%2B")
        ),
        "/jobs?status=failed".to_owned(),
        "/jobs?status=pending".to_owned(),
        "/jobs?name=bench_job_3".to_owned(),
        "/jobs?id=job-004217".to_owned(),
        "/jobs?queue=bench_reports".to_owned(),
        "/jobs?order=oldest&status=cancelled".to_owned(),
    ];
    for page in &pages {
        time_get(&router, page).await?; // warm: plans and caches
    }
    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        for page in &pages {
            times.push(time_get(&router, page).await?);
        }
    }
    let mut overview = Vec::new();
    for _ in 0..ROUNDS {
        overview.push(time_get(&router, "/").await?);
    }
    bench.report(
        "dashboard_jobs_page_p50",
        percentile(&mut times, 0.50),
        "ms",
    );
    bench.report(
        "dashboard_jobs_page_p99",
        percentile(&mut times, 0.99),
        "ms",
    );
    bench.report(
        "dashboard_overview_p99",
        percentile(&mut overview, 0.99),
        "ms",
    );
    scheduler.close().await?;
    Ok(())
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let index = ((values.len() as f64 - 1.0) * p).round() as usize;
    values.get(index).copied().unwrap_or(f64::NAN)
}
