//! The periodic enqueuer: on every replica, every tick, enqueue each enabled schedule's due
//! windows. There is no leader: the store's compare-and-set on the schedule's last window,
//! written in the same statement as the job, lets exactly one replica enqueue each window,
//! whatever the number of replicas, their start order or their clocks (every decision uses
//! the database clock read at the tick).
//!
//! Replicas may disagree about a schedule's expression (a rolling deploy): the most recently
//! started registration wins. Each worker registers its schedules once, when it starts, which
//! makes its expression the one in force; a replica whose expression is not the one in force
//! enqueues nothing for that key (the store refuses it too) and logs why once, until the row
//! agrees with it again (see [`crate::periodic`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::ticks::{PeriodicTick, ScheduleDecision, ScheduleTick};
use crate::job::JobId;
use crate::periodic::{Periodic, WindowDecision, decide};
use crate::store::PeriodicState;

/// Most windows one schedule enqueues per tick (a sub-second interval with a one-second tick
/// needs several).
const MAX_WINDOWS_PER_TICK: usize = 64;
/// How late a window of a job that never expires may still be enqueued after an outage.
const LATE_LIMIT_FOR_NEVER_EXPIRING: Duration = Duration::from_secs(300);

/// Keys whose schedule in force is not this replica's, with the schedule in force that was
/// logged: the disagreement is logged when it starts or changes, not at every tick.
pub(crate) type Disagreements = HashMap<String, String>;

pub(crate) async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    if shared.registry.periodic().is_empty() {
        return;
    }
    let mut timer = shared
        .config
        .ticks
        .timer::<PeriodicTick>(shared.config.periodic_tick)
        .await;
    // Registered when the worker starts, whatever ticks the loop; retried at each tick
    // until it succeeds.
    let mut registered = register(&shared).await;
    let mut disagreements = Disagreements::new();
    loop {
        let next = tokio::select! {
            next = timer.next() => next,
            () = stop.cancelled() => return,
        };
        if registered.is_err() {
            registered = register(&shared).await;
        }
        if let Err(error) = &registered {
            let report = PeriodicTick {
                error: Some(error.clone()),
                ..PeriodicTick::default()
            };
            timer.finished(next, report);
            continue;
        }
        let report = tick(&shared, &mut disagreements, TickAt::Database).await;
        timer.finished(next, report);
    }
}

/// Registers this worker's schedules, making their expressions the ones in force; on failure
/// logs and returns why.
pub(crate) async fn register(shared: &Shared) -> Result<(), String> {
    let registrations: Vec<_> = shared
        .registry
        .periodic()
        .iter()
        .map(Periodic::registration)
        .collect();
    shared
        .store
        .register_periodic(&registrations, Some(&shared.worker.id))
        .await
        .map_err(|error| {
            tracing::warn!("registering periodic schedules failed: {error}");
            format!("registering periodic schedules failed: {error}")
        })
}

/// The instant a periodic tick decides at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TickAt {
    /// The database clock, read with the schedules; windows due within one tick
    /// ([`crate::WorkerConfig::periodic_tick`]) are enqueued ahead, due at their window, so
    /// they start on time. What workers do.
    Database,
    /// An instant a test chose (see [`super::InlineWorker::periodic_tick_at`]): windows up to
    /// it are enqueued, none ahead. A window after the database clock is due at once (its id
    /// still names the window), since claims obey the database clock, which a test cannot move.
    Chosen(DateTime<Utc>),
}

pub(crate) async fn tick(
    shared: &Shared,
    disagreements: &mut Disagreements,
    at: TickAt,
) -> PeriodicTick {
    let (database_now, states) = match shared.store.periodic_states().await {
        Ok(read) => read,
        Err(error) => {
            tracing::warn!("reading periodic schedules failed: {error}");
            return PeriodicTick {
                error: Some(format!("reading periodic schedules failed: {error}")),
                ..PeriodicTick::default()
            };
        }
    };
    let now = match at {
        TickAt::Database => database_now,
        TickAt::Chosen(chosen) => chosen,
    };
    let mut report = PeriodicTick {
        now: Some(now),
        ..PeriodicTick::default()
    };
    for periodic in shared.registry.periodic() {
        let decision = match states.iter().find(|state| state.key == periodic.key) {
            None => ScheduleDecision::Unregistered,
            Some(state) if !in_force(shared, periodic, state, disagreements) => {
                ScheduleDecision::NotInForce
            }
            Some(state) if !state.enabled => ScheduleDecision::Disabled,
            Some(state) => {
                let window = Window {
                    last: state.last_window,
                    since: state.since,
                    now,
                    database_now,
                    at,
                };
                enqueue_due(shared, periodic, window).await
            }
        };
        report.schedules.push(ScheduleTick {
            key: periodic.key.clone(),
            decision,
        });
    }
    report
}

/// Whether this replica's schedule is the one in force for its key; logs a disagreement when
/// it starts or changes, and its end.
fn in_force(
    shared: &Shared,
    periodic: &Periodic,
    state: &PeriodicState,
    disagreements: &mut Disagreements,
) -> bool {
    if periodic.is_in_force(state) {
        if disagreements.remove(&periodic.key).is_some() {
            tracing::info!(
                key = %periodic.key,
                schedule = %periodic.description,
                "this replica's periodic schedule is in force again; enqueueing its windows"
            );
        }
        return true;
    }
    let in_force = format!("{} of job {}", state.schedule, state.job_name);
    if disagreements.get(&periodic.key) != Some(&in_force) {
        let by = match (&state.registered_by, state.registered_at) {
            (Some(worker), Some(at)) => format!("worker {worker} at {at}"),
            _ => "a management call".to_owned(),
        };
        tracing::warn!(
            key = %periodic.key,
            worker = %shared.worker.id,
            "periodic schedule {key:?}: this replica has {ours} of job {job}, but the one in \
             force is {in_force}, registered more recently (by {by}); the most recently \
             started registration wins, so this replica enqueues nothing for {key:?} until it \
             restarts or the schedule in force is its own again",
            key = periodic.key,
            ours = periodic.description,
            job = periodic.job_name(),
        );
        disagreements.insert(periodic.key.clone(), in_force);
    }
    false
}

/// What one tick knows about one schedule's windows.
struct Window {
    /// The last window enqueued.
    last: Option<DateTime<Utc>>,
    /// Since when the schedule in force is in force.
    since: DateTime<Utc>,
    /// The instant the tick decides at.
    now: DateTime<Utc>,
    /// The database clock, read with the schedules.
    database_now: DateTime<Utc>,
    /// Where `now` comes from.
    at: TickAt,
}

async fn enqueue_due(shared: &Shared, periodic: &Periodic, window: Window) -> ScheduleDecision {
    let Window {
        mut last,
        since,
        now,
        database_now,
        at,
    } = window;
    let lookahead = match at {
        TickAt::Database => shared.config.periodic_tick,
        TickAt::Chosen(_) => Duration::ZERO,
    };
    let grace = periodic.grace(&shared.schedule_defaults);
    let late_limit = grace.unwrap_or(LATE_LIMIT_FOR_NEVER_EXPIRING);
    let mut enqueued = Vec::new();
    let mut already_enqueued = Vec::new();
    let mut failure = None;
    for _ in 0..MAX_WINDOWS_PER_TICK {
        let WindowDecision::Enqueue { window, skipped } =
            decide(&periodic.schedule, last, since, now, late_limit, lookahead)
        else {
            break;
        };
        let id = JobId::from_stored(periodic.job_id(window));
        let run_at = match at {
            TickAt::Chosen(_) if window > database_now => None,
            _ => Some(window),
        };
        let job = periodic.new_job(id, run_at, &shared.schedule_defaults);
        match shared
            .store
            .enqueue_periodic(&periodic.key, &periodic.description, window, &job)
            .await
        {
            Ok(true) => {
                if let Some((from, to)) = skipped {
                    tracing::info!(key = %periodic.key, %from, %to, "skipped periodic windows older than the late limit (missed while no worker enqueued them)");
                }
                tracing::debug!(key = %periodic.key, %window, id = %job.id, "periodic window enqueued");
                enqueued.push(window);
            }
            Ok(false) => {
                tracing::trace!(key = %periodic.key, %window, "periodic window already enqueued");
                already_enqueued.push(window);
            }
            Err(error) => {
                tracing::warn!(key = %periodic.key, %window, "enqueueing a periodic window failed: {error}");
                failure = Some(error.to_string());
                break;
            }
        }
        last = Some(window);
    }
    ScheduleDecision::Evaluated {
        enqueued,
        already_enqueued,
        error: failure,
    }
}
