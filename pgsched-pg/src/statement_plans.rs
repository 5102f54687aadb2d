//! Tests of how the hot statements read a big table: each runs under `EXPLAIN (ANALYZE,
//! BUFFERS)` on a migrated schema holding rows it must not walk, and the buffers it touched
//! are compared with the rows it must not pay for. Counting buffers, not time, so the tests
//! do not depend on the machine's speed.

use sqlx::{AssertSqlSafe, Connection, Executor};

use pgsched_core::store::JobStore;

use crate::statements::Statements;
use crate::test_schema::TestSchema;

/// Scheduled jobs due tomorrow, each with a misfire grace (so in the promotion's second probe).
const JOBS_DUE_LATER: i64 = 20_000;

/// The shared buffers a plan's execution touched (hits and reads): the largest `Buffers:` line
/// before the planning section, which is the root node's, and a node's count includes its
/// children's (summing every node's line counted the same pages once per level, so one more
/// index on the table, written by an UPDATE deep in the plan, added its pages six times over).
/// Planning's own catalog reads are not counted: they do not grow with the table.
fn buffers_touched(plan: &[String]) -> u64 {
    plan.iter()
        .take_while(|line| line.trim() != "Planning:")
        .filter_map(|line| line.trim().strip_prefix("Buffers: shared "))
        .map(|counts| {
            counts
                .split(' ')
                .filter_map(|count| count.split_once('='))
                .filter(|(kind, _)| matches!(*kind, "hit" | "read"))
                .filter_map(|(_, n)| n.parse::<u64>().ok())
                .sum::<u64>()
        })
        .max()
        .unwrap_or(0)
}

/// The most rows one node of a plan read and threw away (`Rows Removed by Filter`): a scan
/// that steps over rows it does not want, where an index would have sought past them.
fn rows_removed_by_filter(plan: &[String]) -> u64 {
    plan.iter()
        .filter_map(|line| line.trim().strip_prefix("Rows Removed by Filter: "))
        .filter_map(|n| n.parse::<u64>().ok())
        .max()
        .unwrap_or(0)
}

/// The most rows one node produced in the part of `plan` under `section` (e.g. `CTE
/// queue_free`), up to the next part at the same depth.
fn most_rows_in(plan: &[String], section: &str) -> u64 {
    let indent = |line: &str| line.len() - line.trim_start().len();
    let Some(start) = plan.iter().position(|line| line.trim() == section) else {
        return 0;
    };
    let depth = indent(&plan[start]);
    plan[start + 1..]
        .iter()
        .take_while(|line| indent(line) > depth)
        .filter_map(|line| line.split("(actual time=").nth(1))
        .filter_map(|actual| actual.split(" rows=").nth(1))
        .filter_map(|rest| rest.split(' ').next())
        .filter_map(|rows| rows.parse::<u64>().ok())
        .max()
        .unwrap_or(0)
}

/// A fresh schema named after `prefix`, migrated.
async fn migrated(prefix: &str) -> TestSchema {
    let test = TestSchema::new(prefix).await;
    crate::PgStore::new(test.pool.clone(), test.schema.clone())
        .migrate()
        .await
        .expect("migrated");
    test
}

#[tokio::test]
async fn the_promotion_never_walks_jobs_due_later() {
    let mut test = migrated("t_plans").await;
    let schema = test.schema.clone();
    let connection = &mut test.connection;
    connection
        .execute(AssertSqlSafe(format!(
            "INSERT INTO {schema}.jobs (id, name, payload, run_at, priority, misfire_grace_ms, \
                                       expires_at, status) \
             SELECT 'later-' || g, 'j', '\\x', now() + interval '1 day', 1, 300000, \
                    now() + interval '1 day' + interval '5 minutes', 'scheduled' \
               FROM generate_series(1, {JOBS_DUE_LATER}) g; \
             INSERT INTO {schema}.jobs (id, name, payload, run_at, priority, misfire_grace_ms, \
                                       expires_at, status) \
             SELECT 'due-' || g, 'j', '\\x', now() - interval '1 second', 5, 300000, \
                    now() + interval '299 seconds', 'scheduled' \
               FROM generate_series(1, 10) g; \
             ANALYZE {schema}.jobs",
            schema = schema.quoted()
        )))
        .await
        .expect("rows written");

    // A pass that promotes the ten due jobs, then one that finds none due: neither may read
    // the jobs due tomorrow (before migration 8 the second read every one of them).
    let statement = &Statements::render(&schema).promote_jobs;
    let explain = format!("EXPLAIN (ANALYZE, BUFFERS) {}", statement.sql());
    let mut transaction = connection.begin().await.expect("begin");
    let mut touched = Vec::new();
    for pass in 0..2 {
        let plan: Vec<String> = sqlx::query_scalar(AssertSqlSafe(explain.clone()))
            .bind(100_i64)
            .bind(None::<String>)
            .bind(None::<chrono::DateTime<chrono::Utc>>)
            .bind(None::<String>)
            .bind(None::<chrono::DateTime<chrono::Utc>>)
            .bind(None::<String>)
            .fetch_all(&mut *transaction)
            .await
            .unwrap_or_else(|error| panic!("pass {pass}: {error}"));
        touched.push(buffers_touched(&plan));
    }
    transaction.rollback().await.expect("rollback");
    // Measured: about 270 and 10 buffers (the first pass writes ten rows and their index
    // entries); with the version-6 index, 58,000 and 55,000 summed over every node.
    for (pass, buffers) in touched.iter().enumerate() {
        assert!(
            *buffers < JOBS_DUE_LATER.unsigned_abs() / 10,
            "promotion pass {pass} touched {buffers} buffers with {JOBS_DUE_LATER} jobs due \
             later in the table: it walks them"
        );
    }

    test.drop().await;
}

/// Finished jobs in the table the dashboard's jobs list must not walk.
const FINISHED_JOBS: i64 = 20_000;

#[tokio::test]
async fn a_page_of_the_dashboard_jobs_list_reads_a_page_not_the_table() {
    let mut test = migrated("t_plans_dashboard").await;
    let schema = test.schema.clone();
    let connection = &mut test.connection;
    connection
        .execute(AssertSqlSafe(format!(
            "INSERT INTO {schema}.jobs (id, name, payload, run_at, status, created_at, finished_at, \
                                       queue) \
             SELECT 'done-' || g, 'j' || (g % 10), '\\x', now(), 'completed', \
                    now() - g * interval '1 second', now(), \
                    CASE WHEN g % 1000 = 0 THEN 'rare' ELSE 'default' END \
               FROM generate_series(1, {FINISHED_JOBS}) g; \
             INSERT INTO {schema}.jobs (id, name, payload, run_at, status) \
             SELECT 'waiting-' || g, 'j1', '\\x', now() + interval '1 day', 'scheduled' \
               FROM generate_series(1, 10) g; \
             ANALYZE {schema}.jobs",
            schema = schema.quoted()
        )))
        .await
        .expect("rows written");

    let statements = Statements::render(&schema);
    let explain = format!(
        "EXPLAIN (ANALYZE, BUFFERS) {}",
        statements.dashboard_jobs_newest.sql()
    );
    let mut transaction = connection.begin().await.expect("begin");
    transaction
        .execute("SET LOCAL plan_cache_mode = force_custom_plan")
        .await
        .expect("custom plans");
    // (label, first status, second status, name, id pattern, cursor, queue): the first page;
    // the page after the 10,000th row; public "pending"; a name; a rare id prefix; a rare
    // queue (20 of the 20,000 jobs: without its index, a walk of the whole table).
    let cursor_at: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT created_at FROM {}.jobs WHERE id = 'done-10000'",
        schema.quoted()
    )))
    .fetch_one(&mut *transaction)
    .await
    .expect("cursor");
    /// (label, first status, second status, name, id pattern, cursor, queue).
    type Page = (
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
        bool,
        Option<&'static str>,
    );
    let pages: [Page; 6] = [
        ("first page", None, None, None, None, false, None),
        ("deep page", None, None, None, None, true, None),
        (
            "pending",
            Some("pending"),
            Some("scheduled"),
            None,
            None,
            false,
            None,
        ),
        ("name", None, None, Some("j3"), None, false, None),
        (
            "id prefix",
            None,
            None,
            None,
            Some("done-1234%"),
            false,
            None,
        ),
        ("rare queue", None, None, None, None, false, Some("rare")),
    ];
    for (label, first, second, name, id, deep, queue) in pages {
        let plan: Vec<String> = sqlx::query_scalar(AssertSqlSafe(explain.clone()))
            .bind(first)
            .bind(second)
            .bind(name)
            .bind(id)
            .bind(None::<chrono::DateTime<chrono::Utc>>)
            .bind(None::<chrono::DateTime<chrono::Utc>>)
            .bind(deep.then_some(cursor_at))
            .bind(deep.then_some("done-10000"))
            .bind(50_i64)
            .bind(200_i32)
            .bind(queue)
            .fetch_all(&mut *transaction)
            .await
            .unwrap_or_else(|error| panic!("{label}: {error}"));
        let buffers = buffers_touched(&plan);
        // Measured: 4 to 25 buffers each; a scan of the table touches thousands.
        assert!(
            buffers < 400,
            "{label}: touched {buffers} buffers with {FINISHED_JOBS} jobs in the table:\n{}",
            plan.join("\n")
        );
    }
    transaction.rollback().await.expect("rollback");
    test.drop().await;
}

/// Jobs that fall due at once after the statistics were taken (while they were scheduled).
const JOBS_FALLEN_DUE: i64 = 20_000;

/// `EXPLAIN (ANALYZE, BUFFERS)` of a claim of 10 jobs of `queue`, from the front, as a
/// worker's session runs it (generic plans: see `PgStore` in store/mod.rs); rolled back.
async fn explain_claim(
    connection: &mut sqlx::PgConnection,
    schema: &crate::SchemaName,
    queue: &str,
) -> Vec<String> {
    let statement = &Statements::render(schema).claim_jobs;
    let explain = format!("EXPLAIN (ANALYZE, BUFFERS) {}", statement.sql());
    let mut transaction = connection.begin().await.expect("begin");
    transaction
        .execute("SET LOCAL plan_cache_mode = force_generic_plan")
        .await
        .expect("generic plans");
    let levels: Vec<i16> = pgsched_core::Priority::ALL
        .iter()
        .map(|p| p.db_value())
        .collect();
    let no_floor = vec![None::<chrono::DateTime<chrono::Utc>>; levels.len()];
    let no_floor_id = vec![None::<String>; levels.len()];
    let plan: Vec<String> = sqlx::query_scalar(AssertSqlSafe(explain))
        .bind(vec![queue])
        .bind(vec![10_i32])
        .bind(vec![None::<String>])
        .bind(vec![0_i32])
        .bind(vec![1_i32; levels.len()])
        .bind(&levels)
        .bind(&no_floor)
        .bind(&no_floor)
        .bind(&no_floor_id)
        .bind(60_000_i64)
        .bind("w1")
        .bind(Vec::<String>::new())
        .bind(Vec::<i64>::new())
        .bind(Vec::<i32>::new())
        .fetch_all(&mut *transaction)
        .await
        .expect("claim explained");
    transaction.rollback().await.expect("rollback");
    plan
}

#[tokio::test]
async fn a_claim_in_a_queue_with_a_wide_limit_probes_the_slots_it_takes_not_the_limit() {
    let mut test = migrated("t_plans_wide").await;
    let schema = test.schema.clone();
    let connection = &mut test.connection;
    connection
        .execute(AssertSqlSafe(format!(
            "INSERT INTO {schema}.queues (name, concurrency_limit) VALUES ('wide', {limit}); \
             INSERT INTO {schema}.jobs (id, name, payload, run_at, queue) \
             SELECT 'wide-' || g, 'j', '\\x', now() - interval '1 second', 'wide' \
               FROM generate_series(1, 20) g; \
             ANALYZE {schema}.jobs",
            schema = schema.quoted(),
            limit = pgsched_core::MAX_CONCURRENCY_LIMIT
        )))
        .await
        .expect("rows written");
    let plan = explain_claim(connection, &schema, "wide").await;
    assert!(
        plan.iter()
            .any(|line| line.contains("Update on jobs") && line.contains("rows=10")),
        "the claim takes 10:\n{}",
        plan.join("\n")
    );
    // Looking for 10 free slots among 10,000 used to generate and sort all 10,000 (then
    // anti-join them with the slots taken): the ring now stops at the tenth free slot.
    let produced = most_rows_in(&plan, "CTE queue_free");
    assert!(
        produced <= 100,
        "finding the free slots went through {produced} slots under a limit of {}:\n{}",
        pgsched_core::MAX_CONCURRENCY_LIMIT,
        plan.join("\n")
    );
    test.drop().await;
}

#[tokio::test]
async fn a_claim_reads_its_own_index_when_the_statistics_saw_nothing_pending() {
    let mut test = migrated("t_plans_claim").await;
    let schema = test.schema.clone();
    let connection = &mut test.connection;
    // A scheduled backlog over four queues, analysed while nothing was pending (the usual
    // state of a queue that keeps up), then due all at once, as the promotion makes it.
    connection
        .execute(AssertSqlSafe(format!(
            "INSERT INTO {schema}.jobs (id, name, payload, run_at, queue, status) \
             SELECT 'due-' || g, 'j', '\\x', now() - interval '1 second', 'q' || (g % 4), \
                    'scheduled' \
               FROM generate_series(1, {JOBS_FALLEN_DUE}) g; \
             ANALYZE {schema}.jobs; \
             UPDATE {schema}.jobs SET status = 'pending'",
            schema = schema.quoted()
        )))
        .await
        .expect("rows written");

    let plan = explain_claim(connection, &schema, "q1").await;
    let buffers = buffers_touched(&plan);
    // Measured: about 290 buffers (1,300 summed over nodes); on the status index of migration
    // 13, which the claim read every pending job of to sort them, 415,000 summed over nodes.
    assert!(
        buffers < JOBS_FALLEN_DUE.unsigned_abs() / 10,
        "a claim of 10 touched {buffers} buffers with {JOBS_FALLEN_DUE} due jobs:\n{}",
        plan.join("\n")
    );
    test.drop().await;
}

/// Finished jobs in the overview's table, and the few waiting ones (due in two queues, and
/// due tomorrow): the history a dashboard must not read through to count what waits.
const OVERVIEW_FINISHED: i64 = 20_000;
const OVERVIEW_WAITING: i64 = 200;

#[tokio::test]
async fn the_dashboard_overview_reads_indexes_not_the_table() {
    let mut test = migrated("t_plans_overview").await;
    let schema = test.schema.clone();
    let connection = &mut test.connection;
    connection
        .execute(AssertSqlSafe(format!(
            "INSERT INTO {schema}.jobs (id, name, payload, run_at, status, finished_at) \
             SELECT 'done-' || g, 'j', '\\x', now(), 'completed', now() \
               FROM generate_series(1, {OVERVIEW_FINISHED}) g; \
             INSERT INTO {schema}.jobs (id, name, payload, run_at, status, queue) \
             SELECT 'due-' || g, 'j', '\\x', now() - g * interval '1 ms', 'pending', 'q' || (g % 2) \
               FROM generate_series(1, {OVERVIEW_WAITING}) g; \
             INSERT INTO {schema}.jobs (id, name, payload, run_at, status) \
             SELECT 'later-' || g, 'j', '\\x', now() + interval '1 day', 'scheduled' \
               FROM generate_series(1, {OVERVIEW_WAITING}) g",
            schema = schema.quoted()
        )))
        .await
        .expect("rows written");
    connection
        .execute(AssertSqlSafe(format!(
            "VACUUM ANALYZE {}.jobs",
            schema.quoted()
        )))
        .await
        .expect("vacuumed");

    let statements = Statements::render(&schema);
    let counts: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
        "EXPLAIN (ANALYZE, BUFFERS) {}",
        statements.dashboard_status_counts.sql()
    )))
    .bind(i64::try_from(crate::store::dashboard::STATUS_COUNT_CAP).expect("fits"))
    .fetch_all(&mut *connection)
    .await
    .expect("counts explained");
    let queues: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
        "EXPLAIN (ANALYZE, BUFFERS) {}",
        statements.dashboard_queue_counts.sql()
    )))
    .bind(i64::try_from(crate::store::dashboard::STATUS_COUNT_CAP).expect("fits"))
    .fetch_all(&mut *connection)
    .await
    .expect("queue counts explained");
    let oldest: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
        "EXPLAIN (ANALYZE, BUFFERS) {}",
        statements.dashboard_oldest_due.sql()
    )))
    .fetch_all(&mut *connection)
    .await
    .expect("oldest due explained");
    // Before the statements compared in the status index's collation and walked the
    // queues, the counts of waiting statuses scanned the table, stepping over the finished
    // jobs (their partial indexes do not hold every job of the status), and so did the oldest
    // due job (jobs_claim_order leads with the queue since migration 10). Counted in rows
    // read and thrown away, not in buffers: with another session holding the horizon (tests
    // running beside this one) the index-only scans fetch from the heap, which costs buffers
    // but throws nothing away.
    for (what, plan) in [
        ("status counts", &counts),
        ("queue counts", &queues),
        ("oldest due", &oldest),
    ] {
        let discarded = rows_removed_by_filter(plan);
        assert!(
            discarded < 1_000,
            "{what}: read and discarded {discarded} rows with {} jobs in the table:\n{}",
            OVERVIEW_FINISHED + 2 * OVERVIEW_WAITING,
            plan.join("\n")
        );
    }
    test.drop().await;
}
