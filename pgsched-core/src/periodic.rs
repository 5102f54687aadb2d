//! Periodic jobs: their definitions (from `#[periodic]`), when they fire, which window a run
//! belongs to, and the pure decision of which window to enqueue next.
//!
//! Windows are aligned to the schedule, never to process start: a cron schedule's windows are
//! its fire instants (in its time zone, with cronie's DST rule); an interval's windows start
//! at multiples of the interval since the Unix epoch. Every replica therefore computes the same
//! windows, and the database (a compare-and-set on the schedule's last window, written in the
//! same statement as the job) lets exactly one of them enqueue each window.

use std::time::Duration;

use chrono::{DateTime, Utc};
use pgsched_cron::CronSchedule;

use crate::codec::schema_hash;
use crate::config::ScheduleDefaults;
use crate::error::{Error, Result};
use crate::job::{JobId, NewJob};
use crate::registry::JobDefinition;
use crate::store::PeriodicRegistration;

/// When a periodic job fires, as written in its attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodicSchedule {
    /// A 5-field cron expression in a time zone (`None` = UTC).
    Cron {
        /// The expression, e.g. `"0 9 * * MON-FRI"`.
        expr: &'static str,
        /// An IANA time zone, e.g. `"Europe/London"`.
        tz: Option<&'static str>,
    },
    /// A fixed interval, with windows aligned to the Unix epoch.
    Every(Duration),
}

/// One `#[periodic]` job, collected through `inventory`.
#[derive(Debug, Clone, Copy)]
pub struct PeriodicDefinition {
    /// The job it enqueues.
    pub job: &'static JobDefinition,
    /// When it fires.
    pub schedule: PeriodicSchedule,
    /// The key its windows are deduplicated by; default: derived from name and schedule.
    pub dedup_key: Option<&'static str>,
    /// Whether runs never overlap: each run carries the schedule's key as its exclusive key,
    /// and a claim never starts one while another run of the key is running (the exclusion
    /// follows leases, so a holder that stops renewing keeps it only until its lease expires).
    pub advisory_lock: bool,
    /// Whether the schedule starts enabled (the persisted state wins once it exists).
    pub enabled: bool,
}

inventory::collect!(PeriodicDefinition);

/// A compiled schedule.
#[derive(Debug, Clone)]
pub enum CompiledSchedule {
    /// A cron schedule in its zone.
    Cron(Box<CronSchedule>),
    /// An epoch-aligned interval.
    Every(Duration),
}

impl CompiledSchedule {
    /// The first window strictly after `t`.
    #[must_use]
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            CompiledSchedule::Cron(cron) => cron.next_after(t),
            CompiledSchedule::Every(interval) => {
                let start = pgsched_cron::interval_window_start(t, *interval);
                Some(start + chrono::Duration::from_std(*interval).ok()?)
            }
        }
    }

    /// The latest window at or before `t`.
    #[must_use]
    pub fn latest_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            CompiledSchedule::Cron(cron) => cron.prev_at_or_before(t),
            CompiledSchedule::Every(interval) => {
                Some(pgsched_cron::interval_window_start(t, *interval))
            }
        }
    }
}

/// A periodic job ready to be enqueued: schedule compiled, key resolved.
#[derive(Debug, Clone)]
pub struct Periodic {
    /// Its definition.
    pub definition: &'static PeriodicDefinition,
    /// The dedup key of its windows.
    pub key: String,
    /// The compiled schedule.
    pub schedule: CompiledSchedule,
    /// The schedule as text: `cron:<expr>:tz:<zone>` or `every:<ms>ms`.
    pub description: String,
}

impl Periodic {
    /// Compiles a definition.
    ///
    /// # Errors
    /// [`Error::InvalidSchedule`] for an invalid cron, zone or interval (the macro catches these
    /// at compile time; this guards hand-written definitions).
    pub fn compile(definition: &'static PeriodicDefinition) -> Result<Periodic> {
        let invalid = |reason: String| Error::InvalidSchedule {
            job: definition.job.name,
            reason,
        };
        let (schedule, description) = match definition.schedule {
            PeriodicSchedule::Cron { expr, tz } => {
                let cron = CronSchedule::parse(expr, tz).map_err(|e| invalid(e.to_string()))?;
                let zone = tz.unwrap_or("UTC");
                (
                    CompiledSchedule::Cron(Box::new(cron)),
                    format!("cron:{expr}:tz:{zone}"),
                )
            }
            PeriodicSchedule::Every(interval) => {
                if interval.as_millis() == 0 {
                    return Err(invalid("the interval must be at least 1 ms".into()));
                }
                (
                    CompiledSchedule::Every(interval),
                    format!("every:{}ms", interval.as_millis()),
                )
            }
        };
        let key = match definition.dedup_key {
            Some(key) => {
                crate::job::validate_text("dedup key", key, 512)?;
                key.to_owned()
            }
            None => default_key(definition.job.name, &description),
        };
        Ok(Periodic {
            definition,
            key,
            schedule,
            description,
        })
    }

    /// The job id of `window`'s run: `periodic:<key>:<unix ms>`.
    #[must_use]
    pub fn job_id(&self, window: DateTime<Utc>) -> String {
        format!("periodic:{}:{}", self.key, window.timestamp_millis())
    }

    /// The job's name.
    #[must_use]
    pub fn job_name(&self) -> &'static str {
        self.definition.job.name
    }

    /// The misfire grace of its runs: the job's, else the scheduler default.
    #[must_use]
    pub fn grace(&self, defaults: &ScheduleDefaults) -> Option<Duration> {
        self.definition
            .job
            .defaults
            .misfire_grace
            .resolve(defaults.misfire_grace)
    }

    /// A run of this schedule with the job's defaults: `run_at` is the window (or `None`,
    /// now, for a manual trigger).
    #[must_use]
    pub fn new_job(
        &self,
        id: JobId,
        run_at: Option<DateTime<Utc>>,
        defaults: &ScheduleDefaults,
    ) -> NewJob {
        let definition = self.definition.job;
        NewJob {
            id,
            fresh_id: false,
            name: definition.name.to_owned(),
            // A periodic job has no arguments: its `Args` is an empty struct, zero bytes.
            payload: Vec::new(),
            schema_hash: Some(definition.schema_hash),
            run_at,
            priority: definition.defaults.priority,
            max_retries: definition.defaults.max_retries,
            misfire_grace: self.grace(defaults),
            timeout: definition.defaults.timeout,
            // Runs of one schedule never overlap when it asks for exclusion; the exclusion
            // follows leases (see `NewJob::exclusive_key`).
            exclusive_key: self.definition.advisory_lock.then(|| self.key.clone()),
        }
    }

    /// How this schedule is registered in the store.
    #[must_use]
    pub fn registration(&self) -> PeriodicRegistration {
        PeriodicRegistration {
            key: self.key.clone(),
            job_name: self.job_name().to_owned(),
            schedule: self.description.clone(),
            enabled: self.definition.enabled,
        }
    }
}

/// The default dedup key: 16 hex digits of a hash of the job name and its schedule, so the
/// same job on another schedule (or in another zone) is a different schedule.
#[must_use]
pub fn default_key(job_name: &str, description: &str) -> String {
    format!("{:016x}", schema_hash(&format!("{job_name}|{description}")))
}

/// What the enqueuer should do with one schedule at one tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowDecision {
    /// Enqueue this window (due now, or within the look-ahead).
    Enqueue {
        /// The window's fire instant (the job's due time).
        window: DateTime<Utc>,
        /// Windows before it that were missed and are skipped (`from`, `to`), if any.
        skipped: Option<(DateTime<Utc>, DateTime<Utc>)>,
    },
    /// Nothing to do until this window (if the schedule ever fires again).
    Wait(Option<DateTime<Utc>>),
}

/// Decides which window to enqueue next.
///
/// - `last`: the last window enqueued (by any replica), if any.
/// - `now`: the database clock.
/// - `late_limit`: how late a window may still be enqueued; older windows were missed while
///   every replica was down, and are skipped.
/// - `lookahead`: windows due within this time are enqueued ahead, so they start on time.
#[must_use]
pub fn decide(
    schedule: &CompiledSchedule,
    last: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    late_limit: Duration,
    lookahead: Duration,
) -> WindowDecision {
    let late_limit = chrono::Duration::from_std(late_limit).unwrap_or(chrono::Duration::MAX);
    let lookahead = chrono::Duration::from_std(lookahead).unwrap_or(chrono::Duration::zero());
    let oldest_allowed = now - late_limit;
    let first = match last {
        Some(last) => schedule.next_after(last),
        None => schedule
            .latest_at_or_before(now)
            .filter(|w| *w >= oldest_allowed)
            .or_else(|| schedule.next_after(now)),
    };
    let Some(mut candidate) = first else {
        return WindowDecision::Wait(None);
    };
    let mut skipped = None;
    if candidate < oldest_allowed {
        // Missed while every replica was down: jump to the first window still in time.
        let resumed = schedule
            .latest_at_or_before(now)
            .filter(|w| *w >= oldest_allowed)
            .or_else(|| schedule.next_after(now));
        let Some(resumed) = resumed else {
            return WindowDecision::Wait(None);
        };
        skipped = Some((candidate, resumed));
        candidate = resumed;
    }
    if candidate <= now + lookahead {
        WindowDecision::Enqueue {
            window: candidate,
            skipped,
        }
    } else {
        WindowDecision::Wait(Some(candidate))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, h, m, s)
            .single()
            .expect("valid time")
    }

    const LATE: Duration = Duration::from_secs(300);
    const AHEAD: Duration = Duration::from_secs(1);

    #[test]
    fn interval_windows_are_epoch_aligned() {
        let every = CompiledSchedule::Every(Duration::from_secs(900));
        assert_eq!(every.next_after(at(10, 4, 59)), Some(at(10, 15, 0)));
        assert_eq!(
            every.next_after(at(10, 5, 1)),
            Some(at(10, 15, 0)),
            "start time does not matter"
        );
        assert_eq!(
            every.latest_at_or_before(at(10, 15, 0)),
            Some(at(10, 15, 0))
        );
    }

    #[test]
    fn a_new_schedule_enqueues_the_current_window_if_in_time_else_the_next() {
        let every = CompiledSchedule::Every(Duration::from_secs(60));
        assert_eq!(
            decide(&every, None, at(10, 0, 30), LATE, AHEAD),
            WindowDecision::Enqueue {
                window: at(10, 0, 0),
                skipped: None
            }
        );
        let hourly = CompiledSchedule::Every(Duration::from_secs(3600));
        assert_eq!(
            decide(&hourly, None, at(10, 30, 0), LATE, AHEAD),
            WindowDecision::Wait(Some(at(11, 0, 0))),
            "the 10:00 window is 30 min old, past the late limit"
        );
    }

    #[test]
    fn the_window_after_the_last_is_enqueued_when_due_or_within_lookahead() {
        let every = CompiledSchedule::Every(Duration::from_secs(10));
        assert_eq!(
            decide(&every, Some(at(10, 0, 0)), at(10, 0, 9), LATE, AHEAD),
            WindowDecision::Enqueue {
                window: at(10, 0, 10),
                skipped: None
            }
        );
        assert_eq!(
            decide(&every, Some(at(10, 0, 0)), at(10, 0, 5), LATE, AHEAD),
            WindowDecision::Wait(Some(at(10, 0, 10)))
        );
    }

    #[test]
    fn windows_missed_while_all_replicas_were_down_are_skipped() {
        let every = CompiledSchedule::Every(Duration::from_secs(60));
        let decision = decide(&every, Some(at(8, 0, 0)), at(10, 0, 30), LATE, AHEAD);
        assert_eq!(
            decision,
            WindowDecision::Enqueue {
                window: at(10, 0, 0),
                skipped: Some((at(8, 1, 0), at(10, 0, 0)))
            }
        );
    }

    #[test]
    fn cron_windows_follow_the_fire_times() {
        let cron = CompiledSchedule::Cron(Box::new(
            CronSchedule::parse("*/15 * * * *", Some("Europe/London")).expect("valid"),
        ));
        assert_eq!(
            decide(&cron, Some(at(10, 0, 0)), at(10, 14, 59), LATE, AHEAD),
            WindowDecision::Enqueue {
                window: at(10, 15, 0),
                skipped: None
            }
        );
    }

    #[test]
    fn keys_depend_on_name_and_schedule() {
        let a = default_key("report", "cron:0 9 * * *:tz:America/New_York");
        let b = default_key("report", "cron:0 9 * * *:tz:Europe/London");
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
