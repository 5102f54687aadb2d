//! The periodic enqueuer: on every replica, every tick, enqueue each enabled schedule's due
//! windows. There is no leader: the store's compare-and-set on the schedule's last window,
//! written in the same statement as the job, lets exactly one replica enqueue each window,
//! whatever the number of replicas, their start order or their clocks (every decision uses
//! the database clock read at the tick).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::Shared;
use crate::job::JobId;
use crate::periodic::{Periodic, WindowDecision, decide};

/// Most windows one schedule enqueues per tick (a sub-second interval with a one-second tick
/// needs several).
const MAX_WINDOWS_PER_TICK: usize = 64;
/// How late a window of a job that never expires may still be enqueued after an outage.
const LATE_LIMIT_FOR_NEVER_EXPIRING: Duration = Duration::from_secs(300);

pub(crate) async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    if shared.registry.periodic().is_empty() {
        return;
    }
    let mut ticker = tokio::time::interval(shared.config.periodic_tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut registered = false;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = stop.cancelled() => return,
        }
        if !registered {
            let registrations: Vec<_> = shared
                .registry
                .periodic()
                .iter()
                .map(Periodic::registration)
                .collect();
            match shared.store.register_periodic(&registrations).await {
                Ok(()) => registered = true,
                Err(error) => {
                    tracing::warn!("registering periodic schedules failed: {error}");
                    continue;
                }
            }
        }
        tick(&shared).await;
    }
}

async fn tick(shared: &Shared) {
    let (now, states) = match shared.store.periodic_states().await {
        Ok(read) => read,
        Err(error) => {
            tracing::warn!("reading periodic schedules failed: {error}");
            return;
        }
    };
    for periodic in shared.registry.periodic() {
        let Some(state) = states.iter().find(|state| state.key == periodic.key) else {
            continue;
        };
        if state.enabled {
            enqueue_due(shared, periodic, state.last_window, now).await;
        }
    }
}

async fn enqueue_due(
    shared: &Shared,
    periodic: &Periodic,
    mut last: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) {
    let grace = periodic.grace(&shared.schedule_defaults);
    let late_limit = grace.unwrap_or(LATE_LIMIT_FOR_NEVER_EXPIRING);
    for _ in 0..MAX_WINDOWS_PER_TICK {
        let WindowDecision::Enqueue { window, skipped } = decide(
            &periodic.schedule,
            last,
            now,
            late_limit,
            shared.config.periodic_tick,
        ) else {
            return;
        };
        let id = JobId::from_stored(periodic.job_id(window));
        let job = periodic.new_job(id, Some(window), &shared.schedule_defaults);
        match shared
            .store
            .enqueue_periodic(&periodic.key, window, &job)
            .await
        {
            Ok(true) => {
                if let Some((from, to)) = skipped {
                    tracing::info!(key = %periodic.key, %from, %to, "skipped periodic windows missed while no worker ran");
                }
                tracing::debug!(key = %periodic.key, %window, id = %job.id, "periodic window enqueued");
            }
            Ok(false) => {
                tracing::trace!(key = %periodic.key, %window, "periodic window already enqueued");
            }
            Err(error) => {
                tracing::warn!(key = %periodic.key, %window, "enqueueing a periodic window failed: {error}");
                return;
            }
        }
        last = Some(window);
    }
}
