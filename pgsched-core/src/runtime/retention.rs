//! The retention timer: each replica checks regularly whether this interval's pass is due,
//! and the one that wins the database's compare-and-set runs it. No thundering herd: at most
//! one replica starts a pass per interval; a pass cut short by its bound is continued at once
//! by the replica that ran it.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Shared;
use crate::retention::{pass_was_cut_short, run_pass};

/// Longest time between two checks of whether a pass is due.
const CHECK_EVERY_AT_MOST: Duration = Duration::from_secs(60);

pub(crate) async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    if !shared.config.vacuum_enabled {
        return;
    }
    let config = shared.config.vacuum;
    let mut ticker = tokio::time::interval(config.interval.min(CHECK_EVERY_AT_MOST));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = stop.cancelled() => return,
        }
        match shared
            .store
            .claim_retention_turn(&shared.worker.id, config.interval)
            .await
        {
            Ok(true) => {}
            Ok(false) => continue,
            Err(error) => {
                tracing::warn!("retention: could not check whether a pass is due: {error}");
                continue;
            }
        }
        // Not raced against `stop`: the pass checks it between batches, so a shutdown never
        // abandons a delete transaction half-way. A pass that reached its bound with rows
        // left is followed by the next at once, within this replica's turn: deletion keeps
        // up with any completion rate instead of waiting an interval per bounded pass.
        loop {
            let report = run_pass(shared.store.as_ref(), &config, &shared.worker.id, &stop).await;
            match report {
                Ok(report) if report.total() > 0 => {
                    tracing::info!(?report, "retention pass deleted finished jobs");
                    if pass_was_cut_short(&report, &config) && !stop.is_cancelled() {
                        continue;
                    }
                }
                Ok(report) => tracing::debug!(?report, "retention pass"),
                Err(error) => tracing::warn!("retention pass failed: {error}"),
            }
            break;
        }
    }
}
