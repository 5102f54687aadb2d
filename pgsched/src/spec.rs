//! What to schedule: [`JobSpec`], one job, typed (built by `#[job]`'s generated code) or by
//! name with an encoded payload. How it is scheduled is the scheduler's business
//! ([`crate::Scheduler::schedule`]); this file knows nothing of it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use pgsched_core::codec::encode_args;
use pgsched_core::{Error, JobDefinition, JobRequest, MisfireGrace, Priority, Result};
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
    request: Result<JobRequest, String>,
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
                request: Err(error.to_string()),
            },
        }
    }

    /// A job of a registered definition with its already encoded arguments (the command
    /// line's `jobs enqueue`): the definition's name, schema hash and defaults.
    pub(crate) fn encoded(
        definition: &'static JobDefinition,
        at: Option<DateTime<Utc>>,
        payload: Vec<u8>,
    ) -> JobSpec {
        let defaults = definition.defaults;
        JobSpec {
            request: Ok(JobRequest {
                name: definition.name.to_owned(),
                payload,
                schema_hash: Some(definition.schema_hash),
                run_at: at,
                priority: defaults.priority,
                max_retries: defaults.max_retries,
                job_id: None,
                misfire_grace: defaults.misfire_grace,
                timeout: defaults.timeout,
            }),
        }
    }

    /// A job by name with its postcard-encoded arguments. Without
    /// [`JobSpec::schema_hash`] the worker does not check the payload's schema.
    pub fn by_name(name: impl Into<String>, payload: Vec<u8>) -> JobSpec {
        JobSpec {
            request: Ok(JobRequest {
                name: name.into(),
                payload,
                schema_hash: None,
                run_at: None,
                priority: Priority::Normal,
                max_retries: 0,
                job_id: None,
                misfire_grace: MisfireGrace::Default,
                timeout: None,
            }),
        }
    }

    fn map(mut self, change: impl FnOnce(&mut JobRequest)) -> JobSpec {
        if let Ok(request) = self.request.as_mut() {
            change(request);
        }
        self
    }

    /// The argument schema hash the payload was written with (`my_job::SCHEMA_HASH`).
    #[must_use]
    pub fn schema_hash(self, hash: u64) -> JobSpec {
        self.map(|r| r.schema_hash = Some(hash))
    }

    /// When the job is due (UTC). Default: now, by the database clock.
    #[must_use]
    pub fn at(self, at: DateTime<Utc>) -> JobSpec {
        self.map(|r| r.run_at = Some(at))
    }

    /// Its priority. Default: the job's attribute, else Normal.
    #[must_use]
    pub fn priority(self, priority: Priority) -> JobSpec {
        self.map(|r| r.priority = priority)
    }

    /// Retries after the first failed attempt. Default: the job's attribute, else 0.
    #[must_use]
    pub fn max_retries(self, retries: u32) -> JobSpec {
        self.map(|r| r.max_retries = retries)
    }

    /// A chosen id (any text up to 512 bytes without NUL). Default: a generated UUIDv7.
    #[must_use]
    pub fn job_id(self, id: impl Into<String>) -> JobSpec {
        self.map(|r| r.job_id = Some(id.into()))
    }

    /// How long after its due time the job may still start: `Some(d)`, or `None` = never
    /// expires. Default: the job's attribute, else the scheduler's
    /// ([`SchedulerBuilder::misfire_grace_time`](crate::SchedulerBuilder::misfire_grace_time)).
    #[must_use]
    pub fn misfire_grace(self, grace: impl Into<MisfireGrace>) -> JobSpec {
        let grace = grace.into();
        self.map(|r| r.misfire_grace = grace)
    }

    /// Cancel an attempt that runs longer than this (it fails with `timeout`, and retries
    /// apply). Default: the job's attribute, else unbounded.
    #[must_use]
    pub fn timeout(self, timeout: Duration) -> JobSpec {
        self.map(|r| r.timeout = Some(timeout))
    }

    pub(crate) fn into_request(self) -> Result<JobRequest> {
        self.request.map_err(|reason| Error::InvalidInput {
            what: "job arguments",
            reason,
        })
    }
}
