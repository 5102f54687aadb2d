//! Queue settings every worker obeys (pause, concurrency and rate limits, per-key rate limits)
//! and the queue list; the sweep that removes keys' rate slots free again.

use pgsched_core::{QueueInfo, QueueName, RateLimit, Result};

use super::PgStore;
use crate::rows::{QueueRow, to_millis};
use crate::statements::Statement;

impl PgStore {
    /// See [`pgsched_core::store::JobStore::queues`].
    pub(super) async fn queues(&self) -> Result<Vec<QueueInfo>> {
        let rows: Vec<QueueRow> = self
            .sql
            .list_queues
            .query_as()
            .fetch_all(self.main())
            .await
            .map_err(self.sql.list_queues.error())?;
        Ok(rows.into_iter().map(QueueInfo::from).collect())
    }

    /// See [`pgsched_core::store::JobStore::set_queue_paused`].
    pub(super) async fn set_queue_paused(&self, queue: &QueueName, paused: bool) -> Result<()> {
        self.sql
            .set_queue_paused
            .query()
            .bind(queue.as_str())
            .bind(paused)
            .execute(self.main())
            .await
            .map_err(self.sql.set_queue_paused.error())?;
        self.wake_workers().await
    }

    /// See [`pgsched_core::store::JobStore::set_queue_concurrency_limit`].
    pub(super) async fn set_queue_concurrency_limit(
        &self,
        queue: &QueueName,
        limit: Option<u32>,
    ) -> Result<()> {
        self.sql
            .set_queue_concurrency_limit
            .query()
            .bind(queue.as_str())
            .bind(limit.map(|limit| i32::try_from(limit).unwrap_or(i32::MAX)))
            .execute(self.main())
            .await
            .map_err(self.sql.set_queue_concurrency_limit.error())?;
        self.wake_workers().await
    }

    /// See [`pgsched_core::store::JobStore::set_queue_rate_limit`].
    pub(super) async fn set_queue_rate_limit(
        &self,
        queue: &QueueName,
        rate: Option<RateLimit>,
    ) -> Result<()> {
        self.set_rate(&self.sql.set_queue_rate_limit, queue, rate)
            .await
    }

    /// See [`pgsched_core::store::JobStore::set_queue_key_rate_limit`].
    pub(super) async fn set_queue_key_rate_limit(
        &self,
        queue: &QueueName,
        rate: Option<RateLimit>,
    ) -> Result<()> {
        self.set_rate(&self.sql.set_queue_key_rate_limit, queue, rate)
            .await
    }

    /// Runs one of the statements that set a rate of `queue` (`$1` the queue, `$2` the
    /// starts and `$3` the period in ms, both NULL to lift it), then wakes the workers.
    async fn set_rate(
        &self,
        statement: &Statement,
        queue: &QueueName,
        rate: Option<RateLimit>,
    ) -> Result<()> {
        statement
            .query()
            .bind(queue.as_str())
            .bind(rate.map(|rate| i32::try_from(rate.starts).unwrap_or(i32::MAX)))
            .bind(rate.map(|rate| to_millis(rate.per)))
            .execute(self.main())
            .await
            .map_err(statement.error())?;
        self.wake_workers().await
    }

    /// See [`pgsched_core::store::JobStore::prune_key_rate_slots`].
    pub(super) async fn prune_key_rate_slots(&self, limit: u32) -> Result<u64> {
        let pruned: i64 = self
            .sql
            .prune_key_rate_slots
            .query_scalar()
            .bind(i64::from(limit))
            .fetch_one(self.worker())
            .await
            .map_err(self.sql.prune_key_rate_slots.error())?;
        Ok(u64::try_from(pruned).unwrap_or(0))
    }

    /// Wakes the listening workers: a setting changed, and a claim held back by it may now
    /// take jobs.
    async fn wake_workers(&self) -> Result<()> {
        if let Some(channel) = self.wake_channel() {
            self.sql
                .notify
                .query()
                .bind(channel)
                .execute(self.main())
                .await
                .map_err(self.sql.notify.error())?;
        }
        Ok(())
    }
}
