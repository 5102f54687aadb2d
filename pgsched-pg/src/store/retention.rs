//! Retention: taking the turn, deleting finished jobs under a rule, and its statistics.

use std::time::Duration;

use pgsched_core::Result;
use pgsched_core::retention::{DeletedBatch, RetentionBatch, RetentionRule, VacuumReport};
use pgsched_core::store::{VacuumStatsDay, VacuumTotals};
use sqlx::Connection;

use super::PgStore;
use crate::pooler::Held;
use crate::rows::{RetentionStatsRow, RetentionTotalsRow, to_millis};

impl PgStore {
    /// See [`pgsched_core::store::JobStore::claim_retention_turn`].
    pub(super) async fn claim_retention_turn(
        &self,
        worker: &str,
        interval: Duration,
    ) -> Result<bool> {
        let won: Option<bool> = self
            .sql
            .claim_retention_turn
            .query_scalar()
            .bind(worker)
            .bind(to_millis(interval))
            .fetch_optional(self.main())
            .await
            .map_err(self.sql.claim_retention_turn.error())?;
        Ok(won.is_some())
    }

    /// See [`pgsched_core::store::JobStore::delete_finished`].
    pub(super) async fn delete_finished(&self, batch: RetentionBatch<'_>) -> Result<DeletedBatch> {
        let RetentionBatch {
            status,
            rule,
            resume_at,
            limit,
            timeout,
        } = batch;
        let statement = match rule {
            RetentionRule::FinishedBefore(_) => &self.sql.delete_finished_before,
            RetentionRule::KeepLast(_) => &self.sql.delete_finished_keep_last,
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
        let batch_deleted = match rule {
            RetentionRule::FinishedBefore(age) => {
                let deleted = statement
                    .query()
                    .bind(status.as_str())
                    .bind(to_millis(age))
                    .bind(i64::from(limit))
                    .execute(self.on(&mut transaction))
                    .await
                    .map_err(statement.error())?
                    .rows_affected();
                DeletedBatch {
                    deleted,
                    resume_at: None,
                }
            }
            RetentionRule::KeepLast(count) => {
                let (deleted, resume_at): (i64, Option<String>) = statement
                    .query_as()
                    .bind(status.as_str())
                    .bind(i64::from(count))
                    .bind(i64::from(limit))
                    .bind(resume_at)
                    .fetch_one(self.on(&mut transaction))
                    .await
                    .map_err(statement.error())?;
                DeletedBatch {
                    deleted: u64::try_from(deleted).unwrap_or(0),
                    resume_at,
                }
            }
        };
        transaction.commit().await.map_err(statement.error())?;
        connection.finished();
        Ok(batch_deleted)
    }

    /// See [`pgsched_core::store::JobStore::record_retention_pass`].
    pub(super) async fn record_retention_pass(
        &self,
        worker: &str,
        deleted: &VacuumReport,
    ) -> Result<()> {
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.sql
            .record_retention_pass
            .query()
            .bind(count(deleted.completed))
            .bind(count(deleted.failed))
            .bind(count(deleted.cancelled))
            .bind(count(deleted.expired))
            .bind(worker)
            .execute(self.main())
            .await
            .map_err(self.sql.record_retention_pass.error())?;
        Ok(())
    }

    /// See [`pgsched_core::store::JobStore::retention_stats`].
    pub(super) async fn retention_stats(&self, days: u32) -> Result<Vec<VacuumStatsDay>> {
        let rows: Vec<RetentionStatsRow> = self
            .sql
            .retention_stats
            .query_as()
            .bind(i32::try_from(days).unwrap_or(i32::MAX))
            .fetch_all(self.main())
            .await
            .map_err(self.sql.retention_stats.error())?;
        Ok(rows.into_iter().map(VacuumStatsDay::from).collect())
    }

    /// See [`pgsched_core::store::JobStore::retention_totals`].
    pub(super) async fn retention_totals(&self) -> Result<VacuumTotals> {
        let row: RetentionTotalsRow = self
            .sql
            .retention_totals
            .query_as()
            .fetch_one(self.main())
            .await
            .map_err(self.sql.retention_totals.error())?;
        Ok(row.into())
    }
}
