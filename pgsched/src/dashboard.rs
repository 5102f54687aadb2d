//! With the `dashboard` feature: the web dashboard ([`pgsched_web`]) over a [`Scheduler`].
//! [`Scheduler::run`] serves it next to the worker when `PGSCHED_DASHBOARD_ADDR` is set
//! (e.g. `127.0.0.1:9090`); the `dashboard` command serves it without running jobs; an
//! application mounts [`Scheduler::dashboard`] in its own axum app.

use std::net::SocketAddr;
use std::time::Duration;

use pgsched_core::periodic::CompiledSchedule;
use pgsched_core::{Error, JobId, Registry, Result, VacuumConfig};
use pgsched_pg::PgStore;
use pgsched_web::{PeriodicView, Settings, SettingsError};
use tokio_util::sync::CancellationToken;

use crate::scheduler::Scheduler;

impl pgsched_web::Backend for Scheduler {
    fn store(&self) -> &PgStore {
        Scheduler::store(self)
    }

    fn registry(&self) -> Result<&Registry> {
        Scheduler::registry(self)
    }

    fn dead_worker_after(&self) -> Duration {
        self.worker_config().dead_worker_after
    }

    fn retention(&self) -> &VacuumConfig {
        &self.worker_config().vacuum
    }

    async fn periodic_schedules(&self, fires: usize) -> Result<Vec<PeriodicView>> {
        let mut views = Vec::new();
        for info in self.periodic_jobs().await? {
            let status = self.periodic_job_status(&info.key).await?;
            // The schedule in force (which may be another binary's) fires next; pgsched-cron
            // gives the windows after the first.
            let schedule = CompiledSchedule::from_description(&info.schedule_in_force);
            let mut next_fires: Vec<_> = info.next_fire.into_iter().collect();
            while let (Some(last), Some(schedule)) = (next_fires.last(), schedule.as_ref()) {
                if next_fires.len() >= fires {
                    break;
                }
                match schedule.next_after(*last) {
                    Some(next) => next_fires.push(next),
                    None => break,
                }
            }
            views.push(PeriodicView {
                key: info.key,
                job_name: info.job_name.to_owned(),
                schedule: info.schedule_in_force,
                enabled: info.enabled,
                next_fires,
                last_window: status.last_window,
                last_run: status.last_run,
            });
        }
        Ok(views)
    }

    async fn set_periodic_enabled(&self, key: &str, enabled: bool) -> Result<bool> {
        if enabled {
            self.enable_periodic_job(key).await
        } else {
            self.disable_periodic_job(key).await
        }
    }

    async fn trigger_periodic(&self, key: &str) -> Result<JobId> {
        self.trigger_periodic_job(key).await
    }
}

impl Scheduler {
    /// The dashboard's routes over this scheduler, to mount in an application of your own
    /// (nested under [`Settings::base_path`]):
    ///
    /// ```no_run
    /// # async fn demo(scheduler: pgsched::Scheduler) -> Result<(), Box<dyn std::error::Error>> {
    /// use pgsched::web::{Settings, axum};
    /// let settings = Settings::from_env()?.base_path("/jobs");
    /// let app = axum::Router::new().nest("/jobs", scheduler.dashboard(&settings));
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    /// axum::serve(listener, app).await?;
    /// # Ok(()) }
    /// ```
    pub fn dashboard(&self, settings: &Settings) -> pgsched_web::axum::Router {
        pgsched_web::router(self.clone(), settings)
    }

    /// Serves the dashboard on `addr` until `stop` is cancelled; returns the bound address
    /// and the server's task. Refuses an address other than loopback without
    /// `PGSCHED_DASHBOARD_TOKEN`.
    ///
    /// # Errors
    /// [`Error::Config`] naming the variable to set, or the address that cannot be bound.
    pub async fn serve_dashboard(
        &self,
        settings: &Settings,
        addr: SocketAddr,
        stop: CancellationToken,
    ) -> Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
        let (bound, server) = pgsched_web::serve(self.clone(), settings, addr, async move {
            stop.cancelled().await;
        })
        .await
        .map_err(settings_error)?;
        let task = tokio::spawn(async move {
            if let Err(error) = server.await {
                tracing::error!(%error, "the dashboard stopped");
            }
        });
        Ok((bound, task))
    }
}

/// The dashboard's settings from the environment.
pub(crate) fn settings_from_env() -> Result<Settings> {
    Settings::from_env().map_err(settings_error)
}

fn settings_error(error: SettingsError) -> Error {
    let key = match &error {
        SettingsError::Invalid { variable, .. } => *variable,
        SettingsError::Unauthenticated { .. } => pgsched_web::TOKEN_VARIABLE,
        _ => pgsched_web::ADDR_VARIABLE,
    };
    Error::config(key, error.to_string())
}
