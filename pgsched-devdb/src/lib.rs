//! Zero-setup PostgreSQL for pgsched's examples, tests and benchmarks.
//!
//! **For development only.** Nothing in pgsched's production code depends on this crate; it
//! exists so that `cargo run --example …`, `cargo test` and `cargo bench` work on a machine
//! that merely has PostgreSQL installed.
//!
//! [`DevDatabase::find_or_start`] returns, in this order:
//!
//! 1. the `DATABASE_URL` environment variable, if set and non-empty;
//! 2. a server already answering on `127.0.0.1:5432`
//!    (`postgres://postgres@127.0.0.1:5432/postgres`);
//! 3. a throwaway cluster started from the system's PostgreSQL binaries (found via
//!    `PGSCHED_PG_BINDIR`, `initdb` on `PATH`, `pg_config --bindir`, or
//!    `/usr/lib/postgresql/<version>/bin`), listening on a free port of `127.0.0.1` with
//!    durability switched off, in a temporary directory that is removed afterwards.
//!
//! A throwaway cluster lives as long as its [`DevDatabase`]. A watchdog process also stops it
//! and removes its directory once the creating process exits, so clusters behind
//! [`shared_url`] or [`DevDatabase::keep_until_process_exit`] are not left behind either.
//!
//! ```no_run
//! let db = pgsched_devdb::DevDatabase::find_or_start()?;
//! println!("connect to {}", db.url());
//! # Ok::<(), pgsched_devdb::DevDbError>(())
//! ```
//!
//! Tests that stop, crash, replicate or promote a server use a [`PrivateCluster`] instead: a
//! cluster of their own with the settings they choose, stopped in any [`StopMode`], started
//! again on any port, with streaming replicas (`pg_basebackup`) and `pg_ctl promote`.
//!
//! Unix only. When run as root, the throwaway server runs as the `postgres` OS user, because
//! PostgreSQL refuses to run as root.

use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

mod cluster;
mod error;
mod private_cluster;

pub use error::DevDbError;
pub use private_cluster::{PrivateCluster, StopMode};

use cluster::Cluster;

/// The URL used for a server found on the default local port.
const LOCAL_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// The default PostgreSQL port probed by [`DevDatabase::find_or_start`].
const LOCAL_PORT: u16 = 5432;
/// How long to wait for the local server to accept a TCP connection.
const LOCAL_PROBE_TIMEOUT: Duration = Duration::from_millis(300);

/// Where the database came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The `DATABASE_URL` environment variable.
    EnvVar,
    /// A server that was already answering on `127.0.0.1:5432`.
    LocalServer,
    /// A throwaway cluster started by this crate.
    Throwaway,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::EnvVar => "the DATABASE_URL environment variable",
            Self::LocalServer => "the server on 127.0.0.1:5432",
            Self::Throwaway => "a throwaway cluster",
        })
    }
}

/// A PostgreSQL that examples/tests can use. Keeps a throwaway cluster alive while it lives
/// (dropping it stops the server and removes its directory). Its `Debug` form shows the URL
/// with its password redacted.
///
/// Close every pool on it before dropping it (`Scheduler::close`, `PgPool::close`): the
/// server's shutdown terminates connections still open, and sqlx logs a warning for each.
pub struct DevDatabase {
    url: String,
    source: Source,
    cluster: Option<Cluster>,
}

impl std::fmt::Debug for DevDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevDatabase")
            .field("url", &pgsched_core::redact_url(&self.url))
            .field("source", &self.source)
            .field("cluster", &self.cluster)
            .finish()
    }
}

/// The URL, password redacted, and where the server comes from:
/// `postgres://postgres@127.0.0.1:5432/postgres (a server on 127.0.0.1:5432)`.
impl std::fmt::Display for DevDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({})",
            pgsched_core::redact_url(&self.url),
            self.source()
        )
    }
}

/// What [`DevDatabase::find_or_start`] decided to do.
#[derive(Debug, PartialEq, Eq)]
enum Choice {
    Env(String),
    Local,
    Throwaway,
}

/// The decision of [`DevDatabase::find_or_start`], free of side effects.
fn choose(env_url: Option<String>, local_answers: bool) -> Choice {
    match env_url {
        Some(url) if !url.trim().is_empty() => Choice::Env(url.trim().to_owned()),
        _ if local_answers => Choice::Local,
        _ => Choice::Throwaway,
    }
}

impl DevDatabase {
    /// Finds or starts a database, in this order:
    ///
    /// 1. `DATABASE_URL` if set and non-empty → [`Source::EnvVar`] (the connection is not
    ///    checked);
    /// 2. a server accepting TCP connections on `127.0.0.1:5432` →
    ///    `postgres://postgres@127.0.0.1:5432/postgres`, [`Source::LocalServer`];
    /// 3. a throwaway cluster started from the system's binaries → [`Source::Throwaway`];
    /// 4. otherwise [`DevDbError::NoPostgres`], whose message says how to fix it.
    pub fn find_or_start() -> Result<Self, DevDbError> {
        let env_url = std::env::var("DATABASE_URL").ok();
        let env_is_set = env_url.as_deref().is_some_and(|u| !u.trim().is_empty());
        let local_answers = !env_is_set && cluster::tcp_answers(LOCAL_PORT, LOCAL_PROBE_TIMEOUT);
        match choose(env_url, local_answers) {
            Choice::Env(url) => Ok(Self {
                url,
                source: Source::EnvVar,
                cluster: None,
            }),
            Choice::Local => Ok(Self {
                url: LOCAL_URL.to_owned(),
                source: Source::LocalServer,
                cluster: None,
            }),
            Choice::Throwaway => Self::start_throwaway().map_err(|e| match e {
                DevDbError::NoPostgres { details } => DevDbError::NoPostgres {
                    details: format!(
                        "DATABASE_URL is not set, nothing accepts connections on \
                         127.0.0.1:5432, and {details}"
                    ),
                },
                other => other,
            }),
        }
    }

    /// Always starts a fresh throwaway cluster (for tests that restart PostgreSQL).
    pub fn start_throwaway() -> Result<Self, DevDbError> {
        let cluster = Cluster::start(std::process::id())?;
        Ok(Self {
            url: cluster.url(),
            source: Source::Throwaway,
            cluster: Some(cluster),
        })
    }

    /// The connection URL, e.g. `postgres://postgres@127.0.0.1:5432/postgres`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where the database came from.
    pub fn source(&self) -> Source {
        self.source
    }

    /// For throwaway clusters only: `pg_ctl restart -m <mode>` (`"fast"`, `"immediate"` or
    /// `"smart"`), then waits until the server accepts connections again on the same port.
    /// Errors for databases from other sources.
    pub fn restart(&self, mode: &str) -> Result<(), DevDbError> {
        match &self.cluster {
            Some(cluster) => cluster.restart(mode),
            None => Err(DevDbError::NotThrowaway {
                origin: self.source,
            }),
        }
    }

    /// Leaks the cluster on purpose: it keeps running after this value is gone, until the
    /// current process exits, when the watchdog stops it and removes its directory.
    /// Returns the URL.
    pub fn keep_until_process_exit(mut self) -> String {
        if let Some(cluster) = self.cluster.take() {
            // Not dropping it leaves the server and its watchdog running.
            std::mem::forget(cluster);
        }
        self.url
    }
}

/// The process-wide shared database for test binaries: the first call runs
/// [`DevDatabase::find_or_start`], later calls return the same URL (or the same error). A
/// throwaway cluster started here is stopped by the watchdog when the process exits.
pub fn shared_url() -> Result<&'static str, DevDbError> {
    static SHARED: OnceLock<Result<String, String>> = OnceLock::new();
    match SHARED.get_or_init(|| {
        DevDatabase::find_or_start()
            .map(DevDatabase::keep_until_process_exit)
            .map_err(|e| e.to_string())
    }) {
        Ok(url) => Ok(url.as_str()),
        Err(message) => Err(DevDbError::Shared {
            message: message.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, TcpStream};
    use std::process::{Command, Stdio};

    use super::*;

    /// Does a PostgreSQL startup handshake as `postgres` and expects `AuthenticationOk`
    /// (trust auth).
    fn postgres_says_hello(port: u16) -> bool {
        let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let mut body = Vec::new();
        body.extend_from_slice(&196_608u32.to_be_bytes()); // protocol 3.0
        for s in ["user", "postgres", "database", "postgres", ""] {
            body.extend_from_slice(s.as_bytes());
            body.push(0);
        }
        let len = u32::try_from(body.len() + 4).expect("small message");
        let mut msg = len.to_be_bytes().to_vec();
        msg.extend_from_slice(&body);
        if stream.write_all(&msg).is_err() {
            return false;
        }
        let mut reply = [0u8; 9];
        stream.read_exact(&mut reply).is_ok() && reply == [b'R', 0, 0, 0, 8, 0, 0, 0, 0]
    }

    fn refuses(port: u16) -> bool {
        !cluster::tcp_answers(port, Duration::from_millis(300))
    }

    #[test]
    fn choose_follows_the_documented_order() {
        let url = "postgres://u@h:1/d".to_owned();
        assert_eq!(choose(Some(url.clone()), true), Choice::Env(url.clone()));
        assert_eq!(choose(Some(url.clone()), false), Choice::Env(url));
        assert_eq!(choose(Some(String::new()), true), Choice::Local);
        assert_eq!(choose(Some("  ".to_owned()), false), Choice::Throwaway);
        assert_eq!(choose(None, true), Choice::Local);
        assert_eq!(choose(None, false), Choice::Throwaway);
    }

    #[test]
    fn finds_the_binaries() {
        let bindir = cluster::find_bindir().expect("PostgreSQL binaries on this machine");
        for bin in ["initdb", "pg_ctl", "postgres"] {
            assert!(
                bindir.join(bin).is_file(),
                "{} lacks {bin}",
                bindir.display()
            );
        }
    }

    #[test]
    fn versions_sort_numerically() {
        assert_eq!(cluster::parse_version("15"), Some(vec![15]));
        assert_eq!(cluster::parse_version("9.6"), Some(vec![9, 6]));
        assert_eq!(cluster::parse_version("x"), None);
        assert_eq!(cluster::parse_version(""), None);
        assert!(cluster::parse_version("10") > cluster::parse_version("9.6"));
    }

    #[test]
    fn parses_passwd() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      postgres:x:101:104:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\n";
        assert!(cluster::parse_passwd_user(passwd, "postgres").is_some());
        assert!(cluster::parse_passwd_user(passwd, "nobody").is_none());
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(cluster::tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(cluster::tail("", 2), "(empty)");
    }

    #[test]
    fn restart_needs_a_throwaway_cluster() {
        let db = DevDatabase {
            url: LOCAL_URL.to_owned(),
            source: Source::LocalServer,
            cluster: None,
        };
        let err = db.restart("fast").expect_err("not a throwaway cluster");
        assert!(matches!(err, DevDbError::NotThrowaway { .. }), "{err}");
    }

    #[test]
    fn debug_hides_the_password() {
        let db = DevDatabase {
            url: "postgres://app:s3cretpw@db:5432/jobs".to_owned(),
            source: Source::EnvVar,
            cluster: None,
        };
        let shown = format!("{db:?}");
        assert!(shown.contains("postgres://app:***@db:5432/jobs"), "{shown}");
        assert!(!shown.contains("s3cretpw"), "{shown}");
    }

    #[test]
    fn no_postgres_message_says_what_to_do() {
        let msg = DevDbError::NoPostgres {
            details: "nothing found".to_owned(),
        }
        .to_string();
        for needle in [
            "apt-get install postgresql",
            "brew install postgresql",
            "DATABASE_URL=postgres://user@host:port/db",
        ] {
            assert!(msg.contains(needle), "{msg}");
        }
    }

    #[test]
    fn throwaway_cluster_lifecycle() {
        let db = DevDatabase::start_throwaway().expect("start a throwaway cluster");
        assert_eq!(db.source(), Source::Throwaway);
        let (port, dir) = {
            let cluster = db.cluster.as_ref().expect("throwaway has a cluster");
            (cluster.port, cluster.dir.clone())
        };
        assert_eq!(
            db.url(),
            format!("postgres://postgres@127.0.0.1:{port}/postgres")
        );
        assert!(dir.is_dir());
        assert!(postgres_says_hello(port), "server on {port} answers");

        db.restart("fast").expect("fast restart");
        assert!(postgres_says_hello(port), "answers after fast restart");
        db.restart("immediate").expect("immediate restart");
        assert!(postgres_says_hello(port), "answers after immediate restart");
        let err = db.restart("bogus").expect_err("unknown mode");
        assert!(
            matches!(err, DevDbError::InvalidRestartMode { .. }),
            "{err}"
        );

        drop(db);
        assert!(!dir.exists(), "{} removed", dir.display());
        assert!(refuses(port), "port {port} closed after drop");
    }

    #[test]
    fn private_cluster_settings_are_checked() {
        let err = PrivateCluster::start(&[("fsync = on #", "x")]).expect_err("bad name");
        assert!(matches!(err, DevDbError::InvalidSetting { .. }), "{err}");
        let err = PrivateCluster::start(&[("no_such_setting_here", "1")])
            .expect_err("PostgreSQL refuses an unknown setting");
        assert!(matches!(err, DevDbError::CommandFailed { .. }), "{err}");
    }

    #[test]
    fn private_cluster_crash_replica_and_failover_on_the_same_port() {
        let mut primary =
            PrivateCluster::start(&[("wal_writer_delay", "10s")]).expect("start a cluster");
        let port = primary.port();
        let conf = std::fs::read_to_string(primary.data_dir().join("postgresql.conf"))
            .expect("postgresql.conf");
        assert!(conf.contains("wal_writer_delay = '10s'"), "{conf}");
        assert_eq!(
            primary.url(),
            format!("postgres://postgres@127.0.0.1:{port}/postgres")
        );
        assert!(postgres_says_hello(port));

        primary.stop(StopMode::Immediate).expect("immediate stop");
        assert!(!primary.is_running());
        assert!(refuses(port), "port {port} closed after the stop");
        primary.start_again().expect("crash recovery");
        assert!(postgres_says_hello(port), "answers after crash recovery");

        let mut replica = primary.replica(&[]).expect("a streaming replica");
        let (replica_dir, primary_dir) = (
            replica.data_dir().to_path_buf(),
            primary.data_dir().to_path_buf(),
        );
        assert_ne!(replica.port(), port);
        assert!(replica_dir.join("standby.signal").is_file());
        assert!(postgres_says_hello(replica.port()));
        assert!(primary.promote().is_err(), "a primary cannot be promoted");

        primary.stop(StopMode::Immediate).expect("primary crashes");
        replica.stop(StopMode::Fast).expect("replica stops");
        replica
            .start_on(port)
            .expect("replica takes the primary's port");
        assert_eq!(replica.port(), port);
        replica.promote().expect("promote");
        assert!(!replica_dir.join("standby.signal").exists(), "promoted");
        assert!(postgres_says_hello(port));

        drop(replica);
        drop(primary);
        for dir in [replica_dir, primary_dir] {
            assert!(!dir.exists(), "{} removed", dir.display());
        }
        assert!(refuses(port), "port {port} closed after drop");
    }

    #[test]
    fn watchdog_cleans_up_after_the_process_exits() {
        // Stand-in for "the current process": a short-lived child.
        let mut parent = Command::new("sleep")
            .arg("3")
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn sleep");
        let mut cluster = Cluster::start(parent.id()).expect("start a throwaway cluster");
        let (port, dir) = (cluster.port, cluster.dir.clone());
        let mut watchdog = cluster.watchdog.take().expect("watchdog is running");
        std::mem::forget(cluster); // as keep_until_process_exit does
        assert!(postgres_says_hello(port));

        let _ = parent.wait(); // reaped, so `kill -0` in the watchdog fails
        let status = watchdog.wait().expect("watchdog exits");
        assert!(status.success(), "watchdog: {status}");
        assert!(!dir.exists(), "{} removed by the watchdog", dir.display());
        assert!(refuses(port), "port {port} closed by the watchdog");
    }
}
