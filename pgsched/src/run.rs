//! [`run`] and [`Scheduler::run`]: the worker process in one call — signals, graceful
//! shutdown, and the admin command line when the process is given arguments.

use pgsched_core::{Error, Result};

use crate::scheduler::Scheduler;

/// Runs a worker until SIGINT or SIGTERM, then shuts down gracefully — or, when the process
/// was given arguments, runs the admin command line (`pgsched::cli`: `jobs list`, `jobs
/// enqueue NAME --args JSON`, `periodic list`, …; `--help` lists them) and exits the process
/// with its exit code. The command line is the `cli` feature, on by default; without it,
/// arguments are ignored and the worker runs.
///
/// The worker is [`Scheduler::run`] on the process-wide scheduler ([`Scheduler::global`]):
/// the one installed with [`Scheduler::set_global`], else one built from `DATABASE_URL` and
/// `PGSCHED_*`. It checks that jobs are registered, migrates, and runs every `#[job]` linked
/// into the binary. Jobs that take a [`State<T>`](crate::State) need a scheduler given that
/// state: build one with [`Scheduler::builder_from_env`] and
/// [`.state(..)`](crate::SchedulerBuilder::state), then call [`Scheduler::run`] on it.
///
/// ```no_run
/// #[tokio::main]
/// async fn main() -> Result<(), pgsched::Error> {
///     pgsched::run().await
/// }
/// ```
///
/// # Errors
/// As [`Scheduler::run`], and [`Error::Config`] or [`Error::Connect`] when the process-wide
/// scheduler cannot be built from the environment.
pub async fn run() -> Result<()> {
    #[cfg(feature = "cli")]
    if has_arguments() {
        // The command line reports a scheduler it cannot build with its own exit code.
        let code = crate::cli::run_from(std::env::args_os()).await;
        std::process::exit(i32::from(code));
    }
    Scheduler::global().await?.run().await
}

impl Scheduler {
    /// Runs this scheduler as a worker process: until SIGINT or SIGTERM, then shuts down
    /// gracefully — or, when the process was given arguments, runs the admin command line
    /// (`pgsched::cli`) on this scheduler and exits the process with its exit code (the `cli`
    /// feature). What [`crate::run()`] does with the process-wide scheduler, for a scheduler
    /// of your own: one given application state, say.
    ///
    /// It migrates, starts the worker ([`Scheduler::start`]), waits for a signal, then calls
    /// [`Scheduler::shutdown`]: no more claims, running jobs get the shutdown grace, the rest
    /// are released. A second signal during shutdown stops waiting for running jobs (their
    /// leases expire and other workers recover them). With the `prometheus` feature it serves
    /// the metrics on `PGSCHED_METRICS_ADDR`, if set; with the `dashboard` feature the web
    /// dashboard on `PGSCHED_DASHBOARD_ADDR`, if set (`PGSCHED_DASHBOARD_TOKEN` and
    /// `PGSCHED_DASHBOARD_READONLY` as on `pgsched::web::Settings`), until the worker stopped.
    ///
    /// ```no_run
    /// # struct Mailer;
    /// # impl Mailer { fn new() -> Self { Mailer } }
    /// #[tokio::main]
    /// async fn main() -> Result<(), pgsched::Error> {
    ///     let scheduler = pgsched::Scheduler::builder_from_env()?
    ///         .state(Mailer::new())     // what jobs taking `State<Mailer>` receive
    ///         .build()
    ///         .await?;
    ///     scheduler.run().await
    /// }
    /// ```
    ///
    /// # Errors
    /// [`Error::EmptyRegistry`] with no job in the binary, [`Error::AlreadyRunning`] if this
    /// scheduler's worker was already started, [`Error::Config`] for a bad setting, or a store
    /// error when the database cannot be reached.
    pub async fn run(&self) -> Result<()> {
        #[cfg(feature = "cli")]
        if has_arguments() {
            let code = crate::cli::run_with(self, std::env::args_os()).await;
            std::process::exit(i32::from(code));
        }
        #[cfg(feature = "prometheus")]
        install_prometheus_exporter()?;
        // Installed before the worker starts, so a signal during start-up stops it gracefully
        // too instead of killing the process.
        let mut signals = Signals::install()?;
        // Served before the worker starts: a dashboard that may not be exposed as configured
        // stops the process before it runs any job.
        #[cfg(feature = "dashboard")]
        let dashboard = self.dashboard_from_env().await?;
        self.start().await?;
        let signal = signals.next().await;
        tracing::info!(signal, "stopping: finishing running jobs");
        tokio::select! {
            report = self.shutdown() => { report?; }
            second = signals.next() => {
                tracing::warn!(signal = second, "second signal: stopping without waiting for running jobs");
            }
        }
        #[cfg(feature = "dashboard")]
        if let Some((stop, task)) = dashboard {
            stop.cancel();
            let _ = task.await;
        }
        Ok(())
    }

    /// With `PGSCHED_DASHBOARD_ADDR` set: the dashboard, served, and what stops it.
    #[cfg(feature = "dashboard")]
    async fn dashboard_from_env(
        &self,
    ) -> Result<
        Option<(
            tokio_util::sync::CancellationToken,
            tokio::task::JoinHandle<()>,
        )>,
    > {
        let settings = crate::dashboard::settings_from_env()?;
        let Some(addr) = settings.served_at() else {
            return Ok(None);
        };
        let stop = tokio_util::sync::CancellationToken::new();
        let (_, task) = self.serve_dashboard(&settings, addr, stop.clone()).await?;
        Ok(Some((stop, task)))
    }
}

/// Whether the process was given arguments, which make it the admin command line.
#[cfg(feature = "cli")]
fn has_arguments() -> bool {
    std::env::args_os().len() > 1
}

/// With the `prometheus` feature: serves the metrics on `PGSCHED_METRICS_ADDR` (e.g.
/// `0.0.0.0:9464`), if set.
#[cfg(feature = "prometheus")]
fn install_prometheus_exporter() -> Result<()> {
    const KEY: &str = "PGSCHED_METRICS_ADDR";
    let Ok(address) = std::env::var(KEY) else {
        return Ok(());
    };
    let address: std::net::SocketAddr = address
        .parse()
        .map_err(|error| Error::config(KEY, format!("{address:?}: {error}")))?;
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(address)
        .install()
        .map_err(|error| Error::config(KEY, error.to_string()))?;
    tracing::info!(%address, "serving Prometheus metrics");
    Ok(())
}

/// SIGINT and SIGTERM, caught: while this lives they no longer end the process.
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    /// Catches SIGINT and SIGTERM from now on.
    fn install() -> Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt()).map_err(|source| Error::Io {
                operation: "install the SIGINT handler",
                source,
            })?,
            terminate: signal(SignalKind::terminate()).map_err(|source| Error::Io {
                operation: "install the SIGTERM handler",
                source,
            })?,
        })
    }

    /// Waits for the next SIGINT or SIGTERM and returns its name.
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}
