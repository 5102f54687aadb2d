//! Writes attempt outcomes in batches: many completions, failures and retries in one
//! statement, fenced by lease token.
//!
//! Outcomes queue up while a write is in flight and go out together in the next one, so the
//! batch size adapts to the load without a timer. A write that fails (the database is away) is
//! retried with capped backoff: fencing makes a late write harmless, and if it never lands the
//! lease expires and the job runs again (at least once, never lost). A batch the database
//! refuses (one row it cannot store) is split until that row is alone, and the row is written
//! in a storable form: one bad outcome never holds back the others. Metrics count outcomes
//! once they are written.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Shared;
use crate::backoff::Backoff;
use crate::metrics;
use crate::store::{Finish, Lease, Release};

/// Most outcomes written by one statement.
const MAX_BATCH: usize = 1000;
/// Backoff between failed writes ([`Backoff`]): starts here, doubles, capped at `RETRY_MAX`.
const RETRY_MIN: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// An attempt's outcome, with what its metrics are labelled with once it is written.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) lease: Lease,
    pub(crate) finish: Finish,
    /// The job's name (the `job` label).
    pub(crate) name: String,
    /// The failure's kind (the `reason` label of retries and failures).
    pub(crate) reason: Option<&'static str>,
}

/// What to write.
#[derive(Debug)]
pub(crate) enum Message {
    Finish(Outcome),
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

/// Writes one batch of messages: outcomes fenced by lease token (each counted once written),
/// then releases; retried while the database is unreachable, until `give_up`.
pub(crate) async fn write(shared: &Shared, batch: Vec<Message>, give_up: &CancellationToken) {
    let mut outcomes = Vec::new();
    let mut releases = Vec::new();
    for message in batch {
        match message {
            Message::Finish(outcome) => outcomes.push(outcome),
            Message::Release(release) => releases.push(release),
        }
    }
    if !outcomes.is_empty()
        && let Some(applied) = finish_all(shared, &outcomes, give_up).await
    {
        for (outcome, applied) in outcomes.iter().zip(applied) {
            shared.leases.remove(outcome.lease.token);
            if applied {
                tracing::trace!(id = %outcome.lease.id, finish = ?outcome.finish, "outcome written");
                count_written(outcome);
            } else {
                ::metrics::counter!(crate::metrics::LEASE_LOST).increment(1);
                tracing::warn!(
                    id = %outcome.lease.id,
                    token = outcome.lease.token,
                    "lease lost: the outcome was not written (the job was recovered, cancelled or replaced meanwhile)"
                );
            }
        }
    }
    if !releases.is_empty()
        && let Written::Done(_) =
            with_retry("release", give_up, || shared.store.release(&releases)).await
    {
        for release in &releases {
            shared.leases.remove(release.lease.token);
        }
    }
}

/// Counts an outcome the database accepted (never one that was fenced out or not written).
fn count_written(outcome: &Outcome) {
    let job = outcome.name.clone();
    let reason = outcome.reason.unwrap_or("error");
    match outcome.finish {
        Finish::Completed | Finish::CompletedWith(_) => {
            ::metrics::counter!(metrics::COMPLETED, "job" => job).increment(1);
        }
        Finish::Retry { .. } => {
            ::metrics::counter!(metrics::RETRIED, "job" => job, "reason" => reason).increment(1);
        }
        Finish::Failed { .. } => {
            ::metrics::counter!(metrics::FAILED, "job" => job, "reason" => reason).increment(1);
        }
    }
}

/// Writes `outcomes`, returning for each whether its lease was still held, or `None` if
/// shutdown gave up first. One refused row must not hold back the others: a batch the
/// database refuses is split in halves until the refused row is alone, and that row is
/// written in its storable form (see [`Finish::storable`]), so every outcome is written.
async fn finish_all(
    shared: &Shared,
    outcomes: &[Outcome],
    give_up: &CancellationToken,
) -> Option<Vec<bool>> {
    let mut applied = vec![false; outcomes.len()];
    // Ranges of `outcomes` still to write, the next one last.
    let mut todo: Vec<std::ops::Range<usize>> = Vec::new();
    todo.push(0..outcomes.len());
    while let Some(range) = todo.pop() {
        let part = &outcomes[range.clone()];
        let rows: Vec<(Lease, Finish)> = part
            .iter()
            .map(|outcome| (outcome.lease.clone(), outcome.finish.clone()))
            .collect();
        match with_retry("finish", give_up, || shared.store.finish(&rows)).await {
            Written::Done(written) => applied[range].copy_from_slice(&written),
            Written::GaveUp => return None,
            Written::Refused(_) if part.len() > 1 => {
                let middle = range.start + part.len() / 2;
                todo.push(middle..range.end);
                todo.push(range.start..middle);
            }
            Written::Refused(refusal) => {
                let outcome = &part[0];
                tracing::warn!(
                    id = %outcome.lease.id,
                    "the database refused this outcome ({refusal}); writing it in storable form"
                );
                let repaired = [(
                    outcome.lease.clone(),
                    outcome.finish.storable(&refusal.to_string()),
                )];
                match with_retry("finish", give_up, || shared.store.finish(&repaired)).await {
                    Written::Done(written) => applied[range].copy_from_slice(&written),
                    Written::GaveUp => return None,
                    Written::Refused(error) => {
                        // Not even the storable form fits: nothing of the user's text is left
                        // in it, so this is not a data problem this worker can fix. The lease
                        // expires and recovery decides.
                        tracing::error!(id = %outcome.lease.id, "the storable outcome was refused too: {error}");
                    }
                }
            }
        }
    }
    Some(applied)
}

/// How a write ended.
enum Written<T> {
    /// Written; here is the answer.
    Done(T),
    /// The database refused the values: sending them again cannot succeed.
    Refused(crate::Error),
    /// Shutdown gave up while the database was unreachable.
    GaveUp,
}

/// Retries `operation` with capped backoff while the database is unreachable, until it
/// succeeds, the database refuses the values, or `give_up` fires.
async fn with_retry<T, F, Fut>(what: &str, give_up: &CancellationToken, operation: F) -> Written<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = crate::Result<T>>,
{
    let mut backoff = Backoff::new(RETRY_MIN, RETRY_MAX);
    loop {
        let delay = backoff.next_delay();
        match operation().await {
            Ok(value) => return Written::Done(value),
            Err(refusal @ crate::Error::Rejected { .. }) => return Written::Refused(refusal),
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
                return Written::GaveUp;
            }
        }
    }
}
