//! Inspecting and managing jobs by id or filter: get, list, cancel, retry; dropping a test's
//! schema.

use pgsched_core::store::JobFilter;
use pgsched_core::{JobId, JobInfo, JobStatus, QueueName, Result};

use super::PgStore;
use crate::rows::JobRow;

impl PgStore {
    /// See [`pgsched_core::store::JobStore::cancel`].
    pub(super) async fn cancel(&self, id: &JobId) -> Result<bool> {
        let cancelled: Option<String> = self
            .sql
            .cancel_job
            .query_scalar()
            .bind(id.as_str())
            .fetch_optional(self.main())
            .await
            .map_err(self.sql.cancel_job.error())?;
        Ok(cancelled.is_some())
    }

    /// See [`pgsched_core::store::JobStore::job`].
    pub(super) async fn job(&self, id: &JobId) -> Result<Option<JobInfo>> {
        let row: Option<JobRow> = self
            .sql
            .get_job
            .query_as()
            .bind(id.as_str())
            .fetch_optional(self.main())
            .await
            .map_err(self.sql.get_job.error())?;
        row.map(JobInfo::try_from).transpose()
    }

    /// See [`pgsched_core::store::JobStore::workflow`].
    pub(super) async fn workflow(&self, id: &JobId, limit: u32) -> Result<Vec<JobInfo>> {
        let rows: Vec<JobRow> = self
            .sql
            .job_workflow
            .query_as()
            .bind(id.as_str())
            .bind(i64::from(limit))
            .fetch_all(self.main())
            .await
            .map_err(self.sql.job_workflow.error())?;
        rows.into_iter().map(JobInfo::try_from).collect()
    }

    /// See [`pgsched_core::store::JobStore::parents`].
    pub(super) async fn parents(
        &self,
        child: &JobId,
        parent: Option<&JobId>,
    ) -> Result<Vec<JobInfo>> {
        let rows: Vec<JobRow> = self
            .sql
            .parent_jobs
            .query_as()
            .bind(child.as_str())
            .bind(parent.map(JobId::as_str))
            .fetch_all(self.main())
            .await
            .map_err(self.sql.parent_jobs.error())?;
        rows.into_iter().map(JobInfo::try_from).collect()
    }

    /// See [`pgsched_core::store::JobStore::await_job`].
    pub(super) async fn await_job(&self, id: &JobId) -> Result<Option<JobInfo>> {
        let row: Option<JobRow> = self
            .sql
            .await_job
            .query_as()
            .bind(id.as_str())
            .fetch_optional(self.main())
            .await
            .map_err(self.sql.await_job.error())?;
        row.map(JobInfo::try_from).transpose()
    }

    /// See [`pgsched_core::store::JobStore::list_jobs`].
    pub(super) async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<JobInfo>> {
        let rows: Vec<JobRow> = self
            .sql
            .list_jobs
            .query_as()
            .bind(filter.status.map(JobStatus::as_str))
            .bind(filter.name.as_deref())
            .bind(i64::from(filter.limit))
            .bind(filter.queue.as_ref().map(QueueName::as_str))
            .fetch_all(self.main())
            .await
            .map_err(self.sql.list_jobs.error())?;
        rows.into_iter().map(JobInfo::try_from).collect()
    }

    /// See [`pgsched_core::store::JobStore::retry_job`].
    pub(super) async fn retry_job(&self, id: &JobId) -> Result<bool> {
        let retried: Option<String> = self
            .sql
            .retry_job
            .query_scalar()
            .bind(id.as_str())
            .bind(self.wake_channel())
            .fetch_optional(self.main())
            .await
            .map_err(self.sql.retry_job.error())?;
        Ok(retried.is_some())
    }

    /// Drops the schema and everything in it (jobs, schedules, statistics). For the
    /// throwaway schemas of tests (`pgsched::testing`); nothing in pgsched calls it otherwise.
    ///
    /// # Errors
    /// A store error (for example, a lock held by a worker still running on the schema).
    pub async fn drop_schema(&self) -> Result<()> {
        self.sql
            .drop_schema
            .query()
            .execute(self.main())
            .await
            .map_err(self.sql.drop_schema.error())?;
        Ok(())
    }
}
