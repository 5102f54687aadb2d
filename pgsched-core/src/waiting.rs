//! Waiting for jobs to end: [`Waiters`], one per scheduler, shared by every wait.
//!
//! A wait marks its job awaited ([`JobStore::await_job`]); the store then notifies the job's
//! end on a channel that one listener per [`Waiters`] follows (started by the first wait),
//! dispatching each ending to the waits for that job. While notifications flow, a wait costs
//! its one marking statement and one read when its job ends: no polling. When LISTEN is off,
//! or the listening connection is down, waits poll the job every `poll_interval` instead;
//! when the connection comes back, every wait reads its job once (endings may have been
//! missed meanwhile).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::{Notify, OnceCell};
use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::error::{Error, Result};
use crate::job::{JobId, JobInfo};
use crate::store::{EndListener, Ended, JobStore};

/// Backoff between attempts to open the listening connection after the first failed.
const RECONNECT_MIN: Duration = Duration::from_millis(100);
const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// The waits of one scheduler and the listener that wakes them.
pub struct Waiters {
    store: Arc<dyn JobStore>,
    /// Whether to LISTEN (else every wait polls).
    listen: bool,
    /// How often a wait reads its job when no notification can come.
    poll_interval: Duration,
    shared: Arc<Shared>,
    /// The listener task, started by the first wait (`None` inside: LISTEN is off).
    listener: OnceCell<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Waiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiters")
            .field("listen", &self.listen)
            .field("poll_interval", &self.poll_interval)
            .finish_non_exhaustive()
    }
}

/// What the listener task and the waits share.
#[derive(Default)]
struct Shared {
    /// The waits of each job (one [`Notify`] per wait).
    waiting: Mutex<HashMap<JobId, Vec<Arc<Notify>>>>,
    /// Whether the listening connection is up (endings are heard).
    heard: AtomicBool,
}

impl Shared {
    fn waiting(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, Vec<Arc<Notify>>>> {
        // A panic while holding the lock leaves the map as consistent as before it.
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Wakes the waits of `id`.
    fn wake(&self, id: &JobId) {
        if let Some(waits) = self.waiting().get(id) {
            for wait in waits {
                wait.notify_one();
            }
        }
    }

    /// Wakes every wait (endings may have been missed).
    fn wake_all(&self) {
        for wait in self.waiting().values().flatten() {
            wait.notify_one();
        }
    }
}

/// One wait's registration; removed when dropped.
struct Registration<'a> {
    shared: &'a Shared,
    id: JobId,
    notify: Arc<Notify>,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let mut waiting = self.shared.waiting();
        if let Some(waits) = waiting.get_mut(&self.id) {
            waits.retain(|wait| !Arc::ptr_eq(wait, &self.notify));
            if waits.is_empty() {
                waiting.remove(&self.id);
            }
        }
    }
}

impl Waiters {
    /// The waits over `store`: notified when `listen`, else polling every `poll_interval`.
    #[must_use]
    pub fn new(store: Arc<dyn JobStore>, listen: bool, poll_interval: Duration) -> Waiters {
        Waiters {
            store,
            listen,
            poll_interval,
            shared: Arc::new(Shared::default()),
            listener: OnceCell::new(),
        }
    }

    /// Waits until the job ends (completed, failed, cancelled or expired) and returns it, or
    /// until `timeout` passes.
    ///
    /// # Errors
    /// [`Error::JobNotFound`] when no job has this id (or it was deleted meanwhile),
    /// [`Error::WaitTimeout`], or a store error.
    pub async fn wait(&self, id: &JobId, timeout: Option<Duration>) -> Result<JobInfo> {
        let started = Instant::now();
        let deadline = timeout.map(|timeout| started + timeout);
        self.start_listening().await;
        let registration = self.register(id);
        let found = if self.listen {
            self.store.await_job(id).await?
        } else {
            self.store.job(id).await?
        };
        let mut job = found.ok_or_else(|| Error::JobNotFound {
            id: id.as_str().to_owned(),
        })?;
        while !job.status.is_terminal() {
            let poll = !self.shared.heard.load(Ordering::Acquire);
            tokio::select! {
                () = registration.notify.notified() => {}
                () = tokio::time::sleep(self.poll_interval), if poll => {}
                () = sleep_until(deadline) => {
                    return Err(Error::WaitTimeout {
                        id: id.clone(),
                        waited: started.elapsed(),
                        status: job.status,
                    });
                }
            }
            job = self
                .store
                .job(id)
                .await?
                .ok_or_else(|| Error::JobNotFound {
                    id: id.as_str().to_owned(),
                })?;
        }
        Ok(job)
    }

    /// Registers a wait for `id`, before its job is read, so no ending slips between.
    fn register(&self, id: &JobId) -> Registration<'_> {
        let notify = Arc::new(Notify::new());
        self.shared
            .waiting()
            .entry(id.clone())
            .or_default()
            .push(Arc::clone(&notify));
        Registration {
            shared: &self.shared,
            id: id.clone(),
            notify,
        }
    }

    /// Starts the listener on the first call (when LISTEN is on): subscribes before it
    /// returns, so a wait that marks its job afterwards hears its end; if it cannot, waits
    /// poll while a task keeps trying.
    async fn start_listening(&self) {
        if !self.listen {
            return;
        }
        self.listener
            .get_or_init(|| async {
                let first = self.store.listen_ended().await;
                if let Err(error) = &first {
                    tracing::warn!("cannot LISTEN for job ends ({error}); waits poll until it can");
                }
                let shared = Arc::downgrade(&self.shared);
                let store = Arc::clone(&self.store);
                let listener = first.ok();
                self.shared
                    .heard
                    .store(listener.is_some(), Ordering::Release);
                Some(tokio::spawn(listen(store, listener, shared)))
            })
            .await;
    }
}

impl Waiters {
    /// Stops the listener (the scheduler is closing its pools); waits still running end with
    /// the store's error.
    pub fn stop(&self) {
        self.shared.heard.store(false, Ordering::Release);
        if let Some(Some(task)) = self.listener.get() {
            task.abort();
        }
    }
}

impl Drop for Waiters {
    fn drop(&mut self) {
        if let Some(Some(task)) = self.listener.get() {
            task.abort();
        }
    }
}

/// The listener task: dispatches each ending to its waits, and tracks whether endings are
/// heard. Ends when the [`Waiters`] are gone.
async fn listen(
    store: Arc<dyn JobStore>,
    mut listener: Option<Box<dyn EndListener>>,
    shared: Weak<Shared>,
) {
    let mut backoff = Backoff::new(RECONNECT_MIN, RECONNECT_MAX);
    loop {
        let Some(connected) = listener.as_mut() else {
            match store.listen_ended().await {
                Ok(connected) => {
                    listener = Some(connected);
                    let Some(shared) = shared.upgrade() else {
                        return;
                    };
                    shared.heard.store(true, Ordering::Release);
                    shared.wake_all();
                }
                Err(error) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(
                        retry_in_ms = delay.as_millis() as u64,
                        "LISTEN for job ends failed: {error}"
                    );
                    tokio::time::sleep(delay).await;
                }
            }
            continue;
        };
        let ended = connected.next().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        match ended {
            Ended::Job(id) => shared.wake(&id),
            Ended::Lost => {
                shared.heard.store(false, Ordering::Release);
                // Waits start polling now.
                shared.wake_all();
            }
            Ended::Reconnected => {
                shared.heard.store(true, Ordering::Release);
                shared.wake_all();
            }
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
