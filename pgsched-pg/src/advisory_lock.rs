//! Advisory locks for periodic runs, held on a dedicated connection for the whole run.
//!
//! A session lock taken through a pool is left on whichever pooled connection ran it (or
//! dropped when the pool resets it), so the lock gets a connection of its own: unlocking on
//! that same connection, or closing it, releases the lock.

use async_trait::async_trait;
use pgsched_core::store::AdvisoryLock;
use pgsched_core::{Error, Result};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

/// A held advisory lock and the connection holding it.
pub(crate) struct PgAdvisoryLock {
    pub(crate) connection: PgConnection,
    pub(crate) key: String,
    pub(crate) unlock_sql: std::sync::Arc<str>,
}

#[async_trait]
impl AdvisoryLock for PgAdvisoryLock {
    async fn release(self: Box<Self>) -> Result<()> {
        let PgAdvisoryLock {
            mut connection,
            key,
            unlock_sql,
        } = *self;
        let unlocked: Result<bool> = sqlx::query_scalar(AssertSqlSafe(unlock_sql))
            .bind(&key)
            .fetch_one(&mut connection)
            .await
            .map_err(|e| Error::store("advisory_unlock", e));
        // Closing the connection releases the lock whatever the unlock said.
        let _ = connection.close().await;
        unlocked.map(|_| ())
    }
}
