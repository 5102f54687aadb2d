//! The claim loop: claims due jobs into free slots and starts them.
//!
//! It never claims more jobs than it has free slots, so every claimed job starts at once. It
//! claims again straight away while claims come back full (a backlog), waits for a slot when
//! all are busy, and otherwise sleeps until a notification, a freed slot after a backlog, or
//! the poll interval.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::Shared;
use super::executor;
use super::finisher::Message;
use crate::store::Release;

/// Backoff after a failed claim: starts here, doubles, capped at `CLAIM_RETRY_MAX`.
const CLAIM_RETRY_MIN: Duration = Duration::from_millis(100);
const CLAIM_RETRY_MAX: Duration = Duration::from_secs(5);
/// Shortest idle sleep between claims.
const MIN_IDLE_WAIT: Duration = Duration::from_millis(10);

pub(crate) async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    let mut backlog = true;
    let mut retry_delay = CLAIM_RETRY_MIN;
    loop {
        if stop.is_cancelled() {
            return;
        }
        if !backlog {
            let wait = idle_wait(&shared).await;
            tokio::select! {
                () = shared.work_available.notified() => {}
                () = tokio::time::sleep(wait) => {}
                () = stop.cancelled() => return,
            }
        }
        let free = shared.slots.available_permits();
        if free == 0 {
            tokio::select! {
                () = shared.slot_freed.notified() => {}
                () = stop.cancelled() => return,
            }
            backlog = true;
            continue;
        }
        let limit = u32::try_from(free)
            .unwrap_or(u32::MAX)
            .min(shared.config.batch_claim_limit);
        let sent_at = Instant::now();
        let claimed = match shared
            .store
            .claim(&shared.worker_id, limit, shared.config.lease_duration)
            .await
        {
            Ok(claimed) => {
                retry_delay = CLAIM_RETRY_MIN;
                claimed
            }
            Err(error) => {
                tracing::warn!(
                    retry_in_ms = retry_delay.as_millis() as u64,
                    "claim failed: {error}"
                );
                tokio::select! {
                    () = tokio::time::sleep(retry_delay) => {}
                    () = stop.cancelled() => return,
                }
                retry_delay = (retry_delay * 2).min(CLAIM_RETRY_MAX);
                backlog = true;
                continue;
            }
        };
        backlog = claimed.len() == limit as usize;
        if !claimed.is_empty() {
            tracing::debug!(count = claimed.len(), "claimed");
        }
        for job in claimed {
            let abort = shared.leases.insert(&job.lease, sent_at);
            let permit = if stop.is_cancelled() {
                None
            } else {
                Arc::clone(&shared.slots).try_acquire_owned().ok()
            };
            match permit {
                Some(permit) => {
                    shared
                        .tasks
                        .spawn(executor::execute(Arc::clone(&shared), job, abort, permit));
                }
                None => {
                    // Shutdown began while claiming: give the job back, attempt not consumed.
                    shared.finisher.send(Message::Release(Release {
                        lease: job.lease,
                        refund_attempt: true,
                    }));
                }
            }
        }
    }
}

/// How long to sleep without a wake-up: until the earliest pending job is due (so jobs
/// scheduled for later start on time), at most the poll interval, at least `MIN_IDLE_WAIT`
/// (a due job that another worker is claiming right now must not make this loop spin).
async fn idle_wait(shared: &Shared) -> Duration {
    let poll = shared.config.poll_interval;
    match shared.store.next_due().await {
        Ok(Some(due)) => due.clamp(MIN_IDLE_WAIT, poll.max(MIN_IDLE_WAIT)),
        Ok(None) => poll,
        Err(error) => {
            tracing::debug!("next due time unknown: {error}");
            poll
        }
    }
}

/// Forwards store notifications to the dispatcher; a reconnect also wakes it, because
/// notifications sent while the connection was down are lost.
pub(crate) async fn listen(shared: Arc<Shared>, stop: CancellationToken) {
    let mut listener = loop {
        match shared.store.listen().await {
            Ok(listener) => break listener,
            Err(error) => {
                tracing::warn!(
                    "could not subscribe to notifications (polling still runs): {error}"
                );
                tokio::select! {
                    () = tokio::time::sleep(CLAIM_RETRY_MAX) => {}
                    () = stop.cancelled() => return,
                }
            }
        }
    };
    loop {
        tokio::select! {
            wakeup = listener.next() => {
                tracing::trace!(?wakeup, "wake-up");
                shared.work_available.notify_one();
            }
            () = stop.cancelled() => return,
        }
    }
}
