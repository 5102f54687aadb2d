//! pgsched quick start: define jobs, schedule them a few ways, run a worker, print what ran.
//!
//! ```text
//! cargo run -p quickstart
//! ```
//!
//! Uses `DATABASE_URL` if set, else a PostgreSQL on 127.0.0.1:5432, else starts a throwaway
//! cluster from the system's PostgreSQL binaries (removed when the example exits).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use pgsched::{
    ConflictResolution, JobContext, JobId, Priority, RetryPolicy, Scheduler, State, job,
};
use tokio::sync::Notify;

/// What the jobs did, shared with them as application state.
#[derive(Default)]
struct RunLog {
    lines: Mutex<Vec<String>>,
    changed: Notify,
}

impl RunLog {
    fn push(&self, line: String) {
        println!("  ran: {line}");
        self.lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(line);
        self.changed.notify_waiters();
    }
}

/// Greets someone. `name` becomes `greet::Args { name }`; `log` comes from the worker's state.
#[job]
async fn greet(name: String, log: State<Arc<RunLog>>) {
    log.push(format!("greet: hello, {name}!"));
}

/// Adds two numbers, one second after it was scheduled.
#[job(priority = High)]
async fn add(a: i64, b: i64, log: State<Arc<RunLog>>) {
    log.push(format!("add: {a} + {b} = {}", a + b));
}

/// Fails on its first attempt and succeeds on the retry.
#[job(max_retries = 2)]
async fn flaky_upload(
    file: String,
    ctx: JobContext,
    log: State<Arc<RunLog>>,
) -> Result<(), String> {
    if ctx.attempt() == 1 {
        log.push(format!(
            "flaky_upload: {file} failed on attempt 1 (will retry)"
        ));
        return Err(format!("connection reset while uploading {file}"));
    }
    log.push(format!(
        "flaky_upload: {file} uploaded on attempt {}",
        ctx.attempt()
    ));
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,pgsched_core=info".into()),
        )
        .init();

    let database = pgsched_devdb::DevDatabase::find_or_start()?;
    println!("PostgreSQL: {database}");

    let log = Arc::new(RunLog::default());
    let scheduler = Scheduler::builder()
        .url(database.url())
        .schema("pgsched_quickstart")
        .state(Arc::clone(&log))
        .retry_policy(RetryPolicy::new().initial(Duration::from_millis(200)))
        .build()
        .await?;
    scheduler.start().await?; // creates the tables in schema pgsched_quickstart, then runs jobs
    println!("worker started; scheduling jobs");

    let run = Utc::now().timestamp_millis();
    let greeting = greet::enqueue(greet::Args {
        name: "world".into(),
    })
    .on(&scheduler)
    .await?;
    let sum = add::schedule(
        Utc::now() + chrono::Duration::seconds(1),
        add::Args { a: 2, b: 40 },
    )
    .on(&scheduler)
    .await?;
    let upload = flaky_upload::enqueue(flaky_upload::Args {
        file: "report.pdf".into(),
    })
    .priority(Priority::Critical)
    .job_id(format!("upload:report.pdf:{run}"))
    .on(&scheduler)
    .await?;

    // The same id again: Ignore keeps the job already scheduled instead of failing.
    let same = flaky_upload::enqueue(flaky_upload::Args {
        file: "report.pdf".into(),
    })
    .job_id(upload.as_str())
    .conflict(ConflictResolution::Ignore)
    .on(&scheduler)
    .await?;
    assert_eq!(same, upload);

    // Several at once, in one statement.
    let names = ["Ada", "Grace", "Edsger"];
    let specs = names
        .iter()
        .map(|name| {
            greet::spec(
                Utc::now(),
                greet::Args {
                    name: (*name).into(),
                },
            )
        })
        .collect();
    let bulk = scheduler
        .schedule_bulk(specs, ConflictResolution::Raise, 1000)
        .await?;

    // Inside your own transaction: the job exists only if the transaction commits.
    let mut tx = scheduler.pool().begin().await?;
    let in_tx = greet::enqueue(greet::Args {
        name: "transaction".into(),
    })
    .on(&scheduler)
    .in_tx(&mut tx)
    .await?;
    tx.commit().await?;

    // Wait until every job scheduled above has finished (the schema outlives this process, so
    // jobs an interrupted earlier run left behind may run too; they do not count).
    let ids: Vec<JobId> = [greeting, sum, upload, in_tx]
        .into_iter()
        .chain(bulk.into_iter().map(|s| s.id().clone()))
        .collect();
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let changed = log.changed.notified();
            if all_finished(&scheduler, &ids).await? {
                return Ok::<(), pgsched::Error>(());
            }
            // An outcome is written just after its job logs: look again shortly even if no
            // other job logs anything.
            tokio::select! {
                () = changed => {}
                () = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
        }
    })
    .await??;
    let report = scheduler.shutdown().await?;
    println!("worker stopped ({report:?})");

    println!("final states:");
    for id in ids {
        if let Some(job) = scheduler.job(id.as_str()).await? {
            println!(
                "  {:<13} {:<9} attempts={} priority={:<8} id={}",
                job.name, job.status, job.attempts, job.priority, job.id
            );
        }
    }
    // Every connection closed before `database` (a throwaway cluster, perhaps) stops.
    scheduler.close().await?;
    Ok(())
}

/// Whether every job in `ids` has reached a final state.
async fn all_finished(scheduler: &Scheduler, ids: &[JobId]) -> Result<bool, pgsched::Error> {
    for id in ids {
        match scheduler.job(id).await? {
            Some(job) if job.status.is_terminal() => {}
            _ => return Ok(false),
        }
    }
    Ok(true)
}
