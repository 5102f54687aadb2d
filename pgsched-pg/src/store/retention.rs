//! Retention: taking the turn, deleting finished jobs under a rule, and its statistics.

use std::time::Duration;

use pgsched_core::retention::{PurgeRule, Purged, VacuumReport};
use pgsched_core::store::{VacuumStatsDay, VacuumTotals};
use pgsched_core::{JobStatus, Result};
use sqlx::Connection;

use super::PgStore;
use crate::pooler::Held;
use crate::rows::{VacuumStatsRow, VacuumTotalsRow, to_millis};

impl PgStore {
    /// See [`pgsched_core::store::JobStore::claim_vacuum_turn`].
    pub(super) async fn claim_vacuum_turn(&self, worker: &str, interval: Duration) -> Result<bool> {
        let won: Option<bool> = self
            .sql
            .claim_vacuum_turn
            .query_scalar()
            .bind(worker)
            .bind(to_millis(interval))
            .fetch_optional(self.main())
            .await
            .map_err(self.sql.claim_vacuum_turn.error())?;
        Ok(won.is_some())
    }

    /// See [`pgsched_core::store::JobStore::purge`].
    pub(super) async fn purge(
        &self,
        status: JobStatus,
        rule: PurgeRule,
        resume_at: Option<&str>,
        limit: u32,
        timeout: Duration,
    ) -> Result<Purged> {
        let statement = match rule {
            PurgeRule::FinishedBefore(_) => &self.sql.purge_finished,
            PurgeRule::KeepLast(_) => &self.sql.purge_keep_last,
        };
        let mut connection = Held::acquire(&self.pool).await.map_err(statement.error())?;
        let mut transaction = connection.begin().await.map_err(statement.error())?;
        self.sql
            .limit_statement
            .query()
            .bind(format!("{}ms", timeout.as_millis().max(1)))
            .execute(self.on(&mut transaction))
            .await
            .map_err(statement.error())?;
        let purged = match rule {
            PurgeRule::FinishedBefore(age) => {
                let deleted = self
                    .sql
                    .purge_finished
                    .query()
                    .bind(status.as_str())
                    .bind(to_millis(age))
                    .bind(i64::from(limit))
                    .execute(self.on(&mut transaction))
                    .await
                    .map_err(statement.error())?
                    .rows_affected();
                Purged {
                    deleted,
                    resume_at: None,
                }
            }
            PurgeRule::KeepLast(count) => {
                let (deleted, resume_at): (i64, Option<String>) = self
                    .sql
                    .purge_keep_last
                    .query_as()
                    .bind(status.as_str())
                    .bind(i64::from(count))
                    .bind(i64::from(limit))
                    .bind(resume_at)
                    .fetch_one(self.on(&mut transaction))
                    .await
                    .map_err(statement.error())?;
                Purged {
                    deleted: u64::try_from(deleted).unwrap_or(0),
                    resume_at,
                }
            }
        };
        transaction.commit().await.map_err(statement.error())?;
        connection.finished();
        Ok(purged)
    }

    /// See [`pgsched_core::store::JobStore::record_vacuum`].
    pub(super) async fn record_vacuum(&self, worker: &str, deleted: &VacuumReport) -> Result<()> {
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.sql
            .record_vacuum
            .query()
            .bind(count(deleted.completed))
            .bind(count(deleted.failed))
            .bind(count(deleted.cancelled))
            .bind(count(deleted.expired))
            .bind(worker)
            .execute(self.main())
            .await
            .map_err(self.sql.record_vacuum.error())?;
        Ok(())
    }

    /// See [`pgsched_core::store::JobStore::vacuum_stats`].
    pub(super) async fn vacuum_stats(&self, days: u32) -> Result<Vec<VacuumStatsDay>> {
        let rows: Vec<VacuumStatsRow> = self
            .sql
            .vacuum_stats
            .query_as()
            .bind(i32::try_from(days).unwrap_or(i32::MAX))
            .fetch_all(self.main())
            .await
            .map_err(self.sql.vacuum_stats.error())?;
        Ok(rows.into_iter().map(VacuumStatsDay::from).collect())
    }

    /// See [`pgsched_core::store::JobStore::total_vacuum_stats`].
    pub(super) async fn total_vacuum_stats(&self) -> Result<VacuumTotals> {
        let row: VacuumTotalsRow = self
            .sql
            .total_vacuum_stats
            .query_as()
            .fetch_one(self.main())
            .await
            .map_err(self.sql.total_vacuum_stats.error())?;
        Ok(row.into())
    }
}
