//! A worker's lanes: one per queue it serves, each with its own slots, so a busy queue never
//! takes the slots of another. One claim loop (see `dispatcher.rs`) claims for all of them,
//! each claim asking the lanes with free slots and work in one statement.
//!
//! A lane also holds the outcomes of its ended jobs whose slots of the queue's limit the next
//! claim passes on ([`Lane::pass_on`]): they go to the finisher once that claim has answered.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::{Notify, Semaphore};

use super::finisher::Outcome;
use crate::metrics;
use crate::queue::{QueueName, WorkerQueues};

/// What wakes the claim loop; one for all lanes.
#[derive(Default)]
pub(crate) struct Signals {
    /// Work may be claimable in a lane: a notification, a promotion, a recovery (which lanes:
    /// [`Lane::take_woken`]).
    pub(crate) work_available: Notify,
    /// A job finished and freed a slot.
    pub(crate) slot_freed: Notify,
}

/// One served queue: its slots, and whether a wake-up for it is waiting to be taken.
pub(crate) struct Lane {
    /// The queue claimed from.
    pub(crate) queue: QueueName,
    /// Its slots (a permit per running job).
    pub(crate) slots: Arc<Semaphore>,
    /// How many slots it has.
    pub(crate) capacity: usize,
    /// Work may be claimable in it and the claim loop has not taken the news yet.
    woken: AtomicBool,
    /// The claim loop's signals.
    signals: Arc<Signals>,
    /// Ended jobs whose slots the next claim from this queue passes on.
    passing: Mutex<Passing>,
}

/// Outcomes held for the next claim (see [`Lane::pass_on`]); none once the claim loop stopped.
#[derive(Default)]
struct Passing {
    closed: bool,
    outcomes: Vec<Outcome>,
}

impl Lane {
    /// Jobs of this lane running now.
    pub(crate) fn running(&self) -> usize {
        self.capacity - self.slots.available_permits()
    }

    /// Publishes the running and free-slot gauges of this queue.
    pub(crate) fn report(&self) {
        let free = self.slots.available_permits();
        let queue = self.queue.to_string();
        #[allow(clippy::cast_precision_loss)] // slot counts are far below 2^52
        {
            ::metrics::gauge!(metrics::FREE_SLOTS, "queue" => queue.clone()).set(free as f64);
            ::metrics::gauge!(metrics::RUNNING, "queue" => queue)
                .set(self.capacity.saturating_sub(free) as f64);
        }
    }

    /// A job of this lane finished: its slot is free.
    pub(crate) fn release_slot(&self) {
        self.report();
        self.signals.slot_freed.notify_one();
    }

    /// Holds the outcome of an ended job whose slot the next claim from this queue can pass on
    /// to a job it takes (see `QueueClaim::passing`), rather than the outcome's write freeing
    /// the slot and a claim taking it again. The claim loop writes it once that claim has
    /// answered. Gives the outcome back if the claim loop has stopped: write it now.
    pub(crate) fn pass_on(&self, outcome: Outcome) -> Option<Outcome> {
        let mut passing = self.passing();
        if passing.closed {
            return Some(outcome);
        }
        passing.outcomes.push(outcome);
        None
    }

    /// Whether ended jobs wait for a claim to pass their slots on.
    pub(crate) fn has_passing(&self) -> bool {
        !self.passing().outcomes.is_empty()
    }

    /// Up to `most` of the outcomes held for a claim, the longest held first.
    pub(crate) fn take_passing(&self, most: usize) -> Vec<Outcome> {
        let mut passing = self.passing();
        let count = most.min(passing.outcomes.len());
        passing.outcomes.drain(..count).collect()
    }

    /// The claim loop stops: every outcome held, and none held from now on.
    pub(crate) fn close_passing(&self) -> Vec<Outcome> {
        let mut passing = self.passing();
        passing.closed = true;
        std::mem::take(&mut passing.outcomes)
    }

    fn passing(&self) -> MutexGuard<'_, Passing> {
        // The guarded data stays consistent whatever panicked while holding it.
        self.passing.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether work may have become claimable in this lane since the last call.
    pub(crate) fn take_woken(&self) -> bool {
        self.woken.swap(false, Ordering::AcqRel)
    }

    fn wake(&self) {
        self.woken.store(true, Ordering::Release);
        self.signals.work_available.notify_one();
    }
}

/// Every lane of a worker, in the configured order.
pub(crate) struct Lanes {
    lanes: Vec<Arc<Lane>>,
    signals: Arc<Signals>,
}

impl Lanes {
    /// A lane per queue of `queues`.
    pub(crate) fn new(queues: &WorkerQueues) -> Lanes {
        let signals = Arc::new(Signals::default());
        let lanes = queues
            .iter()
            .map(|(queue, slots)| {
                Arc::new(Lane {
                    queue: queue.clone(),
                    slots: Arc::new(Semaphore::new(slots)),
                    capacity: slots,
                    woken: AtomicBool::new(false),
                    signals: Arc::clone(&signals),
                    passing: Mutex::default(),
                })
            })
            .collect();
        Lanes { lanes, signals }
    }

    /// The claim loop's signals.
    pub(crate) fn signals(&self) -> &Signals {
        &self.signals
    }

    /// Wakes the claim loop for every lane (work may be claimable in any queue).
    pub(crate) fn wake_all(&self) {
        for lane in &self.lanes {
            lane.wake();
        }
    }

    /// Wakes the claim loop for `queue`, if this worker serves it.
    pub(crate) fn wake(&self, queue: &QueueName) {
        for lane in self.lanes.iter().filter(|lane| lane.queue == *queue) {
            lane.wake();
        }
    }

    /// Jobs running now over all lanes.
    pub(crate) fn running(&self) -> usize {
        self.lanes.iter().map(|lane| lane.running()).sum()
    }

    /// The lanes.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<Lane>> {
        self.lanes.iter()
    }
}
