//! Where an `sqlx::Error` becomes a [`pgsched_core::Error`]: the one place that decides which
//! typed error a database failure is.
//!
//! - a statement on one of pgsched's own tables that PostgreSQL does not know (SQLSTATE
//!   `42P01`, undefined table): [`Error::NotMigrated`], which says how to migrate;
//! - a refusal of the values themselves, where the caller asks for it (SQLSTATE class 22,
//!   data exception: a character the database encoding cannot hold, an interval out of
//!   range; class 23, a constraint): [`Error::Rejected`], which no retry can fix;
//! - a claim that lost the race for an exclusive key (the unique violation of
//!   `jobs_exclusive_running`): not an error to report, the store claims again;
//! - anything else: [`Error::Store`] naming the operation.

use pgsched_core::Error;

/// The tables pgsched's migrations create in its schema.
const OWN_TABLES: [&str; 6] = [
    "jobs",
    "job_dependencies",
    "workers",
    "vacuum_state",
    "vacuum_stats",
    "periodic_schedules",
];

/// `error` of `operation` as a pgsched error: [`Error::NotMigrated`] or [`Error::Store`].
pub(crate) fn store_error(operation: &'static str, error: sqlx::Error) -> Error {
    match missing_schema(&error) {
        Some(schema) => Error::NotMigrated {
            schema,
            source: error.into(),
        },
        None => Error::store(operation, error),
    }
}

/// As [`store_error`], but [`Error::Rejected`] when PostgreSQL refused the values.
pub(crate) fn refusal_or_store_error(operation: &'static str, error: sqlx::Error) -> Error {
    let refused = error
        .as_database_error()
        .and_then(|db| db.code())
        .is_some_and(|code| code.starts_with("22") || code.starts_with("23"));
    if refused {
        Error::rejected(operation, error)
    } else {
        store_error(operation, error)
    }
}

/// The index that keeps jobs of one exclusive key from running at the same time.
const EXCLUSIVE_INDEX: &str = "jobs_exclusive_running";

/// PostgreSQL's code for a deadlock it broke by failing one of the transactions.
const DEADLOCK_DETECTED: &str = "40P01";

/// Whether `error` is a claim's lost race, which is sent again rather than reported: the
/// unique violation of [`EXCLUSIVE_INDEX`] (another claim took a job of the same exclusive
/// key), or a deadlock between two claims inserting the slots of a limited queue and of
/// keys in opposite orders (see claim_jobs.sql).
pub(crate) fn is_claim_race(error: &sqlx::Error) -> bool {
    error.as_database_error().is_some_and(|db| {
        (db.kind() == sqlx::error::ErrorKind::UniqueViolation
            && db.constraint() == Some(EXCLUSIVE_INDEX))
            || db.code().as_deref() == Some(DEADLOCK_DETECTED)
    })
}

/// The schema whose pgsched table `error` says does not exist, if that is what it says.
///
/// Every statement names its tables as `"schema".table`, which PostgreSQL reports as
/// `relation "schema.table" does not exist`.
fn missing_schema(error: &sqlx::Error) -> Option<String> {
    let db = error.as_database_error()?;
    if db.code().as_deref() != Some("42P01") {
        return None;
    }
    relation_schema(db.message())
}

/// The schema of `relation "schema.table" does not exist` when `table` is one of pgsched's.
fn relation_schema(message: &str) -> Option<String> {
    let relation = message
        .strip_prefix("relation \"")?
        .strip_suffix("\" does not exist")?;
    let (schema, table) = relation.rsplit_once('.')?;
    OWN_TABLES
        .contains(&table)
        .then(|| schema.to_owned())
        .filter(|schema| !schema.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_schema_of_a_missing_own_table() {
        assert_eq!(
            relation_schema("relation \"pgsched.jobs\" does not exist").as_deref(),
            Some("pgsched")
        );
        assert_eq!(
            relation_schema("relation \"t_1.periodic_schedules\" does not exist").as_deref(),
            Some("t_1")
        );
    }

    #[test]
    fn ignores_other_relations_and_messages() {
        for message in [
            "relation \"pgsched.users\" does not exist",
            "relation \"jobs\" does not exist",
            "relation \".jobs\" does not exist",
            "column \"x\" does not exist",
        ] {
            assert_eq!(relation_schema(message), None, "{message}");
        }
    }
}
