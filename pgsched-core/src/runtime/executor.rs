//! Runs one attempt: look up the job, bring its payload to the current argument schema (as
//! stored, or through an upgrade) and decode it, run it under its timeout with panics caught,
//! and turn what happened into the outcome to write.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument;

use super::Shared;
use super::finisher::{Message, Outcome};
use super::lanes::Lane;
use super::leases::{Abort, AbortReason};
use crate::codec::JobOutput;
use crate::context::{AttemptFacts, JobContext};
use crate::metrics;
use crate::outcome::FailureReason;
use crate::output::ParentOutputs;
use crate::registry::JobDefinition;
use crate::store::{ClaimedJob, Finish, MAX_ERROR_BYTES, Release};

/// How long an abandoned attempt may keep running to stop cleanly (it sees
/// `JobContext::cancelled()`) before its future is dropped. An attempt abandoned for its lease
/// gets at most half a heartbeat interval, so it is gone before the lease can expire; one cut
/// off by shutdown keeps its lease (the heartbeat runs until the release is written).
const CLEANUP_WINDOW: Duration = Duration::from_secs(1);

/// How an attempt ended from the worker's point of view.
pub(crate) enum AttemptEnd {
    /// It ran (or could not run); here is what to write: its output, if it returns one.
    Finished(Result<Option<JobOutput>, FailureReason>),
    /// It was told to stop before it ended.
    Abandoned(AbortReason),
}

/// Runs `job` and hands its outcome to the finisher. `permit` is this job's slot in `lane`.
pub(crate) async fn execute(
    shared: Arc<Shared>,
    lane: Arc<Lane>,
    job: ClaimedJob,
    abort: Arc<Abort>,
    permit: OwnedSemaphorePermit,
) {
    let (end, span) = attempt(&shared, &job, &abort).await;
    let token = job.lease.token;
    let passes_slot = job.passes_slot;
    if let Some(message) = conclude(&shared, job, end, &span) {
        shared.leases.finishing(token);
        match message {
            // Its slot of the queue's limit goes to the next job claimed here: the outcome
            // waits for that claim (see `Lane::pass_on`).
            Message::Finish(outcome) if passes_slot => {
                if let Some(outcome) = lane.pass_on(outcome) {
                    shared.finisher.send(Message::Finish(outcome));
                }
            }
            message => shared.finisher.send(message),
        }
    }
    // The slot is free as soon as the job's future is done; its outcome is written in the
    // background while the lease stays held.
    drop(permit);
    lane.release_slot();
}

/// Runs one attempt of `job` inside its `job` span, recording its queue lag and duration;
/// returns how it ended and the span (what is written next is logged in it).
pub(crate) async fn attempt(
    shared: &Shared,
    job: &ClaimedJob,
    abort: &Abort,
) -> (AttemptEnd, tracing::Span) {
    let span = tracing::info_span!(
        "job",
        id = %job.lease.id,
        name = %job.name,
        queue = %job.queue,
        attempt = job.attempt,
        priority = %job.priority,
        queue_lag_ms = u64::try_from(job.queue_lag().as_millis()).unwrap_or(u64::MAX),
    );
    if let (Some(continue_trace), Some(stored)) =
        (shared.config.continue_trace, job.trace_context.as_deref())
    {
        continue_trace(&span, stored, job.attempt);
    }
    let lag = job.queue_lag().as_secs_f64();
    ::metrics::histogram!(metrics::QUEUE_LAG, "job" => job.name.clone(), "queue" => job.queue.to_string())
        .record(lag);
    let started = std::time::Instant::now();
    let end = run(shared, job, abort).instrument(span.clone()).await;
    ::metrics::histogram!(metrics::DURATION, "job" => job.name.clone(), "queue" => job.queue.to_string())
        .record(started.elapsed().as_secs_f64());
    (end, span)
}

/// What to write for an attempt that ended: its outcome (completion, retry or failure), a
/// release (cut off by shutdown), or nothing (its lease was lost).
pub(crate) fn conclude(
    shared: &Shared,
    job: ClaimedJob,
    end: AttemptEnd,
    span: &tracing::Span,
) -> Option<Message> {
    let _entered = span.enter();
    match end {
        AttemptEnd::Finished(result) => {
            let (finish, reason) = decide(shared, &job, result);
            Some(Message::Finish(Outcome {
                lease: job.lease,
                finish,
                name: job.name,
                queue: job.queue,
                reason,
            }))
        }
        AttemptEnd::Abandoned(AbortReason::LeaseLost) => {
            tracing::warn!("lease lost: attempt abandoned, nothing written");
            None
        }
        AttemptEnd::Abandoned(AbortReason::Shutdown) => {
            tracing::info!("shutdown grace elapsed: attempt cancelled, job released");
            Some(Message::Release(Release::interrupted(
                job.lease,
                &shared.worker.id,
            )))
        }
    }
}

async fn run(shared: &Shared, job: &ClaimedJob, abort: &Abort) -> AttemptEnd {
    let Some(definition) = shared.registry.get(&job.name) else {
        return AttemptEnd::Finished(Err(FailureReason::UnknownJob(job.name.clone())));
    };
    let context = JobContext::new(
        AttemptFacts {
            id: job.lease.id.clone(),
            name: job.name.clone(),
            attempt: job.attempt,
            max_retries: job.max_retries,
            priority: job.priority,
            run_at: job.run_at,
            lease_token: job.lease.token,
            parent_outputs: Some(ParentOutputs::new(
                Arc::clone(&shared.store),
                Arc::clone(&shared.registry),
            )),
        },
        shared.states.clone(),
        abort.token().clone(),
    );
    // Decoding runs user code too (a hand-written `Deserialize`, an upgrade): its panic fails
    // this attempt like a panic in the job's body, instead of escaping the worker. A payload
    // of a schema this worker does not know is left for a replica that does (see `decide`).
    let started = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let payload = definition.current_payload(job.schema_hash, &job.payload)?;
        (definition.run)(context, &payload)
    }));
    let future = match started {
        Ok(Ok(future)) => future,
        Ok(Err(reason)) => return AttemptEnd::Finished(Err(reason)),
        Err(panic) => {
            return AttemptEnd::Finished(Err(FailureReason::Panic(format!(
                "while decoding the arguments: {}",
                panic_message(panic.as_ref())
            ))));
        }
    };
    tracing::debug!("attempt started");
    let guarded = AssertUnwindSafe(future).catch_unwind();
    let limited = async {
        // The timeout stored with the job, else the job's attribute (a job scheduled by name
        // carries none of its own).
        match job.timeout.or(definition.defaults.timeout) {
            Some(limit) => tokio::time::timeout(limit, guarded)
                .await
                .map_err(|_| FailureReason::Timeout(limit)),
            None => Ok(guarded.await),
        }
    };
    tokio::pin!(limited);
    tokio::select! {
        biased;
        () = abort.token().cancelled() => {
            // The job sees `JobContext::cancelled()` resolve; give it a moment to stop cleanly
            // before its future is dropped. Whatever it returns is not written.
            let cleanup = match abort.reason() {
                AbortReason::LeaseLost => CLEANUP_WINDOW.min(shared.config.heartbeat_interval / 2),
                AbortReason::Shutdown => CLEANUP_WINDOW,
            };
            let _ = tokio::time::timeout(cleanup, &mut limited).await;
            AttemptEnd::Abandoned(abort.reason())
        }
        ended = &mut limited => AttemptEnd::Finished(match ended {
            Ok(Ok(Ok(output))) => storable_output(shared, definition, output),
            Ok(Ok(Err(reason))) => Err(reason),
            Ok(Err(panic)) => Err(FailureReason::Panic(panic_message(panic.as_ref()))),
            Err(timeout) => {
                abort.token().cancel();
                Err(timeout)
            }
        }),
    }
}

/// A job's encoded output as stored, with its output schema hash; refused (never truncated)
/// when it is over the worker's `max_output_bytes`.
fn storable_output(
    shared: &Shared,
    definition: &JobDefinition,
    output: Option<Vec<u8>>,
) -> Result<Option<JobOutput>, FailureReason> {
    let Some(bytes) = output else {
        return Ok(None);
    };
    let limit = shared.config.max_output_bytes;
    if bytes.len() > limit {
        return Err(FailureReason::OutputTooLarge {
            bytes: bytes.len(),
            limit,
        });
    }
    Ok(Some(JobOutput {
        bytes,
        schema_hash: definition.output.schema_hash,
    }))
}

/// Decides what a finished attempt writes: completion, a retry after backoff, or failure,
/// with the failure's kind (metrics count it once it is written).
fn decide(
    shared: &Shared,
    job: &ClaimedJob,
    result: Result<Option<JobOutput>, FailureReason>,
) -> (Finish, Option<&'static str>) {
    let reason = match result {
        Ok(None) => {
            tracing::debug!("completed");
            return (Finish::Completed, None);
        }
        Ok(Some(output)) => {
            tracing::debug!(output_bytes = output.bytes.len(), "completed");
            return (Finish::CompletedWith(output), None);
        }
        Err(reason) => reason,
    };
    let retries_allowed = if reason.awaits_another_worker() {
        job.max_retries
            .max(shared.config.unknown_job_attempts.saturating_sub(1))
    } else {
        job.max_retries
    };
    let error = storable_error(&reason);
    if reason.is_retryable() && job.attempt <= retries_allowed {
        let delay = shared.config.retry.delay(job.attempt);
        tracing::info!(
            reason = reason.kind(),
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "attempt failed; retrying: {error}"
        );
        (Finish::Retry { delay, error }, Some(reason.kind()))
    } else {
        tracing::warn!(reason = reason.kind(), "job failed: {error}");
        (Finish::Failed { error }, Some(reason.kind()))
    }
}

/// `last_error` text PostgreSQL accepts: no NUL (text cannot hold it), at most
/// [`MAX_ERROR_BYTES`], cut on a character boundary.
fn storable_error(reason: &FailureReason) -> String {
    let mut text = reason.to_string().replace('\0', "\\0");
    if text.len() > MAX_ERROR_BYTES {
        let mut end = MAX_ERROR_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str(" …(truncated)");
    }
    text
}

/// The text of a panic payload (`panic!("…")` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "non-text panic payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_errors_have_no_nul_and_are_bounded() {
        let text = storable_error(&FailureReason::Error("a\0b".into()));
        assert_eq!(text, "error: a\\0b");
        let long = storable_error(&FailureReason::Panic("é".repeat(40_000)));
        assert!(long.len() <= MAX_ERROR_BYTES + 20 && long.ends_with("(truncated)"));
    }

    #[test]
    fn panic_payloads_become_text() {
        let caught = std::panic::catch_unwind(|| panic!("boom {}", 7)).expect_err("panics");
        assert_eq!(panic_message(caught.as_ref()), "boom 7");
        let caught = std::panic::catch_unwind(|| std::panic::panic_any(5_u8)).expect_err("panics");
        assert_eq!(panic_message(caught.as_ref()), "non-text panic payload");
    }
}
