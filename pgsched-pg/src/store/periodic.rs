//! Periodic schedules: registration, states, and enqueueing a window exactly once.

use chrono::{DateTime, Utc};
use pgsched_core::store::{PeriodicRegistration, PeriodicState};
use pgsched_core::{NewJob, Result};

use super::PgStore;
use crate::job_row::bind_job;
use crate::rows::PeriodicRow;

impl PgStore {
    /// See [`pgsched_core::store::JobStore::register_periodic`].
    pub(super) async fn register_periodic(
        &self,
        schedules: &[PeriodicRegistration],
        owner: Option<&str>,
    ) -> Result<()> {
        if schedules.is_empty() {
            return Ok(());
        }
        // Rows of earlier versions, keyed by a hash SQL cannot compute, are recognised here.
        let (_, rows) = self.periodic_states().await?;
        let legacy = pgsched_core::periodic::legacy_adoptions(schedules, &rows);
        let keys: Vec<&str> = schedules.iter().map(|s| s.key.as_str()).collect();
        let names: Vec<&str> = schedules.iter().map(|s| s.job_name.as_str()).collect();
        let texts: Vec<&str> = schedules.iter().map(|s| s.schedule.as_str()).collect();
        let enabled: Vec<bool> = schedules.iter().map(|s| s.enabled).collect();
        self.sql
            .register_periodic
            .query()
            .bind(keys)
            .bind(names)
            .bind(texts)
            .bind(enabled)
            .bind(legacy)
            .bind(owner)
            .execute(self.main())
            .await
            .map_err(self.sql.register_periodic.error())?;
        Ok(())
    }

    /// See [`pgsched_core::store::JobStore::periodic_states`].
    pub(super) async fn periodic_states(&self) -> Result<(DateTime<Utc>, Vec<PeriodicState>)> {
        let rows: Vec<PeriodicRow> = self
            .sql
            .periodic_states
            .query_as()
            .fetch_all(self.main())
            .await
            .map_err(self.sql.periodic_states.error())?;
        let now = match rows.first() {
            Some(row) => row.db_now,
            None => self
                .sql
                .database_now
                .query_scalar()
                .fetch_one(self.main())
                .await
                .map_err(self.sql.database_now.error())?,
        };
        Ok((now, rows.into_iter().map(PeriodicState::from).collect()))
    }

    /// See [`pgsched_core::store::JobStore::periodic_state`].
    pub(super) async fn periodic_state(&self, key: &str) -> Result<Option<PeriodicState>> {
        let row: Option<PeriodicRow> = self
            .sql
            .periodic_state
            .query_as()
            .bind(key)
            .fetch_optional(self.main())
            .await
            .map_err(self.sql.periodic_state.error())?;
        Ok(row.map(PeriodicState::from))
    }

    /// See [`pgsched_core::store::JobStore::enqueue_periodic`].
    pub(super) async fn enqueue_periodic(
        &self,
        key: &str,
        schedule: &str,
        window: DateTime<Utc>,
        job: &NewJob,
    ) -> Result<bool> {
        let statement = self
            .sql
            .enqueue_periodic
            .query_scalar()
            .bind(key)
            .bind(window)
            .bind(schedule);
        let inserted: Option<String> = bind_job(statement, job)
            .fetch_optional(self.main())
            .await
            .map_err(self.sql.enqueue_periodic.error())?;
        Ok(inserted.is_some())
    }

    /// See [`pgsched_core::store::JobStore::set_periodic_enabled`].
    pub(super) async fn set_periodic_enabled(&self, key: &str, enabled: bool) -> Result<bool> {
        let changed: i64 = self
            .sql
            .set_periodic_enabled
            .query_scalar()
            .bind(key)
            .bind(enabled)
            .fetch_one(self.main())
            .await
            .map_err(self.sql.set_periodic_enabled.error())?;
        Ok(changed > 0)
    }
}
