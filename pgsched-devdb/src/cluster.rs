//! Throwaway PostgreSQL clusters: finding the binaries, `initdb`, `pg_basebackup`, `pg_ctl`,
//! settings, cleanup. Shared by [`crate::DevDatabase`] and [`crate::PrivateCluster`].

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::DevDbError;

/// The programs a bin directory must contain.
const BINARIES: [&str; 3] = ["initdb", "pg_ctl", "postgres"];
/// How long to wait for the server to start or restart.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How many lines of output/log to put in errors.
const TAIL_LINES: usize = 20;
/// How many times to retry when the picked port got taken before the server bound it.
const PORT_ATTEMPTS: u32 = 3;

/// Settings of every cluster started here, written to `postgresql.conf` after `initdb` (so a
/// replica copies them and a caller's settings, appended later, override them). None of them
/// changes what a *process* crash loses: with `fsync = off` the WAL a server wrote still
/// survives in the OS page cache; only an OS crash (never simulated here) would lose more.
pub(crate) const BASE_SETTINGS: [(&str, &str); 3] = [
    ("fsync", "off"),
    ("full_page_writes", "off"),
    ("max_connections", "300"),
];

/// Added for [`crate::DevDatabase`] clusters only: commits do not wait for the WAL flush.
pub(crate) const THROWAWAY_SETTINGS: [(&str, &str); 1] = [("synchronous_commit", "off")];

/// Runs after the owning process exits (or is killed) and cleans up a cluster that was not
/// dropped: stops the postmaster (SIGQUIT = immediate shutdown, like `pg_ctl stop -m
/// immediate`) and removes the directory. Signals are used instead of `pg_ctl` so that the same
/// script works when we are root and the server runs as the `postgres` user.
/// Arguments: `$1` parent pid, `$2` data dir, `$3` temp dir.
const WATCHDOG_SCRIPT: &str = r#"
parent="$1"; data="$2"; dir="$3"
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
n=0
while [ ! -f "$data/postmaster.pid" ] && [ -d "$data" ] && [ "$n" -lt 3 ]; do sleep 1; n=$((n+1)); done
if [ -f "$data/postmaster.pid" ]; then
  pm=""
  read -r pm < "$data/postmaster.pid"
  case "$pm" in
    ''|*[!0-9]*) ;;
    *)
      kill -QUIT "$pm" 2>/dev/null
      n=0
      while kill -0 "$pm" 2>/dev/null && [ "$n" -lt 30 ]; do sleep 1; n=$((n+1)); done
      kill -KILL "$pm" 2>/dev/null
      ;;
  esac
fi
[ -n "$dir" ] && rm -rf "$dir"
"#;

/// The OS user the server runs as when we are root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PgUser {
    uid: u32,
    gid: u32,
}

/// A running throwaway cluster. Dropping it stops the server and removes its directory.
#[derive(Debug)]
pub(crate) struct Cluster {
    /// Temp directory holding everything (data dir, log, unix socket).
    pub(crate) dir: PathBuf,
    /// The data directory.
    data: PathBuf,
    /// The directory with `initdb`, `pg_ctl` and `postgres`.
    bindir: PathBuf,
    /// Set when we are root: who runs `initdb`/`pg_ctl`/`postgres`.
    run_as: Option<PgUser>,
    /// TCP port on 127.0.0.1.
    pub(crate) port: u16,
    /// The watchdog process; killed on drop, left running when the cluster is leaked.
    pub(crate) watchdog: Option<Child>,
}

impl Cluster {
    /// Creates, initializes and starts a new cluster for [`crate::DevDatabase`], watched on
    /// behalf of `watched_pid` (normally our own pid).
    pub(crate) fn start(watched_pid: u32) -> Result<Self, DevDbError> {
        Self::start_with(watched_pid, &THROWAWAY_SETTINGS)
    }

    /// Creates, initializes and starts a new cluster on a free port, with [`BASE_SETTINGS`]
    /// and then `settings` in its `postgresql.conf`, watched on behalf of `watched_pid`.
    pub(crate) fn start_with(
        watched_pid: u32,
        settings: &[(&str, &str)],
    ) -> Result<Self, DevDbError> {
        check_settings(settings)?;
        let mut cluster = Self::prepare(find_bindir()?, watched_pid)?;
        cluster.initdb()?;
        cluster.append_settings(&BASE_SETTINGS)?;
        cluster.append_settings(settings)?;
        cluster.start_server()?;
        Ok(cluster)
    }

    /// A streaming replica of this (running) cluster: `pg_basebackup -R` into a new directory,
    /// `settings` appended to the `postgresql.conf` it copied, started on a free port.
    pub(crate) fn replica(
        &self,
        watched_pid: u32,
        settings: &[(&str, &str)],
    ) -> Result<Self, DevDbError> {
        check_settings(settings)?;
        let basebackup = self.bindir.join("pg_basebackup");
        if !is_executable(&basebackup) {
            return Err(DevDbError::NoPostgres {
                details: format!(
                    "{} has no executable pg_basebackup, which a replica is made with",
                    self.bindir.display()
                ),
            });
        }
        let mut replica = Self::prepare(self.bindir.clone(), watched_pid)?;
        let mut cmd = replica.command("pg_basebackup");
        cmd.args(["-h", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .args([
                "-U",
                "postgres",
                "-R",
                "-X",
                "stream",
                "--checkpoint=fast",
                "--no-sync",
                "-D",
            ])
            .arg(&replica.data);
        replica.run(&mut cmd, false)?;
        replica.append_settings(settings)?;
        replica.start_server()?;
        Ok(replica)
    }

    /// A temporary directory owned by the right user, watched for `watched_pid`'s exit; no
    /// data directory yet.
    fn prepare(bindir: PathBuf, watched_pid: u32) -> Result<Self, DevDbError> {
        let dir = create_temp_dir()?;
        // From here on, any error drops `cluster`, which removes the directory.
        let mut cluster = Self {
            data: dir.join("data"),
            dir,
            bindir,
            run_as: None,
            port: 0,
            watchdog: None,
        };
        if is_root(&cluster.dir) {
            let user = postgres_user()?;
            check_reachable_by_others(&cluster.dir)?;
            chown_r(&cluster.dir, user)?;
            cluster.run_as = Some(user);
        }
        cluster.watchdog = Some(spawn_watchdog(watched_pid, &cluster.data, &cluster.dir)?);
        Ok(cluster)
    }

    /// Appends `name = 'value'` lines to `postgresql.conf` (later lines win).
    fn append_settings(&self, settings: &[(&str, &str)]) -> Result<(), DevDbError> {
        if settings.is_empty() {
            return Ok(());
        }
        let path = self.data.join("postgresql.conf");
        let mut lines = String::from("\n# pgsched-devdb\n");
        for (name, value) in settings {
            lines.push_str(&format!("{name} = '{}'\n", value.replace('\'', "''")));
        }
        let mut file = fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| DevDbError::io(format!("could not open {}", path.display()), e))?;
        file.write_all(lines.as_bytes())
            .map_err(|e| DevDbError::io(format!("could not write {}", path.display()), e))
    }

    /// The data directory.
    pub(crate) fn data_dir(&self) -> &Path {
        &self.data
    }

    /// Whether a postmaster runs on this data directory (its pid file exists).
    pub(crate) fn is_running(&self) -> bool {
        self.data.join("postmaster.pid").exists()
    }

    /// `pg_ctl stop -m <mode> -w`: returns once the server is gone.
    pub(crate) fn stop_with(&self, mode: &str) -> Result<(), DevDbError> {
        let mut cmd = self.command("pg_ctl");
        cmd.arg("-D")
            .arg(&self.data)
            .args(["stop", "-m", mode, "-w", "-t"])
            .arg(START_TIMEOUT.as_secs().to_string());
        self.run(&mut cmd, true)
    }

    /// Starts the stopped server on `port` and waits until it accepts connections.
    pub(crate) fn start_on(&mut self, port: u16) -> Result<(), DevDbError> {
        self.port = port;
        let _ = fs::remove_file(self.log_path());
        let mut cmd = self.pg_ctl();
        cmd.arg("start").process_group(0);
        self.run(&mut cmd, true)?;
        self.wait_until_accepting()
    }

    /// `pg_ctl promote -w`: returns once the standby has left recovery.
    pub(crate) fn promote(&self) -> Result<(), DevDbError> {
        let mut cmd = self.command("pg_ctl");
        cmd.arg("-D")
            .arg(&self.data)
            .args(["promote", "-w", "-t"])
            .arg(START_TIMEOUT.as_secs().to_string());
        self.run(&mut cmd, true)
    }

    /// The last `lines` lines of the server log.
    pub(crate) fn log_tail(&self, lines: usize) -> String {
        tail_of_file(&self.log_path(), lines)
    }

    /// The URL to connect to this cluster.
    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// `pg_ctl restart -m <mode>`, then waits until the port accepts connections.
    pub(crate) fn restart(&self, mode: &str) -> Result<(), DevDbError> {
        if !matches!(mode, "fast" | "immediate" | "smart") {
            return Err(DevDbError::InvalidRestartMode {
                mode: mode.to_owned(),
            });
        }
        let mut cmd = self.pg_ctl();
        cmd.args(["-m", mode, "restart"]).process_group(0);
        self.run(&mut cmd, true)?;
        self.wait_until_accepting()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("log")
    }

    /// A command for one of the PostgreSQL binaries, run as the right user.
    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bindir.join(program));
        // The current directory may be unreadable for the postgres user.
        cmd.current_dir(&self.dir).stdin(Stdio::null());
        if let Some(user) = self.run_as {
            cmd.uid(user.uid).gid(user.gid);
        }
        cmd
    }

    /// `pg_ctl -D <data> -l <log> -w -t 30 -o "<options>"`; the action is appended by callers.
    fn pg_ctl(&self) -> Command {
        let mut cmd = self.command("pg_ctl");
        cmd.arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(self.log_path())
            .args(["-w", "-t"])
            .arg(START_TIMEOUT.as_secs().to_string())
            .arg("-o")
            .arg(self.server_options());
        cmd
    }

    /// What differs per start: the address. Everything else is in `postgresql.conf`.
    fn server_options(&self) -> String {
        format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={}",
            self.port,
            shell_quote(&self.dir.to_string_lossy()),
        )
    }

    fn initdb(&self) -> Result<(), DevDbError> {
        let mut cmd = self.command("initdb");
        cmd.args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "-D",
        ])
        .arg(&self.data);
        self.run(&mut cmd, false)
    }

    fn start_server(&mut self) -> Result<(), DevDbError> {
        let mut attempt = 1;
        loop {
            self.port = free_port()?;
            // Start each attempt with a fresh log so that the port check below sees only it.
            let _ = fs::remove_file(self.log_path());
            let mut cmd = self.pg_ctl();
            // Keep the server out of our process group so a Ctrl-C to us does not hit it
            // directly; cleanup is the watchdog's job.
            cmd.arg("start").process_group(0);
            match self.run(&mut cmd, true) {
                Ok(()) => break,
                Err(_) if attempt < PORT_ATTEMPTS && self.port_was_taken() => attempt += 1,
                Err(e) => return Err(e),
            }
        }
        self.wait_until_accepting()
    }

    fn port_was_taken(&self) -> bool {
        fs::read_to_string(self.log_path())
            .map(|log| log.contains("Address already in use") || log.contains("could not bind"))
            .unwrap_or(false)
    }

    fn wait_until_accepting(&self) -> Result<(), DevDbError> {
        let started = Instant::now();
        while started.elapsed() < START_TIMEOUT {
            if tcp_answers(self.port, Duration::from_millis(300)) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(DevDbError::NotAcceptingConnections {
            port: self.port,
            waited: START_TIMEOUT,
            log_tail: tail_of_file(&self.log_path(), TAIL_LINES),
        })
    }

    /// Runs `cmd`; on failure the error carries the tail of its output (and of the server log
    /// if `with_log`).
    fn run(&self, cmd: &mut Command, with_log: bool) -> Result<(), DevDbError> {
        let command = describe(cmd);
        let out = cmd
            .output()
            .map_err(|e| DevDbError::io(format!("could not run `{command}`"), e))?;
        if out.status.success() {
            return Ok(());
        }
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        let mut output = format!("last lines of its output:\n{}", tail(&text, TAIL_LINES));
        if with_log {
            output.push_str(&format!(
                "\nlast lines of {}:\n{}",
                self.log_path().display(),
                tail_of_file(&self.log_path(), TAIL_LINES)
            ));
        }
        Err(DevDbError::CommandFailed {
            command,
            status: out.status.to_string(),
            output,
        })
    }

    /// Stops the server if it is running. Never panics.
    fn stop(&self) {
        let pid_file = self.data.join("postmaster.pid");
        if !pid_file.exists() {
            return;
        }
        let mut cmd = self.command("pg_ctl");
        cmd.arg("-D")
            .arg(&self.data)
            .args(["stop", "-m", "immediate", "-w", "-t", "30"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if cmd.status().is_ok_and(|s| s.success()) {
            return;
        }
        // pg_ctl did not work: kill the postmaster directly.
        let Some(pid) = fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<u32>().ok()))
        else {
            return;
        };
        let _ = Command::new("sh")
            .args(["-c", "kill -KILL \"$1\" 2>/dev/null", "sh"])
            .arg(pid.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // Give its children a moment to notice and exit before the directory is removed.
        std::thread::sleep(Duration::from_millis(200));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
        // Backends may still be exiting after a kill; retry a little.
        for _ in 0..10 {
            match fs::remove_dir_all(&self.dir) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                _ => break,
            }
        }
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }
}

/// Whether something accepts TCP connections on `127.0.0.1:<port>`.
pub(crate) fn tcp_answers(port: u16, timeout: Duration) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, timeout).is_ok()
}

/// Finds a directory containing `initdb`, `pg_ctl` and `postgres`.
///
/// Order: `$PGSCHED_PG_BINDIR`; the directory of `initdb` on `PATH` (symlinks resolved
/// first); `pg_config --bindir`; the newest `/usr/lib/postgresql/<version>/bin` (Debian) or
/// `/usr/pgsql-<version>/bin` (RHEL).
pub(crate) fn find_bindir() -> Result<PathBuf, DevDbError> {
    if let Some(dir) = std::env::var_os("PGSCHED_PG_BINDIR").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        return if has_binaries(&dir) {
            Ok(dir)
        } else {
            Err(DevDbError::NoPostgres {
                details: format!(
                    "PGSCHED_PG_BINDIR is set to {}, but that directory does not contain \
                     executable initdb, pg_ctl and postgres",
                    dir.display()
                ),
            })
        };
    }

    let mut looked = Vec::new();
    let mut candidates = Vec::new();
    match initdb_on_path() {
        Some(initdb) => {
            if let Some(dir) = fs::canonicalize(&initdb)
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf))
            {
                candidates.push(dir);
            }
            if let Some(dir) = initdb.parent() {
                candidates.push(dir.to_path_buf());
            }
        }
        None => looked.push("initdb on PATH".to_owned()),
    }
    match pg_config_bindir() {
        Some(dir) => candidates.push(dir),
        None => looked.push("`pg_config --bindir`".to_owned()),
    }
    candidates.extend(newest_versioned(
        Path::new("/usr/lib/postgresql"),
        "",
        "bin",
    ));
    candidates.extend(newest_versioned(Path::new("/usr"), "pgsql-", "bin"));
    looked.push("/usr/lib/postgresql/*/bin".to_owned());
    looked.push("/usr/pgsql-*/bin".to_owned());

    for dir in &candidates {
        if has_binaries(dir) {
            return Ok(dir.clone());
        }
    }
    looked.extend(
        candidates
            .iter()
            .map(|d| format!("{} (incomplete)", d.display())),
    );
    Err(DevDbError::NoPostgres {
        details: format!(
            "no PostgreSQL server binaries (initdb, pg_ctl, postgres) were found; looked at: {}",
            looked.join(", ")
        ),
    })
}

/// Checks that every setting name is a plain identifier (it is written into
/// `postgresql.conf` unquoted).
fn check_settings(settings: &[(&str, &str)]) -> Result<(), DevDbError> {
    for (name, _) in settings {
        let plain = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if !plain {
            return Err(DevDbError::InvalidSetting {
                name: (*name).to_owned(),
            });
        }
    }
    Ok(())
}

fn has_binaries(dir: &Path) -> bool {
    BINARIES.iter().all(|b| is_executable(&dir.join(b)))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0)
}

fn initdb_on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("initdb"))
        .find(|p| is_executable(p))
}

fn pg_config_bindir() -> Option<PathBuf> {
    let out = Command::new("pg_config")
        .arg("--bindir")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let dir = String::from_utf8(out.stdout).ok()?;
    let dir = dir.trim();
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}

/// The `<parent>/<prefix><version>/<sub>` directory with the highest version that has all
/// binaries.
fn newest_versioned(parent: &Path, prefix: &str, sub: &str) -> Option<PathBuf> {
    fs::read_dir(parent)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name();
            let version = parse_version(name.to_str()?.strip_prefix(prefix)?)?;
            let dir = entry.path().join(sub);
            has_binaries(&dir).then_some((version, dir))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, dir)| dir)
}

/// `"9.6"` → `[9, 6]`, `"15"` → `[15]`; `None` for anything else.
pub(crate) fn parse_version(s: &str) -> Option<Vec<u32>> {
    if s.is_empty() {
        return None;
    }
    s.split('.').map(|part| part.parse().ok()).collect()
}

/// Creates `<temp>/pgsched-devdb-<pid>-<nanos>`.
fn create_temp_dir() -> Result<PathBuf, DevDbError> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let base = std::env::temp_dir();
    loop {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
            + u128::from(COUNTER.fetch_add(1, Ordering::Relaxed));
        let dir = base.join(format!("pgsched-devdb-{}-{nanos}", std::process::id()));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(DevDbError::io(
                    format!("could not create directory {}", dir.display()),
                    e,
                ));
            }
        }
    }
}

/// Whether we run as root: the owner of `/proc/self` (Linux), or else of a directory we just
/// created (elsewhere). Avoids the `unsafe` `libc::geteuid`.
fn is_root(created_by_us: &Path) -> bool {
    fs::metadata("/proc/self")
        .or_else(|_| fs::metadata(created_by_us))
        .is_ok_and(|m| m.uid() == 0)
}

/// The `postgres` user's uid and gid from `/etc/passwd`.
fn postgres_user() -> Result<PgUser, DevDbError> {
    let passwd = fs::read_to_string("/etc/passwd")
        .map_err(|e| DevDbError::io("could not read /etc/passwd", e))?;
    parse_passwd_user(&passwd, "postgres").ok_or(DevDbError::NoPostgresUser)
}

pub(crate) fn parse_passwd_user(passwd: &str, name: &str) -> Option<PgUser> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != name {
            return None;
        }
        let _password = fields.next()?;
        let uid = fields.next()?.parse().ok()?;
        let gid = fields.next()?.parse().ok()?;
        Some(PgUser { uid, gid })
    })
}

/// When we are root the server runs as `postgres`, which must be able to reach `dir`: every
/// parent directory must be searchable by others.
fn check_reachable_by_others(dir: &Path) -> Result<(), DevDbError> {
    for ancestor in dir.ancestors().skip(1) {
        let searchable = fs::metadata(ancestor).is_ok_and(|m| m.mode() & 0o001 != 0);
        if !searchable {
            return Err(DevDbError::TempDirNotReachable {
                dir: dir.to_path_buf(),
                blocking: ancestor.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// `chown -R` without following symlinks.
fn chown_r(path: &Path, user: PgUser) -> Result<(), DevDbError> {
    std::os::unix::fs::lchown(path, Some(user.uid), Some(user.gid))
        .map_err(|e| DevDbError::io(format!("could not chown {}", path.display()), e))?;
    let meta = fs::symlink_metadata(path)
        .map_err(|e| DevDbError::io(format!("could not stat {}", path.display()), e))?;
    if meta.is_dir() {
        let entries = fs::read_dir(path)
            .map_err(|e| DevDbError::io(format!("could not list {}", path.display()), e))?;
        for entry in entries {
            let entry = entry
                .map_err(|e| DevDbError::io(format!("could not list {}", path.display()), e))?;
            chown_r(&entry.path(), user)?;
        }
    }
    Ok(())
}

/// Binds `127.0.0.1:0` to get a port that is free right now.
fn free_port() -> Result<u16, DevDbError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| DevDbError::io("could not bind 127.0.0.1:0 to pick a free port", e))?;
    let port = listener
        .local_addr()
        .map_err(|e| DevDbError::io("could not read the picked port", e))?
        .port();
    Ok(port)
}

/// Spawns the detached watchdog that cleans up once `watched_pid` is gone.
fn spawn_watchdog(watched_pid: u32, data: &Path, dir: &Path) -> Result<Child, DevDbError> {
    Command::new("sh")
        .arg("-c")
        .arg(WATCHDOG_SCRIPT)
        .arg("pgsched-devdb-watchdog")
        .arg(watched_pid.to_string())
        .arg(data)
        .arg(dir)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Own process group: a Ctrl-C to the test must not kill it before it cleans up.
        .process_group(0)
        .spawn()
        .map_err(|e| DevDbError::io("could not spawn the cleanup watchdog (`sh`)", e))
}

/// The command line, for error messages.
fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a: &OsStr| shell_quote(&a.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Quotes `s` for a POSIX shell if it contains anything unusual.
fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-=,:@+".contains(c));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The last `n` lines of `text`.
pub(crate) fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    let out = lines[start..].join("\n");
    if out.trim().is_empty() {
        "(empty)".to_owned()
    } else {
        out
    }
}

fn tail_of_file(path: &Path, lines: usize) -> String {
    match fs::read(path) {
        Ok(bytes) => tail(&String::from_utf8_lossy(&bytes), lines),
        Err(e) => format!("(could not read {}: {e})", path.display()),
    }
}
