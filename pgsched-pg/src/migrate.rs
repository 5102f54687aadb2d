//! Creates or upgrades pgsched's tables inside the configured schema.
//!
//! Migrations are embedded (`migrations/`), use unqualified names, and run on a dedicated
//! connection whose `search_path` is the schema; their bookkeeping table
//! (`<schema>._pgsched_migrations`) lives there too, so several schemas in one database
//! migrate independently. sqlx's migration lock serialises concurrent migrators.
//!
//! Behind a transaction pooler ([`run_in_transaction`]) no session survives a transaction, so
//! the migrations run in one transaction of their own: settings are transaction-local, the
//! lock is `pg_advisory_xact_lock` on sqlx's key, statements are prepared unnamed, and the
//! bookkeeping table is sqlx's, so either mode recognises the other's work.

use std::time::Instant;

use pgsched_core::Error;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::{Connection, Executor, PgConnection, PgPool, Row};

use crate::pooler::{Held, OnConnection, Route};
use crate::schema_name::SchemaName;
use crate::statements::Statements;

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

/// Whether every embedded migration is already applied in `schema`. Read-only, so a worker
/// role without DDL rights can start against a migrated schema.
async fn up_to_date(route: Route<'_>, schema: &SchemaName) -> Result<bool, sqlx::Error> {
    let table = format!("{}._pgsched_migrations", schema.quoted());
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(&table)
        .fetch_one(route)
        .await?;
    if !exists {
        return Ok(false);
    }
    let applied: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT version FROM {table} WHERE success"
    )))
    .fetch_all(route)
    .await?;
    Ok(MIGRATIONS
        .iter()
        .filter(|migration| !migration.migration_type.is_down_migration())
        .all(|migration| applied.contains(&migration.version)))
}

/// Runs every pending migration in `schema` (nothing, and no DDL, when it is up to date).
pub(crate) async fn run(pool: &PgPool, schema: &SchemaName) -> Result<(), Error> {
    let operation = "migrate";
    if up_to_date(Route::direct(pool), schema)
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
        // `run_direct` on the connection we configured (plain `run` would want an `Acquire`).
        schema_migrator(schema, MIGRATIONS.migrations.clone())
            .run_direct(None, &mut connection, false)
            .await
            .map_err(sqlx::Error::from)
    }
    .await;
    let _ = connection.close().await;
    result.map_err(|e| Error::store(operation, e))
}

/// A migrator of `migrations` into `schema`, its bookkeeping table there too (see the module
/// docs); run it on a connection whose `search_path` is the schema.
fn schema_migrator(
    schema: &SchemaName,
    migrations: std::borrow::Cow<'static, [sqlx::migrate::Migration]>,
) -> Migrator {
    let quoted = schema.quoted();
    let mut migrator = Migrator {
        migrations,
        ..Migrator::DEFAULT
    };
    migrator.dangerous_set_table_name(format!("{quoted}._pgsched_migrations"));
    migrator.create_schema(quoted);
    migrator
}

/// Runs every pending migration in `schema` behind a transaction pooler: one transaction on a
/// pooled connection, serialised by a transaction-scoped advisory lock (nothing, and no DDL,
/// when the schema is up to date).
pub(crate) async fn run_in_transaction(
    route: Route<'_>,
    pool: &PgPool,
    schema: &SchemaName,
    sql: &Statements,
) -> Result<(), Error> {
    let operation = "migrate";
    let store_error = |e| Error::store(operation, e);
    if up_to_date(route, schema).await.map_err(store_error)? {
        return Ok(());
    }
    let mut connection = Held::acquire(pool).await.map_err(store_error)?;
    let mut transaction = connection.begin().await.map_err(store_error)?;
    apply_pending(&mut transaction, schema, sql)
        .await
        .map_err(store_error)?;
    transaction.commit().await.map_err(store_error)?;
    connection.finished();
    Ok(())
}

/// The body of [`run_in_transaction`], on its transaction: what sqlx's `Migrator::run` does,
/// with transaction-local settings and lock.
async fn apply_pending(
    transaction: &mut PgConnection,
    schema: &SchemaName,
    sql: &Statements,
) -> Result<(), sqlx::Error> {
    let session = sql
        .migration_session
        .query()
        .bind(schema.quoted())
        .fetch_one(on(&mut *transaction))
        .await?;
    let database: String = session.try_get(0)?;
    sql.migration_lock
        .query()
        .bind(migration_lock_key(&database))
        .execute(on(&mut *transaction))
        .await?;
    on(&mut *transaction)
        .execute(sql.create_schema.query())
        .await?;
    on(&mut *transaction)
        .execute(sql.migrations_table.query())
        .await?;
    let applied = sql
        .applied_migrations
        .query()
        .fetch_all(on(&mut *transaction))
        .await?;
    let mut applied_versions = Vec::with_capacity(applied.len());
    for row in &applied {
        let version: i64 = row.try_get("version")?;
        let checksum: Vec<u8> = row.try_get("checksum")?;
        let success: bool = row.try_get("success")?;
        if !success {
            return Err(MigrateError::Dirty(version).into());
        }
        match MIGRATIONS.iter().find(|m| m.version == version) {
            None => return Err(MigrateError::VersionMissing(version).into()),
            Some(known) if *known.checksum != *checksum => {
                return Err(MigrateError::VersionMismatch(version).into());
            }
            Some(_) => applied_versions.push(version),
        }
    }
    for migration in MIGRATIONS.iter() {
        if migration.migration_type.is_down_migration()
            || applied_versions.contains(&migration.version)
        {
            continue;
        }
        let started = Instant::now();
        on(&mut *transaction)
            .execute(migration.sql.clone())
            .await
            .map_err(|e| MigrateError::ExecuteMigration(e, migration.version))?;
        let nanos = i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX);
        sql.record_migration
            .query()
            .bind(migration.version)
            .bind(&*migration.description)
            .bind(&*migration.checksum)
            .bind(nanos)
            .execute(on(&mut *transaction))
            .await?;
    }
    Ok(())
}

/// The transaction's connection, statements prepared unnamed.
fn on(connection: &mut PgConnection) -> OnConnection<'_> {
    OnConnection {
        connection,
        unnamed: true,
    }
}

/// The key of sqlx's migration lock for `database` (its `generate_lock_id`): CRC-32 (ISO-HDLC)
/// of the name times a constant, so pooled and direct migrators take the same lock.
fn migration_lock_key(database: &str) -> i64 {
    0x3d32_ad9e_i64 * i64::from(crc32(database.as_bytes()))
}

/// CRC-32 as zlib computes it (reflected polynomial 0xEDB88320).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_schema::TestSchema;

    /// Applies the embedded migrations up to `last` (a version) in `test`'s schema, as `run`
    /// applies them all.
    async fn migrate_up_to(test: &TestSchema, last: i64) {
        let mut connection = PgConnection::connect_with(&test.pool.connect_options())
            .await
            .expect("connect");
        let quoted = test.schema.quoted();
        connection
            .execute(sqlx::AssertSqlSafe(format!("SET search_path TO {quoted}")))
            .await
            .expect("search path");
        let migrations: Vec<_> = MIGRATIONS
            .iter()
            .filter(|migration| migration.version <= last)
            .cloned()
            .collect();
        schema_migrator(&test.schema, migrations.into())
            .run_direct(None, &mut connection, false)
            .await
            .expect("migrated");
        connection.close().await.expect("closed");
    }

    #[tokio::test]
    async fn a_role_granted_the_rate_slots_may_use_the_keys_rate_slots_after_the_upgrade() {
        let mut test = TestSchema::new("t_grants").await;
        migrate_up_to(&test, 19).await;
        let schema = test.schema.quoted();
        let role = format!("{}_worker", test.schema.as_str());
        test.connection
            .execute(sqlx::AssertSqlSafe(format!(
                "CREATE ROLE \"{role}\"; \
                 GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.rate_slots TO \"{role}\""
            )))
            .await
            .expect("a worker role, granted as the README said before version 20");
        run(&test.pool, &test.schema).await.expect("upgraded");
        let may: bool = sqlx::query_scalar(
            "SELECT has_table_privilege($1, $2, 'SELECT, INSERT, UPDATE, DELETE')",
        )
        .bind(&role)
        .bind(format!("{schema}.key_rate_slots"))
        .fetch_one(&mut test.connection)
        .await
        .expect("privileges read");
        let may_not: bool = sqlx::query_scalar("SELECT has_table_privilege($1, $2, 'TRUNCATE')")
            .bind(&role)
            .bind(format!("{schema}.key_rate_slots"))
            .fetch_one(&mut test.connection)
            .await
            .expect("privileges read");
        test.connection
            .execute(sqlx::AssertSqlSafe(format!(
                "DROP OWNED BY \"{role}\"; DROP ROLE \"{role}\""
            )))
            .await
            .expect("role dropped");
        assert!(may, "the worker role may use key_rate_slots");
        assert!(!may_not, "and gets nothing it did not have on rate_slots");
        test.drop().await;
    }

    #[test]
    fn the_lock_key_is_sqlx_s() {
        // The standard CRC-32 check value; then sqlx's `generate_lock_id("postgres")`,
        // computed with zlib (crc32 0x156a8775 times 0x3d32ad9e).
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(migration_lock_key("postgres"), 368_907_709_894_077_238);
    }
}
