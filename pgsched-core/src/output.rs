//! Reading what a job returned, typed: the checks every reader makes (the facade's
//! `Scheduler::job_output` and handles, and a running job reading its parents' outputs with
//! [`JobContext::parent_output`](crate::JobContext::parent_output)). An output is decoded
//! only after two checks: the type asked for is the one the job returns in this binary, and
//! the output was stored with that type's schema hash (postcard is not self-describing: a
//! changed type would decode wrongly instead of failing).

use std::any::TypeId;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::codec::decode_output;
use crate::error::{Error, Result};
use crate::job::{JobId, JobInfo, JobStatus};
use crate::registry::{JobDefinition, Registry};
use crate::store::JobStore;

/// The output of the job `info` shows, typed as `T`, checked against `definition` (the job
/// as linked into this binary); the job's final error if it did not complete.
///
/// # Errors
/// [`Error::JobFailed`], [`Error::JobCancelled`] or [`Error::JobExpired`] when it ended so;
/// [`Error::NoOutput`] when it has not ended or completed without an output;
/// [`Error::OutputSchemaMismatch`]; [`Error::OutputUnreadable`].
pub fn read_output<T: DeserializeOwned + 'static>(
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

/// Where a running job reads its parents' outputs: the worker's store and the jobs linked
/// into its binary (the runtime gives it to every attempt's [`crate::JobContext`]).
#[derive(Clone)]
pub struct ParentOutputs {
    store: Arc<dyn JobStore>,
    registry: Arc<Registry>,
}

impl std::fmt::Debug for ParentOutputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParentOutputs").finish_non_exhaustive()
    }
}

impl ParentOutputs {
    /// Reads through `store`, typed by `registry`.
    #[must_use]
    pub fn new(store: Arc<dyn JobStore>, registry: Arc<Registry>) -> ParentOutputs {
        ParentOutputs { store, registry }
    }

    /// The output of `parent`, a parent of `child`, typed as `T`.
    ///
    /// # Errors
    /// [`Error::NotAParent`] when `parent` is not one of `child`'s parents; else as
    /// [`read_output`], or a store error.
    pub async fn one<T: DeserializeOwned + 'static>(
        &self,
        child: &JobId,
        parent: &str,
    ) -> Result<T> {
        let parent = JobId::new(parent)?;
        let mut found = self.store.parents(child, Some(&parent)).await?;
        match found.pop() {
            Some(info) => self.read(info),
            None => Err(Error::NotAParent {
                id: parent,
                child: child.clone(),
            }),
        }
    }

    /// The outputs of every parent of `child`, by parent id, typed as `T` (one query).
    ///
    /// # Errors
    /// The first parent whose output cannot be read as `T` (as [`read_output`]), or a store
    /// error.
    pub async fn all<T: DeserializeOwned + 'static>(
        &self,
        child: &JobId,
    ) -> Result<Vec<(JobId, T)>> {
        let parents = self.store.parents(child, None).await?;
        parents
            .into_iter()
            .map(|info| {
                let id = info.id.clone();
                self.read(info).map(|output| (id, output))
            })
            .collect()
    }

    fn read<T: DeserializeOwned + 'static>(&self, info: JobInfo) -> Result<T> {
        let definition = self.registry.get(&info.name);
        read_output(info, definition)
    }
}
