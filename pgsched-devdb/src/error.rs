//! The crate's error type.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::Source;

/// What to do when no PostgreSQL can be found or started.
const HOW_TO_FIX: &str = "To fix this, either install PostgreSQL so that a throwaway server can be \
started (e.g. `apt-get install postgresql` on Debian/Ubuntu, `brew install postgresql` on macOS; \
if its binaries live somewhere unusual, set PGSCHED_PG_BINDIR to the directory holding initdb, \
pg_ctl and postgres), or point pgsched at an existing server by setting \
DATABASE_URL=postgres://user@host:port/db";

/// Why no development database could be provided.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevDbError {
    /// No server was reachable and no PostgreSQL binaries were found to start one.
    #[error("no PostgreSQL available for development: {details}.\n{}", HOW_TO_FIX)]
    NoPostgres {
        /// What was tried and where binaries were looked for.
        details: String,
    },

    /// Running as root (PostgreSQL refuses to) and there is no `postgres` OS user to run it as.
    #[error(
        "running as root, and PostgreSQL refuses to run as root, but there is no `postgres` user \
         in /etc/passwd to run the throwaway server as. Create one (e.g. `useradd --system \
         --user-group --home-dir /var/lib/postgresql postgres`), run as a non-root user, or set \
         DATABASE_URL=postgres://user@host:port/db to use an existing server"
    )]
    NoPostgresUser,

    /// Running as root, the temporary directory is not reachable by the `postgres` user.
    #[error(
        "running as root, the throwaway server runs as the `postgres` user, which cannot reach \
         {} because {} is not searchable by others; set TMPDIR to a directory such as /tmp",
        dir.display(),
        blocking.display()
    )]
    TempDirNotReachable {
        /// The directory that was created for the cluster.
        dir: PathBuf,
        /// The parent directory that blocks access.
        blocking: PathBuf,
    },

    /// A file-system or process operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: io::Error,
    },

    /// `initdb` or `pg_ctl` exited unsuccessfully.
    #[error("`{command}` failed ({status})\n{output}")]
    CommandFailed {
        /// The command line that was run.
        command: String,
        /// How it exited.
        status: String,
        /// The last lines of its output and, for `pg_ctl`, of the server log.
        output: String,
    },

    /// The server started but did not accept TCP connections in time.
    #[error(
        "PostgreSQL on 127.0.0.1:{port} did not accept TCP connections within {waited:?}; \
         last lines of its log:\n{log_tail}"
    )]
    NotAcceptingConnections {
        /// The port it should listen on.
        port: u16,
        /// How long we waited.
        waited: Duration,
        /// The last lines of the server log.
        log_tail: String,
    },

    /// [`DevDatabase::restart`](crate::DevDatabase::restart) was called on a database that this
    /// crate did not start.
    #[error(
        "restart() only works for throwaway clusters started by pgsched-devdb, but this database \
         comes from {origin}"
    )]
    NotThrowaway {
        /// Where the database came from.
        origin: Source,
    },

    /// [`DevDatabase::restart`](crate::DevDatabase::restart) was given an unknown shutdown mode.
    #[error("unknown pg_ctl shutdown mode {mode:?}: expected \"fast\", \"immediate\" or \"smart\"")]
    InvalidRestartMode {
        /// The mode that was passed.
        mode: String,
    },

    /// A setting passed to [`PrivateCluster::start`](crate::PrivateCluster::start) or
    /// [`PrivateCluster::replica`](crate::PrivateCluster::replica) has a name that is not a
    /// plain identifier (letters, digits, `_`, `.`).
    #[error("invalid PostgreSQL setting name {name:?}: expected letters, digits, `_` or `.`")]
    InvalidSetting {
        /// The name that was passed.
        name: String,
    },

    /// The first call to [`shared_url`](crate::shared_url) in this process failed; the
    /// failure is remembered and reported again.
    #[error("the shared development database could not be set up: {message}")]
    Shared {
        /// The original error, rendered.
        message: String,
    },
}

impl DevDbError {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}
