//! Creates or upgrades pgsched's tables inside the configured schema.
//!
//! Migrations are embedded (`migrations/`), use unqualified names, and run on a dedicated
//! connection whose `search_path` is the schema; their bookkeeping table
//! (`<schema>._pgsched_migrations`) lives there too, so several schemas in one database
//! migrate independently. sqlx's migration lock serialises concurrent migrators.

use pgsched_core::Error;
use sqlx::migrate::Migrator;
use sqlx::{Connection, PgConnection, PgPool};

use crate::schema_name::SchemaName;

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

/// Whether every embedded migration is already applied in `schema`. Read-only, so a worker
/// role without DDL rights can start against a migrated schema.
async fn up_to_date(pool: &PgPool, schema: &SchemaName) -> Result<bool, sqlx::Error> {
    let table = format!("{}._pgsched_migrations", schema.quoted());
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(&table)
        .fetch_one(pool)
        .await?;
    if !exists {
        return Ok(false);
    }
    let applied: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT version FROM {table} WHERE success"
    )))
    .fetch_all(pool)
    .await?;
    Ok(MIGRATIONS
        .iter()
        .filter(|migration| !migration.migration_type.is_down_migration())
        .all(|migration| applied.contains(&migration.version)))
}

/// Runs every pending migration in `schema` (nothing, and no DDL, when it is up to date).
pub(crate) async fn run(pool: &PgPool, schema: &SchemaName) -> Result<(), Error> {
    let operation = "migrate";
    if up_to_date(pool, schema)
        .await
        .map_err(|e| Error::store(operation, e))?
    {
        return Ok(());
    }
    let options = pool.connect_options();
    let mut connection = PgConnection::connect_with(&options)
        .await
        .map_err(|e| Error::store(operation, e))?;
    let quoted = schema.quoted();
    let result = async {
        sqlx::query(sqlx::AssertSqlSafe(format!("SET search_path TO {quoted}")))
            .execute(&mut connection)
            .await?;
        // Concurrent migrators wait for each other's lock; a migrator stuck behind a
        // forgotten session fails with a clear error instead of hanging a start-up forever.
        sqlx::query("SET lock_timeout = '60s'")
            .execute(&mut connection)
            .await?;
        let mut migrator = Migrator {
            migrations: MIGRATIONS.migrations.clone(),
            ..Migrator::DEFAULT
        };
        migrator.dangerous_set_table_name(format!("{quoted}._pgsched_migrations"));
        migrator.create_schema(quoted.clone());
        // `run_direct` on the connection we configured (plain `run` would want an `Acquire`).
        migrator
            .run_direct(None, &mut connection, false)
            .await
            .map_err(sqlx::Error::from)
    }
    .await;
    let _ = connection.close().await;
    result.map_err(|e| Error::store(operation, e))
}
