//! `vacuum run|stats`: a retention pass now, and the statistics of past passes.

use pgsched_core::VacuumReport;
use serde_json::{Value, json};

use super::render;
use super::{Failure, Report};
use crate::scheduler::Scheduler;

fn deleted_json(deleted: &VacuumReport) -> Value {
    json!({
        "completed": deleted.completed,
        "failed": deleted.failed,
        "cancelled": deleted.cancelled,
        "expired": deleted.expired,
        "total": deleted.total(),
    })
}

fn deleted_text(deleted: &VacuumReport) -> String {
    format!(
        "completed {}, failed {}, cancelled {}, expired {}",
        deleted.completed, deleted.failed, deleted.cancelled, deleted.expired
    )
}

/// `vacuum run`.
pub(super) async fn run(scheduler: &Scheduler) -> Result<Report, Failure> {
    let deleted = scheduler.run_vacuum().await?;
    Ok(Report {
        text: format!(
            "deleted {} finished jobs: {}\n",
            deleted.total(),
            deleted_text(&deleted)
        ),
        json: json!({ "deleted": deleted_json(&deleted) }),
    })
}

/// `vacuum stats [--days N]`.
pub(super) async fn stats(scheduler: &Scheduler, days: u32) -> Result<Report, Failure> {
    let stats = scheduler.vacuum_stats(days).await?;
    let totals = scheduler.total_vacuum_stats().await?;
    let mut text = if stats.is_empty() {
        format!(
            "no retention passes recorded in the last {days} days (statistics are kept when track_metrics is on: PGSCHED_VACUUM_TRACK_METRICS=true)\n"
        )
    } else {
        let rows: Vec<Vec<String>> = stats
            .iter()
            .map(|day| {
                vec![
                    day.date.to_string(),
                    day.deleted.completed.to_string(),
                    day.deleted.failed.to_string(),
                    day.deleted.cancelled.to_string(),
                    day.deleted.expired.to_string(),
                    day.runs.to_string(),
                    render::time(day.last_run),
                    day.last_worker.clone(),
                ]
            })
            .collect();
        render::table(
            &[
                "DATE",
                "COMPLETED",
                "FAILED",
                "CANCELLED",
                "EXPIRED",
                "PASSES",
                "LAST PASS",
                "BY",
            ],
            &rows,
        )
    };
    text.push_str(&format!(
        "all time: {} passes, last {}; deleted {}\n",
        totals.runs,
        render::maybe_time(totals.last_run),
        deleted_text(&totals.deleted)
    ));
    let json = json!({
        "days": stats.iter().map(|day| json!({
            "date": day.date.to_string(),
            "deleted": deleted_json(&day.deleted),
            "passes": day.runs,
            "last_pass": render::time_json(Some(day.last_run)),
            "last_worker": day.last_worker,
        })).collect::<Vec<_>>(),
        "total": {
            "deleted": deleted_json(&totals.deleted),
            "passes": totals.runs,
            "last_pass": render::time_json(totals.last_run),
        },
    });
    Ok(Report { text, json })
}
