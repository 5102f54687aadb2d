//! What PostgreSQL itself does on this machine with the minimal SQL of each hot path, on the
//! same table and indexes: the baselines pgsched's figures are divided by. This is benchmark
//! SQL, not product SQL.

use std::time::{Duration, Instant};

use sqlx::{AssertSqlSafe, Connection, PgConnection};

use super::worker::bench_noop;
use super::{Bench, BenchResult};

const INSERT_ROWS: usize = 10_000;
const BULK_ROWS: usize = 100_000;
const CLAIM_ROWS: i64 = 200_000;
const CLAIM_DURATION: Duration = Duration::from_secs(5);
const CLAIM_CLIENTS: usize = 2;
const CLAIM_BATCH: i64 = 10;

fn hash() -> i64 {
    i64::from_ne_bytes(bench_noop::SCHEMA_HASH.to_ne_bytes())
}

/// One single-row INSERT per transaction, one connection, sequential: jobs/s.
pub(crate) async fn insert(bench: &mut Bench) -> BenchResult {
    let scheduler = bench.fresh_schema("bench_ceiling_insert").await?;
    let statement = format!(
        "INSERT INTO {}.jobs (id, name, payload, schema_hash, run_at, priority, max_retries, \
         misfire_grace_ms, expires_at) \
         VALUES ($1, 'bench_noop', '\\x', $2, now(), 5, 0, 300000, now() + interval '300 seconds')",
        pgsched::__private::store(&scheduler).schema().quoted()
    );
    let mut connection = PgConnection::connect(&bench.url).await?;
    let ids: Vec<String> = (0..INSERT_ROWS).map(|i| format!("i{i:08}")).collect();
    let start = Instant::now();
    for id in &ids {
        sqlx::query(AssertSqlSafe(statement.clone()))
            .bind(id)
            .bind(hash())
            .execute(&mut connection)
            .await?;
    }
    let rate = INSERT_ROWS as f64 / start.elapsed().as_secs_f64();
    connection.close().await?;
    bench.report("ceiling_insert", rate, "jobs/s");
    Ok(())
}

/// `insert` from `clients` connections at once, each inserting `INSERT_ROWS / clients` rows
/// one per transaction: jobs/s over all of them. The ceiling for concurrent single enqueues.
pub(crate) async fn insert_concurrent(
    bench: &mut Bench,
    clients: usize,
    name: &str,
) -> BenchResult {
    let scheduler = bench.fresh_schema(&format!("bench_{name}")).await?;
    let statement = format!(
        "INSERT INTO {}.jobs (id, name, payload, schema_hash, run_at, priority, max_retries, \
         misfire_grace_ms, expires_at) \
         VALUES ($1, 'bench_noop', '\\x', $2, now(), 5, 0, 300000, now() + interval '300 seconds')",
        pgsched::__private::store(&scheduler).schema().quoted()
    );
    let per_client = INSERT_ROWS / clients;
    let mut connections = Vec::with_capacity(clients);
    for _ in 0..clients {
        connections.push(PgConnection::connect(&bench.url).await?);
    }
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (client, mut connection) in connections.into_iter().enumerate() {
        let statement = statement.clone();
        tasks.spawn(async move {
            for row in 0..per_client {
                sqlx::query(AssertSqlSafe(statement.clone()))
                    .bind(format!("c{client}-{row:08}"))
                    .bind(hash())
                    .execute(&mut connection)
                    .await?;
            }
            connection.close().await?;
            Ok(())
        });
    }
    bench
        .report_clients(name, tasks, per_client * clients, start)
        .await
}

/// The same rows `enqueue_bulk` writes, by one text-format COPY: rows/s.
pub(crate) async fn bulk(bench: &mut Bench) -> BenchResult {
    let scheduler = bench.fresh_schema("bench_ceiling_bulk").await?;
    let mut data = String::with_capacity(BULK_ROWS * 120);
    let now = chrono::Utc::now();
    let run_at = now.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string();
    let expires = (now + chrono::Duration::seconds(300))
        .format("%Y-%m-%d %H:%M:%S%.6f+00")
        .to_string();
    let start = Instant::now();
    for _ in 0..BULK_ROWS {
        let id = uuid::Uuid::now_v7();
        data.push_str(&format!(
            "{id}\tbench_noop\t\\\\x\t{hash}\t{run_at}\t5\t0\t300000\t{expires}\t\\N\n",
            hash = hash()
        ));
    }
    let mut connection = PgConnection::connect(&bench.url).await?;
    let statement = format!(
        "COPY {}.jobs (id, name, payload, schema_hash, run_at, priority, max_retries, \
         misfire_grace_ms, expires_at, timeout_ms) FROM STDIN",
        pgsched::__private::store(&scheduler).schema().quoted()
    );
    let mut copy = connection.copy_in_raw(&statement).await?;
    copy.send(data.as_bytes()).await?;
    let rows = copy.finish().await?;
    let rate = rows as f64 / start.elapsed().as_secs_f64();
    connection.close().await?;
    bench.report("ceiling_bulk", rate, "rows/s");
    Ok(())
}

/// Claim 10 due jobs with `FOR UPDATE SKIP LOCKED` in (priority, run_at) order, then mark
/// those 10 completed; two clients, as fast as they go for 5 s: rows/s. With `async_commit`
/// the sessions run with `synchronous_commit = off`, as pgsched's worker statements do.
pub(crate) async fn claim_complete(bench: &mut Bench, async_commit: bool) -> BenchResult {
    let scheduler = bench.fresh_schema("bench_ceiling_claim").await?;
    let schema = pgsched::__private::store(&scheduler).schema().quoted();
    let mut connection = PgConnection::connect(&bench.url).await?;
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO {schema}.jobs (id, name, payload, run_at) \
         SELECT 'c' || g, 'bench_noop', '\\x'::bytea, now() - interval '1 second' \
         FROM generate_series(1, $1) g"
    )))
    .bind(CLAIM_ROWS)
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
    let deadline = Instant::now() + CLAIM_DURATION;
    let start = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..CLAIM_CLIENTS {
        let url = bench.url.clone();
        let (claim, complete) = (claim.clone(), complete.clone());
        clients.push(tokio::spawn(async move {
            let mut connection = PgConnection::connect(&url).await?;
            if async_commit {
                sqlx::query("SET synchronous_commit = off")
                    .execute(&mut connection)
                    .await?;
            }
            let mut rows = 0_usize;
            while Instant::now() < deadline {
                let ids: Vec<String> = sqlx::query_scalar(AssertSqlSafe(claim.clone()))
                    .bind(CLAIM_BATCH)
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
    let name = if async_commit {
        "ceiling_claim_complete_async"
    } else {
        "ceiling_claim_complete"
    };
    bench.report(name, rate, "rows/s");
    Ok(())
}
