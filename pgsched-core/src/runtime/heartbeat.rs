//! Keeps this worker's leases alive, out of reach of user code: one statement renews every
//! lease the worker holds, on the store's small heartbeat pool, and refreshes (or restores)
//! the worker's registration.
//!
//! It runs on a thread of its own ([`spawn`]), not on the runtime that runs jobs, so a job
//! that blocks its thread (a synchronous call) cannot starve renewals. Two loops share that
//! thread:
//! - the renewer sends a renewal every `heartbeat_interval` (or at once when the dispatcher
//!   asks, for a claim that came back late), each with a deadline
//!   ([`crate::WorkerConfig::renewal_deadline`]);
//! - the watchdog abandons every attempt whose lease was not renewed for `lease_duration -
//!   heartbeat_interval`, measured from when the last successful renewal (or the claim) was
//!   *sent*. The database measures the lease from when the statement took effect, which is
//!   later, so the worker always gives up first, whatever a hung renewal does.
//!
//! A lease missing from a renewal's answer was lost (expired and recovered, or the job was
//! cancelled): its attempt is abandoned at once.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Shared;

/// How often the watchdog looks for leases to abandon, as a fraction of the heartbeat
/// interval: it fires at most this late after a lease's local deadline.
const WATCHDOG_CHECKS_PER_HEARTBEAT: u32 = 4;

/// Starts the heartbeat of `shared` on the heartbeat thread.
pub(crate) fn spawn(shared: Arc<Shared>, stop: CancellationToken) -> JoinHandle<()> {
    let runtime = heartbeat_runtime();
    let watchdog = runtime.spawn(watch(Arc::clone(&shared), stop.clone()));
    let renewer = runtime.spawn(renew(shared, stop));
    tokio::spawn(async move {
        let _ = renewer.await;
        let _ = watchdog.await;
    })
}

/// The process's heartbeat runtime: one thread, started on first use and kept for the life of
/// the process (the heartbeat pool's connections belong to its I/O driver), running nothing
/// but heartbeats.
fn heartbeat_runtime() -> Handle {
    static RUNTIME: OnceLock<Option<Handle>> = OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| {
        let (sender, receiver) = std::sync::mpsc::channel();
        let started = std::thread::Builder::new()
            .name("pgsched-heartbeat".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => {
                        let _ = sender.send(Some(runtime.handle().clone()));
                        runtime.block_on(std::future::pending::<()>());
                    }
                    Err(error) => {
                        tracing::error!("could not start the heartbeat runtime: {error}");
                        let _ = sender.send(None);
                    }
                }
            });
        started.ok().and_then(|_| receiver.recv().ok().flatten())
    });
    runtime.clone().unwrap_or_else(|| {
        // No thread could be had (the process is out of threads): renew on the caller's
        // runtime rather than not at all.
        tracing::warn!("heartbeat thread unavailable; renewing leases on the job runtime");
        Handle::current()
    })
}

/// Sends a renewal every heartbeat interval, or at once when asked.
async fn renew(shared: Arc<Shared>, stop: CancellationToken) {
    let interval = shared.config.heartbeat_interval;
    let deadline = shared.config.renewal_deadline();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = shared.renew_now.notified() => {}
            () = stop.cancelled() => return,
        }
        beat(&shared, deadline).await;
    }
}

/// Abandons the attempts whose lease may expire before another renewal could land.
async fn watch(shared: Arc<Shared>, stop: CancellationToken) {
    let max_unrenewed = shared.config.abandon_lease_after();
    let mut ticker =
        tokio::time::interval(shared.config.heartbeat_interval / WATCHDOG_CHECKS_PER_HEARTBEAT);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = stop.cancelled() => return,
        }
        for lease in shared
            .leases
            .expire_unrenewed(max_unrenewed, Instant::now())
        {
            ::metrics::counter!(crate::metrics::LEASE_LOST).increment(1);
            tracing::warn!(id = %lease.id, token = lease.token, "lease lost: not renewed in time, attempt abandoned");
        }
    }
}

/// One renewal of every held lease, given up after `deadline`.
async fn beat(shared: &Shared, deadline: Duration) {
    let leases = shared.leases.snapshot();
    let sent_at = Instant::now();
    let renewal = async {
        if let Err(error) = shared.store.touch_worker(&shared.worker).await {
            tracing::warn!("worker heartbeat failed: {error}");
        }
        if leases.is_empty() {
            return Ok(Vec::new());
        }
        shared
            .store
            .renew_leases(&leases, shared.config.lease_duration)
            .await
    };
    match tokio::time::timeout(deadline, renewal).await {
        Ok(Ok(held)) => {
            for lease in shared.leases.renewed(&leases, &held, sent_at) {
                ::metrics::counter!(crate::metrics::LEASE_LOST).increment(1);
                tracing::warn!(id = %lease.id, token = lease.token, "lease lost: another worker or a cancel took the job; attempt abandoned");
            }
        }
        Ok(Err(error)) => tracing::warn!(leases = leases.len(), "lease renewal failed: {error}"),
        Err(_) => tracing::warn!(
            leases = leases.len(),
            deadline_ms = u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX),
            "lease renewal timed out"
        ),
    }
}
