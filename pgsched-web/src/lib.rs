//! The web dashboard of pgsched: an overview with live charts, the jobs list and each job,
//! periodic schedules, workers and retention, in a browser. Server-rendered HTML from
//! templates checked at compile time (askama, escaping every value), a little JavaScript for
//! live refresh and confirmations, every asset embedded in the binary: the page loads nothing
//! from anywhere else.
//!
//! The dashboard reads and acts through a [`Backend`]: pgsched's `Scheduler` implements it
//! (the `dashboard` feature of the `pgsched` crate), which also serves it from
//! `pgsched::run()` when `PGSCHED_DASHBOARD_ADDR` is set and from the `dashboard` command.
//! To mount it in an application of your own:
//!
//! ```no_run
//! # async fn demo<B: pgsched_web::Backend>(scheduler: B) -> Result<(), Box<dyn std::error::Error>> {
//! let settings = pgsched_web::Settings::from_env()?.base_path("/jobs-dashboard");
//! let dashboard = pgsched_web::router(scheduler, &settings);
//! let app = pgsched_web::axum::Router::new().nest("/jobs-dashboard", dashboard);
//! # let _ = app; Ok(()) }
//! ```
//!
//! Safety: [`Settings::check_bind`] refuses an address other than loopback without a token;
//! with [`Settings::token`] every request needs it (HTTP basic auth, any user name, the
//! token as password; or `Authorization: Bearer`); [`Settings::read_only`] shows everything
//! and refuses every action; every action is a POST carrying the page's CSRF token from a
//! page of the same origin; every read runs under a statement timeout, on indexes
//! (`pgsched_pg::dashboard`).

mod charts;
mod form;
mod guard;
mod pages;
mod settings;
mod view;

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pgsched_core::{JobId, JobInfo, Registry, Result, VacuumConfig};
use pgsched_pg::PgStore;

pub use axum;
pub use settings::{
    ADDR_VARIABLE, READ_ONLY_VARIABLE, Server, Settings, SettingsError, TOKEN_VARIABLE, serve,
};

/// What the dashboard reads and acts through: the store, the linked job definitions, and the
/// periodic schedules as the application defines them. pgsched's `Scheduler` implements it
/// (the `pgsched` crate's `dashboard` feature).
pub trait Backend: Clone + Send + Sync + 'static {
    /// The store of jobs, workers and retention statistics.
    fn store(&self) -> &PgStore;

    /// The jobs linked into this binary (to decode arguments).
    ///
    /// # Errors
    /// An invalid registry (duplicate names, invalid schedules).
    fn registry(&self) -> Result<&Registry>;

    /// A worker not seen for this long counts as dead.
    fn dead_worker_after(&self) -> Duration;

    /// The retention policies in force.
    fn retention(&self) -> &VacuumConfig;

    /// Every periodic schedule of this binary, with `fires` next fire times each.
    ///
    /// # Errors
    /// A store error.
    fn periodic_schedules(
        &self,
        fires: usize,
    ) -> impl Future<Output = Result<Vec<PeriodicView>>> + Send;

    /// Enables or disables the schedule `key` on every replica; false if it is unknown.
    ///
    /// # Errors
    /// A store error, or an unknown key.
    fn set_periodic_enabled(
        &self,
        key: &str,
        enabled: bool,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Runs the schedule `key` now, outside its windows; returns the run's id.
    ///
    /// # Errors
    /// A store error, or an unknown key.
    fn trigger_periodic(&self, key: &str) -> impl Future<Output = Result<JobId>> + Send;
}

/// A periodic schedule as the dashboard shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodicView {
    /// Its key (the management handle).
    pub key: String,
    /// The job it enqueues.
    pub job_name: String,
    /// The schedule in force (`cron:<expr>:tz:<zone>` or `every:<ms>ms`).
    pub schedule: String,
    /// Whether it enqueues its windows.
    pub enabled: bool,
    /// Its next fire times, soonest first (empty: never again).
    pub next_fires: Vec<DateTime<Utc>>,
    /// Its latest window enqueued.
    pub last_window: Option<DateTime<Utc>>,
    /// That window's run, if it still exists.
    pub last_run: Option<JobInfo>,
}

/// The dashboard's routes over `backend`, to serve as they are or to nest in an application
/// of your own under [`Settings::base_path`].
pub fn router<B: Backend>(backend: B, settings: &Settings) -> axum::Router {
    pages::routes(backend, settings)
}
