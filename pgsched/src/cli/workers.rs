//! `workers`: the live workers and the running jobs each holds.

use serde_json::json;

use super::render;
use super::{Failure, Report};
use crate::scheduler::Scheduler;

/// `workers`.
pub(super) async fn list(scheduler: &Scheduler) -> Result<Report, Failure> {
    let workers = scheduler.workers().await?;
    let text = if workers.is_empty() {
        "no live workers\n".to_owned()
    } else {
        let rows: Vec<Vec<String>> = workers
            .iter()
            .map(|worker| {
                let jobs = if worker.jobs.is_empty() {
                    "-".to_owned()
                } else {
                    let ids: Vec<&str> = worker.jobs.iter().map(|id| id.as_str()).collect();
                    format!("{} ({})", ids.len(), ids.join(", "))
                };
                vec![
                    worker.id.clone(),
                    worker.host.clone(),
                    worker.pid.to_string(),
                    render::time(worker.started_at),
                    render::time(worker.last_seen_at),
                    jobs,
                ]
            })
            .collect();
        render::table(
            &["ID", "HOST", "PID", "STARTED", "LAST SEEN", "RUNNING JOBS"],
            &rows,
        )
    };
    let json = json!({
        "workers": workers.iter().map(|worker| json!({
            "id": worker.id,
            "host": worker.host,
            "pid": worker.pid,
            "started_at": render::time_json(Some(worker.started_at)),
            "last_seen_at": render::time_json(Some(worker.last_seen_at)),
            "jobs": worker.jobs.iter().map(|id| id.as_str()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    Ok(Report { text, json })
}
