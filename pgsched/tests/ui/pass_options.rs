//! Every option, written both as a bare priority and as a path.
#![deny(warnings)]

use std::time::Duration;

use pgsched::{MisfireGrace, Priority, job};

#[job(
    name = "reports.daily.v2",
    priority = High,
    max_retries = 7,
    misfire_grace = "1h 30m",
    timeout = "30s"
)]
async fn daily_report(day: u32) -> Result<(), String> {
    let _ = day;
    Ok(())
}

#[job(priority = Priority::Critical, misfire_grace = "never", max_retries = 0)]
async fn page_oncall(message: String) {
    let _ = message;
}

#[job(priority = pgsched::Priority::Low, timeout = "1500ms")]
async fn reindex() {}

#[job(queue = "tenants", concurrency_key = tenant, concurrency = 3)]
async fn per_tenant(tenant: u64) {
    let _ = tenant;
}

fn main() {
    assert_eq!(daily_report::NAME, "reports.daily.v2");
    let defaults = daily_report::DEFINITION.defaults;
    assert_eq!(defaults.priority, Priority::High);
    assert_eq!(defaults.max_retries, 7);
    assert_eq!(
        defaults.misfire_grace,
        MisfireGrace::After(Duration::from_secs(90 * 60))
    );
    assert_eq!(defaults.timeout, Some(Duration::from_secs(30)));

    assert_eq!(page_oncall::NAME, "page_oncall");
    let defaults = page_oncall::DEFINITION.defaults;
    assert_eq!(defaults.priority, Priority::Critical);
    assert_eq!(defaults.max_retries, 0);
    assert_eq!(defaults.misfire_grace, MisfireGrace::Never);
    assert_eq!(defaults.timeout, None);

    let defaults = reindex::DEFINITION.defaults;
    assert_eq!(defaults.priority, Priority::Low);
    assert_eq!(defaults.misfire_grace, MisfireGrace::Default);
    assert_eq!(defaults.timeout, Some(Duration::from_millis(1500)));

    let _builder = daily_report::enqueue(daily_report::Args { day: 1 });
    let _builder = page_oncall::enqueue(page_oncall::Args {
        message: "disk".into(),
    });
    let _builder = reindex::enqueue(reindex::Args {});
    assert_eq!(reindex::DEFINITION.defaults.queue, pgsched::QueueName::DEFAULT);
    let defaults = &per_tenant::DEFINITION.defaults;
    assert_eq!(defaults.queue.as_str(), "tenants");
    assert_eq!(defaults.concurrency, 3);
    let _builder = per_tenant::enqueue(per_tenant::Args { tenant: 7 });
}
