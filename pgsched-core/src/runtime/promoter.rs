//! Promotion: jobs scheduled for later wait apart from due jobs (so the claim never walks
//! them) and this task makes them claimable when they come due, by the database clock.
//!
//! Every replica runs it; they share the work through `SKIP LOCKED`. It sleeps until the
//! next waiting job is due (as the promotion statement reports it), at most the poll
//! interval, or until a notification says a job was written that is due soon. A full batch
//! is followed by the next one straight away, starting after the last jobs promoted (see
//! [`PromotionFloor`]; from the front when [`FrontWalks`] says so). Jobs it promotes wake this worker's claim loop (and, through the
//! store's notification, the other workers).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Shared;
use crate::claim_floor::FrontWalks;
use crate::store::PromotionFloor;

/// Backoff after a failed promotion: starts here, doubles, capped at the poll interval.
const RETRY_MIN: Duration = Duration::from_millis(100);
/// Shortest sleep between passes: a due job another replica is promoting right now (locked,
/// so skipped here) must not make this loop spin.
const MIN_WAIT: Duration = Duration::from_millis(10);

pub(crate) async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    let batch = shared.config.sweep_batch;
    let poll = shared.config.poll_interval;
    let mut retry_delay = RETRY_MIN;
    let mut floor = PromotionFloor::FRONT;
    let mut walks = FrontWalks::default();
    loop {
        let start = if walks.due() {
            PromotionFloor::FRONT
        } else {
            floor.clone()
        };
        let wait = match shared.store.promote(batch, &start).await {
            Ok(promotion) => {
                retry_delay = RETRY_MIN;
                floor.raise(&promotion.reached);
                walks.came_back(promotion.promoted >= u64::from(batch));
                if promotion.promoted > 0 {
                    tracing::debug!(promoted = promotion.promoted, "scheduled jobs came due");
                    shared.lanes.wake_all();
                }
                if promotion.promoted >= u64::from(batch) {
                    Duration::ZERO
                } else {
                    promotion
                        .next_due
                        .map_or(poll, |due| due.clamp(MIN_WAIT, poll.max(MIN_WAIT)))
                }
            }
            Err(error) => {
                walks.came_back(false);
                tracing::warn!(
                    retry_in_ms = retry_delay.as_millis() as u64,
                    "promotion failed: {error}"
                );
                let wait = retry_delay;
                retry_delay = (retry_delay * 2).min(poll.max(RETRY_MIN));
                wait
            }
        };
        if wait.is_zero() {
            if stop.is_cancelled() {
                return;
            }
            tokio::task::yield_now().await;
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shared.schedule_written.notified() => {}
            () = stop.cancelled() => return,
        }
    }
}
