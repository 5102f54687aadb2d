//! Waiting on what the runtime reports (its periodic ticks, sweeps, claim loop and listener;
//! see [`pgsched_core::runtime::TickSource`]) instead of sleeping to prove that something did
//! not happen.

use pgsched_core::runtime::{PeriodicTick, ScheduleDecision, TickEvent};
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;

use crate::DEADLINE;

/// Waits for the first report that `matching` picks a value from; panics with `what` after
/// [`DEADLINE`], or when the reports end.
pub async fn next_event<T>(
    events: &mut Receiver<TickEvent>,
    what: &str,
    mut matching: impl FnMut(&TickEvent) -> Option<T>,
) -> T {
    let waited = tokio::time::timeout(DEADLINE, async {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let Some(value) = matching(&event) {
                        return value;
                    }
                }
                // Reports this test did not look at were dropped; later ones still count.
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => panic!("the tick reports ended waiting for {what}"),
            }
        }
    })
    .await;
    match waited {
        Ok(value) => value,
        Err(_) => panic!("timed out after {DEADLINE:?} waiting for {what}"),
    }
}

/// Waits for the first periodic tick for which `matching` holds; returns it.
pub async fn periodic_tick(
    events: &mut Receiver<TickEvent>,
    what: &str,
    mut matching: impl FnMut(&PeriodicTick) -> bool,
) -> PeriodicTick {
    next_event(events, what, |event| match event {
        TickEvent::Periodic(tick) if matching(tick) => Some(tick.clone()),
        _ => None,
    })
    .await
}

/// The windows of `key` that `tick` enqueued (none if it did not evaluate `key`).
#[must_use]
pub fn enqueued(tick: &PeriodicTick, key: &str) -> Vec<chrono::DateTime<chrono::Utc>> {
    match tick.decision(key) {
        Some(ScheduleDecision::Evaluated { enqueued, .. }) => enqueued.clone(),
        _ => Vec::new(),
    }
}
