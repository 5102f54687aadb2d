//! Every SQL statement pgsched runs, loaded from `sql/*.sql` and rendered once for a schema.
//!
//! The files use `__SCHEMA__` where the quoted schema goes, and `__JOB_…__` where the job
//! row goes (compile-time text from [`crate::job_row`] and `sql/job_row.sql`); nothing else
//! is ever formatted into SQL. Values are always bound parameters.

use std::sync::Arc;

use pgsched_core::Error;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{AssertSqlSafe, FromRow, Postgres};

use crate::schema_name::SchemaName;

const PLACEHOLDER: &str = "__SCHEMA__";

/// Where a statement returns a job as inspection reads it: `sql/job_info.sql`, the one list
/// of those columns.
const JOB_INFO: &str = "__JOB_INFO__";

/// `sql/job_info.sql` without its comment lines.
fn job_info() -> String {
    include_str!("../sql/job_info.sql")
        .lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One rendered statement and its name (its file's), which is the operation its errors name.
#[derive(Debug, Clone)]
pub(crate) struct Statement {
    name: &'static str,
    sql: Arc<str>,
    /// The schema it was rendered for (its errors name it).
    schema: SchemaName,
}

impl Statement {
    /// Its name: the file it comes from, and the operation its errors name.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    /// Its rendered text.
    pub(crate) fn sql(&self) -> &str {
        &self.sql
    }

    /// The statement, to bind and run.
    pub(crate) fn query<'q>(&self) -> Query<'q, Postgres, PgArguments> {
        sqlx::query(AssertSqlSafe(Arc::clone(&self.sql)))
    }

    /// The statement, its rows read as `O`.
    pub(crate) fn query_as<'q, O>(&self) -> QueryAs<'q, Postgres, O, PgArguments>
    where
        O: for<'r> FromRow<'r, PgRow>,
    {
        sqlx::query_as(AssertSqlSafe(Arc::clone(&self.sql)))
    }

    /// The statement, the first column of its rows read as `O`.
    pub(crate) fn query_scalar<'q, O>(&self) -> QueryScalar<'q, Postgres, O, PgArguments>
    where
        (O,): for<'r> FromRow<'r, PgRow>,
    {
        sqlx::query_scalar(AssertSqlSafe(Arc::clone(&self.sql)))
    }

    /// A failure of this statement as a pgsched error (see [`crate::errors::statement_error`]),
    /// for `map_err`.
    pub(crate) fn error(&self) -> impl FnOnce(sqlx::Error) -> Error + use<> {
        let (name, schema) = (self.name, self.schema.clone());
        move |error| crate::errors::statement_error(name, &schema, error)
    }

    /// As [`Statement::error`], but a refusal of the values is
    /// [`Error::Rejected`] (see [`crate::errors::refusal_or_statement_error`]).
    pub(crate) fn refusal(&self) -> impl FnOnce(sqlx::Error) -> Error + use<> {
        let (name, schema) = (self.name, self.schema.clone());
        move |error| crate::errors::refusal_or_statement_error(name, &schema, error)
    }
}

macro_rules! statements {
    ($($name:ident),* $(,)?) => {
        /// The rendered statements of one schema.
        #[derive(Debug)]
        pub(crate) struct Statements {
            $(pub(crate) $name: Statement,)*
        }

        impl Statements {
            pub(crate) fn render(schema: &SchemaName) -> Statements {
                let quoted = schema.quoted();
                let job_info = job_info();
                let render = |name: &'static str, sql: &str| -> Statement {
                    let sql = crate::job_row::render(&sql.replace(JOB_INFO, &job_info))
                        .replace(PLACEHOLDER, &quoted);
                    Statement { name, sql: sql.into(), schema: schema.clone() }
                };
                Statements {
                    $($name: render(
                        stringify!($name),
                        include_str!(concat!("../sql/", stringify!($name), ".sql")),
                    ),)*
                }
            }

            /// Every statement (for tests that prepare them all).
            #[cfg_attr(not(test), allow(dead_code))]
            pub(crate) fn all(&self) -> Vec<&Statement> {
                vec![$(&self.$name,)*]
            }
        }
    };
}

statements!(
    insert_jobs,
    insert_job,
    insert_new_jobs,
    insert_new_job,
    upsert_jobs,
    lock_parents,
    link_dependencies,
    job_statuses,
    claim_jobs,
    finish_jobs,
    renew_leases,
    release_jobs,
    recover_orphans,
    expire_misfired,
    cancel_job,
    get_job,
    job_workflow,
    parent_jobs,
    await_job,
    register_worker,
    deregister_worker,
    prune_workers,
    register_periodic,
    periodic_states,
    periodic_state,
    enqueue_periodic,
    set_periodic_enabled,
    next_due,
    list_queues,
    set_queue_paused,
    set_queue_concurrency_limit,
    set_queue_rate_limit,
    set_queue_key_rate_limit,
    prune_key_rate_slots,
    promote_jobs,
    claim_retention_turn,
    delete_finished_before,
    delete_finished_keep_last,
    limit_statement,
    record_retention_pass,
    retention_stats,
    retention_totals,
    list_jobs,
    retry_job,
    list_workers,
    notify,
    database_now,
    // Behind a transaction pooler only (see `pooler.rs` and `migrate.rs`).
    async_commit,
    migration_session,
    migration_lock,
    create_schema,
    migrations_table,
    applied_migrations,
    record_migration,
    // pgsched::testing only.
    drop_schema,
    // The web dashboard (store/dashboard.rs).
    dashboard_session,
    dashboard_status_counts,
    dashboard_minutes,
    dashboard_oldest_due,
    dashboard_queue_counts,
    dashboard_jobs_newest,
    dashboard_jobs_oldest,
    dashboard_job_lease,
    dashboard_attempt_errors,
    dashboard_run_now,
    dashboard_delete_job,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_statement_is_rendered_for_its_schema() {
        let schema = SchemaName::new("tenant_7").expect("valid");
        let statements = Statements::render(&schema);
        for statement in statements.all() {
            let (name, sql) = (statement.name(), statement.sql());
            assert!(!sql.contains("__"), "{name} still has a placeholder");
            assert!(!sql.trim().is_empty(), "{name} is empty");
        }
        assert_eq!(statements.claim_jobs.name(), "claim_jobs");
        assert!(statements.claim_jobs.sql().contains("\"tenant_7\".jobs"));
        assert!(
            statements
                .claim_jobs
                .sql()
                .contains("\"tenant_7\".jobs AS holder")
        );
    }

    /// Every statement and every migration is ASCII, comments included: the text is sent as
    /// it is, and a database in LATIN1 (or any encoding without the character) refuses the
    /// whole statement (`character with byte sequence ... has no equivalent`), so one `…` in
    /// a comment stops the worker that runs it.
    #[test]
    fn every_statement_and_migration_is_ascii() {
        let statements = Statements::render(&SchemaName::new("t").expect("valid"));
        for statement in statements.all() {
            let sql = statement.sql();
            if let Some((line, text)) = sql.lines().enumerate().find(|(_, text)| !text.is_ascii()) {
                panic!(
                    "sql/{}.sql (as rendered) line {}: not ASCII: {text}",
                    statement.name(),
                    line + 1
                );
            }
        }
        let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut checked = 0;
        for entry in std::fs::read_dir(&migrations).expect("migrations directory") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("readable migration");
            if let Some((line, text)) = text.lines().enumerate().find(|(_, text)| !text.is_ascii())
            {
                panic!("{} line {}: not ASCII: {text}", path.display(), line + 1);
            }
            checked += 1;
        }
        assert!(
            checked > 10,
            "read {checked} migrations from {}",
            migrations.display()
        );
    }

    /// Where a statement is checked: the state of the connection it runs in.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Check {
        /// Prepared (Parse and Describe: names and types resolved) on the migrated schema.
        Prepare,
        /// Run, then rolled back, before the schema exists (the migrations of a pooler's
        /// transaction open with them).
        BeforeMigration,
        /// Run, then rolled back, inside a transaction (a utility statement such as SET
        /// LOCAL, which PostgreSQL does not analyse when it is prepared).
        InTransaction,
    }

    /// How each statement is checked. A statement missing here fails the test: add it.
    const CHECKS: &[(&str, Check)] = &[
        ("insert_jobs", Check::Prepare),
        ("insert_job", Check::Prepare),
        ("insert_new_jobs", Check::Prepare),
        ("insert_new_job", Check::Prepare),
        ("upsert_jobs", Check::Prepare),
        ("lock_parents", Check::Prepare),
        ("link_dependencies", Check::Prepare),
        ("job_statuses", Check::Prepare),
        ("claim_jobs", Check::Prepare),
        ("finish_jobs", Check::Prepare),
        ("renew_leases", Check::Prepare),
        ("release_jobs", Check::Prepare),
        ("recover_orphans", Check::Prepare),
        ("expire_misfired", Check::Prepare),
        ("cancel_job", Check::Prepare),
        ("get_job", Check::Prepare),
        ("job_workflow", Check::Prepare),
        ("parent_jobs", Check::Prepare),
        ("await_job", Check::Prepare),
        ("register_worker", Check::Prepare),
        ("deregister_worker", Check::Prepare),
        ("prune_workers", Check::Prepare),
        ("register_periodic", Check::Prepare),
        ("periodic_states", Check::Prepare),
        ("periodic_state", Check::Prepare),
        ("enqueue_periodic", Check::Prepare),
        ("set_periodic_enabled", Check::Prepare),
        ("next_due", Check::Prepare),
        ("list_queues", Check::Prepare),
        ("set_queue_paused", Check::Prepare),
        ("set_queue_concurrency_limit", Check::Prepare),
        ("set_queue_rate_limit", Check::Prepare),
        ("set_queue_key_rate_limit", Check::Prepare),
        ("prune_key_rate_slots", Check::Prepare),
        ("promote_jobs", Check::Prepare),
        ("claim_retention_turn", Check::Prepare),
        ("delete_finished_before", Check::Prepare),
        ("delete_finished_keep_last", Check::Prepare),
        ("limit_statement", Check::Prepare),
        ("record_retention_pass", Check::Prepare),
        ("retention_stats", Check::Prepare),
        ("retention_totals", Check::Prepare),
        ("list_jobs", Check::Prepare),
        ("retry_job", Check::Prepare),
        ("list_workers", Check::Prepare),
        ("notify", Check::Prepare),
        ("database_now", Check::Prepare),
        ("async_commit", Check::InTransaction),
        ("migration_session", Check::Prepare),
        ("migration_lock", Check::Prepare),
        ("create_schema", Check::BeforeMigration),
        ("migrations_table", Check::BeforeMigration),
        ("applied_migrations", Check::Prepare),
        ("record_migration", Check::Prepare),
        ("drop_schema", Check::InTransaction),
        ("dashboard_session", Check::Prepare),
        ("dashboard_status_counts", Check::Prepare),
        ("dashboard_minutes", Check::Prepare),
        ("dashboard_oldest_due", Check::Prepare),
        ("dashboard_queue_counts", Check::Prepare),
        ("dashboard_jobs_newest", Check::Prepare),
        ("dashboard_jobs_oldest", Check::Prepare),
        ("dashboard_job_lease", Check::Prepare),
        ("dashboard_attempt_errors", Check::Prepare),
        ("dashboard_run_now", Check::Prepare),
        ("dashboard_delete_job", Check::Prepare),
    ];

    /// Runs `statements` (none with parameters) in a transaction that is rolled back.
    async fn run_rolled_back(connection: &mut sqlx::PgConnection, statements: &[&Statement]) {
        use sqlx::Connection;
        let mut transaction = connection.begin().await.expect("begin");
        for statement in statements {
            statement
                .query()
                .execute(&mut *transaction)
                .await
                .unwrap_or_else(|error| panic!("{} fails: {error}", statement.name()));
        }
        transaction.rollback().await.expect("rollback");
    }

    #[tokio::test]
    async fn every_statement_prepares_against_a_migrated_schema() {
        use pgsched_core::store::JobStore;
        use sqlx::Executor;

        let mut test = crate::test_schema::TestSchema::new("t_statements").await;
        let schema = test.schema.clone();
        let statements = Statements::render(&schema);
        let all = statements.all();

        let names: Vec<&str> = all.iter().map(|statement| statement.name()).collect();
        let checked: Vec<&str> = CHECKS.iter().map(|(name, _)| *name).collect();
        for name in &names {
            assert!(
                checked.contains(name),
                "{name} has no check: add it to CHECKS"
            );
        }
        for name in &checked {
            assert!(names.contains(name), "{name} in CHECKS is not a statement");
        }
        let of = |check: Check| -> Vec<&Statement> {
            all.iter()
                .copied()
                .filter(|statement| CHECKS.contains(&(statement.name(), check)))
                .collect()
        };

        let connection = &mut test.connection;
        // Before migration, in the order the migrations of a pooler's transaction run them.
        run_rolled_back(connection, &of(Check::BeforeMigration)).await;
        for statement in of(Check::InTransaction) {
            run_rolled_back(connection, &[statement]).await;
        }

        let store = crate::PgStore::new(test.pool.clone(), schema.clone());
        store.migrate().await.expect("migrated");
        let mut failed = Vec::new();
        for statement in of(Check::Prepare) {
            if let Err(error) = connection
                .prepare(sqlx::SqlSafeStr::into_sql_str(AssertSqlSafe(
                    statement.sql().to_owned(),
                )))
                .await
            {
                failed.push(format!("{}: {error}", statement.name()));
            }
        }
        assert!(failed.is_empty(), "{failed:#?}");
        test.drop().await;
    }
}
