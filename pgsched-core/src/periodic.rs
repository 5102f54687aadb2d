//! Periodic jobs: their definitions (from `#[periodic]`), when they fire, which window a run
//! belongs to, and the pure decision of which window to enqueue next.
//!
//! Windows are aligned to the schedule, never to process start: a cron schedule's windows are
//! its fire instants (in its time zone, with cronie's DST rule); an interval's windows start
//! at multiples of the interval since the Unix epoch. Every replica therefore computes the same
//! windows, and the database (a compare-and-set on the schedule's last window, written in the
//! same statement as the job) lets exactly one of them enqueue each window.
//!
//! # Identity
//!
//! A schedule is identified by its key: the job's name, or an explicit `dedup_key`. Its
//! expression is *not* part of its identity: the schedule's row records the expression in
//! force, and changing the expression in code changes that row on the next worker start
//! instead of creating a new schedule, so the row keeps its `enabled` state and its last
//! window. When replicas disagree about the expression (a rolling deploy), **the most recently
//! started registration wins**: every worker writes its expression, the time and its worker id
//! into the row when it starts; a replica whose expression differs from the row's enqueues
//! nothing for that key (and says so in its log, once) until the row agrees with it again,
//! which takes a (re)start of a replica with its expression: stopping the winners alone leaves
//! the key without an enqueuer.
//! Windows that fell before the expression in force was first recorded (`since`) are never
//! run: neither the window just before a brand-new schedule was registered, nor windows of a
//! new expression that fell before the change.

use std::time::Duration;

use chrono::{DateTime, Utc};
use pgsched_cron::CronSchedule;

use crate::codec::schema_hash;
use crate::config::ScheduleDefaults;
use crate::error::{Error, Result};
use crate::job::{JobId, JobOptions, NewJob};
use crate::registry::JobDefinition;
use crate::store::{PeriodicRegistration, PeriodicState};

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
    /// The key its windows are deduplicated by; default: the job's name. The schedule is not
    /// part of it, so changing the schedule keeps the key (and its persisted state).
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

    /// The first window at or after `t`.
    #[must_use]
    pub fn first_at_or_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.next_after(t.checked_sub_signed(chrono::TimeDelta::nanoseconds(1))?)
    }

    /// Compiles a schedule from its description (`cron:<expr>:tz:<zone>` or `every:<ms>ms`,
    /// as [`Periodic::description`] writes it), such as the one a schedule's row records.
    /// `None` for text that is not such a description.
    #[must_use]
    pub fn from_description(description: &str) -> Option<CompiledSchedule> {
        if let Some(rest) = description.strip_prefix("cron:") {
            let (expr, zone) = rest.rsplit_once(":tz:")?;
            let cron = CronSchedule::parse(expr, Some(zone)).ok()?;
            return Some(CompiledSchedule::Cron(Box::new(cron)));
        }
        let millis: u64 = description
            .strip_prefix("every:")?
            .strip_suffix("ms")?
            .parse()
            .ok()?;
        (millis > 0).then(|| CompiledSchedule::Every(Duration::from_millis(millis)))
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
                crate::error::validate_key(pgsched_names::Key::DEDUP_KEY, key)?;
                key.to_owned()
            }
            None => definition.job.name.to_owned(),
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
        let options = JobOptions {
            misfire_grace: self.grace(defaults).into(),
            ..definition.defaults.clone()
        };
        NewJob {
            id,
            fresh_id: false,
            schema_hash: Some(definition.schema_hash),
            run_at,
            // Runs of one schedule never overlap when it asks for exclusion; the exclusion
            // follows leases (see `NewJob::exclusive_key`).
            exclusive_key: self.definition.advisory_lock.then(|| self.key.clone()),
            // A periodic job has no arguments: its `Args` is an empty struct, zero bytes.
            ..NewJob::new(definition.name, Vec::new(), options)
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

    /// Whether `state` (its key's row) records this schedule as the one in force: the same
    /// job and the same schedule. When it does not, another replica registered a different
    /// schedule for the key more recently, and this replica enqueues nothing for it.
    #[must_use]
    pub fn is_in_force(&self, state: &PeriodicState) -> bool {
        state.job_name == self.job_name() && state.schedule == self.description
    }
}

/// The dedup key versions before schema 5 derived when none was given: 16 hex digits of a
/// hash of the job name and its schedule description. Keys no longer depend on the schedule
/// (the default is the job's name); this survives only so that registration can recognise
/// the rows those versions wrote and carry their state over (see [`legacy_adoptions`]).
#[must_use]
pub fn legacy_default_key(job_name: &str, description: &str) -> String {
    format!("{:016x}", schema_hash(&format!("{job_name}|{description}")))
}

/// For each registration, the row an earlier version wrote for the same schedule under its
/// hashed default key, whose state (enabled, last window) the registration takes over when it
/// creates its own row: `None` when there is none, or when the registration's row exists
/// already, or when the registration has an explicit key (one that is not its job name).
///
/// A row is such a legacy row when its key is exactly [`legacy_default_key`] of its own job
/// name and schedule (the hash can only be computed here, not in SQL), its job is the
/// registration's, and no registration uses its key. Of several (each expression change made
/// a new one), the most recently updated is the one replicas were using.
#[must_use]
pub fn legacy_adoptions(
    registrations: &[PeriodicRegistration],
    rows: &[PeriodicState],
) -> Vec<Option<String>> {
    let registered = |key: &str| registrations.iter().any(|r| r.key == key);
    registrations
        .iter()
        .map(|registration| {
            if registration.key != registration.job_name
                || rows.iter().any(|row| row.key == registration.key)
            {
                return None;
            }
            rows.iter()
                .filter(|row| {
                    row.job_name == registration.job_name
                        && row.key == legacy_default_key(&row.job_name, &row.schedule)
                        && !registered(&row.key)
                })
                .max_by_key(|row| row.updated_at)
                .map(|row| row.key.clone())
        })
        .collect()
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

/// The first window not enqueued yet: the one after `last` (the last window enqueued), unless
/// that was before `since` (when the schedule in force came into force), then the first at or
/// after `since`. `None` if the schedule never fires again. [`decide`] starts from it.
#[must_use]
pub fn next_window(
    schedule: &CompiledSchedule,
    last: Option<DateTime<Utc>>,
    since: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match last {
        Some(last) if last >= since => schedule.next_after(last),
        _ => schedule.first_at_or_after(since),
    }
}

/// Decides which window to enqueue next. Pure: every instant comes from the database.
///
/// - `last`: the last window enqueued (by any replica, under any expression), if any.
/// - `since`: when the expression in force was first recorded for the key (the schedule's
///   registration, or the change to this expression). Windows before it are never enqueued:
///   a brand-new schedule does not run the window that fell just before its registration,
///   and a changed expression does not run its windows from before the change.
/// - `now`: the database clock.
/// - `late_limit`: how late a window may still be enqueued; older windows were missed while
///   every replica was down, and are skipped.
/// - `lookahead`: windows due within this time are enqueued ahead, so they start on time.
#[must_use]
pub fn decide(
    schedule: &CompiledSchedule,
    last: Option<DateTime<Utc>>,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    late_limit: Duration,
    lookahead: Duration,
) -> WindowDecision {
    let late_limit = chrono::Duration::from_std(late_limit).unwrap_or(chrono::Duration::MAX);
    let lookahead = chrono::Duration::from_std(lookahead).unwrap_or(chrono::Duration::zero());
    let oldest_allowed = now
        .checked_sub_signed(late_limit)
        .unwrap_or(since)
        .max(since);
    let Some(mut candidate) = next_window(schedule, last, since) else {
        return WindowDecision::Wait(None);
    };
    let mut skipped = None;
    if candidate < oldest_allowed {
        // Missed while every replica was down (or the schedule was disabled): jump to the
        // first window still in time.
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
    /// A schedule registered long before any of the instants below.
    fn long_ago() -> DateTime<Utc> {
        at(0, 0, 0)
    }

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
        assert_eq!(every.first_at_or_after(at(10, 15, 0)), Some(at(10, 15, 0)));
        let just_after = at(10, 15, 0) + chrono::TimeDelta::microseconds(1);
        assert_eq!(every.first_at_or_after(just_after), Some(at(10, 30, 0)));
    }

    #[test]
    fn a_new_schedule_starts_with_the_first_window_at_or_after_its_registration() {
        let every = CompiledSchedule::Every(Duration::from_secs(60));
        // Registered at 10:00:30: the 10:00 window fell before, so 11:01 is the first.
        assert_eq!(
            decide(&every, None, at(10, 0, 30), at(10, 0, 30), LATE, AHEAD),
            WindowDecision::Wait(Some(at(10, 1, 0)))
        );
        assert_eq!(
            decide(&every, None, at(10, 0, 30), at(10, 0, 59), LATE, AHEAD),
            WindowDecision::Enqueue {
                window: at(10, 1, 0),
                skipped: None
            },
            "enqueued ahead within the look-ahead"
        );
        // Registered exactly on a window: that window is not before the registration.
        assert_eq!(
            decide(&every, None, at(10, 0, 0), at(10, 0, 0), LATE, AHEAD),
            WindowDecision::Enqueue {
                window: at(10, 0, 0),
                skipped: None
            }
        );
        let cron = CompiledSchedule::Cron(Box::new(
            CronSchedule::parse("0 * * * *", None).expect("valid"),
        ));
        assert_eq!(
            decide(&cron, None, at(10, 0, 1), at(10, 0, 2), LATE, AHEAD),
            WindowDecision::Wait(Some(at(11, 0, 0))),
            "the 10:00 window is 1 s older than the schedule: not run"
        );
    }

    #[test]
    fn a_schedule_registered_earlier_runs_its_current_window_if_in_time_else_the_next() {
        // Registered long ago but never enqueued (disabled, or no worker ran it): the windows
        // in between are skipped down to the latest one still within the late limit.
        let every = CompiledSchedule::Every(Duration::from_secs(60));
        assert_eq!(
            decide(&every, None, long_ago(), at(10, 0, 30), LATE, AHEAD),
            WindowDecision::Enqueue {
                window: at(10, 0, 0),
                skipped: Some((at(0, 0, 0), at(10, 0, 0)))
            }
        );
        let hourly = CompiledSchedule::Every(Duration::from_secs(3600));
        assert_eq!(
            decide(&hourly, None, long_ago(), at(10, 30, 0), LATE, AHEAD),
            WindowDecision::Wait(Some(at(11, 0, 0))),
            "the 10:00 window is 30 min old, past the late limit"
        );
    }

    #[test]
    fn the_window_after_the_last_is_enqueued_when_due_or_within_lookahead() {
        let every = CompiledSchedule::Every(Duration::from_secs(10));
        assert_eq!(
            decide(
                &every,
                Some(at(10, 0, 0)),
                long_ago(),
                at(10, 0, 9),
                LATE,
                AHEAD
            ),
            WindowDecision::Enqueue {
                window: at(10, 0, 10),
                skipped: None
            }
        );
        assert_eq!(
            decide(
                &every,
                Some(at(10, 0, 0)),
                long_ago(),
                at(10, 0, 5),
                LATE,
                AHEAD
            ),
            WindowDecision::Wait(Some(at(10, 0, 10)))
        );
    }

    #[test]
    fn windows_missed_while_all_replicas_were_down_are_skipped() {
        let every = CompiledSchedule::Every(Duration::from_secs(60));
        let decision = decide(
            &every,
            Some(at(8, 0, 0)),
            long_ago(),
            at(10, 0, 30),
            LATE,
            AHEAD,
        );
        assert_eq!(
            decision,
            WindowDecision::Enqueue {
                window: at(10, 0, 0),
                skipped: Some((at(8, 1, 0), at(10, 0, 0)))
            }
        );
        // A restart within the late limit (same expression, `since` unchanged) catches up.
        assert_eq!(
            decide(
                &every,
                Some(at(10, 0, 0)),
                long_ago(),
                at(10, 2, 30),
                LATE,
                AHEAD
            ),
            WindowDecision::Enqueue {
                window: at(10, 1, 0),
                skipped: None
            }
        );
    }

    #[test]
    fn a_changed_expression_runs_none_of_its_windows_from_before_the_change() {
        // Every hour until 10:20:30, then every minute: the minutes 10:01..10:20 fell before
        // the change and are not run, although they are after the last window (10:00) and
        // within the late limit.
        let minutely = CompiledSchedule::Every(Duration::from_secs(60));
        let changed = at(10, 20, 30);
        assert_eq!(
            decide(
                &minutely,
                Some(at(10, 0, 0)),
                changed,
                at(10, 20, 31),
                LATE,
                AHEAD
            ),
            WindowDecision::Wait(Some(at(10, 21, 0)))
        );
        assert_eq!(
            decide(
                &minutely,
                Some(at(10, 0, 0)),
                changed,
                at(10, 21, 0),
                LATE,
                AHEAD
            ),
            WindowDecision::Enqueue {
                window: at(10, 21, 0),
                skipped: None
            }
        );
        // Every minute until 10:20:30, then every 15 minutes: the next window of the new
        // expression after the last one enqueued under the old.
        let quarterly = CompiledSchedule::Cron(Box::new(
            CronSchedule::parse("*/15 * * * *", None).expect("valid"),
        ));
        assert_eq!(
            decide(
                &quarterly,
                Some(at(10, 21, 0)),
                changed,
                at(10, 29, 59),
                LATE,
                AHEAD
            ),
            WindowDecision::Enqueue {
                window: at(10, 30, 0),
                skipped: None
            }
        );
        // A last window enqueued ahead under the old expression is never enqueued again.
        assert_eq!(
            decide(
                &quarterly,
                Some(at(10, 30, 0)),
                at(10, 29, 59),
                at(10, 30, 0),
                LATE,
                AHEAD
            ),
            WindowDecision::Wait(Some(at(10, 45, 0)))
        );
    }

    #[test]
    fn cron_windows_follow_the_fire_times() {
        let cron = CompiledSchedule::Cron(Box::new(
            CronSchedule::parse("*/15 * * * *", Some("Europe/London")).expect("valid"),
        ));
        assert_eq!(
            decide(
                &cron,
                Some(at(10, 0, 0)),
                long_ago(),
                at(10, 14, 59),
                LATE,
                AHEAD
            ),
            WindowDecision::Enqueue {
                window: at(10, 15, 0),
                skipped: None
            }
        );
    }

    #[test]
    fn descriptions_compile_back_to_their_schedules() {
        let cron = CompiledSchedule::from_description("cron:0 9 * * MON-FRI:tz:Europe/London")
            .expect("a cron description");
        // 2026-11-30 is a Monday; 09:00 London is 09:00 UTC in winter.
        let monday = Utc
            .with_ymd_and_hms(2026, 11, 30, 9, 0, 0)
            .single()
            .expect("valid");
        assert_eq!(cron.next_after(at(12, 0, 0)), Some(monday));
        let utc = CompiledSchedule::from_description("cron:@hourly:tz:UTC").expect("utc");
        assert_eq!(utc.next_after(at(10, 0, 0)), Some(at(11, 0, 0)));
        let every = CompiledSchedule::from_description("every:1500ms").expect("every");
        assert_eq!(
            every.next_after(at(10, 0, 0)),
            Some(at(10, 0, 0) + chrono::TimeDelta::milliseconds(1500))
        );
        for text in [
            "every:0ms",
            "every:15m",
            "cron:0 9 * * *",
            "cron:61 * * * *:tz:UTC",
            "cron:0 9 * * *:tz:Mars/Base",
            "",
        ] {
            assert!(
                CompiledSchedule::from_description(text).is_none(),
                "{text:?}"
            );
        }
    }

    fn job(name: &'static str) -> &'static JobDefinition {
        fn never_runs(
            _: crate::context::JobContext,
            _: &[u8],
        ) -> std::result::Result<crate::registry::JobFuture, crate::outcome::FailureReason>
        {
            Err(crate::outcome::FailureReason::Decode(
                "test definition".into(),
            ))
        }
        fn no_json(_: &[u8]) -> std::result::Result<serde_json::Value, String> {
            Err("test definition".into())
        }
        fn no_payload(_: serde_json::Value) -> std::result::Result<Vec<u8>, String> {
            Err("test definition".into())
        }
        Box::leak(Box::new(JobDefinition {
            name,
            schema: "",
            schema_hash: 0,
            defaults: crate::job::JobOptions::STANDARD,
            upgrades: &[],
            output: crate::registry::OutputDefinition::UNIT,
            run: never_runs,
            args_to_json: no_json,
            args_from_json: no_payload,
            file: "periodic.rs",
            line: 1,
        }))
    }

    fn compile(
        name: &'static str,
        schedule: PeriodicSchedule,
        dedup_key: Option<&'static str>,
    ) -> Periodic {
        let definition = Box::leak(Box::new(PeriodicDefinition {
            job: job(name),
            schedule,
            dedup_key,
            advisory_lock: false,
            enabled: true,
        }));
        Periodic::compile(definition).expect("compiles")
    }

    fn row(key: &str, job_name: &str, schedule: &str, updated: DateTime<Utc>) -> PeriodicState {
        PeriodicState {
            key: key.to_owned(),
            job_name: job_name.to_owned(),
            schedule: schedule.to_owned(),
            enabled: false,
            last_window: None,
            last_job_id: None,
            since: long_ago(),
            registered_at: None,
            registered_by: None,
            updated_at: updated,
        }
    }

    #[test]
    fn the_key_is_the_job_name_whatever_the_schedule() {
        let every = compile(
            "report",
            PeriodicSchedule::Every(Duration::from_secs(60)),
            None,
        );
        let cron = compile(
            "report",
            PeriodicSchedule::Cron {
                expr: "0 9 * * *",
                tz: Some("Europe/London"),
            },
            None,
        );
        assert_eq!(every.key, "report");
        assert_eq!(cron.key, "report");
        assert_eq!(cron.description, "cron:0 9 * * *:tz:Europe/London");
        let explicit = compile(
            "report",
            PeriodicSchedule::Every(Duration::from_secs(60)),
            Some("reports.v2"),
        );
        assert_eq!(
            explicit.key, "reports.v2",
            "an explicit dedup_key still wins"
        );
        assert_eq!(
            explicit.job_id(at(10, 0, 0)),
            "periodic:reports.v2:1795860000000"
        );
    }

    #[test]
    fn a_replica_follows_only_the_schedule_in_force() {
        let every = compile(
            "report",
            PeriodicSchedule::Every(Duration::from_secs(60)),
            None,
        );
        let mut state = row("report", "report", "every:60000ms", long_ago());
        assert!(every.is_in_force(&state));
        state.schedule = "every:30000ms".into();
        assert!(!every.is_in_force(&state), "another expression");
        state.schedule = "every:60000ms".into();
        state.job_name = "other".into();
        assert!(!every.is_in_force(&state), "another job under the key");
    }

    #[test]
    fn legacy_keys_hash_name_and_schedule() {
        let a = legacy_default_key("report", "cron:0 9 * * *:tz:America/New_York");
        let b = legacy_default_key("report", "cron:0 9 * * *:tz:Europe/London");
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn registration_adopts_the_latest_legacy_row_of_its_job() {
        let report = compile(
            "report",
            PeriodicSchedule::Every(Duration::from_secs(60)),
            None,
        );
        let explicit = compile(
            "digest",
            PeriodicSchedule::Every(Duration::from_secs(60)),
            Some("digest.v1"),
        );
        let registrations = [report.registration(), explicit.registration()];
        let old = legacy_default_key("report", "every:30000ms");
        let older = legacy_default_key("report", "every:10000ms");
        let digest_old = legacy_default_key("digest", "every:60000ms");
        let rows = vec![
            row(&older, "report", "every:10000ms", at(8, 0, 0)),
            row(&old, "report", "every:30000ms", at(9, 0, 0)),
            // Not a legacy row: its key is not the hash of its own name and schedule.
            row("0123456789abcdef", "report", "every:60000ms", at(9, 30, 0)),
            row(&digest_old, "digest", "every:60000ms", at(9, 0, 0)),
        ];
        assert_eq!(
            legacy_adoptions(&registrations, &rows),
            vec![Some(old.clone()), None],
            "the most recently updated legacy row of the job (even of another expression); \
             none for an explicit key"
        );
        let mut with_new_row = rows.clone();
        with_new_row.push(row("report", "report", "every:60000ms", at(7, 0, 0)));
        assert_eq!(
            legacy_adoptions(&registrations, &with_new_row),
            vec![None, None],
            "a schedule whose row exists adopts nothing"
        );
    }
}
