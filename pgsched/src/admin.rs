//! Operating a queue: list jobs, retry failed ones, see the live workers. What the command
//! line (`crate::cli`) is built on.

use pgsched_core::store::{JobFilter, JobStore, WorkerInfo};
use pgsched_core::{JobInfo, Result};

use crate::scheduler::Scheduler;

impl Scheduler {
    /// Jobs matching `filter` (status, name, limit), newest first.
    ///
    /// ```no_run
    /// # async fn demo(scheduler: &pgsched::Scheduler) -> pgsched::Result<()> {
    /// use pgsched::{JobFilter, JobStatus};
    /// let failed = scheduler
    ///     .list_jobs(&JobFilter::new().status(JobStatus::Failed).limit(100))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// A store error.
    pub async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<JobInfo>> {
        self.store().list_jobs(filter).await
    }

    /// Puts a failed or expired job back to pending, due now, with its attempts reset
    /// (`last_error` stays until the next attempt). False if the job does not exist or is not
    /// failed or expired. Takes the id as text or as a [`pgsched_core::JobId`].
    ///
    /// # Errors
    /// A store error.
    pub async fn retry_job(&self, id: impl AsRef<str>) -> Result<bool> {
        match crate::scheduler::existing_id(id.as_ref()) {
            Some(id) => self.store().retry_job(&id).await,
            None => Ok(false),
        }
    }

    /// The live workers (seen within `dead_worker_after`) and the running jobs each holds.
    ///
    /// # Errors
    /// A store error.
    pub async fn workers(&self) -> Result<Vec<WorkerInfo>> {
        self.store()
            .list_workers(self.worker_config().dead_worker_after)
            .await
    }
}
