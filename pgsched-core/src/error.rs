//! The library's error type: everything pgsched itself can fail with.
//!
//! What a *job* returns is a separate thing ([`crate::JobError`]); this type is for the
//! library's own operations (scheduling, inspecting, running a worker).

use crate::job::{JobId, JobStatus};

/// A boxed error from a store backend (for PostgreSQL: an `sqlx::Error`).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with pgsched's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a pgsched operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A job with this id already exists and the conflict resolution was `Raise`.
    #[error("a job with id {id:?} already exists (status {status})")]
    AlreadyExists {
        /// The id that was asked for.
        id: JobId,
        /// The status of the job that holds it.
        status: JobStatus,
    },
    /// `Replace` met a job that is running: the running attempt is left alone and the new
    /// definition is not applied.
    #[error("job {id:?} is running; Replace only rewrites jobs that have not started")]
    JobRunning {
        /// The id of the running job.
        id: JobId,
    },
    /// The encoded arguments are bigger than the configured limit; nothing was inserted.
    #[error("payload of job {job:?} is {size} bytes, over the limit of {limit} bytes")]
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
    /// The arguments could not be encoded with postcard.
    #[error("could not encode the arguments of job {job:?}: {source}")]
    Encode {
        /// The job's name.
        job: String,
        /// The encoder's error.
        source: postcard::Error,
    },
    /// Two `#[job]` functions share a name.
    #[error(
        "two jobs are named {name:?} ({first} and {second}); give one a distinct `#[job(name = \"...\")]`"
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
    /// A configuration value is invalid.
    #[error("invalid configuration {key}: {reason}")]
    Config {
        /// The setting (an environment variable name or a builder method).
        key: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A periodic job's schedule is invalid.
    #[error("invalid schedule of periodic job {job:?}: {reason}")]
    InvalidSchedule {
        /// The job's name.
        job: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// No periodic job has this dedup key.
    #[error("no periodic job has the key {key:?}")]
    UnknownPeriodicJob {
        /// The key asked for.
        key: String,
    },
    /// The store (database) failed.
    #[error("{operation} failed: {source}")]
    Store {
        /// The store operation that failed (for PostgreSQL: the statement's name).
        operation: &'static str,
        /// The underlying error.
        source: BoxError,
    },
    /// The database refused the values a statement carried (a data error, such as a text
    /// the database encoding cannot hold): sending the same values again cannot succeed.
    #[error("{operation} was refused by the database: {source}")]
    Rejected {
        /// The store operation that was refused (for PostgreSQL: the statement's name).
        operation: &'static str,
        /// The database's reason.
        source: BoxError,
    },
    /// The worker is already running for this scheduler.
    #[error("the worker is already running")]
    AlreadyRunning,
}

impl Error {
    /// Wraps a backend error with the name of the operation that failed.
    pub fn store(operation: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Store {
            operation,
            source: source.into(),
        }
    }

    /// Wraps a backend's refusal of the values of `operation` (see [`Error::Rejected`]).
    pub fn rejected(operation: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Rejected {
            operation,
            source: source.into(),
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
