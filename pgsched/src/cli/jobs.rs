//! `jobs list|show|tree|cancel|retry|enqueue`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use pgsched_core::store::JobFilter;
use pgsched_core::{ConflictResolution, JobId, JobInfo, JobStatus, Priority, QueueName, Shown};
use serde_json::json;

use super::render::{self, job_json, job_text};
use super::{Failure, Report};
use crate::scheduler::Scheduler;
use crate::spec::JobSpec;

/// `jobs list`.
pub(super) async fn list(
    scheduler: &Scheduler,
    status: Option<JobStatus>,
    name: Option<String>,
    queue: Option<QueueName>,
    limit: u32,
) -> Result<Report, Failure> {
    let mut filter = JobFilter::new().limit(limit);
    filter.status = status;
    filter.name = name;
    filter.queue = queue;
    let jobs = scheduler.list_jobs(&filter).await?;
    let registry = scheduler.registry().ok();
    let text = if jobs.is_empty() {
        "no jobs\n".to_owned()
    } else {
        let rows: Vec<Vec<String>> = jobs
            .iter()
            .map(|job| {
                vec![
                    job.id.to_string(),
                    job.name.clone(),
                    job.queue.to_string(),
                    job.status.to_string(),
                    job.priority.to_string(),
                    job.attempts.to_string(),
                    render::time(job.run_at),
                    job.last_error
                        .as_deref()
                        .map_or_else(String::new, |error| render::one_line(error, 60)),
                ]
            })
            .collect();
        render::table(
            &[
                "ID",
                "NAME",
                "QUEUE",
                "STATUS",
                "PRIORITY",
                "ATTEMPTS",
                "RUN AT",
                "LAST ERROR",
            ],
            &rows,
        )
    };
    let json = json!({
        "jobs": jobs.iter().map(|job| job_json(job, registry)).collect::<Vec<_>>(),
    });
    Ok(Report { text, json })
}

/// `jobs show ID`.
pub(super) async fn show(scheduler: &Scheduler, id: &str) -> Result<Report, Failure> {
    let job = existing(scheduler, id).await?;
    Ok(job_report(scheduler, &job))
}

/// `jobs tree ID`: the workflow, each job indented by its depth (the longest chain of
/// parents above it within the workflow), after every job it runs after, oldest first.
pub(super) async fn tree(scheduler: &Scheduler, id: &str, limit: u32) -> Result<Report, Failure> {
    existing(scheduler, id).await?;
    let jobs = scheduler.workflow(id, limit).await?;
    let depths = depths(&jobs);
    let mut order: Vec<(usize, &JobInfo)> = jobs
        .iter()
        .map(|job| (depths.get(&job.id).copied().unwrap_or(0), job))
        .collect();
    order.sort_by(|(a_depth, a), (b_depth, b)| {
        (a_depth, a.created_at, &a.id).cmp(&(b_depth, b.created_at, &b.id))
    });
    let rows: Vec<Vec<String>> = order
        .iter()
        .map(|(depth, job)| {
            vec![
                format!("{}{}", "  ".repeat(*depth), job.id),
                job.name.clone(),
                job.status.to_string(),
                render::ids(&job.parents, 3),
                job.last_error
                    .as_deref()
                    .map_or_else(String::new, |error| render::one_line(error, 60)),
            ]
        })
        .collect();
    let mut text = render::table(&["ID", "NAME", "STATUS", "AFTER", "LAST ERROR"], &rows);
    if u32::try_from(jobs.len()).is_ok_and(|count| count >= limit) {
        text.push_str(&format!("(first {limit} jobs; --limit shows more)\n"));
    }
    let registry = scheduler.registry().ok();
    let json = json!({
        "jobs": order
            .iter()
            .map(|(depth, job)| {
                let mut value = job_json(job, registry);
                value["depth"] = json!(depth);
                value
            })
            .collect::<Vec<_>>(),
    });
    Ok(Report { text, json })
}

/// Each job's depth in its workflow: 0 without parents among `jobs`, else one more than its
/// deepest parent. Parents are always written before their children, so jobs taken oldest
/// first see their parents' depths already (a parent outside `jobs`, past the limit, counts
/// as a root).
fn depths(jobs: &[JobInfo]) -> HashMap<&JobId, usize> {
    let mut by_age: Vec<&JobInfo> = jobs.iter().collect();
    by_age.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let mut depths: HashMap<&JobId, usize> = HashMap::with_capacity(jobs.len());
    // Jobs of one transaction share created_at: repeat until nothing changes (at most the
    // depth of the workflow passes).
    loop {
        let mut changed = false;
        for job in &by_age {
            let depth = job
                .parents
                .iter()
                .filter_map(|parent| depths.get(parent))
                .map(|depth| depth + 1)
                .max()
                .unwrap_or(0);
            if depths.insert(&job.id, depth) != Some(depth) {
                changed = true;
            }
        }
        if !changed {
            return depths;
        }
    }
}

/// `jobs cancel ID`.
pub(super) async fn cancel(scheduler: &Scheduler, id: &str) -> Result<Report, Failure> {
    let cancelled = scheduler.cancel_job(id);
    let refused = "only blocked, pending or running jobs can be cancelled";
    change(
        scheduler,
        id,
        cancelled,
        refused,
        format!("cancelled job {id}\n"),
    )
    .await
}

/// `jobs retry ID`.
pub(super) async fn retry(scheduler: &Scheduler, id: &str) -> Result<Report, Failure> {
    let retried = scheduler.retry_job(id);
    let refused = "only failed or expired jobs can be retried";
    let done = format!("job {id} is pending again, due now, attempts reset\n");
    change(scheduler, id, retried, refused, done).await
}

/// A change to job `id` that the scheduler refuses in some statuses: `applied` (not started
/// until the id is checked) says whether it happened; if not, the error gives the job's status
/// and `refused`; if so, the report is `done` and the job as it is now.
async fn change(
    scheduler: &Scheduler,
    id: &str,
    applied: impl Future<Output = crate::Result<bool>>,
    refused: &str,
    done: String,
) -> Result<Report, Failure> {
    JobId::new(id)?;
    if !applied.await? {
        let job = existing(scheduler, id).await?;
        return Err(Failure::conflict(format!(
            "job {} is {}; {refused}",
            Shown(id),
            job.status
        )));
    }
    let job = existing(scheduler, id).await?;
    Ok(changed(scheduler, &job, done))
}

/// What `jobs enqueue` was given.
pub(super) struct Enqueue {
    pub(super) name: String,
    pub(super) args: String,
    pub(super) at: Option<String>,
    pub(super) priority: Option<Priority>,
    pub(super) id: Option<String>,
    pub(super) after: Vec<String>,
}

/// `jobs enqueue NAME --args JSON [--at RFC3339] [--priority P] [--id ID] [--after ID]...`.
pub(super) async fn enqueue(scheduler: &Scheduler, request: Enqueue) -> Result<Report, Failure> {
    let registry = scheduler.registry()?;
    let Some(definition) = registry.get(&request.name) else {
        let names = registry.names();
        return Err(Failure::not_found(format!(
            "no job named {} in this binary; its jobs are: {}",
            Shown(&request.name),
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        )));
    };
    let at = request.at.as_deref().map(parse_at).transpose()?;
    let value: serde_json::Value = serde_json::from_str(&request.args)
        .map_err(|error| Failure::invalid(format!("--args is not valid JSON: {error}")))?;
    let payload = (definition.args_from_json)(value).map_err(|error| {
        Failure::invalid(format!(
            "--args does not fit the arguments of {} ({}): {error}",
            definition.name,
            if definition.schema.is_empty() {
                "none"
            } else {
                definition.schema
            }
        ))
    })?;
    let mut spec = JobSpec::encoded(definition, at, payload);
    if let Some(priority) = request.priority {
        spec = spec.priority(priority);
    }
    if let Some(id) = request.id {
        spec = spec.job_id(id);
    }
    if !request.after.is_empty() {
        spec = spec.after(&request.after);
    }
    let id = scheduler.schedule(spec, ConflictResolution::Raise).await?;
    match scheduler.job(id.as_str()).await? {
        Some(job) => {
            let headline = format!(
                "enqueued job {id} ({}), due {}\n",
                job.name,
                render::time(job.run_at)
            );
            Ok(changed(scheduler, &job, headline))
        }
        // Already run and deleted by retention: the id is all there is to say.
        None => Ok(Report {
            text: format!("enqueued job {id}\n"),
            json: json!({ "id": id.as_str(), "name": definition.name }),
        }),
    }
}

/// `--at`: RFC 3339, any offset, kept as UTC.
fn parse_at(at: &str) -> Result<DateTime<Utc>, Failure> {
    DateTime::parse_from_rfc3339(at)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|error| {
            Failure::invalid(format!(
                "--at {at:?} is not an RFC 3339 time ({error}); write e.g. 2030-01-01T09:00:00Z"
            ))
        })
}

/// The job with this id, or "not found" (exit 3).
async fn existing(scheduler: &Scheduler, id: &str) -> Result<JobInfo, Failure> {
    JobId::new(id)?;
    scheduler
        .job(id)
        .await?
        .ok_or_else(|| Failure::not_found(format!("no job has the id {}", Shown(id))))
}

/// A job as `jobs show` prints it.
fn job_report(scheduler: &Scheduler, job: &JobInfo) -> Report {
    let registry = scheduler.registry().ok();
    Report {
        text: job_text(job, registry),
        json: job_json(job, registry),
    }
}

/// After a command that changed a job: one line for people; the job, read back, for scripts
/// (a worker may already have moved it on).
fn changed(scheduler: &Scheduler, job: &JobInfo, headline: String) -> Report {
    Report {
        text: headline,
        json: job_json(job, scheduler.registry().ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_takes_rfc3339_with_any_offset() {
        let at = parse_at("2030-01-01T10:00:00+01:00").expect("valid");
        assert_eq!(render::time(at), "2030-01-01T09:00:00Z");
        let failure = parse_at("tomorrow").expect_err("invalid");
        assert_eq!(failure.code, super::super::exit::INVALID_INPUT);
        assert!(
            failure.message.contains("--at \"tomorrow\""),
            "{}",
            failure.message
        );
    }
}
