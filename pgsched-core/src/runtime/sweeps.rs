//! The sweeps every replica runs on its sweep interval: recover jobs whose lease expired,
//! expire jobs that missed their start window, remove the registrations of dead workers and
//! the keys' rate slots that are free again.
//! Each is bounded batches on partial indexes, safe to run concurrently on many replicas
//! (`SKIP LOCKED`), and decides by the database clock.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::Shared;
use super::ticks::SweepPass;

/// Most consecutive full batches per sweep, so one sweep cannot run unbounded.
const MAX_BATCHES_PER_SWEEP: usize = 20;

pub(crate) async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    let mut timer = shared
        .config
        .ticks
        .timer::<SweepPass>(shared.config.sweep_interval)
        .await;
    loop {
        let tick = tokio::select! {
            tick = timer.next() => tick,
            () = stop.cancelled() => return,
        };
        let pass = sweep(&shared).await;
        timer.finished(tick, pass);
    }
}

/// One sweep: orphans first (they may still run), then misfires, then dead workers' rows and
/// free rate slots.
pub(crate) async fn sweep(shared: &Shared) -> SweepPass {
    let mut pass = SweepPass::default();
    recover(shared, &mut pass).await;
    expire(shared, &mut pass).await;
    match shared
        .store
        .prune_workers(shared.config.dead_worker_after)
        .await
    {
        Ok(pruned) => {
            pass.pruned_workers = pruned.len();
            for worker in pruned {
                tracing::info!(%worker, "worker not seen for too long; registration removed");
            }
        }
        Err(error) => tracing::warn!("pruning dead workers failed: {error}"),
    }
    prune_key_rate_slots(shared).await;
    pass
}

/// Removes keys' rate slots that are free again, in bounded batches (they decide nothing: a
/// slot without a row is free; this keeps their table to the keys that started lately).
async fn prune_key_rate_slots(shared: &Shared) {
    let batch = shared.config.sweep_batch;
    for _ in 0..MAX_BATCHES_PER_SWEEP {
        match shared.store.prune_key_rate_slots(batch).await {
            Ok(pruned) if pruned < u64::from(batch) => break,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!("pruning keys' rate slots failed: {error}");
                break;
            }
        }
    }
}

async fn recover(shared: &Shared, pass: &mut SweepPass) {
    let batch = shared.config.sweep_batch;
    for _ in 0..MAX_BATCHES_PER_SWEEP {
        match shared.store.recover_orphans(batch).await {
            Ok(recovered) => {
                for id in &recovered.requeued {
                    tracing::info!(%id, "recovered: lease expired, job pending again");
                }
                for id in &recovered.failed {
                    tracing::warn!(%id, "recovered: lease expired on its last attempt, job failed");
                }
                ::metrics::counter!(crate::metrics::RECOVERED, "outcome" => "requeued")
                    .increment(recovered.requeued.len() as u64);
                ::metrics::counter!(crate::metrics::RECOVERED, "outcome" => "failed")
                    .increment(recovered.failed.len() as u64);
                pass.requeued += recovered.requeued.len();
                pass.failed += recovered.failed.len();
                let touched = recovered.requeued.len() + recovered.failed.len();
                if touched > 0 {
                    shared.lanes.wake_all();
                }
                if touched < batch as usize {
                    break;
                }
            }
            Err(error) => {
                tracing::warn!("orphan recovery failed: {error}");
                break;
            }
        }
    }
}

async fn expire(shared: &Shared, pass: &mut SweepPass) {
    let batch = shared.config.sweep_batch;
    for _ in 0..MAX_BATCHES_PER_SWEEP {
        match shared.store.expire_misfired(batch).await {
            Ok(expired) => {
                pass.expired += expired.len();
                crate::metrics::count_expired(&expired);
                if expired.len() < batch as usize {
                    break;
                }
            }
            Err(error) => {
                tracing::warn!("misfire expiry failed: {error}");
                break;
            }
        }
    }
}
