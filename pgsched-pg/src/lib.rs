//! The PostgreSQL store of pgsched: migrations, every SQL statement, LISTEN/NOTIFY.
//!
//! [`PgStore`] implements `pgsched_core::JobStore` over an sqlx pool, inside one PostgreSQL
//! schema ([`SchemaName`], default `pgsched`). SQL lives in `sql/*.sql`, one statement per
//! file named after the store method that runs it; the schema is the only thing formatted
//! into it, validated and quoted, and every value is a bound parameter.
//!
//! Tables (in the schema): `jobs` (one row per job, with its lease), `workers` (live worker
//! processes), `_pgsched_migrations` (applied migrations).

mod errors;
mod job_row;
mod listener;
mod migrate;
mod notifier;
mod pooler;
mod rows;
mod schema_name;
#[cfg(test)]
mod statement_plans;
mod statements;
mod store;
#[cfg(test)]
mod test_schema;

pub use pooler::transaction_pooler_options;
pub use schema_name::{MAX_SCHEMA_NAME_LEN, SchemaName};
pub use store::PgStore;
pub use store::dashboard;

/// How many of a job's attempt errors are kept (`attempt_errors`, migration 0016): the most
/// recent ones, each at most [`pgsched_core::store::MAX_ERROR_BYTES`] long, so a job allowed
/// thousands of retries stores a bounded history. Every statement that appends an error is
/// given this number.
pub const ATTEMPT_ERRORS_KEPT: u32 = 25;
