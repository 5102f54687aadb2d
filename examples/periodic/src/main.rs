//! pgsched periodic jobs: cron with a time zone, plain cron, an interval. Prints each
//! schedule's next fire times, runs a worker for a few seconds, and shows what ran.
//!
//! ```text
//! cargo run -p periodic
//! ```

use std::time::Duration;

use pgsched::{JobContext, Priority, Scheduler, periodic};

/// Every weekday at 09:00 London time, once across all replicas.
#[periodic(cron = "0 9 * * MON-FRI", tz = "Europe/London", priority = High)]
async fn morning_report() {
    println!("  morning report");
}

/// At 01:30 New York time every day. On the fall-back day 01:30 happens twice: it runs once,
/// at the first (cronie's rule). A fixed time skipped by spring-forward runs once, right after
/// the gap.
#[periodic(cron = "30 1 * * *", tz = "America/New_York")]
async fn nightly_backup() {
    println!("  nightly backup");
}

/// Every two seconds; windows are aligned to the Unix epoch, so every replica agrees.
#[periodic(every = "2s", dedup_key = "heartbeat-demo")]
async fn heartbeat(ctx: JobContext) {
    println!(
        "  heartbeat window {} (attempt {})",
        ctx.run_at().format("%H:%M:%S"),
        ctx.attempt()
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let database = pgsched_devdb::DevDatabase::find_or_start()?;
    println!("PostgreSQL: {database}");
    let scheduler = Scheduler::builder()
        .url(database.url())
        .schema("pgsched_periodic_example")
        .build()
        .await?;
    scheduler.initialize_db().await?;

    println!("periodic jobs:");
    for info in scheduler.periodic_jobs().await? {
        let Some(first) = info.next_fire else {
            continue;
        };
        println!(
            "  {:<15} key={} {} priority={} enabled={}",
            info.job_name, info.key, info.schedule, info.priority, info.enabled
        );
        let zone = info
            .schedule
            .rsplit(":tz:")
            .next()
            .and_then(|z| z.parse::<chrono_tz::Tz>().ok());
        let mut next = Some(first);
        for _ in 0..3 {
            let Some(at) = next else { break };
            match zone {
                Some(zone) if info.schedule.starts_with("cron:") => {
                    println!(
                        "      next: {} UTC = {}",
                        at.format("%a %F %R"),
                        at.with_timezone(&zone).format("%a %F %R %Z")
                    );
                }
                _ => println!("      next: {} UTC", at.format("%a %F %T")),
            }
            next = scheduler.next_periodic_fire(&info.key, at)?;
        }
    }
    assert!(
        scheduler
            .periodic_jobs()
            .await?
            .iter()
            .any(|info| info.priority == Priority::High)
    );

    println!("running a worker for 5 seconds:");
    scheduler.start().await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    scheduler.shutdown().await?;

    let status = scheduler.periodic_job_status("heartbeat-demo").await?;
    println!(
        "heartbeat-demo: last window {:?}, last run {:?}",
        status.last_window.map(|w| w.format("%T").to_string()),
        status.last_run.map(|job| job.status)
    );
    // Every connection closed before `database` (a throwaway cluster, perhaps) stops.
    scheduler.close().await?;
    Ok(())
}
