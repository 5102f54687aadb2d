//! `queues list|pause|resume|limit|rate|key-rate`: queue settings every worker obeys.

use pgsched_core::{QueueInfo, QueueName, RateLimit};
use serde_json::json;

use super::render;
use super::{Failure, Report};
use crate::scheduler::Scheduler;

/// `queues list`.
pub(super) async fn list(scheduler: &Scheduler) -> Result<Report, Failure> {
    let queues = scheduler.queues().await?;
    let text = if queues.is_empty() {
        "no queues\n".to_owned()
    } else {
        let rows: Vec<Vec<String>> = queues
            .iter()
            .map(|queue| {
                let settings = &queue.settings;
                vec![
                    queue.name.to_string(),
                    if settings.paused { "paused" } else { "active" }.to_owned(),
                    settings
                        .concurrency_limit
                        .map_or_else(|| "-".to_owned(), |limit| limit.to_string()),
                    settings
                        .rate_limit
                        .map_or_else(|| "-".to_owned(), |rate| rate.to_string()),
                    settings
                        .key_rate_limit
                        .map_or_else(|| "-".to_owned(), |rate| rate.to_string()),
                    queue.pending.to_string(),
                    queue.running.to_string(),
                ]
            })
            .collect();
        render::table(
            &[
                "QUEUE", "STATE", "LIMIT", "RATE", "KEY RATE", "PENDING", "RUNNING",
            ],
            &rows,
        )
    };
    let json = json!({ "queues": queues.iter().map(queue_json).collect::<Vec<_>>() });
    Ok(Report { text, json })
}

fn queue_json(queue: &QueueInfo) -> serde_json::Value {
    json!({
        "name": queue.name.as_str(),
        "paused": queue.settings.paused,
        "concurrency_limit": queue.settings.concurrency_limit,
        "rate_limit": queue.settings.rate_limit.map(|rate| rate.to_string()),
        "key_rate_limit": queue.settings.key_rate_limit.map(|rate| rate.to_string()),
        "pending": queue.pending,
        "running": queue.running,
    })
}

/// `queues pause NAME` and `queues resume NAME`.
pub(super) async fn pause(
    scheduler: &Scheduler,
    queue: &QueueName,
    paused: bool,
) -> Result<Report, Failure> {
    if paused {
        scheduler.pause_queue(queue).await?;
    } else {
        scheduler.resume_queue(queue).await?;
    }
    let state = if paused { "paused" } else { "resumed" };
    Ok(Report {
        text: format!("{state} queue {queue}\n"),
        json: json!({ "queue": queue.as_str(), "paused": paused }),
    })
}

/// `queues limit NAME N|none`.
pub(super) async fn limit(
    scheduler: &Scheduler,
    queue: &QueueName,
    limit: Option<u32>,
) -> Result<Report, Failure> {
    scheduler.set_queue_limit(queue, limit).await?;
    let text = match limit {
        Some(limit) => format!("queue {queue}: at most {limit} running at once\n"),
        None => format!("queue {queue}: no concurrency limit\n"),
    };
    Ok(Report {
        text,
        json: json!({ "queue": queue.as_str(), "concurrency_limit": limit }),
    })
}

/// `queues rate NAME N/PERIOD|none`.
pub(super) async fn rate(
    scheduler: &Scheduler,
    queue: &QueueName,
    rate: Option<RateLimit>,
) -> Result<Report, Failure> {
    scheduler.set_queue_rate(queue, rate).await?;
    let text = match rate {
        Some(rate) => format!("queue {queue}: at most {rate} starts\n"),
        None => format!("queue {queue}: no rate limit\n"),
    };
    Ok(Report {
        text,
        json: json!({ "queue": queue.as_str(), "rate_limit": rate.map(|rate| rate.to_string()) }),
    })
}

/// `queues key-rate NAME N/PERIOD|none`.
pub(super) async fn key_rate(
    scheduler: &Scheduler,
    queue: &QueueName,
    rate: Option<RateLimit>,
) -> Result<Report, Failure> {
    scheduler.set_queue_key_rate(queue, rate).await?;
    let text = match rate {
        Some(rate) => format!("queue {queue}: at most {rate} starts per concurrency key\n"),
        None => format!("queue {queue}: no per-key rate limit\n"),
    };
    Ok(Report {
        text,
        json: json!({
            "queue": queue.as_str(),
            "key_rate_limit": rate.map(|rate| rate.to_string()),
        }),
    })
}
