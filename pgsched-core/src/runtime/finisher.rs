//! Writes attempt outcomes in batches: many completions, failures and retries in one
//! statement, fenced by lease token.
//!
//! Outcomes queue up while a write is in flight and go out together in the next one, so the
//! batch size adapts to the load without a timer. A write that fails (the database is away) is
//! retried with capped backoff: fencing makes a late write harmless, and if it never lands the
//! lease expires and the job runs again (at least once, never lost).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Shared;
use crate::store::{Finish, Lease, Release};

/// Most outcomes written by one statement.
const MAX_BATCH: usize = 1000;
/// Backoff between failed writes: starts here, doubles, capped at `RETRY_MAX`.
const RETRY_MIN: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// An outcome to write.
#[derive(Debug)]
pub(crate) enum Message {
    Finish(Lease, Finish),
    Release(Release),
}

/// The sending side, held by executors and the dispatcher.
#[derive(Clone)]
pub(crate) struct FinisherHandle {
    sender: mpsc::UnboundedSender<Message>,
}

impl FinisherHandle {
    pub(crate) fn channel() -> (FinisherHandle, mpsc::UnboundedReceiver<Message>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (FinisherHandle { sender }, receiver)
    }

    pub(crate) fn send(&self, message: Message) {
        if self.sender.send(message).is_err() {
            // Only after the finisher stopped (late in shutdown): the lease will expire and the
            // job will be recovered, so nothing is lost.
            tracing::warn!("outcome arrived after the finisher stopped; the job will be recovered");
        }
    }
}

/// Runs until `drain` is cancelled, then writes what is queued (giving up at `deadline`).
pub(crate) async fn run(
    shared: Arc<Shared>,
    mut receiver: mpsc::UnboundedReceiver<Message>,
    drain: CancellationToken,
    give_up: CancellationToken,
) {
    loop {
        let first = tokio::select! {
            message = receiver.recv() => message,
            () = drain.cancelled() => None,
        };
        let mut batch: Vec<Message> = first.into_iter().collect();
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(message) => batch.push(message),
                Err(_) => break,
            }
        }
        if batch.is_empty() {
            if drain.is_cancelled() {
                return;
            }
            continue;
        }
        write(&shared, batch, &give_up).await;
    }
}

async fn write(shared: &Shared, batch: Vec<Message>, give_up: &CancellationToken) {
    let mut finishes = Vec::new();
    let mut releases = Vec::new();
    for message in batch {
        match message {
            Message::Finish(lease, finish) => finishes.push((lease, finish)),
            Message::Release(release) => releases.push(release),
        }
    }
    if !finishes.is_empty() {
        let written = with_retry("finish", give_up, || shared.store.finish(&finishes)).await;
        if let Some(applied) = written {
            for ((lease, finish), applied) in finishes.iter().zip(applied) {
                shared.leases.remove(lease.token);
                if applied {
                    tracing::trace!(id = %lease.id, ?finish, "outcome written");
                } else {
                    ::metrics::counter!(crate::metrics::LEASE_LOST).increment(1);
                    tracing::warn!(
                        id = %lease.id,
                        token = lease.token,
                        "lease lost: the outcome was not written (the job was recovered, cancelled or replaced meanwhile)"
                    );
                }
            }
        }
    }
    if !releases.is_empty()
        && with_retry("release", give_up, || shared.store.release(&releases))
            .await
            .is_some()
    {
        for release in &releases {
            shared.leases.remove(release.lease.token);
        }
    }
}

/// Retries `operation` with capped backoff until it succeeds or `give_up` fires.
async fn with_retry<T, F, Fut>(what: &str, give_up: &CancellationToken, operation: F) -> Option<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = crate::Result<T>>,
{
    let mut delay = RETRY_MIN;
    loop {
        match operation().await {
            Ok(value) => return Some(value),
            Err(error) => {
                tracing::warn!(
                    retry_in_ms = delay.as_millis() as u64,
                    "{what} failed: {error}"
                );
            }
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = give_up.cancelled() => {
                tracing::warn!("{what} abandoned at shutdown; the leases will expire and the jobs will run again");
                return None;
            }
        }
        delay = (delay * 2).min(RETRY_MAX);
    }
}
