//! The worker runtime: claim loop, executors, batched outcome writes, heartbeats, sweeps,
//! retention and graceful shutdown, all over the [`JobStore`] seam.
//!
//! ```text
//!  listener ──wake──▶ dispatcher ──claim──▶ executors ──outcomes──▶ finisher ──▶ store
//!                        ▲   slots (per queue: lanes)     │
//!                        └──────────── slot freed ────────┘
//!  lanes: one set of slots per queue the worker serves; one dispatcher claims for them all
//!  heartbeat: renews every held lease in one statement; abandons attempts whose lease is lost
//!  sweeps: recover expired leases, expire misfired jobs, prune dead workers (every replica, bounded)
//!  retention: deletes finished jobs by policy, one replica per interval (public name "vacuum")
//!  promoter: makes scheduled jobs claimable when they come due (wakes the dispatcher)
//!  ticks: where the periodic and sweep loops take their ticks from (tests drive them)
//!  inline: the same claim → run → finish path and periodic tick, run on the caller's task
//!          by a worker with no loops of its own (`pgsched::testing`)
//! ```

mod dispatcher;
mod executor;
mod finisher;
mod heartbeat;
mod inline;
mod lanes;
mod leases;
mod periodic;
mod promoter;
mod retention;
mod sweeps;
mod ticks;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{ScheduleDefaults, WorkerConfig};
use crate::context::States;
use crate::error::Result;
use crate::registry::Registry;
use crate::store::{JobStore, WorkerRecord};
use finisher::FinisherHandle;
pub use inline::{InlineRun, InlineWorker};
use lanes::Lanes;
use leases::{AbortReason, LeaseTable};
pub use ticks::{
    PeriodicTick, ScheduleDecision, ScheduleTick, SweepPass, TickError, TickEvent, TickSource,
};

/// How long shutdown waits for abandoned attempts to report after cancelling them.
const ABORT_WAIT: Duration = Duration::from_secs(2);
/// How long shutdown keeps trying to write queued outcomes before leaving them to recovery.
const FLUSH_DEADLINE: Duration = Duration::from_secs(5);

/// State shared by the worker's tasks.
struct Shared {
    store: Arc<dyn JobStore>,
    registry: Arc<Registry>,
    config: WorkerConfig,
    schedule_defaults: ScheduleDefaults,
    states: States,
    /// This worker process as registered (the heartbeat registers it again if it was pruned).
    worker: WorkerRecord,
    /// One per served queue: its slots and its claim loop's signals.
    lanes: Lanes,
    leases: LeaseTable,
    /// A job was written that may be due soon: the promoter looks again.
    schedule_written: Notify,
    /// Asks the heartbeat for a renewal now (a claim answered late).
    renew_now: Notify,
    finisher: FinisherHandle,
    tasks: TaskTracker,
}

/// A worker, configured but not started.
pub struct Worker {
    store: Arc<dyn JobStore>,
    registry: Registry,
    config: WorkerConfig,
    schedule_defaults: ScheduleDefaults,
    states: States,
}

impl Worker {
    /// A worker that runs the jobs in `registry` from `store`, and enqueues the windows of
    /// its periodic schedules with `schedule_defaults`.
    #[must_use]
    pub fn new(
        store: Arc<dyn JobStore>,
        registry: Registry,
        config: WorkerConfig,
        schedule_defaults: ScheduleDefaults,
        states: States,
    ) -> Worker {
        Worker {
            store,
            registry,
            config,
            schedule_defaults,
            states,
        }
    }

    /// Registers the worker, recovers orphaned jobs once, and starts claiming.
    ///
    /// # Errors
    /// [`crate::Error::EmptyRegistry`] with no job to run, [`crate::Error::Config`] for
    /// inconsistent settings, or a store error if the database cannot be reached.
    pub async fn start(self) -> Result<WorkerHandle> {
        self.config.validate()?;
        if self.registry.is_empty() {
            return Err(crate::Error::EmptyRegistry);
        }
        crate::metrics::describe();
        let record = WorkerRecord::for_this_process();
        self.store.register_worker(&record).await?;
        tracing::info!(
            worker = %record.id,
            jobs = ?self.registry.names(),
            queues = %self.config.served_queues(),
            "worker starting"
        );
        let (finisher, receiver) = FinisherHandle::channel();
        let shared = Arc::new(self.into_shared(record, finisher));
        let first_sweep = sweeps::sweep(&shared).await;
        shared.config.ticks.publish(TickEvent::Sweep(first_sweep));

        let stop_claiming = CancellationToken::new();
        let stop_background = CancellationToken::new();
        let drain = CancellationToken::new();
        let give_up = CancellationToken::new();
        let background = vec![
            heartbeat::spawn(Arc::clone(&shared), stop_background.clone()),
            tokio::spawn(sweeps::run(Arc::clone(&shared), stop_background.clone())),
            tokio::spawn(retention::run(Arc::clone(&shared), stop_background.clone())),
            tokio::spawn(promoter::run(Arc::clone(&shared), stop_background.clone())),
            // Stops with claiming: a stopping worker enqueues no more windows.
            tokio::spawn(periodic::run(Arc::clone(&shared), stop_claiming.clone())),
        ];
        let listener = shared.config.listen.then(|| {
            tokio::spawn(dispatcher::listen(
                Arc::clone(&shared),
                stop_claiming.clone(),
            ))
        });
        let dispatcher = tokio::spawn(dispatcher::run(Arc::clone(&shared), stop_claiming.clone()));
        let finisher = tokio::spawn(finisher::run(
            Arc::clone(&shared),
            receiver,
            drain.clone(),
            give_up.clone(),
        ));
        Ok(WorkerHandle {
            shared,
            stop_claiming,
            stop_background,
            drain,
            give_up,
            dispatcher,
            listener,
            finisher,
            background,
        })
    }
}

impl Worker {
    /// The state the worker's tasks share, for the worker process `record`.
    fn into_shared(self, record: WorkerRecord, finisher: FinisherHandle) -> Shared {
        Shared {
            store: self.store,
            registry: Arc::new(self.registry),
            lanes: Lanes::new(&self.config.served_queues()),
            config: self.config,
            schedule_defaults: self.schedule_defaults,
            states: self.states,
            worker: record,
            leases: LeaseTable::default(),
            schedule_written: Notify::new(),
            renew_now: Notify::new(),
            finisher,
            tasks: TaskTracker::new(),
        }
    }
}

impl WorkerRecord {
    /// This process: `host:pid:nonce`, unique even when processes share a host name.
    #[must_use]
    pub fn for_this_process() -> WorkerRecord {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|name| name.trim().to_owned())
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "localhost".to_owned());
        let pid = std::process::id();
        let nonce: u32 = rand::random();
        WorkerRecord {
            id: format!("{host}:{pid}:{nonce:08x}"),
            host,
            pid,
        }
    }
}

/// A running worker. Dropping it without [`WorkerHandle::shutdown`] aborts nothing: the tasks
/// keep running until the runtime ends, and their leases expire then.
pub struct WorkerHandle {
    shared: Arc<Shared>,
    stop_claiming: CancellationToken,
    stop_background: CancellationToken,
    drain: CancellationToken,
    give_up: CancellationToken,
    dispatcher: JoinHandle<()>,
    listener: Option<JoinHandle<()>>,
    finisher: JoinHandle<()>,
    background: Vec<JoinHandle<()>>,
}

/// What a graceful shutdown did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShutdownReport {
    /// Attempts still running when the grace period ended, cancelled and released.
    pub cancelled: usize,
    /// Leases still held when the worker stopped (outcomes that could not be written: those
    /// jobs will be recovered when their leases expire).
    pub unwritten: usize,
}

impl WorkerHandle {
    /// This worker's id (`host:pid:nonce`).
    #[must_use]
    pub fn worker_id(&self) -> &str {
        &self.shared.worker.id
    }

    /// Attempts running right now.
    #[must_use]
    pub fn running(&self) -> usize {
        self.shared.lanes.running()
    }

    /// Stops claiming, lets running jobs finish within the grace period, cancels and releases
    /// the rest, writes every queued outcome, and deregisters the worker.
    ///
    /// # Errors
    /// None today; the signature leaves room for reporting a failed deregistration.
    pub async fn shutdown(self) -> Result<ShutdownReport> {
        let grace = self.shared.config.shutdown_grace;
        tracing::info!(worker = %self.shared.worker.id, ?grace, "shutting down: no more claims");
        self.stop_claiming.cancel();
        let _ = self.dispatcher.await;
        if let Some(listener) = self.listener {
            let _ = listener.await;
        }
        self.shared.tasks.close();
        let mut report = ShutdownReport::default();
        if tokio::time::timeout(grace, self.shared.tasks.wait())
            .await
            .is_err()
        {
            report.cancelled = self.shared.tasks.len();
            tracing::warn!(
                running = report.cancelled,
                "grace period over: cancelling and releasing"
            );
            self.shared.leases.abort_all(AbortReason::Shutdown);
            let _ = tokio::time::timeout(ABORT_WAIT, self.shared.tasks.wait()).await;
        }
        self.drain.cancel();
        let give_up = self.give_up.clone();
        let finisher = self.finisher;
        let flush = tokio::spawn(async move {
            tokio::time::sleep(FLUSH_DEADLINE).await;
            give_up.cancel();
        });
        let _ = finisher.await;
        flush.abort();
        self.stop_background.cancel();
        for task in self.background {
            let _ = task.await;
        }
        report.unwritten = self.shared.leases.len();
        if let Err(error) = self
            .shared
            .store
            .deregister_worker(&self.shared.worker.id)
            .await
        {
            tracing::warn!("could not deregister the worker: {error}");
        }
        tracing::info!(?report, "worker stopped");
        Ok(report)
    }
}
