//! Keeps this worker's leases alive: one statement renews every lease it holds, on the
//! store's small heartbeat pool, and refreshes the worker's registration.
//!
//! A lease missing from the renewal's answer was lost (expired and recovered, or the job was
//! cancelled): its attempt is abandoned at once. If renewals keep failing, every lease not
//! renewed for `lease_duration - heartbeat_interval` is abandoned before the database could
//! hand its job to another worker.

use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::Shared;

pub(crate) async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    let config = &shared.config;
    let max_unrenewed = config
        .lease_duration
        .saturating_sub(config.heartbeat_interval);
    let mut ticker = tokio::time::interval(config.heartbeat_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = stop.cancelled() => return,
        }
        beat(&shared).await;
        let abandoned = shared
            .leases
            .expire_unrenewed(max_unrenewed, Instant::now());
        for lease in abandoned {
            ::metrics::counter!(crate::metrics::LEASE_LOST).increment(1);
            tracing::warn!(id = %lease.id, token = lease.token, "lease lost: not renewed in time, attempt abandoned");
        }
    }
}

async fn beat(shared: &Shared) {
    let leases = shared.leases.snapshot();
    let sent_at = Instant::now();
    let renewal = async {
        if let Err(error) = shared.store.touch_worker(&shared.worker_id).await {
            tracing::warn!("worker heartbeat failed: {error}");
        }
        if leases.is_empty() {
            return Ok(Vec::new());
        }
        shared
            .store
            .renew_leases(&leases, shared.config.lease_duration)
            .await
    };
    match tokio::time::timeout(shared.config.heartbeat_interval, renewal).await {
        Ok(Ok(held)) => {
            for lease in shared.leases.renewed(&leases, &held, sent_at) {
                ::metrics::counter!(crate::metrics::LEASE_LOST).increment(1);
                tracing::warn!(id = %lease.id, token = lease.token, "lease lost: another worker or a cancel took the job; attempt abandoned");
            }
        }
        Ok(Err(error)) => tracing::warn!(leases = leases.len(), "lease renewal failed: {error}"),
        Err(_) => tracing::warn!(leases = leases.len(), "lease renewal timed out"),
    }
}
