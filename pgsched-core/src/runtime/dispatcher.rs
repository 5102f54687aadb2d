//! The claim loop: claims due jobs into the free slots of the worker's lanes (one per queue
//! it serves) and starts them. A worker runs one, whatever the number of its queues: each
//! claim is one statement that asks lanes with free slots and a reason to claim for up to
//! `batch_claim_limit` jobs of each one's queue (see [`asks_of`]), so a worker serving four
//! queues sends no more claims than one serving one.
//!
//! It never claims more jobs than a lane has free slots (a claim reserves its slots before it
//! is sent), so every claimed job starts at once. While claims come back full (a backlog) it
//! claims again straight away, with up to [`PIPELINE_DEPTH`] claims in flight so a busy worker
//! is not limited to one claim per database round trip; it waits for a slot when all are busy,
//! and otherwise sleeps until a notification, the next due job, or the poll interval.
//! While a lane's claims come back full, each starts reading after the newest jobs already
//! claimed (see [`ClaimFloor`]), so a backlog drains at the same speed when a long transaction
//! elsewhere keeps `VACUUM` from removing the claimed jobs' index entries.
//! In a queue with a concurrency limit, an ended job's slot passes to a job of the next claim
//! (see [`Lane::pass_on`]): such a lane has a reason to claim, and its ended jobs' outcomes
//! are written once that claim has answered.

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
use super::finisher::{Message, Outcome};
use super::lanes::Lane;
use super::ticks::TickEvent;
use crate::backoff::Backoff;
use crate::claim_floor::FrontWalks;
use crate::metrics;
use crate::queue::QueueName;
use crate::store::{ClaimFloor, ClaimedJob, Lease, NOTIFY_COALESCE, QueueClaim, Release, Wakeup};

/// Backoff after a failed claim ([`Backoff`]): starts here, doubles, capped at `CLAIM_RETRY_MAX`.
const CLAIM_RETRY_MIN: Duration = Duration::from_millis(100);
const CLAIM_RETRY_MAX: Duration = Duration::from_secs(5);
/// Shortest idle sleep between claims.
const MIN_IDLE_WAIT: Duration = Duration::from_millis(10);
/// Claims in flight at once. A second claim is only sent when it can be a full batch.
pub(crate) const PIPELINE_DEPTH: usize = 2;

/// A claim on its way: its result, what it asked of each lane, when it left.
type ClaimFuture = Pin<Box<dyn Future<Output = Claim> + Send>>;

struct Claim {
    result: crate::Result<Vec<ClaimedJob>>,
    asks: Vec<Ask>,
    sent_at: Instant,
}

/// What a claim asks of one lane: how many jobs, read from where, on the slots it reserved,
/// and the ended jobs whose slots of the queue's limit it may pass on (their outcomes are
/// written once it has answered).
struct Ask {
    lane: usize,
    requested: usize,
    floor: ClaimFloor,
    slots: OwnedSemaphorePermit,
    passing: Vec<Outcome>,
}

/// The claim loop's view of one lane.
struct LaneState {
    frontier: Frontier,
    /// A reason to claim from it: a backlog, a notification, a due job or the poll interval.
    wanted: bool,
    /// A notification for it arrived after the claims in flight were sent (they may not see
    /// its job).
    woken: bool,
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

pub(crate) async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    let lanes: Vec<Arc<Lane>> = shared.lanes.iter().cloned().collect();
    let mut states: Vec<LaneState> = lanes
        .iter()
        .map(|_| LaneState {
            frontier: Frontier::default(),
            wanted: true,
            woken: false,
        })
        .collect();
    let mut claims: FuturesUnordered<ClaimFuture> = FuturesUnordered::new();
    let mut backoff = Backoff::new(CLAIM_RETRY_MIN, CLAIM_RETRY_MAX);
    let mut retry_at: Option<Instant> = None;
    // A notification woke this loop: claim once more after the store's coalescing window.
    let mut recheck_at: Option<Instant> = None;
    let batch = usize::try_from(shared.config.batch_claim_limit).unwrap_or(usize::MAX);
    let capacity: Vec<usize> = lanes.iter().map(|lane| lane.capacity).collect();
    let room = claim_room(batch, capacity.iter().sum());
    // A second claim is only sent when it can take a batch.
    let full_claim = batch.min(capacity.iter().sum());
    // Claims sent, and the count at which each lane was last asked.
    let mut sent: u64 = 0;
    let mut last_asked: Vec<u64> = vec![0; lanes.len()];
    loop {
        let retry_pending = retry_at.is_some_and(|at| Instant::now() < at);
        while !retry_pending && claims.len() < PIPELINE_DEPTH && !stop.is_cancelled() {
            // Each lane's free slots, if it has a reason to claim (this loop turns at every
            // freed slot; the common answer, "not enough yet", is found before any allocation).
            // Ended jobs whose slots wait to pass on are one.
            let free_of = |(lane, state): (&Arc<Lane>, &LaneState)| {
                if state.wanted || lane.has_passing() {
                    lane.slots.available_permits()
                } else {
                    0
                }
            };
            // What a claim sent now could take.
            let takeable: usize = lanes
                .iter()
                .zip(&states)
                .map(|pair| free_of(pair).min(batch))
                .sum::<usize>()
                .min(room);
            if takeable == 0 || (!claims.is_empty() && takeable < full_claim) {
                break;
            }
            let free: Vec<usize> = lanes.iter().zip(&states).map(free_of).collect();
            // They add up to `takeable`.
            let shares = asks_of(batch, room, &free, &capacity, &last_asked);
            let mut asks = Vec::new();
            for (index, &share) in shares.iter().enumerate().filter(|(_, share)| **share > 0) {
                let Ok(slots) =
                    Arc::clone(&lanes[index].slots).try_acquire_many_owned(size_u32(share))
                else {
                    continue;
                };
                let state = &mut states[index];
                state.woken = false;
                let floor = state
                    .frontier
                    .next()
                    .looking_from(slot_start(&shared.worker.id, claims.len()));
                asks.push(Ask {
                    lane: index,
                    requested: share,
                    floor,
                    slots,
                    passing: lanes[index].take_passing(share),
                });
            }
            if asks.is_empty() {
                break;
            }
            sent += 1;
            for ask in &asks {
                last_asked[ask.lane] = sent;
            }
            // The claim's jobs start lane by lane in this order, and the lanes started first
            // free their slots first: each claim begins with another lane, so none is always
            // the one with the fewest slots free when the next claim is shared out.
            let first = usize::try_from(sent).unwrap_or(0) % asks.len();
            asks.rotate_left(first);
            claims.push(send_claim(&shared, &lanes, asks));
        }
        if retry_pending {
            // No claim before the retry: write the outcomes held for one now.
            for lane in &lanes {
                write_passed(&shared, lane.take_passing(usize::MAX));
            }
        }
        let idle = claims.is_empty() && !states.iter().any(|state| state.wanted);
        let retry_in = retry_at
            .filter(|_| retry_pending)
            .map(|at| at.saturating_duration_since(Instant::now()));
        let recheck_in = recheck_at.map(|at| at.saturating_duration_since(Instant::now()));
        let signals = shared.lanes.signals();
        tokio::select! {
            Some(claim) = claims.next(), if !claims.is_empty() => {
                match claim.result {
                    Ok(jobs) => {
                        backoff.reset();
                        retry_at = None;
                        for (ask, jobs) in by_ask(&shared, &lanes, claim.asks, jobs) {
                            write_passed(&shared, ask.passing);
                            let full = jobs.len() == ask.requested;
                            let state = &mut states[ask.lane];
                            let wrapped = state.frontier.learn(&jobs, full);
                            state.wanted = full || state.woken || wrapped;
                            start(&shared, &lanes[ask.lane], jobs, ask.slots, claim.sent_at, &stop);
                        }
                    }
                    Err(error) => {
                        let retry_delay = backoff.next_delay();
                        let queues: Vec<&str> =
                            claim.asks.iter().map(|ask| lanes[ask.lane].queue.as_str()).collect();
                        tracing::warn!(queues = ?queues, retry_in_ms = retry_delay.as_millis() as u64, "claim failed: {error}");
                        for ask in claim.asks {
                            write_passed(&shared, ask.passing);
                            let _ = states[ask.lane].frontier.learn(&[], false);
                            states[ask.lane].wanted = true;
                        }
                        retry_at = Some(Instant::now() + retry_delay);
                    }
                }
            }
            () = signals.work_available.notified() => {
                for (lane, state) in lanes.iter().zip(&mut states) {
                    if lane.take_woken() {
                        state.wanted = true;
                        state.woken = true;
                    }
                }
                recheck_at = Some(Instant::now() + 2 * NOTIFY_COALESCE);
            }
            () = signals.slot_freed.notified() => {}
            // Idle: sleep until the next due job (asking the store is part of the wait, so a
            // notification interrupts it at once).
            () = async {
                let wait = idle_wait(&shared, &lanes).await;
                shared.config.ticks.publish(TickEvent::ClaimIdle { wait });
                tokio::time::sleep(wait).await;
            }, if idle => want_all(&mut states),
            () = sleep_or_forever(retry_in) => want_all(&mut states),
            () = sleep_or_forever(recheck_in) => {
                recheck_at = None;
                want_all(&mut states);
            }
            () = stop.cancelled() => break,
        }
    }
    // Claims still in flight at shutdown: give their jobs back, attempts not consumed.
    while let Some(claim) = claims.next().await {
        match claim.result {
            Ok(jobs) => {
                for (ask, jobs) in by_ask(&shared, &lanes, claim.asks, jobs) {
                    write_passed(&shared, ask.passing);
                    start(
                        &shared,
                        &lanes[ask.lane],
                        jobs,
                        ask.slots,
                        claim.sent_at,
                        &stop,
                    );
                }
            }
            Err(_) => {
                for ask in claim.asks {
                    write_passed(&shared, ask.passing);
                }
            }
        }
    }
    // No claim passes a slot on from now on: the outcomes held, and any to come, are written.
    for lane in &lanes {
        write_passed(&shared, lane.close_passing());
    }
}

/// Hands outcomes held for a claim (see [`Lane::pass_on`]) to the finisher.
fn write_passed(shared: &Shared, outcomes: Vec<Outcome>) {
    for outcome in outcomes {
        shared.finisher.send(Message::Finish(outcome));
    }
}

/// Every lane has a reason to claim.
fn want_all(states: &mut [LaneState]) {
    for state in states {
        state.wanted = true;
    }
}

/// The most jobs one claim takes over all lanes: a batch, or half the worker's slots if that
/// is more, so that [`PIPELINE_DEPTH`] claims can be in flight at once (one claim that took
/// every slot would leave the next to claim a slot at a time as they free).
fn claim_room(batch: usize, slots: usize) -> usize {
    batch.max(slots / PIPELINE_DEPTH)
}

/// How many jobs a claim asks of each lane, given the `free` slots of each (0 for a lane
/// without a reason to claim) out of its `capacity`: up to `batch` per queue, `room` in all,
/// the lane asked least recently first (`last_asked`, a claim count), so that every lane is
/// served in turn and none falls behind by always getting what is left of the room; among
/// lanes asked as recently, the one with the largest share of its slots free. One statement
/// serves all the queues asked; its fixed cost is most of a claim's.
fn asks_of(
    batch: usize,
    room: usize,
    free: &[usize],
    capacity: &[usize],
    last_asked: &[u64],
) -> Vec<usize> {
    let mut order: Vec<usize> = (0..free.len()).collect();
    // The longest unasked; then free[a] / capacity[a] > free[b] / capacity[b] (no division).
    order.sort_by(|&a, &b| {
        last_asked[a]
            .cmp(&last_asked[b])
            .then((free[b] * capacity[a]).cmp(&(free[a] * capacity[b])))
    });
    let mut asks = vec![0; free.len()];
    let mut left = room;
    for lane in order {
        asks[lane] = free[lane].min(batch).min(left);
        left -= asks[lane];
    }
    asks
}

/// A claim's jobs, each with the ask of its lane (asks that got none included).
fn by_ask(
    shared: &Shared,
    lanes: &[Arc<Lane>],
    asks: Vec<Ask>,
    jobs: Vec<ClaimedJob>,
) -> Vec<(Ask, Vec<ClaimedJob>)> {
    let mut split: Vec<(Ask, Vec<ClaimedJob>)> =
        asks.into_iter().map(|ask| (ask, Vec::new())).collect();
    for job in jobs {
        match split
            .iter_mut()
            .find(|(ask, _)| lanes[ask.lane].queue == job.queue)
        {
            Some((_, jobs)) => jobs.push(job),
            // The store returned a queue this claim did not ask for: it cannot start on
            // slots reserved for another, so it goes back, attempt refunded.
            None => {
                tracing::error!(id = %job.lease.id, queue = %job.queue, "claimed from a queue not asked for; giving it back");
                shared
                    .finisher
                    .send(Message::Release(Release::unstarted(job.lease)));
            }
        }
    }
    split
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

fn send_claim(shared: &Arc<Shared>, lanes: &[Arc<Lane>], asks: Vec<Ask>) -> ClaimFuture {
    let shared = Arc::clone(shared);
    let queues: Vec<QueueName> = asks
        .iter()
        .map(|ask| lanes[ask.lane].queue.clone())
        .collect();
    let passing: Vec<Vec<Lease>> = asks
        .iter()
        .map(|ask| {
            ask.passing
                .iter()
                .map(|outcome| outcome.lease.clone())
                .collect()
        })
        .collect();
    Box::pin(async move {
        let sent_at = Instant::now();
        let wants: Vec<QueueClaim<'_>> = asks
            .iter()
            .zip(&queues)
            .zip(&passing)
            .map(|((ask, queue), passing)| QueueClaim {
                queue,
                limit: size_u32(ask.requested),
                floor: &ask.floor,
                passing,
            })
            .collect();
        let result = shared
            .store
            .claim_queues(&shared.worker.id, &wants, shared.config.lease_duration)
            .await;
        Claim {
            result,
            asks,
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

/// How long to sleep without a wake-up: until the earliest pending job of the lanes with free
/// slots is due (so jobs scheduled for later start on time; one statement for all of them),
/// at most the poll interval, at least `MIN_IDLE_WAIT` (a due job that another worker is
/// claiming right now must not make this loop spin).
async fn idle_wait(shared: &Shared, lanes: &[Arc<Lane>]) -> Duration {
    let poll = shared.config.poll_interval;
    let waiting: Vec<QueueName> = lanes
        .iter()
        .filter(|lane| lane.slots.available_permits() > 0)
        .map(|lane| lane.queue.clone())
        .collect();
    let mut wait = poll;
    if !waiting.is_empty() {
        match shared.store.next_due(&waiting).await {
            Ok(Some(due)) => wait = wait.min(due),
            Ok(None) => {}
            Err(error) => tracing::debug!(queues = ?waiting, "next due time unknown: {error}"),
        }
    }
    wait.clamp(MIN_IDLE_WAIT, poll.max(MIN_IDLE_WAIT))
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
    use super::{PIPELINE_DEPTH, asks_of, claim_room, slot_start};

    #[test]
    fn a_claim_fills_the_freest_lanes_whole_up_to_half_the_slots() {
        // A worker like `q0:7,q1:6,q2:6,q3:6`, batch 10: a claim takes 12 (half of 25, so two
        // can be in flight) from two queues, not 10 from four, the least recently asked first.
        let capacity = [7, 6, 6, 6];
        let room = claim_room(10, 25);
        assert_eq!(room, 12);
        assert_eq!(
            asks_of(10, room, &[7, 6, 6, 6], &capacity, &[0; 4]),
            vec![7, 5, 0, 0]
        );
        assert_eq!(
            asks_of(10, room, &[7, 6, 6, 6], &capacity, &[3, 4, 1, 2]),
            vec![0, 0, 6, 6]
        );
        assert_eq!(
            asks_of(10, room, &[0, 6, 6, 6], &capacity, &[0, 2, 5, 1]),
            vec![0, 6, 0, 6]
        );
        // A lane that got the rest of the room last time is not last again.
        assert_eq!(
            asks_of(10, room, &[7, 2, 6, 6], &capacity, &[4, 1, 3, 2]),
            vec![0, 2, 4, 6]
        );
        // Among lanes asked as recently, the largest share of slots free: 3 of 6 before 3 of 7.
        assert_eq!(
            asks_of(10, 4, &[3, 3, 0, 0], &capacity, &[0; 4]),
            vec![1, 3, 0, 0]
        );
    }

    #[test]
    fn one_lane_claims_a_batch_and_lanes_without_free_slots_none() {
        // The default worker: one lane of 25 slots claims a batch, as always.
        assert_eq!(
            asks_of(10, claim_room(10, 25), &[25], &[25], &[0]),
            vec![10]
        );
        // A big batch is the room.
        assert_eq!(claim_room(50, 25), 50);
        let capacity = [12, 12, 12, 12];
        assert_eq!(
            asks_of(10, 12, &[0, 12, 0, 3], &capacity, &[0; 4]),
            vec![0, 10, 0, 2]
        );
        assert_eq!(asks_of(10, 12, &[], &[], &[]), Vec::<usize>::new());
    }

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
