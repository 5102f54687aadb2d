//! Reading what a job returned, typed: [`Scheduler::job_output`] and what a
//! [`crate::JobHandle`] waits for. An output is decoded only after two checks: the type
//! asked for is the one the job returns in this binary, and the output was stored with that
//! type's schema hash (postcard is not self-describing: a changed type would decode wrongly
//! instead of failing).

use std::any::TypeId;

use pgsched_core::codec::decode_output;
use pgsched_core::{Error, JobDefinition, JobInfo, JobStatus, Result};
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

/// The output of the job `info` shows, typed as `T`, checked against `definition` (the job
/// as linked into this binary); the job's final error if it did not complete.
pub(crate) fn read_output<T: DeserializeOwned + 'static>(
    info: JobInfo,
    definition: Option<&JobDefinition>,
) -> Result<T> {
    let id = info.id;
    match info.status {
        JobStatus::Completed => {}
        JobStatus::Failed => {
            return Err(Error::JobFailed {
                id,
                error: info.last_error.unwrap_or_default(),
            });
        }
        JobStatus::Cancelled => return Err(Error::JobCancelled { id }),
        JobStatus::Expired => {
            return Err(Error::JobExpired {
                id,
                error: info.last_error.unwrap_or_default(),
            });
        }
        status => {
            return Err(Error::NoOutput {
                id,
                reason: format!("it has not ended (it is {status})"),
            });
        }
    }
    let unreadable = |id, reason: String| Error::OutputUnreadable {
        id,
        job: info.name.clone(),
        reason,
    };
    let Some(definition) = definition else {
        return Err(unreadable(
            id,
            "the job is not linked into this binary, so the output's type cannot be checked; link the crate that defines it".into(),
        ));
    };
    let expected = definition.output;
    if (expected.type_id)() != TypeId::of::<T>() {
        return Err(unreadable(
            id,
            format!(
                "the job returns `{}`, not `{}`",
                expected.schema,
                std::any::type_name::<T>()
            ),
        ));
    }
    if TypeId::of::<T>() == TypeId::of::<()>() {
        // A job that returns `()` stores nothing; reading it as `()` is reading that it completed.
        return decode_output(&[]).map_err(|reason| unreadable(id, reason));
    }
    let Some(output) = info.output else {
        return Err(Error::NoOutput {
            id,
            reason:
                "it completed without one (the version of the job that ran it returned nothing)"
                    .into(),
        });
    };
    if output.schema_hash != expected.schema_hash {
        return Err(Error::OutputSchemaMismatch {
            id,
            job: info.name,
            stored: output.schema_hash,
            expected: expected.schema_hash,
            expected_schema: expected.schema,
        });
    }
    decode_output(&output.bytes).map_err(|reason| unreadable(id, reason))
}
