//! What running a job produced: the job's own result, and why an attempt failed.

use std::fmt;
use std::time::Duration;

/// The error a job returned, as text (its `Display`, with the source chain for `anyhow`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError(pub String);

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a `#[job]` function may return: `()` or `Result<(), E>` with a displayable `E`.
pub trait IntoJobResult {
    /// Converts the function's return value.
    ///
    /// # Errors
    /// The job's error, rendered as text.
    fn into_job_result(self) -> Result<(), JobError>;
}

impl IntoJobResult for () {
    fn into_job_result(self) -> Result<(), JobError> {
        Ok(())
    }
}

impl<E: fmt::Display> IntoJobResult for Result<(), E> {
    fn into_job_result(self) -> Result<(), JobError> {
        // `{:#}` prints anyhow's whole chain and is plain Display for everything else.
        self.map_err(|error| JobError(format!("{error:#}")))
    }
}

/// Why an attempt did not complete. Stored in `last_error` as `<kind>: <detail>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureReason {
    /// The job returned an error.
    Error(String),
    /// The job panicked.
    Panic(String),
    /// The attempt ran past its timeout and was cancelled.
    Timeout(Duration),
    /// The payload could not be decoded into the job's arguments.
    Decode(String),
    /// The payload was written for a different argument schema.
    SchemaMismatch {
        /// The hash stored with the payload.
        stored: u64,
        /// The hash this binary expects.
        expected: u64,
        /// The argument schema this binary expects.
        schema: &'static str,
    },
    /// No job of this name is registered in the worker that claimed it.
    UnknownJob(String),
    /// The job asks for application state that the worker was not given.
    MissingState(&'static str),
}

impl FailureReason {
    /// The kind, as stored before the colon in `last_error`.
    #[must_use]
    pub const fn kind(&self) -> &'static str {
        match self {
            FailureReason::Error(_) => "error",
            FailureReason::Panic(_) => "panic",
            FailureReason::Timeout(_) => "timeout",
            FailureReason::Decode(_) => "decode",
            FailureReason::SchemaMismatch { .. } => "schema_mismatch",
            FailureReason::UnknownJob(_) => "unknown_job",
            FailureReason::MissingState(_) => "missing_state",
        }
    }

    /// Whether retrying can help. Decode errors, schema mismatches and missing state fail the
    /// job at once: the same bytes and the same binary give the same answer.
    #[must_use]
    pub const fn is_retryable(&self) -> bool {
        matches!(
            self,
            FailureReason::Error(_)
                | FailureReason::Panic(_)
                | FailureReason::Timeout(_)
                | FailureReason::UnknownJob(_)
        )
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind();
        match self {
            FailureReason::Error(message) => write!(f, "{kind}: {message}"),
            FailureReason::Panic(message) => write!(f, "{kind}: job panicked: {message}"),
            FailureReason::Timeout(limit) => {
                write!(
                    f,
                    "{kind}: attempt cancelled after {}",
                    humantime::format_duration(*limit)
                )
            }
            FailureReason::Decode(message) => {
                write!(f, "{kind}: could not decode the arguments: {message}")
            }
            FailureReason::SchemaMismatch {
                stored,
                expected,
                schema,
            } => write!(
                f,
                "{kind}: payload was written for argument schema {stored:#018x}, this binary expects {expected:#018x} ({schema}); refusing to decode"
            ),
            FailureReason::UnknownJob(name) => {
                write!(
                    f,
                    "{kind}: no job named {name:?} is registered in this worker"
                )
            }
            FailureReason::MissingState(type_name) => write!(
                f,
                "{kind}: the job needs State<{type_name}>, which was not given to the worker (SchedulerBuilder::state)"
            ),
        }
    }
}

impl From<JobError> for FailureReason {
    fn from(error: JobError) -> Self {
        FailureReason::Error(error.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_and_results_convert() {
        assert_eq!(().into_job_result(), Ok(()));
        assert_eq!(Ok::<(), String>(()).into_job_result(), Ok(()));
        assert_eq!(
            Err::<(), _>("boom").into_job_result(),
            Err(JobError("boom".into()))
        );
    }

    #[test]
    fn reasons_carry_their_kind_as_a_prefix() {
        let reasons = [
            FailureReason::Error("x".into()),
            FailureReason::Panic("x".into()),
            FailureReason::Timeout(Duration::from_secs(2)),
            FailureReason::Decode("x".into()),
            FailureReason::SchemaMismatch {
                stored: 1,
                expected: 2,
                schema: "a:u8",
            },
            FailureReason::UnknownJob("x".into()),
            FailureReason::MissingState("Pool"),
        ];
        for reason in reasons {
            assert!(
                reason
                    .to_string()
                    .starts_with(&format!("{}: ", reason.kind())),
                "{reason}"
            );
        }
        assert_eq!(
            FailureReason::Timeout(Duration::from_secs(2)).to_string(),
            "timeout: attempt cancelled after 2s"
        );
    }

    #[test]
    fn only_transient_reasons_are_retryable() {
        assert!(FailureReason::Error("x".into()).is_retryable());
        assert!(FailureReason::Panic("x".into()).is_retryable());
        assert!(!FailureReason::Decode("x".into()).is_retryable());
        assert!(!FailureReason::MissingState("T").is_retryable());
    }
}
