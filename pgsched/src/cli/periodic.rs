//! `periodic list|status|enable|disable|trigger`.

use serde_json::{Value, json};

use super::render::{self, job_json};
use super::{Failure, Report};
use crate::periodic::PeriodicJobInfo;
use crate::scheduler::Scheduler;

fn info_json(info: &PeriodicJobInfo) -> Value {
    json!({
        "key": info.key,
        "job_name": info.job_name,
        "schedule": info.schedule,
        "schedule_in_force": info.schedule_in_force,
        "registered_by": info.registered_by,
        "registered_at": render::time_json(info.registered_at),
        "enabled": info.enabled,
        "priority": info.priority.label(),
        "max_retries": info.max_retries,
        "advisory_lock": info.advisory_lock,
        "next_fire": render::time_json(info.next_fire),
    })
}

/// The schedule in force, and this binary's when it differs (replicas disagree: the most
/// recently started registration wins, and replicas with another schedule enqueue nothing).
fn schedule_text(info: &PeriodicJobInfo) -> String {
    if info.schedule_in_force == info.schedule {
        info.schedule.clone()
    } else {
        format!(
            "{} (this binary: {}; not followed)",
            info.schedule_in_force, info.schedule
        )
    }
}

/// Who registered the schedule in force, and when.
fn registered_text(info: &PeriodicJobInfo) -> String {
    match (&info.registered_by, info.registered_at) {
        (Some(worker), Some(at)) => format!("{} by {worker}", render::time(at)),
        _ => "- (no worker yet)".to_owned(),
    }
}

/// `periodic list`.
pub(super) async fn list(scheduler: &Scheduler) -> Result<Report, Failure> {
    let infos = scheduler.periodic_jobs().await?;
    let text = if infos.is_empty() {
        "no periodic jobs in this binary\n".to_owned()
    } else {
        let rows: Vec<Vec<String>> = infos
            .iter()
            .map(|info| {
                vec![
                    info.key.clone(),
                    info.job_name.to_owned(),
                    if info.enabled { "yes" } else { "no" }.to_owned(),
                    render::maybe_time(info.next_fire),
                    schedule_text(info),
                ]
            })
            .collect();
        render::table(
            &["KEY", "JOB", "ENABLED", "NEXT FIRE", "SCHEDULE IN FORCE"],
            &rows,
        )
    };
    let json = json!({ "periodic_jobs": infos.iter().map(info_json).collect::<Vec<_>>() });
    Ok(Report { text, json })
}

/// `periodic status KEY`.
pub(super) async fn status(scheduler: &Scheduler, key: &str) -> Result<Report, Failure> {
    let status = scheduler.periodic_job_status(key).await?;
    let info = &status.info;
    let registry = scheduler.registry().ok();
    let last_run = status.last_run.as_ref();
    let text = render::fields(&[
        ("key", info.key.clone()),
        ("job", info.job_name.to_owned()),
        ("schedule", schedule_text(info)),
        ("registered", registered_text(info)),
        (
            "enabled",
            if info.enabled { "yes" } else { "no" }.to_owned(),
        ),
        ("priority", info.priority.to_string()),
        ("max retries", info.max_retries.to_string()),
        (
            "advisory lock",
            if info.advisory_lock { "yes" } else { "no" }.to_owned(),
        ),
        ("next fire", render::maybe_time(info.next_fire)),
        ("last window", render::maybe_time(status.last_window)),
        (
            "last run",
            last_run.map_or_else(
                || "-".to_owned(),
                |job| format!("{} ({})", job.id, job.status),
            ),
        ),
        (
            "last error",
            last_run
                .and_then(|job| job.last_error.clone())
                .unwrap_or_else(|| "-".to_owned()),
        ),
    ]);
    let mut json = info_json(info);
    json["last_window"] = render::time_json(status.last_window);
    json["last_run"] = last_run.map_or(Value::Null, |job| job_json(job, registry));
    Ok(Report { text, json })
}

/// `periodic enable KEY` / `periodic disable KEY`.
pub(super) async fn set_enabled(
    scheduler: &Scheduler,
    key: &str,
    enabled: bool,
) -> Result<Report, Failure> {
    let changed = if enabled {
        scheduler.enable_periodic_job(key).await?
    } else {
        scheduler.disable_periodic_job(key).await?
    };
    if !changed {
        return Err(Failure::not_found(format!(
            "no periodic job has the key {key:?}"
        )));
    }
    let word = if enabled { "enabled" } else { "disabled" };
    Ok(Report {
        text: format!("periodic job {key} {word} on every replica\n"),
        json: json!({ "key": key, "enabled": enabled }),
    })
}

/// `periodic trigger KEY`.
pub(super) async fn trigger(scheduler: &Scheduler, key: &str) -> Result<Report, Failure> {
    let id = scheduler.trigger_periodic_job(key).await?;
    Ok(Report {
        text: format!("triggered periodic job {key}: job {id}\n"),
        json: json!({ "key": key, "job_id": id.as_str() }),
    })
}
