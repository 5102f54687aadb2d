//! Every SQL statement pgsched runs, loaded from `sql/*.sql` and rendered once for a schema.
//!
//! The files use `__SCHEMA__` where the quoted schema goes, and `__JOB_…__` where the job
//! row goes (compile-time text from [`crate::job_row`] and `sql/job_row.sql`); nothing else
//! is ever formatted into SQL. Values are always bound parameters.

use std::sync::Arc;

use crate::schema_name::SchemaName;

const PLACEHOLDER: &str = "__SCHEMA__";

macro_rules! statements {
    ($($name:ident),* $(,)?) => {
        /// The rendered statements of one schema.
        #[derive(Debug)]
        pub(crate) struct Statements {
            $(pub(crate) $name: Arc<str>,)*
        }

        impl Statements {
            pub(crate) fn render(schema: &SchemaName) -> Statements {
                let quoted = schema.quoted();
                let job_row = crate::job_row::fragments();
                let render = |sql: &str| -> Arc<str> {
                    job_row
                        .iter()
                        .fold(sql.to_owned(), |sql, (placeholder, text)| {
                            sql.replace(placeholder, text)
                        })
                        .replace(PLACEHOLDER, &quoted)
                        .into()
                };
                Statements {
                    $($name: render(include_str!(concat!("../sql/", stringify!($name), ".sql"))),)*
                }
            }

            /// Every statement by name (for tests that prepare them all).
            #[cfg_attr(not(test), allow(dead_code))]
            pub(crate) fn all(&self) -> Vec<(&'static str, Arc<str>)> {
                vec![$((stringify!($name), Arc::clone(&self.$name)),)*]
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
        for (name, sql) in statements.all() {
            assert!(!sql.contains("__"), "{name} still has a placeholder");
            assert!(!sql.trim().is_empty(), "{name} is empty");
        }
        assert!(statements.claim_jobs.contains("\"tenant_7\".jobs"));
        assert!(
            statements
                .claim_jobs
                .contains("\"tenant_7\".jobs AS holder")
        );
    }
}
