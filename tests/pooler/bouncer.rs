//! A PgBouncer of the test's own, in transaction pooling mode, in front of the tests' server.
//!
//! Started from `/usr/sbin/pgbouncer` (Debian's package) on a free local port with a config in
//! a temporary directory; as the `postgres` OS user when we are root (PgBouncer refuses root);
//! killed when dropped. Three server connections, so clients really share and switch them.
//! PgBouncer logs in to the server as the tests' URL's user without a password (the tests'
//! server trusts local connections); a password in `DATABASE_URL` is not passed on.

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;

/// Where Debian's package installs it.
const PGBOUNCER: &str = "/usr/sbin/pgbouncer";
/// Server connections per database/user pair: small, so clients share them.
const SERVER_CONNECTIONS: u32 = 3;
/// The database name clients use.
const DATABASE: &str = "pgsched_pooled";

/// How the pooler treats startup parameters it does not track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StartupParameters {
    /// PgBouncer's default: refuse a connection that sends one (sqlx's `extra_float_digits`).
    Refused,
    /// `ignore_startup_parameters = extra_float_digits`, as many deployments set it for
    /// clients that send it: lets a client without the pooler mode connect at all.
    IgnoreExtraFloatDigits,
}

/// A running PgBouncer; killed on drop.
pub(crate) struct Bouncer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Bouncer {
    /// Starts one in front of the tests' database.
    ///
    /// # Panics
    /// If PgBouncer is not installed (the message says how to install it) or does not start.
    pub(crate) fn start(startup: StartupParameters) -> Bouncer {
        let binary = find_pgbouncer();
        let server: PgConnectOptions = pgsched_tests::database_url()
            .parse()
            .expect("the tests' database URL parses");
        let runner = run_as();
        let dir = temp_dir(runner);
        let mut last_log = String::new();
        // The port is free when we pick it; another process may take it before PgBouncer
        // binds, so try a few.
        for _ in 0..5 {
            let port = free_port();
            let config = dir.join("pgbouncer.ini");
            std::fs::write(&config, config_text(&server, port, &dir, startup))
                .expect("write the PgBouncer config");
            let mut command = Command::new(&binary);
            command
                .arg(&config)
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if let Some((uid, gid)) = runner {
                command.uid(uid).gid(gid);
            }
            let child = command
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let mut bouncer = Bouncer {
                child,
                port,
                dir: dir.clone(),
            };
            if bouncer.wait_until_listening() {
                return bouncer;
            }
            last_log = bouncer.log();
            bouncer.stop();
        }
        panic!("PgBouncer did not start; its log:\n{last_log}");
    }

    /// The URL clients use (any user name: PgBouncer logs in as the server URL's user).
    pub(crate) fn url(&self) -> String {
        format!("postgres://pgsched@127.0.0.1:{}/{DATABASE}", self.port)
    }

    /// PgBouncer's log so far (for failure messages).
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pgbouncer.log")).unwrap_or_default()
    }

    fn wait_until_listening(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return false;
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn find_pgbouncer() -> PathBuf {
    let installed = PathBuf::from(PGBOUNCER);
    if installed.is_file() {
        return installed;
    }
    let on_path = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("pgbouncer"))
                .find(|candidate| candidate.is_file())
        })
        .unwrap_or_default();
    on_path.unwrap_or_else(|| {
        panic!(
            "PgBouncer is not installed ({PGBOUNCER} missing, none on PATH). Install it with \
             `apt-get install -y pgbouncer` (.ci/run does this); the tests start their own \
             instance, the system service need not run"
        )
    })
}

fn config_text(
    server: &PgConnectOptions,
    port: u16,
    dir: &Path,
    startup: StartupParameters,
) -> String {
    let host = server.get_host();
    let database = server.get_database().unwrap_or("postgres");
    let ignore = match startup {
        StartupParameters::Refused => "",
        StartupParameters::IgnoreExtraFloatDigits => {
            "ignore_startup_parameters = extra_float_digits\n"
        }
    };
    format!(
        "[databases]\n\
         {DATABASE} = host={host} port={server_port} dbname={database} user={user}\n\
         \n\
         [pgbouncer]\n\
         listen_addr = 127.0.0.1\n\
         listen_port = {port}\n\
         unix_socket_dir =\n\
         auth_type = any\n\
         pool_mode = transaction\n\
         default_pool_size = {SERVER_CONNECTIONS}\n\
         min_pool_size = 0\n\
         reserve_pool_size = 0\n\
         max_client_conn = 500\n\
         log_connections = 0\n\
         log_disconnections = 0\n\
         logfile = {log}\n\
         {ignore}",
        server_port = server.get_port(),
        user = server.get_username(),
        log = dir.join("pgbouncer.log").display(),
    )
}

/// The `postgres` user's uid and gid when we are root (PgBouncer refuses to run as root).
fn run_as() -> Option<(u32, u32)> {
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if !root {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
    let user = passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        match fields.as_slice() {
            ["postgres", _, uid, gid, ..] => Some((uid.parse().ok()?, gid.parse().ok()?)),
            _ => None,
        }
    });
    Some(user.unwrap_or_else(|| {
        panic!("running as root, and PgBouncer refuses root, but there is no `postgres` user to run it as")
    }))
}

/// A directory of its own, writable by whoever runs PgBouncer.
fn temp_dir(runner: Option<(u32, u32)>) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "pgsched-pgbouncer-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the PgBouncer directory");
    if let Some((uid, gid)) = runner {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
            .expect("chown the PgBouncer directory");
    }
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free local port")
}
