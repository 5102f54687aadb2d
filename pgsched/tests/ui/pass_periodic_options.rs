//! Every `#[periodic]` option, the job's included; `advisory_lock` bare and with a value.
#![deny(warnings)]

use std::time::Duration;

use pgsched::__private::PeriodicSchedule;
use pgsched::{MisfireGrace, Priority, periodic};

#[periodic(
    cron = "30 2 * * SUN",
    tz = "Europe/Paris",
    advisory_lock,
    enabled = false,
    dedup_key = "reports.weekly",
    name = "reports.weekly.v2",
    priority = High,
    max_retries = 3,
    misfire_grace = "1h",
    timeout = "10m"
)]
async fn weekly_report() -> Result<(), String> {
    Ok(())
}

#[periodic(every = "1h 30m", advisory_lock = true, enabled = true, priority = Priority::Low, queue = "maintenance")]
async fn compact() {}

#[periodic(every = "250ms", advisory_lock = false, misfire_grace = "never")]
async fn heartbeat() {}

fn main() {
    assert_eq!(compact::DEFINITION.defaults.queue.as_str(), "maintenance");
    assert_eq!(compact::PERIODIC.job.defaults.queue.as_str(), "maintenance");
    assert_eq!(weekly_report::NAME, "reports.weekly.v2");
    let defaults = weekly_report::DEFINITION.defaults;
    assert_eq!(defaults.priority, Priority::High);
    assert_eq!(defaults.max_retries, 3);
    assert_eq!(
        defaults.misfire_grace,
        MisfireGrace::After(Duration::from_secs(3600))
    );
    assert_eq!(defaults.timeout, Some(Duration::from_secs(600)));
    let periodic = weekly_report::PERIODIC;
    assert_eq!(periodic.job.name, "reports.weekly.v2");
    assert_eq!(
        periodic.schedule,
        PeriodicSchedule::Cron {
            expr: "30 2 * * SUN",
            tz: Some("Europe/Paris"),
        }
    );
    assert_eq!(periodic.dedup_key, Some("reports.weekly"));
    assert!(periodic.advisory_lock);
    assert!(!periodic.enabled);

    assert_eq!(
        compact::PERIODIC.schedule,
        PeriodicSchedule::Every(Duration::from_secs(90 * 60))
    );
    assert!(compact::PERIODIC.advisory_lock);
    assert!(compact::PERIODIC.enabled);
    assert_eq!(compact::DEFINITION.defaults.priority, Priority::Low);

    assert_eq!(
        heartbeat::PERIODIC.schedule,
        PeriodicSchedule::Every(Duration::from_millis(250))
    );
    assert!(!heartbeat::PERIODIC.advisory_lock);
    assert_eq!(
        heartbeat::DEFINITION.defaults.misfire_grace,
        MisfireGrace::Never
    );
}
