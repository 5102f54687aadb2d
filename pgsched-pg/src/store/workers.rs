//! The registry of live worker processes.

use std::time::Duration;

use pgsched_core::Result;
use pgsched_core::store::{WorkerInfo, WorkerRecord};

use super::PgStore;
use crate::pooler::Route;
use crate::rows::{WorkerRow, to_millis};

impl PgStore {
    /// Registers `worker`, or refreshes its registration (see register_worker.sql).
    pub(super) async fn upsert_worker(
        &self,
        worker: &WorkerRecord,
        route: Route<'_>,
    ) -> Result<()> {
        self.sql
            .register_worker
            .query()
            .bind(&worker.id)
            .bind(&worker.host)
            .bind(i32::try_from(worker.pid).unwrap_or(i32::MAX))
            .execute(route)
            .await
            .map_err(self.sql.register_worker.error())?;
        Ok(())
    }

    /// See [`pgsched_core::store::JobStore::list_workers`].
    pub(super) async fn list_workers(&self, seen_within: Duration) -> Result<Vec<WorkerInfo>> {
        let rows: Vec<WorkerRow> = self
            .sql
            .list_workers
            .query_as()
            .bind(to_millis(seen_within))
            .fetch_all(self.main())
            .await
            .map_err(self.sql.list_workers.error())?;
        Ok(rows.into_iter().map(WorkerInfo::from).collect())
    }

    /// See [`pgsched_core::store::JobStore::register_worker`].
    pub(super) async fn register_worker(&self, worker: &WorkerRecord) -> Result<()> {
        self.upsert_worker(worker, self.main()).await
    }

    /// See [`pgsched_core::store::JobStore::touch_worker`].
    pub(super) async fn touch_worker(&self, worker: &WorkerRecord) -> Result<()> {
        self.upsert_worker(worker, self.heartbeat()).await
    }

    /// See [`pgsched_core::store::JobStore::deregister_worker`].
    pub(super) async fn deregister_worker(&self, worker_id: &str) -> Result<()> {
        self.sql
            .deregister_worker
            .query()
            .bind(worker_id)
            .execute(self.main())
            .await
            .map_err(self.sql.deregister_worker.error())?;
        Ok(())
    }

    /// See [`pgsched_core::store::JobStore::prune_workers`].
    pub(super) async fn prune_workers(&self, older_than: Duration) -> Result<Vec<String>> {
        self.sql
            .prune_workers
            .query_scalar()
            .bind(to_millis(older_than))
            .fetch_all(self.main())
            .await
            .map_err(self.sql.prune_workers.error())
    }
}
