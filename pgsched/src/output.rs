//! Reading what a job returned, typed: [`Scheduler::job_output`] and what a
//! [`crate::JobHandle`] waits for. The checks made before an output is decoded live in
//! `pgsched_core::output` (a running job reading its parents' outputs makes them too).

pub(crate) use pgsched_core::output::read_output;
use pgsched_core::{Error, Result};
use serde::de::DeserializeOwned;

use crate::scheduler::Scheduler;

impl Scheduler {
    /// What the job returned, typed as `T`: the `T` of the job's `Result<T, E>` (its
    /// generated `my_job::Output`). `()` reads any completed job.
    ///
    /// ```no_run
    /// # #[derive(serde::Serialize, serde::Deserialize)] struct Thumbnail { width: u32 }
    /// # async fn demo(scheduler: &pgsched::Scheduler, id: pgsched::JobId) -> pgsched::Result<()> {
    /// let thumbnail: Thumbnail = scheduler.job_output(&id).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::JobNotFound`]; [`Error::JobFailed`], [`Error::JobCancelled`] or
    /// [`Error::JobExpired`] when it ended so; [`Error::NoOutput`] when it has not ended or
    /// completed without an output; [`Error::OutputSchemaMismatch`] when a worker whose job
    /// returned another type wrote it; [`Error::OutputUnreadable`] when the job is not linked
    /// into this binary, returns another type than `T`, or the bytes do not decode; a store
    /// error.
    pub async fn job_output<T: DeserializeOwned + 'static>(
        &self,
        id: impl AsRef<str>,
    ) -> Result<T> {
        let info = self
            .job(id.as_ref())
            .await?
            .ok_or_else(|| Error::JobNotFound {
                id: id.as_ref().to_owned(),
            })?;
        let definition = self.registry()?.get(&info.name);
        read_output(info, definition)
    }
}
