//! A worker with no loops of its own, for tests (what `pgsched::testing` is built on).
//!
//! [`InlineWorker::drain`] claims due jobs one at a time and runs each on the caller's task,
//! through the path a started worker takes: the same promotion and claim statements, the same
//! executor (schema check, decoding, timeout, panics caught, the retry decision), the same
//! fenced outcome write as the finisher, with the worker registered and its leases renewed by
//! the heartbeat meanwhile. [`InlineWorker::periodic_tick_at`] runs the periodic loop's tick,
//! through the same compare-and-set enqueue, at an instant the caller chooses instead of the
//! database clock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::finisher::{FinisherHandle, Message};
use super::periodic::{Disagreements, TickAt};
use super::ticks::PeriodicTick;
use super::{Shared, Worker, executor, finisher, heartbeat, periodic};
use crate::error::{Error, Result};
use crate::job::{JobId, JobStatus};
use crate::registry::Registry;
use crate::store::{ClaimFloor, Finish, PromotionFloor, WorkerRecord};

/// How long [`InlineWorker::drain`] keeps trying to write one outcome while the database does
/// not answer, before it gives up with an error.
const WRITE_DEADLINE: Duration = Duration::from_secs(30);

/// One attempt an [`InlineWorker`] ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineRun {
    /// The job.
    pub id: JobId,
    /// Its registered name.
    pub name: String,
    /// This attempt's number (1 for the first).
    pub attempt: u32,
    /// The job's status once the attempt's outcome was written: `Completed`, `Failed`,
    /// `Pending` (a retry is scheduled after the retry policy's delay), or whatever another
    /// party made of it meanwhile (`Cancelled`). `None`: the job no longer exists.
    pub status: Option<JobStatus>,
    /// This attempt's error as written to `last_error` (`error: …`, `panic: …`,
    /// `timeout: …`); `None` when it completed or nothing was written.
    pub error: Option<String>,
}

/// A worker that runs nothing on its own: each call runs on the caller's task. Build one with
/// [`Worker::inline`].
pub struct InlineWorker {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for InlineWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineWorker")
            .field("worker", &self.shared.worker.id)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// This worker as an [`InlineWorker`]: no claim loop, timers or sweeps; jobs run only when
    /// the caller asks, on the caller's task.
    #[must_use]
    pub fn inline(self) -> InlineWorker {
        // Outcomes are written by the caller's task (`InlineWorker::run_next`), never sent to
        // a finisher task: the receiving end is not needed.
        let (finisher, _) = FinisherHandle::channel();
        InlineWorker {
            shared: Arc::new(self.into_shared(WorkerRecord::for_this_process(), finisher)),
        }
    }
}

impl InlineWorker {
    /// This worker's id (`host:pid:nonce`), written as the claimant of the jobs it runs.
    #[must_use]
    pub fn worker_id(&self) -> &str {
        &self.shared.worker.id
    }

    /// The jobs and periodic schedules it knows.
    #[must_use]
    pub fn registry(&self) -> &Registry {
        &self.shared.registry
    }

    /// Runs due jobs one after another until none is due (or `limit` attempts ran), and
    /// returns each attempt, in the order they ran. Jobs due later are not waited for; a retry
    /// runs in the same drain only if its delay has passed when the claim looks. While it
    /// runs, the worker is registered (so [`crate::store::JobStore::list_workers`] shows it)
    /// and its lease is renewed by the heartbeat.
    ///
    /// # Errors
    /// A store error (what ran before it stays written), or [`Error::Store`] when an outcome
    /// could not be written within 30 s.
    pub async fn drain(&self, limit: usize) -> Result<Vec<InlineRun>> {
        let shared = &self.shared;
        shared.store.register_worker(&shared.worker).await?;
        let stop = CancellationToken::new();
        let heartbeat = heartbeat::spawn(Arc::clone(shared), stop.clone());
        let mut runs = Vec::new();
        let drained: Result<()> = async {
            while runs.len() < limit {
                match self.run_next().await? {
                    Some(run) => runs.push(run),
                    None => break,
                }
            }
            Ok(())
        }
        .await;
        stop.cancel();
        let _ = heartbeat.await;
        if let Err(error) = shared.store.deregister_worker(&shared.worker.id).await {
            tracing::warn!("could not deregister the inline worker: {error}");
        }
        drained.map(|()| runs)
    }

    /// Makes due any scheduled job whose time came, claims the most urgent due job, runs it
    /// and writes its outcome; `None` when no job is due.
    ///
    /// # Errors
    /// As [`InlineWorker::drain`].
    pub async fn run_next(&self) -> Result<Option<InlineRun>> {
        let shared = &self.shared;
        shared
            .store
            .promote(shared.config.sweep_batch, &PromotionFloor::FRONT)
            .await?;
        let sent_at = Instant::now();
        let claimed = shared
            .store
            .claim(
                &shared.worker.id,
                1,
                shared.config.lease_duration,
                &ClaimFloor::FRONT,
            )
            .await?;
        let Some(job) = claimed.into_iter().next() else {
            return Ok(None);
        };
        ::metrics::counter!(crate::metrics::CLAIMED, "job" => job.name.clone()).increment(1);
        let (id, name, attempt, token) = (
            job.lease.id.clone(),
            job.name.clone(),
            job.attempt,
            job.lease.token,
        );
        let abort = shared.leases.insert(&job.lease, sent_at);
        let (end, span) = executor::attempt(shared, &job, &abort).await;
        let message = executor::conclude(shared, job, end, &span);
        let error = match &message {
            Some(Message::Finish(outcome)) => match &outcome.finish {
                Finish::Completed | Finish::CompletedWith(_) => None,
                Finish::Failed { error } | Finish::Retry { error, .. } => Some(error.clone()),
            },
            Some(Message::Release(_)) | None => None,
        };
        if let Some(message) = message {
            shared.leases.finishing(token);
            let give_up = CancellationToken::new();
            let written = tokio::time::timeout(
                WRITE_DEADLINE,
                finisher::write(shared, vec![message], &give_up),
            )
            .await;
            if written.is_err() {
                shared.leases.remove(token);
                return Err(Error::store(
                    "finish",
                    format!(
                        "the outcome of job {id} could not be written within {WRITE_DEADLINE:?} \
                         (the database did not answer); its lease expires and it runs again"
                    ),
                ));
            }
        }
        shared.leases.remove(token);
        let status = shared.store.job(&id).await?.map(|info| info.status);
        Ok(Some(InlineRun {
            id,
            name,
            attempt,
            status,
            error,
        }))
    }

    /// Registers this binary's periodic schedules as a starting worker does, making their
    /// expressions the ones in force (see [`crate::periodic`]).
    ///
    /// # Errors
    /// [`Error::Store`] if the registration could not be written.
    pub async fn register_periodic(&self) -> Result<()> {
        periodic::register(&self.shared)
            .await
            .map_err(|message| Error::store("register_periodic", message))
    }

    /// Runs one periodic tick as if the clock read `at`: the schedules and their state are
    /// read from the store as the periodic loop reads them, every window up to `at` that is
    /// not enqueued yet is enqueued through the same compare-and-set (missed windows older
    /// than the job's misfire grace are skipped, as after an outage), and none is enqueued
    /// ahead of `at`. A window after the database clock is due at once (its id still names
    /// the window: claims obey the database clock, which a test cannot move).
    pub async fn periodic_tick_at(&self, at: DateTime<Utc>) -> PeriodicTick {
        periodic::tick(&self.shared, &mut Disagreements::new(), TickAt::Chosen(at)).await
    }

    /// The database clock, now.
    ///
    /// # Errors
    /// A store error.
    pub async fn database_now(&self) -> Result<DateTime<Utc>> {
        Ok(self.shared.store.periodic_states().await?.0)
    }

    /// The first window of the schedule `key` not enqueued yet (see
    /// [`crate::periodic::next_window`]); `None` if it never fires again or is not
    /// registered.
    ///
    /// # Errors
    /// A store error.
    pub async fn next_window(&self, key: &str) -> Result<Option<DateTime<Utc>>> {
        let Some(periodic) = self.shared.registry.periodic_by_key(key) else {
            return Ok(None);
        };
        let Some(state) = self.shared.store.periodic_state(key).await? else {
            return Ok(None);
        };
        Ok(crate::periodic::next_window(
            &periodic.schedule,
            state.last_window,
            state.since,
        ))
    }
}
