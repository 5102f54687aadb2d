//! What to schedule: [`JobSpec`], one job, typed (built by `#[job]`'s generated code) or by
//! name with an encoded payload. How it is scheduled is the scheduler's business
//! ([`crate::Scheduler::schedule`]); this file knows nothing of it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use pgsched_core::codec::encode_args;
use pgsched_core::{
    Error, JobDefinition, JobId, JobOptions, MisfireGrace, NewJob, OnParentFailure, Priority,
    QueueName, Result, ScheduleDefaults,
};
use serde::Serialize;

/// One job to schedule: built by a job's generated `spec(at, args)`, or by name with an
/// already encoded payload for callers that do not link the job's crate.
///
/// ```no_run
/// # async fn demo(scheduler: &pgsched::Scheduler) -> pgsched::Result<()> {
/// use pgsched::{ConflictResolution, JobSpec, Priority};
/// // postcard bytes of the job's `Args` (here: one u32 field)
/// let payload = vec![7];
/// let spec = JobSpec::by_name("resize_image", payload).priority(Priority::High).job_id("img:7");
/// let results = scheduler.schedule_bulk(vec![spec], ConflictResolution::Ignore, 1000).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct JobSpec {
    /// The job, or why its arguments or id were refused (reported when it is scheduled).
    job: Result<NewJob, Refused>,
}

/// Why a [`JobSpec`] cannot be scheduled: the [`Error::InvalidInput`] that scheduling it
/// returns (kept as parts: a spec is `Clone`, errors are not).
#[derive(Debug, Clone)]
struct Refused {
    what: &'static str,
    reason: String,
}

impl From<Error> for Refused {
    fn from(error: Error) -> Refused {
        match error {
            Error::InvalidInput { what, reason } => Refused { what, reason },
            other => Refused {
                what: "job arguments",
                reason: other.to_string(),
            },
        }
    }
}

impl JobSpec {
    /// A typed job (what `#[job]`'s generated `spec` and `schedule` call, through
    /// `pgsched::__private::typed_spec`). `at: None` means now, by the database clock.
    pub(crate) fn typed<A: Serialize>(
        definition: &'static JobDefinition,
        at: Option<DateTime<Utc>>,
        args: &A,
    ) -> JobSpec {
        match encode_args(definition.name, args) {
            Ok(payload) => JobSpec::encoded(definition, at, payload),
            Err(error) => JobSpec {
                job: Err(Refused::from(error)),
            },
        }
    }

    /// A job of a registered definition with its already encoded arguments (the command
    /// line's `jobs enqueue`): the definition's name, schema hash and options.
    pub(crate) fn encoded(
        definition: &'static JobDefinition,
        at: Option<DateTime<Utc>>,
        payload: Vec<u8>,
    ) -> JobSpec {
        JobSpec {
            job: Ok(NewJob {
                schema_hash: Some(definition.schema_hash),
                run_at: at,
                ..NewJob::new(definition.name, payload, definition.defaults.clone())
            }),
        }
    }

    /// A job by name with its postcard-encoded arguments. Without
    /// [`JobSpec::schema_hash`] the worker does not check the payload's schema.
    pub fn by_name(name: impl Into<String>, payload: Vec<u8>) -> JobSpec {
        JobSpec {
            job: Ok(NewJob::new(name, payload, JobOptions::STANDARD)),
        }
    }

    fn map(mut self, change: impl FnOnce(&mut NewJob)) -> JobSpec {
        if let Ok(job) = self.job.as_mut() {
            change(job);
        }
        self
    }

    /// The argument schema hash the payload was written with (`my_job::SCHEMA_HASH`).
    #[must_use]
    pub fn schema_hash(self, hash: u64) -> JobSpec {
        self.map(|job| job.schema_hash = Some(hash))
    }

    /// When the job is due (UTC). Default: now, by the database clock.
    #[must_use]
    pub fn at(self, at: DateTime<Utc>) -> JobSpec {
        self.map(|job| job.run_at = Some(at))
    }

    /// Its priority. Default: the job's attribute, else Normal.
    #[must_use]
    pub fn priority(self, priority: Priority) -> JobSpec {
        self.map(|job| job.options.priority = priority)
    }

    /// Retries after the first failed attempt. Default: the job's attribute, else 0.
    #[must_use]
    pub fn max_retries(self, retries: u32) -> JobSpec {
        self.map(|job| job.options.max_retries = retries)
    }

    /// A chosen id (any text up to 512 bytes without NUL). Default: a generated UUIDv7.
    #[must_use]
    pub fn job_id(self, id: impl Into<String>) -> JobSpec {
        JobSpec {
            job: self
                .job
                .and_then(|job| job.with_id(id).map_err(Refused::from)),
        }
    }

    /// How long after its due time the job may still start: `Some(d)`, or `None` = never
    /// expires. Default: the job's attribute, else the scheduler's
    /// ([`SchedulerBuilder::misfire_grace_time`](crate::SchedulerBuilder::misfire_grace_time)).
    #[must_use]
    pub fn misfire_grace(self, grace: impl Into<MisfireGrace>) -> JobSpec {
        let grace = grace.into();
        self.map(|job| job.options.misfire_grace = grace)
    }

    /// Cancel an attempt that runs longer than this (it fails with `timeout`, and retries
    /// apply). Default: the job's attribute, else unbounded.
    #[must_use]
    pub fn timeout(self, timeout: Duration) -> JobSpec {
        self.map(|job| job.options.timeout = Some(timeout))
    }

    /// The queue it waits in (only workers serving it run it). Default: the job's attribute,
    /// else `default`. A name that is not valid ([`QueueName::new`]) refuses the job when it
    /// is scheduled.
    #[must_use]
    pub fn queue(self, queue: impl AsRef<str>) -> JobSpec {
        match QueueName::new(queue.as_ref()) {
            Ok(queue) => self.map(|job| job.options.queue = queue),
            Err(error) => JobSpec {
                job: self.job.and(Err(Refused::from(error))),
            },
        }
    }

    /// Runs only after these jobs (its parents) have completed: until then it is
    /// [`blocked`](pgsched_core::JobStatus::Blocked) and no worker claims it; it becomes
    /// pending when the last one completes (claimed within one poll, or at once when workers
    /// listen). Each parent is a job that exists (a completed one is satisfied at once) or
    /// another job of the same [`Scheduler::schedule_bulk`](crate::Scheduler::schedule_bulk)
    /// call, referred to by the id chosen with [`JobSpec::job_id`]. A missing parent is
    /// refused with [`Error::UnknownParents`], a cycle with [`Error::DependencyCycle`]; when
    /// a parent fails, is cancelled or expires, [`JobSpec::on_parent_failure`] decides.
    /// Calls add up; a parent listed twice counts once. Not with
    /// [`ConflictResolution::Replace`](crate::ConflictResolution::Replace).
    #[must_use]
    pub fn after<I>(self, parents: I) -> JobSpec
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let parents: Result<Vec<JobId>> = parents
            .into_iter()
            .map(|parent| JobId::new(parent.as_ref()))
            .collect();
        match parents {
            Ok(parents) => self.map(|job| job.parents.extend(parents)),
            Err(error) => JobSpec {
                job: Err(Refused::from(error)),
            },
        }
    }

    /// Its concurrency key: at most [`JobSpec::concurrency`] jobs with this key run at once,
    /// cluster-wide, whatever their job or queue. Default: derived from the argument the
    /// attribute's `concurrency_key` names (`"job_name:value"`), else none.
    #[must_use]
    pub fn concurrency_key(self, key: impl Into<String>) -> JobSpec {
        let key = key.into();
        self.map(|job| job.concurrency_key = Some(key))
    }

    /// How many jobs of its concurrency key may run at once (at least 1). Default: the
    /// attribute's `concurrency`, else 1.
    #[must_use]
    pub fn concurrency(self, jobs: u32) -> JobSpec {
        self.map(|job| job.options.concurrency = jobs)
    }

    /// What the job does when a parent ends failed, cancelled or expired: it is cancelled
    /// ([`OnParentFailure::Cancel`], the default) or runs anyway once every parent has ended
    /// ([`OnParentFailure::Run`]); its `last_error` says which parent ended how. Default: the
    /// job's attribute (`#[job(on_parent_failure = Run)]`), else Cancel.
    #[must_use]
    pub fn on_parent_failure(self, policy: OnParentFailure) -> JobSpec {
        self.map(|job| job.options.on_parent_failure = policy)
    }

    /// The job, checked and completed against the scheduler's `defaults`: what the store
    /// writes.
    pub(crate) fn into_job(self, defaults: &ScheduleDefaults) -> Result<NewJob> {
        self.job
            .map_err(|Refused { what, reason }| Error::InvalidInput { what, reason })
            .and_then(|job| defaults.resolve(job))
    }
}
