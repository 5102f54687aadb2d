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

/// One rendered statement and its name (its file's), which is the operation its errors name.
#[derive(Debug, Clone)]
pub(crate) struct Statement {
    name: &'static str,
    sql: Arc<str>,
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

    /// A failure of this statement as a pgsched error (see [`crate::errors::store_error`]),
    /// for `map_err`.
    pub(crate) fn error(&self) -> impl FnOnce(sqlx::Error) -> Error + use<> {
        let name = self.name;
        move |error| crate::errors::store_error(name, error)
    }

    /// As [`Statement::error`], but a refusal of the values is
    /// [`Error::Rejected`] (see [`crate::errors::refusal_or_store_error`]).
    pub(crate) fn refusal(&self) -> impl FnOnce(sqlx::Error) -> Error + use<> {
        let name = self.name;
        move |error| crate::errors::refusal_or_store_error(name, error)
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
                let job_row = crate::job_row::fragments();
                let render = |name: &'static str, sql: &str| -> Statement {
                    let sql = job_row
                        .iter()
                        .fold(sql.to_owned(), |sql, (placeholder, text)| {
                            sql.replace(placeholder, text)
                        })
                        .replace(PLACEHOLDER, &quoted);
                    Statement { name, sql: sql.into() }
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
    job_statuses,
    claim_jobs,
    finish_jobs,
    renew_leases,
    release_jobs,
    recover_orphans,
    expire_misfired,
    cancel_job,
    get_job,
    register_worker,
    deregister_worker,
    prune_workers,
    register_periodic,
    periodic_states,
    periodic_state,
    enqueue_periodic,
    set_periodic_enabled,
    next_due,
    promote_jobs,
    claim_vacuum_turn,
    purge_finished,
    purge_keep_last,
    limit_statement,
    record_vacuum,
    vacuum_stats,
    total_vacuum_stats,
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
}
