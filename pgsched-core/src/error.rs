//! The library's error type: everything pgsched itself can fail with.
//!
//! What a *job* returns is a separate thing ([`crate::JobError`]); this type is for the
//! library's own operations (scheduling, inspecting, running a worker).

use std::fmt;

use crate::job::{JobId, JobStatus};
use crate::shown::Shown;

/// A boxed error from a store backend (for PostgreSQL: an `sqlx::Error`).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with pgsched's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a pgsched operation can fail with.
///
/// Each variant either prints the error it wraps in its message or returns it from
/// [`source`](std::error::Error::source), never both, so a chain printed cause by cause says
/// everything once: [`Error::Store`], [`Error::Rejected`] and [`Error::Connect`] print theirs
/// (their `error` field keeps it for inspection), [`Error::NotMigrated`] and [`Error::Io`]
/// return theirs.
///
/// Its `Debug` form is the message followed by its causes, one per line, so
/// `main() -> Result<(), pgsched::Error>` prints something a person can read; match on the
/// variants to tell errors apart.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A job with this id already exists and the conflict resolution was `Raise`.
    #[error("a job with id {} already exists (status {status})", Shown(id.as_str()))]
    AlreadyExists {
        /// The id that was asked for.
        id: JobId,
        /// The status of the job that holds it.
        status: JobStatus,
    },
    /// `Replace` met a job that is running: the running attempt is left alone and the new
    /// definition is not applied.
    #[error("job {} is running; Replace only rewrites jobs that have not started", Shown(id.as_str()))]
    JobRunning {
        /// The id of the running job.
        id: JobId,
    },
    /// Jobs of one schedule call depend on each other in a circle (or a job on itself), so
    /// none of them could ever run; nothing was written.
    #[error(
        "jobs depend on each other in a cycle ({}), so none could ever run: remove one of these dependencies",
        shown_ids(ids, " → ")
    )]
    DependencyCycle {
        /// The ids on the cycle, each a parent of the next; the first is repeated at the end.
        ids: Vec<JobId>,
    },
    /// A job is to run after jobs that do not exist and are not part of the same schedule
    /// call; nothing was written.
    #[error(
        "a job is to run after {}, which do not exist: schedule the parents first, or in the same schedule_bulk call",
        shown_ids(ids, ", ")
    )]
    UnknownParents {
        /// The parent ids that were not found.
        ids: Vec<JobId>,
    },
    /// The encoded arguments are bigger than the configured limit; nothing was inserted.
    #[error(
        "payload of job {} is {size} bytes, over the limit of {limit} bytes",
        Shown(job)
    )]
    PayloadTooLarge {
        /// The job's name.
        job: String,
        /// The encoded size in bytes.
        size: usize,
        /// The configured limit in bytes.
        limit: usize,
    },
    /// A job id, job name or other identifier was rejected before reaching the database.
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// What was invalid ("job id", "job name", …).
        what: &'static str,
        /// Why, phrased as what to change.
        reason: String,
    },
    /// The arguments could not be encoded (serde refused the value).
    #[error("could not encode the arguments of job {}: {reason}", Shown(job))]
    Encode {
        /// The job's name.
        job: String,
        /// The encoder's message.
        reason: String,
    },
    /// Two `#[job]` functions share a name.
    #[error(
        "two jobs are named {} ({first} and {second}); give one a distinct `#[job(name = \"...\")]`",
        Shown(name)
    )]
    DuplicateJobName {
        /// The shared name.
        name: &'static str,
        /// Where the first one is defined (`file:line`).
        first: String,
        /// Where the second one is defined (`file:line`).
        second: String,
    },
    /// A worker was started with no job registered in the binary.
    #[error(
        "no #[job] is registered in this binary; define one, or name the crate that defines them (`use my_jobs as _;`) so the linker keeps it"
    )]
    EmptyRegistry,
    /// A configuration value (a builder setting or an environment variable) is invalid.
    #[error("invalid configuration {key}: {reason}")]
    Config {
        /// The setting (an environment variable name or a builder method).
        key: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A periodic job's schedule is invalid.
    #[error("invalid schedule of periodic job {}: {reason}", Shown(job))]
    InvalidSchedule {
        /// The job's name.
        job: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// No periodic job has this key, nor is it the name of a job with exactly one schedule.
    #[error("no periodic job has the key {}", Shown(key))]
    UnknownPeriodicJob {
        /// The key asked for.
        key: String,
    },
    /// The store (database) failed.
    #[error("{operation} failed: {error}")]
    Store {
        /// The store operation that failed (for PostgreSQL: the statement's name).
        operation: &'static str,
        /// The underlying error (for PostgreSQL: an `sqlx::Error`), part of the message.
        error: BoxError,
    },
    /// The database refused the values a statement carried (a data error, such as a text
    /// the database encoding cannot hold): sending the same values again cannot succeed.
    #[error("{operation} was refused by the database: {error}")]
    Rejected {
        /// The store operation that was refused (for PostgreSQL: the statement's name).
        operation: &'static str,
        /// The database's reason, part of the message.
        error: BoxError,
    },
    /// pgsched's tables do not exist in this schema (nothing migrated it yet), or it lacks
    /// what this version of pgsched uses (it was migrated by an older one, or is being
    /// upgraded right now).
    #[error(
        "pgsched's schema {} does not exist or is not migrated to this version: run a worker once (it migrates on start), call `Scheduler::initialize_db()`, or run the `migrate` command first",
        Shown(schema)
    )]
    NotMigrated {
        /// The schema that was used.
        schema: String,
        /// The database's error.
        source: BoxError,
    },
    /// The database could not be reached or refused the connection.
    #[error("cannot connect to PostgreSQL at {url}: {reason}")]
    Connect {
        /// The URL that was used, its password redacted ([`crate::redact_url`]).
        url: String,
        /// What went wrong, phrased for a person from `error` (e.g. `connection refused at
        /// 127.0.0.1:5433`).
        reason: String,
        /// The underlying error, described by `reason`.
        error: BoxError,
    },
    /// No job has this id (it was never written, or retention deleted it).
    #[error("no job has the id {}", Shown(id))]
    JobNotFound {
        /// The id asked for.
        id: String,
    },
    /// The job waited for, or whose output was asked for, failed for good.
    #[error("job {} failed: {error}", Shown(id.as_str()))]
    JobFailed {
        /// The job.
        id: JobId,
        /// Its `last_error` (`<kind>: <detail>`).
        error: String,
    },
    /// The job waited for, or whose output was asked for, was cancelled.
    #[error("job {} was cancelled", Shown(id.as_str()))]
    JobCancelled {
        /// The job.
        id: JobId,
    },
    /// The job waited for, or whose output was asked for, expired: it was not started within
    /// its misfire grace.
    #[error("job {} expired: {error}", Shown(id.as_str()))]
    JobExpired {
        /// The job.
        id: JobId,
        /// Its `last_error` (`misfire: …`).
        error: String,
    },
    /// A wait with a timeout ended before the job did.
    #[error("job {} did not end within {} (it is {status})", Shown(id.as_str()), humantime::format_duration(*waited))]
    WaitTimeout {
        /// The job.
        id: JobId,
        /// How long the wait lasted.
        waited: std::time::Duration,
        /// Its status when the wait gave up.
        status: JobStatus,
    },
    /// The job has no output to read: it has not ended yet, or it completed without one.
    #[error("job {} has no output: {reason}", Shown(id.as_str()))]
    NoOutput {
        /// The job.
        id: JobId,
        /// Why, e.g. `it is running`.
        reason: String,
    },
    /// The job's output was written for another output type than the one this binary's job
    /// returns (a worker of another version completed it): it is not decoded, since postcard
    /// would read it wrongly.
    #[error(
        "the output of job {} ({}) was written for output schema {stored:#018x}, but the job returns {} ({expected:#018x}) in this binary; read it with a binary of the version that wrote it, or inspect JobInfo::output",
        Shown(id.as_str()),
        Shown(job),
        Shown(expected_schema)
    )]
    OutputSchemaMismatch {
        /// The job.
        id: JobId,
        /// Its name.
        job: String,
        /// The output schema hash stored with the output.
        stored: u64,
        /// The hash of the output type this binary's job returns.
        expected: u64,
        /// That output type as written.
        expected_schema: &'static str,
    },
    /// A running job asked for the output of a job that is not one of its parents.
    #[error(
        "job {} is not a parent of job {}: a job reads the outputs of the jobs it runs after (`.after(..)`) only",
        Shown(id.as_str()),
        Shown(child.as_str())
    )]
    NotAParent {
        /// The id asked for.
        id: JobId,
        /// The job that asked.
        child: JobId,
    },
    /// The job's output cannot be read as the type asked for: the job is not linked into this
    /// binary, it returns another type, or the bytes do not decode.
    #[error("cannot read the output of job {} ({}): {reason}", Shown(id.as_str()), Shown(job))]
    OutputUnreadable {
        /// The job.
        id: JobId,
        /// Its name.
        job: String,
        /// Why, phrased as what to change.
        reason: String,
    },
    /// The worker is already running for this scheduler.
    #[error("the worker is already running")]
    AlreadyRunning,
    /// A process-wide scheduler is already installed (or was built from the environment on
    /// first use), so another cannot be.
    #[error(
        "a process-wide scheduler is already set; call `Scheduler::set_global` once, before anything schedules without `.on(..)`"
    )]
    GlobalAlreadySet,
    /// An operating-system operation failed (for example, installing a signal handler).
    #[error("could not {operation}")]
    Io {
        /// What was attempted.
        operation: &'static str,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// `ids` shown as written, joined by `separator`.
fn shown_ids(ids: &[JobId], separator: &str) -> String {
    ids.iter()
        .map(|id| Shown(id.as_str()).to_string())
        .collect::<Vec<_>>()
        .join(separator)
}

impl Error {
    /// Wraps a backend error with the name of the operation that failed.
    pub fn store(operation: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Store {
            operation,
            error: source.into(),
        }
    }

    /// Wraps a backend's refusal of the values of `operation` (see [`Error::Rejected`]).
    pub fn rejected(operation: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Rejected {
            operation,
            error: source.into(),
        }
    }

    /// A configuration error for `key`.
    pub fn config(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Config {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

impl Error {
    /// The wrapped error that the message prints (rather than returns from `source`), whose
    /// own causes are still worth showing.
    fn printed(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Store { error, .. }
            | Error::Rejected { error, .. }
            | Error::Connect { error, .. } => Some(error.as_ref()),
            _ => None,
        }
    }
}

/// The message, then each cause not already part of it, one per line.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.to_string();
        f.write_str(&shown)?;
        let mut cause = match self.printed() {
            Some(printed) => printed.source(),
            None => std::error::Error::source(self),
        };
        while let Some(error) = cause {
            let text = error.to_string();
            if !shown.contains(&text) {
                write!(f, "\n  caused by: {text}")?;
                shown.push_str(&text);
            }
            cause = error.source();
        }
        Ok(())
    }
}

/// Checks text that becomes a bound SQL parameter against `key`'s rule (non-empty, bounded,
/// no NUL; defined once in `pgsched-names`, which the macros check with too).
///
/// # Errors
/// [`Error::InvalidInput`] naming the key and the rule that was broken.
pub(crate) fn validate_key(key: pgsched_names::Key, value: &str) -> Result<()> {
    key.check(value).map_err(|problem| Error::InvalidInput {
        what: key.what,
        reason: problem.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer: {source}")]
    struct Outer {
        source: Inner,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("inner detail")]
    struct Inner {
        source: std::io::Error,
    }

    #[test]
    fn debug_is_the_message_and_its_causes() {
        let error = Error::store(
            "get_job",
            Outer {
                source: Inner {
                    source: std::io::Error::other("disk on fire"),
                },
            },
        );
        assert_eq!(
            format!("{error:?}"),
            "get_job failed: outer: inner detail\n  caused by: disk on fire"
        );
        let error = Error::config("PGSCHED_POOL_SIZE", "\"x\": not a number");
        assert_eq!(
            format!("{error:?}"),
            "invalid configuration PGSCHED_POOL_SIZE: \"x\": not a number"
        );
        // Matching on variants is unaffected.
        assert!(matches!(error, Error::Config { .. }));
    }

    #[test]
    fn a_wrapped_error_is_printed_or_returned_never_both() {
        use std::error::Error as _;
        let store = Error::store("get_job", std::io::Error::other("disk on fire"));
        assert_eq!(store.to_string(), "get_job failed: disk on fire");
        assert!(store.source().is_none(), "printed, so not returned");
        let io = Error::Io {
            operation: "install the SIGTERM handler",
            source: std::io::Error::other("no signals here"),
        };
        assert_eq!(io.to_string(), "could not install the SIGTERM handler");
        assert_eq!(
            io.source().map(ToString::to_string).as_deref(),
            Some("no signals here")
        );
        assert_eq!(
            format!("{io:?}"),
            "could not install the SIGTERM handler\n  caused by: no signals here"
        );
    }

    #[test]
    fn names_and_ids_are_shown_as_written() {
        let error = Error::PayloadTooLarge {
            job: "send_email".into(),
            size: 10,
            limit: 5,
        };
        assert_eq!(
            error.to_string(),
            "payload of job `send_email` is 10 bytes, over the limit of 5 bytes"
        );
        let error = Error::JobRunning {
            id: JobId::new("welcome:42").expect("valid id"),
        };
        assert_eq!(
            error.to_string(),
            "job `welcome:42` is running; Replace only rewrites jobs that have not started"
        );
        let error = Error::UnknownPeriodicJob {
            key: "evil\n\u{1b}[2J".into(),
        };
        assert_eq!(
            error.to_string(),
            "no periodic job has the key `evil\\n\\u{1b}[2J`"
        );
    }
}
