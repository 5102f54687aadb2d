//! `#[periodic]` with a cron schedule (with and without a time zone) and with an interval:
//! the job's module plus `PERIODIC`, registered through `inventory`.
#![deny(warnings)]

use std::time::Duration;

use pgsched::__private::{PeriodicDefinition, PeriodicSchedule, inventory};
use pgsched::{MisfireGrace, Priority, periodic};

/// Weekday mornings, London time.
#[periodic(cron = "0 9 * * MON-FRI", tz = "Europe/London")]
pub async fn morning_digest() -> Result<(), String> {
    Ok(())
}

/// Every hour, UTC, by nickname.
#[periodic(cron = "@hourly")]
async fn hourly() {}

/// Every 15 minutes, aligned to the Unix epoch.
#[periodic(every = "15m")]
async fn sweep() -> Result<(), std::io::Error> {
    Ok(())
}

/// Vixie dialect: 7 is Sunday, wrapping ranges and steps.
#[periodic(cron = "*/20 22-2 * NOV-FEB 5-7", tz = "America/New_York")]
async fn winter_nights() {}

fn registered(name: &str) -> &'static PeriodicDefinition {
    inventory::iter::<PeriodicDefinition>
        .into_iter()
        .find(|periodic| periodic.job.name == name)
        .expect("PERIODIC is submitted to inventory")
}

fn main() {
    // The module is the job's.
    assert_eq!(morning_digest::NAME, "morning_digest");
    assert_eq!(morning_digest::SCHEMA, "");
    let defaults = morning_digest::DEFINITION.defaults;
    assert_eq!(defaults.priority, Priority::Normal);
    assert_eq!(defaults.max_retries, 0);
    assert_eq!(defaults.misfire_grace, MisfireGrace::Default);
    let _builder = morning_digest::enqueue(morning_digest::Args {});
    let _future = morning_digest();

    // Plus its schedule.
    let periodic = morning_digest::PERIODIC;
    assert_eq!(periodic.job.name, morning_digest::NAME);
    assert_eq!(
        periodic.schedule,
        PeriodicSchedule::Cron {
            expr: "0 9 * * MON-FRI",
            tz: Some("Europe/London"),
        }
    );
    assert_eq!(periodic.dedup_key, None);
    assert!(!periodic.advisory_lock);
    assert!(periodic.enabled);

    assert_eq!(
        hourly::PERIODIC.schedule,
        PeriodicSchedule::Cron {
            expr: "@hourly",
            tz: None,
        }
    );
    assert_eq!(
        sweep::PERIODIC.schedule,
        PeriodicSchedule::Every(Duration::from_secs(15 * 60))
    );
    assert_eq!(sweep::PERIODIC.job.name, "sweep");
    assert_eq!(
        winter_nights::PERIODIC.schedule,
        PeriodicSchedule::Cron {
            expr: "*/20 22-2 * NOV-FEB 5-7",
            tz: Some("America/New_York"),
        }
    );

    // Registered for the worker: both the job and its schedule.
    for name in ["morning_digest", "hourly", "sweep", "winter_nights"] {
        assert_eq!(registered(name).job.name, name);
        assert!(
            inventory::iter::<pgsched::__private::JobDefinition>
                .into_iter()
                .any(|job| job.name == name)
        );
    }
    assert_eq!(
        registered("sweep").schedule,
        PeriodicSchedule::Every(Duration::from_millis(900_000))
    );
}
