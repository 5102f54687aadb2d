//! A worker's lanes: one per queue it serves, each with its own slots and its own claim loop
//! (see `dispatcher.rs`), so a busy queue never takes the slots of another.

use std::sync::Arc;

use tokio::sync::{Notify, Semaphore};

use crate::metrics;
use crate::queue::{QueueName, WorkerQueues};

/// One served queue: its slots and the signals of its claim loop.
pub(crate) struct Lane {
    /// The queue claimed from.
    pub(crate) queue: QueueName,
    /// Its slots (a permit per running job).
    pub(crate) slots: Arc<Semaphore>,
    /// How many slots it has.
    pub(crate) capacity: usize,
    /// Work may be claimable: a notification, a promotion, a recovery.
    pub(crate) work_available: Notify,
    /// One of its jobs finished and freed a slot.
    pub(crate) slot_freed: Notify,
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
        self.slot_freed.notify_one();
    }
}

/// Every lane of a worker.
pub(crate) struct Lanes(Vec<Arc<Lane>>);

impl Lanes {
    /// A lane per queue of `queues`.
    pub(crate) fn new(queues: &WorkerQueues) -> Lanes {
        Lanes(
            queues
                .iter()
                .map(|(queue, slots)| {
                    Arc::new(Lane {
                        queue: queue.clone(),
                        slots: Arc::new(Semaphore::new(slots)),
                        capacity: slots,
                        work_available: Notify::new(),
                        slot_freed: Notify::new(),
                    })
                })
                .collect(),
        )
    }

    /// Wakes every claim loop (work may be claimable in any queue).
    pub(crate) fn wake_all(&self) {
        for lane in &self.0 {
            lane.work_available.notify_one();
        }
    }

    /// Wakes the claim loop of `queue`, if this worker serves it.
    pub(crate) fn wake(&self, queue: &QueueName) {
        for lane in self.0.iter().filter(|lane| lane.queue == *queue) {
            lane.work_available.notify_one();
        }
    }

    /// Jobs running now over all lanes.
    pub(crate) fn running(&self) -> usize {
        self.0.iter().map(|lane| lane.running()).sum()
    }

    /// The lanes.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<Lane>> {
        self.0.iter()
    }
}
