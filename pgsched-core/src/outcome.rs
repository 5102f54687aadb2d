//! What running a job produced: the job's own result, and why an attempt failed.

use std::fmt;
use std::time::Duration;

use crate::shown::Shown;

/// The error a job returned, as text (its `Display`, with the source chain for `anyhow`), and
/// whether retrying may help.
///
/// A job fails with any displayable error; such a failure is retried up to `max_retries`
/// times. To fail a job at once, without further attempts (the input can never be processed,
/// retrying would repeat a side effect…), return [`JobError::fatal`]:
///
/// ```
/// use pgsched_core::JobError;
///
/// fn charge(amount: i64) -> Result<(), JobError> {
///     if amount < 0 {
///         return Err(JobError::fatal(format!("cannot charge a negative amount ({amount})")));
///     }
///     Ok(())
/// }
/// # assert!(charge(-1).unwrap_err().is_fatal());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    message: String,
    fatal: bool,
}

impl JobError {
    /// A failure that is retried while the job has retries left (what any other error a job
    /// returns is).
    pub fn retryable(error: impl fmt::Display) -> JobError {
        JobError {
            message: format!("{error:#}"),
            fatal: false,
        }
    }

    /// A failure that fails the job at once: no further attempt, whatever its `max_retries`.
    /// Its message is recorded in `last_error` as `fatal: <message>`.
    pub fn fatal(error: impl fmt::Display) -> JobError {
        JobError {
            message: format!("{error:#}"),
            fatal: true,
        }
    }

    /// The error's text.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether this failure ends the job without retries ([`JobError::fatal`]).
    #[must_use]
    pub const fn is_fatal(&self) -> bool {
        self.fatal
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for JobError {}

/// What a `#[job]` function may return: `()`, or `Result<T, E>` with a displayable `E` and
/// an output `T` that serde can write and read back (`()` when the job returns nothing; see
/// [`crate::codec::encode_output`]).
#[diagnostic::on_unimplemented(
    message = "a job cannot return `{Self}`",
    label = "return `()` or `Result<T, E>`",
    note = "a job returns nothing, or `Result<T, E>` where `E: Display` is its error and `T: Serialize + DeserializeOwned` its stored output (`()` for none)"
)]
pub trait IntoJobResult {
    /// The job's output, stored with it when it completes.
    type Output: serde::Serialize + serde::de::DeserializeOwned + Send + 'static;

    /// Converts the function's return value.
    ///
    /// # Errors
    /// The job's error, rendered as text.
    fn into_job_result(self) -> Result<Self::Output, JobError>;
}

impl IntoJobResult for () {
    type Output = ();

    fn into_job_result(self) -> Result<(), JobError> {
        Ok(())
    }
}

impl<T, E> IntoJobResult for Result<T, E>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
    E: fmt::Display + 'static,
{
    type Output = T;

    fn into_job_result(self) -> Result<T, JobError> {
        self.map_err(|error| match as_job_error(&error) {
            Some(job_error) => job_error.clone(),
            // `{:#}` prints anyhow's whole chain and is plain Display for everything else.
            None => JobError::retryable(error),
        })
    }
}

/// The [`JobError`] a job returned, directly or boxed as a `dyn Error`.
fn as_job_error(error: &dyn std::any::Any) -> Option<&JobError> {
    type Boxed = Box<dyn std::error::Error + Send + Sync>;
    type BoxedLocal = Box<dyn std::error::Error>;
    error
        .downcast_ref::<JobError>()
        .or_else(|| error.downcast_ref::<Boxed>()?.downcast_ref())
        .or_else(|| error.downcast_ref::<BoxedLocal>()?.downcast_ref())
}

/// Why an attempt did not complete. Stored in `last_error` as `<kind>: <detail>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureReason {
    /// The job returned an error.
    Error(String),
    /// The job returned [`JobError::fatal`]: it fails without further attempts.
    Fatal(String),
    /// The job panicked.
    Panic(String),
    /// The attempt ran past its timeout and was cancelled.
    Timeout(Duration),
    /// The payload could not be decoded into the job's arguments.
    Decode(String),
    /// The payload was written for an argument schema this worker does not know: neither the
    /// job's current one nor one it upgrades from. Retried like [`FailureReason::UnknownJob`]
    /// (a replica built with that schema may take it), then failed.
    UnknownSchema {
        /// The job's name.
        job: String,
        /// The schema hash stored with the payload.
        found: u64,
        /// The schemas this worker accepts for the job, as (hash, schema): the current one
        /// first, then those it upgrades from.
        known: Vec<(u64, &'static str)>,
    },
    /// No job of this name is registered in the worker that claimed it.
    UnknownJob(String),
    /// The job asks for application state that the worker was not given.
    MissingState(&'static str),
    /// The job's output, encoded, is over the worker's limit
    /// ([`crate::WorkerConfig::max_output_bytes`]): the job fails, nothing is truncated.
    OutputTooLarge {
        /// The encoded size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The job's output could not be encoded (serde refused the value).
    OutputEncode(String),
}

impl FailureReason {
    /// The kind, as stored before the colon in `last_error`.
    #[must_use]
    pub const fn kind(&self) -> &'static str {
        match self {
            FailureReason::Error(_) => "error",
            FailureReason::Fatal(_) => "fatal",
            FailureReason::Panic(_) => "panic",
            FailureReason::Timeout(_) => "timeout",
            FailureReason::Decode(_) => "decode",
            FailureReason::UnknownSchema { .. } => "unknown_schema",
            FailureReason::UnknownJob(_) => "unknown_job",
            FailureReason::MissingState(_) => "missing_state",
            FailureReason::OutputTooLarge { .. } => "output_too_large",
            FailureReason::OutputEncode(_) => "output_encode",
        }
    }

    /// Whether retrying can help. Decode errors, missing state and an output that cannot be
    /// stored fail the job at once: the same bytes and the same binary give the same answer; so does a [`JobError::fatal`],
    /// because the job said so. A job this worker cannot run at all (unknown name or argument
    /// schema) is retried: another replica may know it.
    #[must_use]
    pub const fn is_retryable(&self) -> bool {
        matches!(
            self,
            FailureReason::Error(_)
                | FailureReason::Panic(_)
                | FailureReason::Timeout(_)
                | FailureReason::UnknownJob(_)
                | FailureReason::UnknownSchema { .. }
        )
    }

    /// Whether the job is left for another replica: this worker does not know its name or
    /// its payload's argument schema, which a replica of another version (during a rolling
    /// deploy) may. Such a job gets at least the worker's `unknown_job_attempts`, whatever its
    /// own `max_retries`.
    #[must_use]
    pub const fn awaits_another_worker(&self) -> bool {
        matches!(
            self,
            FailureReason::UnknownJob(_) | FailureReason::UnknownSchema { .. }
        )
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind();
        match self {
            FailureReason::Error(message) | FailureReason::Fatal(message) => {
                write!(f, "{kind}: {message}")
            }
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
            FailureReason::UnknownSchema { job, found, known } => {
                write!(
                    f,
                    "{kind}: job {} has a payload written for argument schema {found:#018x}, which this worker does not know; it knows ",
                    Shown(job)
                )?;
                for (index, (hash, schema)) in known.iter().enumerate() {
                    let separator = match index {
                        0 => "",
                        _ if index + 1 == known.len() => " and ",
                        _ => ", ",
                    };
                    let role = if index == 0 { "current" } else { "upgraded" };
                    write!(f, "{separator}{hash:#018x} ({role}: ")?;
                    if schema.is_empty() {
                        f.write_str("no arguments)")?;
                    } else {
                        write!(f, "{})", Shown(schema))?;
                    }
                }
                f.write_str(
                    "; a worker built with that schema, or with an upgrade from it (#[job(upgrade = …)]), can run it",
                )
            }
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
            FailureReason::OutputTooLarge { bytes, limit } => write!(
                f,
                "{kind}: {bytes} bytes > limit {limit}; the job's encoded output is over the worker's limit (SchedulerBuilder::max_output_bytes): return less, such as a reference to where the result is kept"
            ),
            FailureReason::OutputEncode(message) => {
                write!(f, "{kind}: could not encode the job's output: {message}")
            }
        }
    }
}

impl From<JobError> for FailureReason {
    fn from(error: JobError) -> Self {
        if error.fatal {
            FailureReason::Fatal(error.message)
        } else {
            FailureReason::Error(error.message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_and_results_convert() {
        assert_eq!(().into_job_result(), Ok(()));
        assert_eq!(Ok::<(), String>(()).into_job_result(), Ok(()));
        assert_eq!(Ok::<u32, String>(7).into_job_result(), Ok(7));
        assert_eq!(
            Err::<(), _>("boom").into_job_result(),
            Err(JobError::retryable("boom"))
        );
    }

    #[test]
    fn a_fatal_error_stays_fatal_directly_or_boxed() {
        let direct: Result<(), JobError> = Err(JobError::fatal("bad input"));
        let error = direct.into_job_result().expect_err("fails");
        assert!(error.is_fatal());
        assert_eq!(
            FailureReason::from(error),
            FailureReason::Fatal("bad input".into())
        );
        let boxed: Result<(), Box<dyn std::error::Error + Send + Sync>> =
            Err(Box::new(JobError::fatal("bad input")));
        assert!(boxed.into_job_result().expect_err("fails").is_fatal());
        let other: Result<(), std::io::Error> = Err(std::io::Error::other("disk"));
        let error = other.into_job_result().expect_err("fails");
        assert!(!error.is_fatal());
        assert_eq!(
            FailureReason::from(error),
            FailureReason::Error("disk".into())
        );
        assert!(!FailureReason::Fatal("x".into()).is_retryable());
    }

    #[test]
    fn reasons_carry_their_kind_as_a_prefix() {
        let reasons = [
            FailureReason::Error("x".into()),
            FailureReason::Fatal("x".into()),
            FailureReason::Panic("x".into()),
            FailureReason::Timeout(Duration::from_secs(2)),
            FailureReason::Decode("x".into()),
            FailureReason::UnknownSchema {
                job: "x".into(),
                found: 1,
                known: vec![(2, "a:u8")],
            },
            FailureReason::UnknownJob("x".into()),
            FailureReason::MissingState("Pool"),
            FailureReason::OutputTooLarge { bytes: 9, limit: 8 },
            FailureReason::OutputEncode("x".into()),
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
        assert!(!FailureReason::OutputTooLarge { bytes: 9, limit: 8 }.is_retryable());
        assert!(
            FailureReason::OutputTooLarge { bytes: 9, limit: 8 }
                .to_string()
                .starts_with("output_too_large: 9 bytes > limit 8;")
        );
    }

    #[test]
    fn an_unknown_schema_names_the_job_the_hash_found_and_the_hashes_known() {
        let reason = FailureReason::UnknownSchema {
            job: "send_email".into(),
            found: 0xdead_beef,
            known: vec![
                (0x11, "to:String,cc:String"),
                (0x22, "to:String"),
                (0x33, ""),
            ],
        };
        assert!(reason.is_retryable() && reason.awaits_another_worker());
        assert_eq!(
            reason.to_string(),
            "unknown_schema: job `send_email` has a payload written for argument schema \
             0x00000000deadbeef, which this worker does not know; it knows 0x0000000000000011 \
             (current: `to:String,cc:String`), 0x0000000000000022 (upgraded: `to:String`) \
             and 0x0000000000000033 (upgraded: no arguments); a worker built with that schema, \
             or with an upgrade from it (#[job(upgrade = …)]), can run it"
        );
    }
}
