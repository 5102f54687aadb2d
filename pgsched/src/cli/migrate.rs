//! `migrate`: create or upgrade pgsched's tables in the configured schema.

use serde_json::json;

use super::{Failure, Report};
use crate::scheduler::Scheduler;

/// `migrate`.
pub(super) async fn run(scheduler: &Scheduler) -> Result<Report, Failure> {
    scheduler.initialize_db().await?;
    let schema = scheduler.store().schema().as_str().to_owned();
    Ok(Report {
        text: format!("schema {schema} is migrated and up to date\n"),
        json: json!({ "schema": schema, "migrated": true }),
    })
}
