//! [`PrivateCluster`]: a PostgreSQL cluster that one test owns and fully controls — its
//! settings, stops of any mode, restarts on any port, streaming replicas and promotion — for
//! tests that crash or fail over a server and must never touch a shared one.

use std::fmt;
use std::path::Path;

use crate::DevDbError;
use crate::cluster::Cluster;

/// How [`PrivateCluster::stop`] shuts the server down (`pg_ctl stop -m <mode>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StopMode {
    /// Waits for every client to disconnect, then shuts down cleanly.
    Smart,
    /// Disconnects clients, rolls back their transactions, writes a shutdown checkpoint.
    Fast,
    /// Kills every server process at once, like a crash: WAL still in shared memory (for
    /// example of commits made with `synchronous_commit = off` that the WAL writer has not
    /// written yet) is lost, and the next start runs crash recovery.
    Immediate,
}

impl StopMode {
    /// The name `pg_ctl -m` takes.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Smart => "smart",
            Self::Fast => "fast",
            Self::Immediate => "immediate",
        }
    }
}

impl fmt::Display for StopMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A PostgreSQL cluster of the test's own, started from the system's binaries (found as for
/// [`crate::DevDatabase::find_or_start`]) in a temporary directory, listening on
/// `127.0.0.1` with trust authentication for the `postgres` user.
///
/// Unlike a [`crate::DevDatabase`] throwaway cluster, commits are durable by PostgreSQL's
/// defaults (`synchronous_commit = on`), so a crash loses exactly what it would lose in
/// production. Only `fsync = off` and `full_page_writes = off` are set for speed; they change
/// nothing for a *process* crash (an immediate stop), because what the server wrote stays in
/// the OS page cache. The caller's settings are written to `postgresql.conf` after these and
/// override them.
///
/// Dropping it stops the server (immediately) and removes its directory. If the test process
/// dies first, a watchdog process does both once it is gone. Blocking: call it from
/// `tokio::task::spawn_blocking` or `block_in_place` in async tests.
///
/// When run as root, every PostgreSQL program runs as the `postgres` OS user.
///
/// ```no_run
/// use pgsched_devdb::{PrivateCluster, StopMode};
///
/// let mut primary = PrivateCluster::start(&[("wal_writer_delay", "10s")])?;
/// let mut replica = primary.replica(&[])?;
/// primary.stop(StopMode::Immediate)?;
/// let port = primary.port();
/// replica.stop(StopMode::Fast)?;
/// replica.start_on(port)?;
/// replica.promote()?;
/// println!("the new primary answers on {}", replica.url());
/// # Ok::<(), pgsched_devdb::DevDbError>(())
/// ```
#[derive(Debug)]
pub struct PrivateCluster {
    cluster: Cluster,
}

impl PrivateCluster {
    /// Runs `initdb` in a new temporary directory, appends `settings` (`(name, value)` pairs,
    /// e.g. `("wal_writer_delay", "10s")`) to its `postgresql.conf`, and starts the server on a
    /// free port; returns once it accepts connections.
    ///
    /// # Errors
    /// [`DevDbError::NoPostgres`] when the binaries are missing, [`DevDbError::InvalidSetting`]
    /// for a setting name that is not an identifier, [`DevDbError::CommandFailed`] (with the
    /// server log) when the server refuses a setting or does not start, or another
    /// [`DevDbError`] from preparing the directory.
    pub fn start(settings: &[(&str, &str)]) -> Result<Self, DevDbError> {
        Ok(Self {
            cluster: Cluster::start_with(std::process::id(), settings)?,
        })
    }

    /// A streaming replica of this running cluster: `pg_basebackup -R -X stream` into a new
    /// temporary directory (so it follows this cluster's port as it is now, asynchronously),
    /// `settings` appended to the `postgresql.conf` it copied from this cluster, started on a
    /// free port as a hot standby; returns once it accepts connections.
    ///
    /// This cluster must allow replication connections, which PostgreSQL's defaults do
    /// (`wal_level = replica`, `max_wal_senders = 10`, and `initdb`'s `pg_hba.conf` trusts
    /// replication from localhost).
    ///
    /// # Errors
    /// [`DevDbError::NoPostgres`] when `pg_basebackup` is missing, [`DevDbError::CommandFailed`]
    /// when the backup or the start fails, or another [`DevDbError`].
    pub fn replica(&self, settings: &[(&str, &str)]) -> Result<Self, DevDbError> {
        Ok(Self {
            cluster: self.cluster.replica(std::process::id(), settings)?,
        })
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`, with the port it runs (or last ran) on.
    #[must_use]
    pub fn url(&self) -> String {
        self.cluster.url()
    }

    /// The TCP port on `127.0.0.1` it runs (or last ran) on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.cluster.port
    }

    /// The data directory.
    #[must_use]
    pub fn data_dir(&self) -> &Path {
        self.cluster.data_dir()
    }

    /// Whether its server runs (its `postmaster.pid` exists).
    #[must_use]
    pub fn is_running(&self) -> bool {
        self.cluster.is_running()
    }

    /// `pg_ctl stop -m <mode>`; returns once every server process is gone.
    ///
    /// # Errors
    /// [`DevDbError::CommandFailed`] (with the server log), for example when it is not running.
    pub fn stop(&mut self, mode: StopMode) -> Result<(), DevDbError> {
        self.cluster.stop_with(mode.as_str())
    }

    /// Starts the stopped server again on the port it last ran on (after an immediate stop,
    /// this runs crash recovery); returns once it accepts connections.
    ///
    /// # Errors
    /// [`DevDbError::CommandFailed`] or [`DevDbError::NotAcceptingConnections`], with the log.
    pub fn start_again(&mut self) -> Result<(), DevDbError> {
        let port = self.cluster.port;
        self.cluster.start_on(port)
    }

    /// Starts the stopped server on `port` (e.g. the port of a primary that was stopped, to
    /// take over its address); [`PrivateCluster::url`] and [`PrivateCluster::port`] follow.
    /// Returns once it accepts connections (a standby: once it is consistent).
    ///
    /// # Errors
    /// [`DevDbError::CommandFailed`] (the port may be taken) or
    /// [`DevDbError::NotAcceptingConnections`], with the log.
    pub fn start_on(&mut self, port: u16) -> Result<(), DevDbError> {
        self.cluster.start_on(port)
    }

    /// `pg_ctl promote -w`: the standby leaves recovery and accepts writes; returns once it
    /// has (sessions connected before keep working and may write afterwards).
    ///
    /// # Errors
    /// [`DevDbError::CommandFailed`], e.g. when it is not a running standby.
    pub fn promote(&self) -> Result<(), DevDbError> {
        self.cluster.promote()
    }

    /// The last `lines` lines of its server log (for failure messages).
    #[must_use]
    pub fn log_tail(&self, lines: usize) -> String {
        self.cluster.log_tail(lines)
    }
}
