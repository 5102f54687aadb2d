//! Where an `sqlx::Error` becomes a [`pgsched_core::Error`]: the one place that decides which
//! typed error a database failure is.
//!
//! - a statement on one of pgsched's own tables that PostgreSQL does not know (SQLSTATE
//!   `42P01`, undefined table), or one of pgsched's statements that names a table, column,
//!   function or type its schema does not have yet (SQLSTATE `42P01`, `42703`, `42883`,
//!   `42704`: the schema is older than this binary, or mid-upgrade):
//!   [`Error::NotMigrated`], which says how to migrate;
//! - a refusal of the values themselves, where the caller asks for it (SQLSTATE class 22,
//!   data exception: a character the database encoding cannot hold, an interval out of
//!   range; class 23, a constraint): [`Error::Rejected`], which no retry can fix;
//! - a claim that lost the race for an exclusive key (the unique violation of
//!   `jobs_exclusive_running`): not an error to report, the store claims again;
//! - anything else: [`Error::Store`] naming the operation.

use pgsched_core::Error;

use crate::schema_name::SchemaName;

/// The tables pgsched's migrations create in its schema (a test checks the list against
/// them).
const OWN_TABLES: [&str; 10] = [
    "jobs",
    "job_dependencies",
    "workers",
    "vacuum_state",
    "vacuum_stats",
    "periodic_schedules",
    "queues",
    "running_slots",
    "rate_slots",
    "key_rate_slots",
];

/// SQLSTATE codes of a statement naming what its schema does not have: undefined table,
/// column, function, object (a type).
const UNDEFINED: [&str; 4] = ["42P01", "42703", "42883", "42704"];

/// `error` of pgsched's statement `operation`, rendered for `schema`: [`Error::NotMigrated`]
/// when the statement names something the schema does not have (every name in pgsched's
/// statements is its migrations', so the schema is behind this binary), else as
/// [`store_error`].
pub(crate) fn statement_error(
    operation: &'static str,
    schema: &SchemaName,
    error: sqlx::Error,
) -> Error {
    let undefined = error
        .as_database_error()
        .and_then(|db| db.code())
        .is_some_and(|code| UNDEFINED.contains(&code.as_ref()));
    if undefined {
        Error::NotMigrated {
            schema: schema.as_str().to_owned(),
            source: error.into(),
        }
    } else {
        store_error(operation, error)
    }
}

/// As [`statement_error`], but [`Error::Rejected`] when PostgreSQL refused the values.
pub(crate) fn refusal_or_statement_error(
    operation: &'static str,
    schema: &SchemaName,
    error: sqlx::Error,
) -> Error {
    if is_refusal(&error) {
        Error::rejected(operation, error)
    } else {
        statement_error(operation, schema, error)
    }
}

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

/// Whether PostgreSQL refused the values themselves (SQLSTATE class 22 or 23).
fn is_refusal(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|db| db.code())
        .is_some_and(|code| code.starts_with("22") || code.starts_with("23"))
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

    /// Every table the migrations create is one [`OWN_TABLES`] knows (so a statement on a
    /// schema that lacks it says how to migrate).
    #[tokio::test]
    async fn own_tables_are_the_tables_the_migrations_create() {
        use pgsched_core::store::JobStore;
        let mut test = crate::test_schema::TestSchema::new("t_own_tables").await;
        let schema = test.schema.clone();
        crate::PgStore::new(test.pool.clone(), schema.clone())
            .migrate()
            .await
            .expect("migrated");
        let mut created: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables \
              WHERE table_schema = $1 AND table_name NOT LIKE '\\_pgsched\\_%' \
              ORDER BY 1",
        )
        .bind(schema.as_str())
        .fetch_all(&mut test.connection)
        .await
        .expect("tables listed");
        let mut known: Vec<String> = OWN_TABLES.iter().map(|t| (*t).to_owned()).collect();
        created.sort();
        known.sort();
        assert_eq!(created, known);
        test.drop().await;
    }

    /// A schema migrated by an older version lacks a column a statement of this one reads:
    /// the error says to migrate, naming the schema, not "claim failed".
    #[tokio::test]
    async fn a_schema_behind_this_binary_is_not_migrated_not_a_store_failure() {
        use pgsched_core::store::{ClaimFloor, JobStore};
        use sqlx::{AssertSqlSafe, Executor};
        let mut test = crate::test_schema::TestSchema::new("t_behind").await;
        let schema = test.schema.clone();
        let store = crate::PgStore::new(test.pool.clone(), schema.clone());
        store.migrate().await.expect("migrated");
        // What version 9 lacked, among others: the queue column and the queues table.
        test.connection
            .execute(AssertSqlSafe(format!(
                "DROP TABLE {schema}.queues; ALTER TABLE {schema}.jobs DROP COLUMN queue CASCADE",
                schema = schema.quoted()
            )))
            .await
            .expect("schema set back");
        let claimed = store
            .claim(
                "w1",
                &pgsched_core::QueueName::DEFAULT,
                1,
                std::time::Duration::from_secs(60),
                &ClaimFloor::FRONT,
            )
            .await;
        match claimed {
            Err(Error::NotMigrated { schema: named, .. }) => assert_eq!(named, schema.as_str()),
            other => panic!("expected NotMigrated, got {other:?}"),
        }
        let listed = store.queues().await;
        assert!(
            matches!(listed, Err(Error::NotMigrated { .. })),
            "listing queues: {listed:?}"
        );
        test.drop().await;
    }
}
