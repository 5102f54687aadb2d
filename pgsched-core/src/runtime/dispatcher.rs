//! The claim loop of one queue (a [`Lane`]): claims its due jobs into its free slots and
//! starts them. A worker runs one per queue it serves.
//!
//! It never claims more jobs than it has free slots (a claim reserves its slots before it is
//! sent), so every claimed job starts at once. While claims come back full (a backlog) it
//! claims again straight away, with up to [`PIPELINE_DEPTH`] claims in flight so a busy worker
//! is not limited to one claim per database round trip; it waits for a slot when all are busy,
//! and otherwise sleeps until a notification, the next due job, or the poll interval.
//! While claims come back full, each starts reading after the newest jobs already claimed
//! (see [`ClaimFloor`]), so a backlog drains at the same speed when a long transaction
//! elsewhere keeps `VACUUM` from removing the claimed jobs' index entries.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::executor;
use super::finisher::Message;
use super::lanes::Lane;
use super::ticks::TickEvent;
use crate::backoff::Backoff;
use crate::claim_floor::FrontWalks;
use crate::metrics;
use crate::store::{ClaimFloor, ClaimedJob, NOTIFY_COALESCE, Release, Wakeup};

/// Backoff after a failed claim ([`Backoff`]): starts here, doubles, capped at `CLAIM_RETRY_MAX`.
const CLAIM_RETRY_MIN: Duration = Duration::from_millis(100);
const CLAIM_RETRY_MAX: Duration = Duration::from_secs(5);
/// Shortest idle sleep between claims.
const MIN_IDLE_WAIT: Duration = Duration::from_millis(10);
/// Claims in flight at once. A second claim is only sent when it can be a full batch.
pub(crate) const PIPELINE_DEPTH: usize = 2;

/// A claim on its way: its result, the slots it reserved, what it asked for, when it left.
type ClaimFuture = Pin<Box<dyn Future<Output = Claim> + Send>>;

struct Claim {
    result: crate::Result<Vec<ClaimedJob>>,
    slots: OwnedSemaphorePermit,
    requested: usize,
    sent_at: Instant,
}

/// Where the next claim starts reading (see [`ClaimFloor`]): after the newest jobs claimed,
/// or from the front when [`FrontWalks`] says so.
#[derive(Default)]
struct Frontier {
    floor: ClaimFloor,
    walks: FrontWalks,
}

impl Frontier {
    /// The floor for a claim sent now.
    fn next(&mut self) -> ClaimFloor {
        if self.walks.due() {
            ClaimFloor::FRONT
        } else {
            self.floor.clone()
        }
    }

    /// Learns from a claim's result: its jobs move the floor up, and the walk over keys goes
    /// on after the last key taken. True when the walk started after a key and took nothing:
    /// it wraps around to the first key, and the keys before that one were not looked at, so
    /// the loop claims again at once rather than waiting for a wake-up.
    fn learn(&mut self, jobs: &[ClaimedJob], full: bool) -> bool {
        let walked_from_a_key = self.floor.after_key().is_some();
        self.floor.raise(jobs);
        self.floor.rotate_keys(jobs);
        self.walks.came_back(full);
        walked_from_a_key && self.floor.after_key().is_none()
    }
}

pub(crate) async fn run(shared: Arc<Shared>, lane: Arc<Lane>, stop: CancellationToken) {
    let mut claims: FuturesUnordered<ClaimFuture> = FuturesUnordered::new();
    // A reason to claim: a backlog, a notification, a due job or the poll interval.
    let mut wanted = true;
    // A notification arrived after the claims in flight were sent (they may not see its job).
    let mut woken = false;
    let mut backoff = Backoff::new(CLAIM_RETRY_MIN, CLAIM_RETRY_MAX);
    let mut retry_at: Option<Instant> = None;
    // A notification woke this loop: claim once more after the store's coalescing window.
    let mut recheck_at: Option<Instant> = None;
    let batch = usize::try_from(shared.config.batch_claim_limit).unwrap_or(usize::MAX);
    let mut frontier = Frontier::default();
    loop {
        let retry_pending = retry_at.is_some_and(|at| Instant::now() < at);
        while wanted && !retry_pending && claims.len() < PIPELINE_DEPTH && !stop.is_cancelled() {
            let free = lane.slots.available_permits();
            let size = free.min(batch);
            if size == 0 || (!claims.is_empty() && size < batch) {
                break;
            }
            let Ok(slots) = Arc::clone(&lane.slots).try_acquire_many_owned(size_u32(size)) else {
                break;
            };
            woken = false;
            let floor = frontier
                .next()
                .looking_from(slot_start(&shared.worker.id, claims.len()));
            claims.push(send_claim(&shared, &lane, size, slots, floor));
        }
        let idle = claims.is_empty() && !wanted;
        let retry_in = retry_at
            .filter(|_| retry_pending)
            .map(|at| at.saturating_duration_since(Instant::now()));
        let recheck_in = recheck_at.map(|at| at.saturating_duration_since(Instant::now()));
        tokio::select! {
            Some(claim) = claims.next(), if !claims.is_empty() => {
                let full = claim.result.as_ref().is_ok_and(|jobs| jobs.len() == claim.requested);
                let mut wrapped = false;
                match claim.result {
                    Ok(jobs) => {
                        backoff.reset();
                        retry_at = None;
                        wrapped = frontier.learn(&jobs, full);
                        start(&shared, &lane, jobs, claim.slots, claim.sent_at, &stop);
                    }
                    Err(error) => {
                        let retry_delay = backoff.next_delay();
                        tracing::warn!(queue = %lane.queue, retry_in_ms = retry_delay.as_millis() as u64, "claim failed: {error}");
                        let _ = frontier.learn(&[], false);
                        retry_at = Some(Instant::now() + retry_delay);
                    }
                }
                wanted = full || woken || wrapped || retry_at.is_some();
            }
            () = lane.work_available.notified() => {
                wanted = true;
                woken = true;
                recheck_at = Some(Instant::now() + 2 * NOTIFY_COALESCE);
            }
            () = lane.slot_freed.notified() => {}
            // Idle: sleep until the next due job (asking the store is part of the wait, so a
            // notification interrupts it at once).
            () = async {
                let wait = idle_wait(&shared, &lane).await;
                shared.config.ticks.publish(TickEvent::ClaimIdle { wait });
                tokio::time::sleep(wait).await;
            }, if idle => wanted = true,
            () = sleep_or_forever(retry_in) => wanted = true,
            () = sleep_or_forever(recheck_in) => {
                recheck_at = None;
                wanted = true;
            }
            () = stop.cancelled() => break,
        }
    }
    // Claims still in flight at shutdown: give their jobs back, attempts not consumed.
    while let Some(claim) = claims.next().await {
        if let Ok(jobs) = claim.result {
            start(&shared, &lane, jobs, claim.slots, claim.sent_at, &stop);
        }
    }
}

/// Where round a limited queue's slots the claim sent at `position` of this worker's pipeline
/// looks for free ones (see [`ClaimFloor::slot_start`]): the claims of one worker spread
/// evenly round the ring, from a start of the worker's own, so that neither they nor, mostly,
/// other workers' claims race for the same slots.
fn slot_start(worker: &str, position: usize) -> u16 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    worker.hash(&mut hasher);
    let own = hasher.finish() as u16; // the low bits of the hash: any 16 of them will do
    let step = u16::try_from(usize::from(u16::MAX) / PIPELINE_DEPTH.max(1)).unwrap_or(u16::MAX);
    own.wrapping_add(step.wrapping_mul(u16::try_from(position).unwrap_or(0)))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn size_u32(size: usize) -> u32 {
    u32::try_from(size).unwrap_or(u32::MAX)
}

fn send_claim(
    shared: &Arc<Shared>,
    lane: &Arc<Lane>,
    size: usize,
    slots: OwnedSemaphorePermit,
    floor: ClaimFloor,
) -> ClaimFuture {
    let shared = Arc::clone(shared);
    let lane = Arc::clone(lane);
    Box::pin(async move {
        let sent_at = Instant::now();
        let result = shared
            .store
            .claim(
                &shared.worker.id,
                &lane.queue,
                size_u32(size),
                shared.config.lease_duration,
                &floor,
            )
            .await;
        Claim {
            result,
            slots,
            requested: size,
            sent_at,
        }
    })
}

async fn sleep_or_forever(duration: Option<Duration>) {
    match duration {
        Some(duration) => tokio::time::sleep(duration).await,
        None => std::future::pending().await,
    }
}

/// Starts claimed jobs on the slots their claim reserved (returning the unused ones), or
/// gives them back, attempt refunded, if shutdown began meanwhile or the claim answered too
/// late to start them within their lease (see [`crate::WorkerConfig::latest_start_after_claim`]).
fn start(
    shared: &Arc<Shared>,
    lane: &Arc<Lane>,
    jobs: Vec<ClaimedJob>,
    mut slots: OwnedSemaphorePermit,
    sent_at: Instant,
    stop: &CancellationToken,
) {
    let waited = sent_at.elapsed();
    let too_late = waited > shared.config.latest_start_after_claim();
    if !jobs.is_empty() {
        tracing::debug!(count = jobs.len(), waited_ms = millis(waited), "claimed");
        if too_late {
            tracing::warn!(
                count = jobs.len(),
                waited_ms = millis(waited),
                "the claim answered too late to start its jobs within their lease; giving them back"
            );
            ::metrics::counter!(metrics::LATE_CLAIMS).increment(jobs.len() as u64);
        } else if waited > shared.config.heartbeat_interval {
            // The lease aged more than a heartbeat: renew it now rather than at the next tick.
            shared.renew_now.notify_one();
        }
    }
    for job in jobs {
        ::metrics::counter!(metrics::CLAIMED, "job" => job.name.clone(), "queue" => job.queue.to_string())
            .increment(1);
        let abort = shared.leases.insert(&job.lease, sent_at);
        let slot = if stop.is_cancelled() || too_late {
            None
        } else {
            slots.split(1)
        };
        match slot {
            Some(slot) => {
                shared.tasks.spawn(executor::execute(
                    Arc::clone(shared),
                    Arc::clone(lane),
                    job,
                    abort,
                    slot,
                ));
            }
            None => {
                // Shutdown began while claiming, or the claim came back too late: give the
                // job back, attempt not consumed.
                shared
                    .finisher
                    .send(Message::Release(Release::unstarted(job.lease)));
            }
        }
    }
    drop(slots);
    lane.release_slot();
}

/// How long to sleep without a wake-up: until the earliest pending job is due (so jobs
/// scheduled for later start on time), at most the poll interval, at least `MIN_IDLE_WAIT`
/// (a due job that another worker is claiming right now must not make this loop spin).
async fn idle_wait(shared: &Shared, lane: &Lane) -> Duration {
    let poll = shared.config.poll_interval;
    match shared.store.next_due(&lane.queue).await {
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
    shared.config.ticks.publish(TickEvent::Listening);
    loop {
        tokio::select! {
            wakeup = listener.next() => {
                tracing::trace!(?wakeup, "wake-up");
                match wakeup {
                    Wakeup::SlotFreed(queue) => shared.lanes.wake(&queue),
                    Wakeup::Notified | Wakeup::Reconnected => {
                        shared.lanes.wake_all();
                        shared.schedule_written.notify_one();
                    }
                }
            }
            () = stop.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{PIPELINE_DEPTH, slot_start};

    #[test]
    fn claims_in_flight_look_for_slots_from_opposite_sides_of_the_ring() {
        let first = slot_start("worker-a", 0);
        let second = slot_start("worker-a", 1);
        assert_eq!(PIPELINE_DEPTH, 2, "this test assumes two claims in flight");
        let apart = second.wrapping_sub(first);
        assert!(
            (32_000..=33_000).contains(&apart),
            "{first} and {second} are {apart} apart, not half the ring"
        );
        assert_eq!(
            first,
            slot_start("worker-a", 0),
            "a worker's start is stable"
        );
        assert_ne!(
            first,
            slot_start("worker-b", 0),
            "two workers start from the same place"
        );
    }
}
