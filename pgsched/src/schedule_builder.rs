//! [`ScheduleBuilder`]: the awaitable builder that `my_job::schedule(at, args)` and
//! `my_job::enqueue(args)` return. It sets options on a [`JobSpec`] and schedules it through
//! the scheduler's public API ([`Scheduler::schedule`], [`Scheduler::schedule_in_tx`]), like
//! any caller.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use std::marker::PhantomData;

use pgsched_core::{
    ConflictResolution, JobDefinition, JobId, MisfireGrace, OnParentFailure, Priority, Result,
};
use serde::de::DeserializeOwned;
use sqlx::PgConnection;

use crate::handle::JobHandle;
use crate::scheduler::Scheduler;
use crate::spec::JobSpec;

/// Schedules one job when awaited; returns its id.
///
/// Returned by `my_job::schedule(at, args)` and `my_job::enqueue(args)`:
///
/// ```no_run
/// use chrono::{Duration, Utc};
/// use pgsched::{job, ConflictResolution, Priority};
///
/// #[job]
/// async fn send_email(to: String, subject: String) {}
///
/// # async fn demo() -> pgsched::Result<()> {
/// let id = send_email::schedule(
///     Utc::now() + Duration::minutes(5),
///     send_email::Args { to: "a@b.c".into(), subject: "hi".into() },
/// )
/// .priority(Priority::Critical)
/// .max_retries(3)
/// .misfire_grace(None)                          // never expire
/// .timeout(std::time::Duration::from_secs(30))
/// .job_id("welcome:42")
/// .conflict(ConflictResolution::Ignore)         // a second call returns the same id
/// .await?;
/// # Ok(()) }
/// # fn main() {}
/// ```
///
/// Each option's default is the job's `#[job(..)]` attribute, else the scheduler's; the table
/// in the [crate docs](crate#scheduling) lists them.
///
/// Without [`ScheduleBuilder::on`] it uses the process-wide scheduler
/// ([`Scheduler::global`], configured from `DATABASE_URL` and `PGSCHED_*`).
///
/// `O` is what the job returns when it completes (its generated `Output`): schedule with
/// [`ScheduleBuilder::handle`] to get a [`JobHandle<O>`] that waits for it.
#[must_use = "a schedule builder does nothing until it is awaited"]
pub struct ScheduleBuilder<'s, O = ()> {
    spec: JobSpec,
    conflict: ConflictResolution,
    scheduler: Option<&'s Scheduler>,
    /// The job, when the builder was made by its generated code.
    definition: Option<&'static JobDefinition>,
    output: PhantomData<fn() -> O>,
}

impl ScheduleBuilder<'static> {
    /// A builder for any [`JobSpec`], e.g. one built by name.
    pub fn from_spec(spec: JobSpec) -> ScheduleBuilder<'static> {
        ScheduleBuilder {
            spec,
            conflict: ConflictResolution::Raise,
            scheduler: None,
            definition: None,
            output: PhantomData,
        }
    }
}

impl<O> ScheduleBuilder<'static, O> {
    /// A builder for a job of `definition`, whose output type is `O`.
    pub(crate) fn typed(definition: &'static JobDefinition, spec: JobSpec) -> Self {
        ScheduleBuilder {
            spec,
            conflict: ConflictResolution::Raise,
            scheduler: None,
            definition: Some(definition),
            output: PhantomData,
        }
    }
}

impl<'s, O> ScheduleBuilder<'s, O> {
    /// Its priority. Default: the job's attribute, else Normal.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.spec = self.spec.priority(priority);
        self
    }

    /// Retries after the first failed attempt. Default: the job's attribute, else 0.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.spec = self.spec.max_retries(retries);
        self
    }

    /// A chosen id; what happens when it is taken is [`ScheduleBuilder::conflict`].
    pub fn job_id(mut self, id: impl Into<String>) -> Self {
        self.spec = self.spec.job_id(id);
        self
    }

    /// What to do when the id is taken. Default: [`ConflictResolution::Raise`].
    pub fn conflict(mut self, conflict: ConflictResolution) -> Self {
        self.conflict = conflict;
        self
    }

    /// `Some(d)`: expire if not started `d` after the due time; `None`: never expire.
    /// Default: the job's attribute, else the scheduler's
    /// ([`SchedulerBuilder::misfire_grace_time`](crate::SchedulerBuilder::misfire_grace_time)).
    pub fn misfire_grace(mut self, grace: impl Into<MisfireGrace>) -> Self {
        self.spec = self.spec.misfire_grace(grace);
        self
    }

    /// Cancel an attempt that runs longer than this.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.spec = self.spec.timeout(timeout);
        self
    }

    /// The queue it waits in; see [`JobSpec::queue`].
    pub fn queue(mut self, queue: impl AsRef<str>) -> Self {
        self.spec = self.spec.queue(queue);
        self
    }

    /// Its concurrency key; see [`JobSpec::concurrency_key`].
    pub fn concurrency_key(mut self, key: impl Into<String>) -> Self {
        self.spec = self.spec.concurrency_key(key);
        self
    }

    /// Jobs of its concurrency key allowed to run at once; see [`JobSpec::concurrency`].
    pub fn concurrency(mut self, jobs: u32) -> Self {
        self.spec = self.spec.concurrency(jobs);
        self
    }

    /// Runs only after these jobs have completed (see [`JobSpec::after`]).
    pub fn after<I>(mut self, parents: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.spec = self.spec.after(parents);
        self
    }

    /// What the job does when a parent does not complete (see [`JobSpec::on_parent_failure`]).
    pub fn on_parent_failure(mut self, policy: OnParentFailure) -> Self {
        self.spec = self.spec.on_parent_failure(policy);
        self
    }

    /// Schedules through `scheduler` instead of the process-wide one.
    pub fn on(self, scheduler: &Scheduler) -> ScheduleBuilder<'_, O> {
        ScheduleBuilder {
            spec: self.spec,
            conflict: self.conflict,
            scheduler: Some(scheduler),
            definition: self.definition,
            output: self.output,
        }
    }

    /// Schedules inside the caller's transaction (pass `&mut *tx`): the job exists, and
    /// workers are woken, only if that transaction commits.
    ///
    /// # Errors
    /// As awaiting the builder.
    pub async fn in_tx(self, connection: &mut PgConnection) -> Result<JobId> {
        let scheduler = match self.scheduler {
            Some(scheduler) => scheduler,
            None => Scheduler::global().await?,
        };
        scheduler
            .schedule_in_tx(connection, self.spec, self.conflict)
            .await
    }
}

impl<O: DeserializeOwned + 'static> ScheduleBuilder<'_, O> {
    /// Schedules the job and returns a handle that waits for its output
    /// ([`JobHandle::wait`]), through the same scheduler.
    ///
    /// # Errors
    /// As awaiting the builder.
    pub async fn handle(self) -> Result<JobHandle<O>> {
        let scheduler = match self.scheduler {
            Some(scheduler) => scheduler,
            None => Scheduler::global().await?,
        };
        let definition = self.definition;
        let id = scheduler.schedule(self.spec, self.conflict).await?;
        let handle = match definition {
            Some(definition) => JobHandle::of(definition, id),
            None => JobHandle::new(id),
        };
        Ok(handle.on(scheduler))
    }
}

impl<'s, O> IntoFuture for ScheduleBuilder<'s, O> {
    type Output = Result<JobId>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<JobId>> + Send + 's>>;

    fn into_future(self) -> Self::IntoFuture {
        // Only what scheduling needs moves into the future (not the output type).
        let ScheduleBuilder {
            spec,
            conflict,
            scheduler,
            ..
        } = self;
        Box::pin(async move {
            let scheduler = match scheduler {
                Some(scheduler) => scheduler,
                None => Scheduler::global().await?,
            };
            scheduler.schedule(spec, conflict).await
        })
    }
}
