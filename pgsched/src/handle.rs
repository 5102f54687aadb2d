//! [`JobHandle`]: a job whose output type is known, to wait for its end and read what it
//! returned.

use std::marker::PhantomData;
use std::time::Duration;

use pgsched_core::{JobDefinition, JobId, Result};
use serde::de::DeserializeOwned;

use crate::output::read_output;
use crate::scheduler::Scheduler;

/// A job that returns a `T` when it completes: wait for it ([`JobHandle::wait`],
/// [`JobHandle::wait_timeout`]) from any process that reaches the database, whether or not
/// it runs a worker.
///
/// Get one by scheduling ([`ScheduleBuilder::handle`](crate::ScheduleBuilder::handle)), from
/// an id (a job's generated `my_job::handle(id)`, or [`JobHandle::new`]):
///
/// ```no_run
/// use pgsched::job;
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Thumbnail { path: String, width: u32 }
///
/// #[job]
/// async fn resize(path: String, width: u32) -> Result<Thumbnail, std::io::Error> {
///     Ok(Thumbnail { path: format!("{path}.thumb"), width })
/// }
///
/// # async fn demo(scheduler: &pgsched::Scheduler) -> pgsched::Result<()> {
/// let handle = resize::enqueue(resize::Args { path: "a.png".into(), width: 64 })
///     .on(scheduler)
///     .handle()
///     .await?;
/// let thumbnail: Thumbnail = handle.wait().await?;
/// // Elsewhere, with only the id:
/// let again = resize::handle(handle.id().clone()).on(scheduler).wait().await?;
/// # Ok(()) }
/// # fn main() {}
/// ```
///
/// Waiting uses LISTEN/NOTIFY: one listening connection per [`Scheduler`] serves every wait,
/// and a wait costs a statement when it starts and a read when its job ends, no polling.
/// With LISTEN off ([`SchedulerBuilder::listen`](crate::SchedulerBuilder::listen)), or while
/// the listening connection is down, waits read their job every poll interval instead.
#[must_use = "a handle does nothing until it is waited on"]
pub struct JobHandle<T> {
    id: JobId,
    /// The job, when the handle was made by its generated code (else it is looked up by the
    /// stored name in this binary's registry when the output is read).
    definition: Option<&'static JobDefinition>,
    scheduler: Option<Scheduler>,
    output: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for JobHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobHandle")
            .field("id", &self.id)
            .field("output", &std::any::type_name::<T>())
            .finish_non_exhaustive()
    }
}

impl<T> Clone for JobHandle<T> {
    fn clone(&self) -> Self {
        JobHandle {
            id: self.id.clone(),
            definition: self.definition,
            scheduler: self.scheduler.clone(),
            output: PhantomData,
        }
    }
}

impl<T: DeserializeOwned + 'static> JobHandle<T> {
    /// A handle on the job `id`, whose output is read as `T` (checked, when it is read,
    /// against what the job returns in this binary). Prefer the job's generated
    /// `my_job::handle(id)`, typed by the job.
    pub fn new(id: JobId) -> JobHandle<T> {
        JobHandle {
            id,
            definition: None,
            scheduler: None,
            output: PhantomData,
        }
    }

    /// A handle made by a job's generated code.
    pub(crate) fn of(definition: &'static JobDefinition, id: JobId) -> JobHandle<T> {
        JobHandle {
            definition: Some(definition),
            ..JobHandle::new(id)
        }
    }

    /// Waits through `scheduler` instead of the process-wide one.
    pub fn on(mut self, scheduler: &Scheduler) -> JobHandle<T> {
        self.scheduler = Some(scheduler.clone());
        self
    }

    /// The job's id.
    #[must_use]
    pub fn id(&self) -> &JobId {
        &self.id
    }

    /// Waits until the job ends; returns its output.
    ///
    /// # Errors
    /// The job's final error: [`Error::JobFailed`](crate::Error::JobFailed) (with its
    /// `last_error`), [`Error::JobCancelled`](crate::Error::JobCancelled) or
    /// [`Error::JobExpired`](crate::Error::JobExpired); [`Error::JobNotFound`](crate::Error::JobNotFound);
    /// the errors of [`Scheduler::job_output`] reading the output; a store error.
    pub async fn wait(&self) -> Result<T> {
        self.wait_for(None).await
    }

    /// As [`JobHandle::wait`], giving up after `timeout` with
    /// [`Error::WaitTimeout`](crate::Error::WaitTimeout) (the job itself goes on).
    ///
    /// # Errors
    /// As [`JobHandle::wait`], and [`Error::WaitTimeout`](crate::Error::WaitTimeout).
    pub async fn wait_timeout(&self, timeout: Duration) -> Result<T> {
        self.wait_for(Some(timeout)).await
    }

    async fn wait_for(&self, timeout: Option<Duration>) -> Result<T> {
        let scheduler = match &self.scheduler {
            Some(scheduler) => scheduler,
            None => Scheduler::global().await?,
        };
        let job = scheduler.waiters().wait(&self.id, timeout).await?;
        let definition = match self.definition {
            Some(definition) => Some(definition),
            None => scheduler.registry()?.get(&job.name),
        };
        read_output(job, definition)
    }
}
