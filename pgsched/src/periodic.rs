//! Managing periodic jobs: list them, enable or disable them for every replica, trigger a run
//! now, and read their status.
//!
//! Management calls register this binary's schedules only where no row exists yet: the
//! schedule in force for a key is the one of the most recently started *worker*, and looking
//! at schedules from a binary with another expression must not change what replicas follow.
//! So what is listed is the schedule in force (and who registered it), next to this binary's.

use chrono::{DateTime, Utc};
use pgsched_core::periodic::{CompiledSchedule, Periodic};
use pgsched_core::store::{JobStore, PeriodicState};
use pgsched_core::{Error, JobId, JobInfo, Priority, Result};

use crate::scheduler::Scheduler;

/// A periodic job as configured in code, with its persisted enabled state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeriodicJobInfo {
    /// Its dedup key (the management API's handle).
    pub key: String,
    /// The job it enqueues.
    pub job_name: &'static str,
    /// Its schedule in this binary: `cron:<expr>:tz:<zone>` or `every:<ms>ms`.
    pub schedule: String,
    /// The schedule in force for its key, which every replica follows: the one registered by
    /// the most recently started worker. Differs from `schedule` while replicas disagree
    /// (a rolling deploy); replicas with another schedule enqueue nothing for the key.
    pub schedule_in_force: String,
    /// The worker whose start registered `schedule_in_force` (`None`: no worker has
    /// registered the key yet, only management calls).
    pub registered_by: Option<String>,
    /// When that worker registered it.
    pub registered_at: Option<DateTime<Utc>>,
    /// The priority of its runs.
    pub priority: Priority,
    /// Retries of a failed run.
    pub max_retries: u32,
    /// Whether runs never overlap (a run waits while another run of the schedule holds a live
    /// lease).
    pub advisory_lock: bool,
    /// Whether it enqueues windows (persisted, shared by every replica).
    pub enabled: bool,
    /// The next window after now (by the database clock) of the schedule in force.
    pub next_fire: Option<DateTime<Utc>>,
}

/// A periodic job's status: its configuration, its last window and that window's run.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PeriodicJobStatus {
    /// Configuration and enabled state.
    pub info: PeriodicJobInfo,
    /// The latest window enqueued (by any replica).
    pub last_window: Option<DateTime<Utc>>,
    /// The job of that window, if it still exists (retention may have deleted it).
    pub last_run: Option<JobInfo>,
}

impl Scheduler {
    /// Writes the periodic schedules of this binary that have no row yet (new ones get their
    /// attribute's `enabled`), so management calls work before any worker started. Existing
    /// rows are left alone: only a starting worker changes the schedule in force.
    async fn register_periodic(&self) -> Result<()> {
        let registrations: Vec<_> = self
            .registry()?
            .periodic()
            .iter()
            .map(Periodic::registration)
            .collect();
        if registrations.is_empty() {
            return Ok(());
        }
        self.store().register_periodic(&registrations, None).await
    }

    /// The periodic schedule `key` names: its key (`my_job::KEY`), or the name of a job that
    /// has exactly one schedule (a job with several is managed by each schedule's key).
    fn periodic(&self, key: &str) -> Result<&Periodic> {
        let registry = self.registry()?;
        if let Some(periodic) = registry.periodic_by_key(key) {
            return Ok(periodic);
        }
        let mut of_job = registry
            .periodic()
            .iter()
            .filter(|periodic| periodic.job_name() == key);
        match (of_job.next(), of_job.next()) {
            (Some(periodic), None) => Ok(periodic),
            _ => Err(Error::UnknownPeriodicJob {
                key: key.to_owned(),
            }),
        }
    }

    /// Every periodic job of this binary, with its persisted state and next fire time.
    ///
    /// # Errors
    /// A store error.
    pub async fn periodic_jobs(&self) -> Result<Vec<PeriodicJobInfo>> {
        self.register_periodic().await?;
        let (now, states) = self.store().periodic_states().await?;
        Ok(self
            .registry()?
            .periodic()
            .iter()
            .map(|periodic| {
                let state = states.iter().find(|state| state.key == periodic.key);
                info(periodic, state, now)
            })
            .collect())
    }

    /// Enables a periodic job on every replica. False if it was not registered.
    ///
    /// Like every periodic management call, it takes the schedule's key (`my_job::KEY`: its
    /// `dedup_key`, else the job's name) or the name of a job that has one schedule.
    ///
    /// ```no_run
    /// # use pgsched::periodic;
    /// #[periodic(cron = "0 3 * * *", dedup_key = "nightly-report")]
    /// async fn nightly_report() {}
    ///
    /// # async fn demo(scheduler: &pgsched::Scheduler) -> pgsched::Result<()> {
    /// scheduler.enable_periodic_job(nightly_report::KEY).await?;   // "nightly-report"
    /// scheduler.enable_periodic_job(nightly_report::NAME).await?;  // the same schedule
    /// # Ok(()) }
    /// # fn main() {}
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownPeriodicJob`], or a store error.
    pub async fn enable_periodic_job(&self, key: &str) -> Result<bool> {
        let key = self.periodic(key)?.key.clone();
        self.register_periodic().await?;
        self.store().set_periodic_enabled(&key, true).await
    }

    /// Disables a periodic job on every replica; its run enqueued ahead (not yet started) is
    /// cancelled. A run in progress finishes.
    ///
    /// # Errors
    /// [`Error::UnknownPeriodicJob`], or a store error.
    pub async fn disable_periodic_job(&self, key: &str) -> Result<bool> {
        let key = self.periodic(key)?.key.clone();
        self.register_periodic().await?;
        self.store().set_periodic_enabled(&key, false).await
    }

    /// Runs a periodic job now, outside its schedule (its windows are unaffected). Returns
    /// the id of the run (`manual:<key>:<uuid>`).
    ///
    /// # Errors
    /// [`Error::UnknownPeriodicJob`], or a store error.
    pub async fn trigger_periodic_job(&self, key: &str) -> Result<JobId> {
        let periodic = self.periodic(key)?;
        let id = JobId::from_stored(format!("manual:{}:{}", periodic.key, JobId::generate()));
        let job = periodic.new_job(id, None, self.schedule_defaults());
        self.store()
            .schedule(&[job], pgsched_core::ConflictResolution::Raise, 1)
            .await?
            .pop()
            .ok_or_else(|| Error::store("trigger_periodic_job", "no result for the triggered run"))?
            .into_result()
    }

    /// When this binary's schedule for `key` fires next after `after` (`None`: never again).
    /// With [`PeriodicJobInfo::next_fire`] as the first, gives the windows that follow.
    ///
    /// # Errors
    /// [`Error::UnknownPeriodicJob`], or [`Error::DuplicateJobName`] /
    /// [`Error::InvalidSchedule`] for an invalid registry.
    pub fn next_periodic_fire(
        &self,
        key: &str,
        after: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>> {
        Ok(self.periodic(key)?.schedule.next_after(after))
    }

    /// A periodic job's configuration, state, last window and that window's run.
    ///
    /// # Errors
    /// [`Error::UnknownPeriodicJob`], or a store error.
    pub async fn periodic_job_status(&self, key: &str) -> Result<PeriodicJobStatus> {
        let periodic = self.periodic(key)?;
        self.register_periodic().await?;
        let (now, states) = self.store().periodic_states().await?;
        let state = states.into_iter().find(|state| state.key == periodic.key);
        let last_run = match state.as_ref().and_then(|s| s.last_job_id.as_ref()) {
            Some(id) => self.store().job(id).await?,
            None => None,
        };
        Ok(PeriodicJobStatus {
            info: info(periodic, state.as_ref(), now),
            last_window: state.and_then(|s| s.last_window),
            last_run,
        })
    }
}

/// What is listed for `periodic`, given its key's row (`None` only if the row vanished).
fn info(periodic: &Periodic, state: Option<&PeriodicState>, now: DateTime<Utc>) -> PeriodicJobInfo {
    let job = periodic.definition.job;
    let another_in_force = state.filter(|state| !periodic.is_in_force(state));
    let next_fire = match another_in_force {
        // Another binary's schedule is in force: its windows are the ones that will run.
        Some(state) => CompiledSchedule::from_description(&state.schedule)
            .and_then(|schedule| schedule.next_after(now)),
        None => periodic.schedule.next_after(now),
    };
    PeriodicJobInfo {
        key: periodic.key.clone(),
        job_name: job.name,
        schedule: periodic.description.clone(),
        schedule_in_force: state.map_or_else(
            || periodic.description.clone(),
            |state| state.schedule.clone(),
        ),
        registered_by: state.and_then(|state| state.registered_by.clone()),
        registered_at: state.and_then(|state| state.registered_at),
        priority: job.defaults.priority,
        max_retries: job.defaults.max_retries,
        advisory_lock: periodic.definition.advisory_lock,
        enabled: state.map_or(periodic.definition.enabled, |state| state.enabled),
        next_fire,
    }
}
