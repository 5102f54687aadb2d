//! `pgsched-tour`: the README's tour (its first code block) as a binary, verbatim, with a
//! `Mailer` that prints what it sends. `tests/it/tour.rs` runs it against a schema nobody
//! migrated and checks that its job completes and that it stops on SIGTERM; it also checks
//! that this file still holds the README's block word for word.

use pgsched::chrono::{Duration, Utc};
use pgsched::{ConflictResolution, JobContext, Priority, Scheduler, State, job};

/// Sends one email. The arguments become `send_email::Args`, stored as postcard bytes.
#[job(max_retries = 3, timeout = "30s")]
async fn send_email(
    to: String,
    subject: String,
    ctx: JobContext,
    mailer: State<Mailer>,
) -> Result<(), MailError> {
    mailer.send(&to, &subject, ctx.attempt()).await
}

#[tokio::main]
async fn main() -> Result<(), pgsched::Error> {
    // DATABASE_URL and PGSCHED_*, plus the state jobs receive as `State<T>`.
    let scheduler = Scheduler::builder_from_env()?
        .state(Mailer::new())
        .build()
        .await?;
    scheduler.initialize_db().await?; // create or upgrade pgsched's tables (idempotent)
    scheduler.clone().set_global()?; // what `schedule(..)` uses without `.on(&scheduler)`

    // Typed and checked at compile time; returns the job id.
    let id = send_email::schedule(
        Utc::now() + Duration::seconds(5),
        send_email::Args {
            to: "a@b.c".into(),
            subject: "hi".into(),
        },
    )
    .priority(Priority::Critical)
    .job_id("welcome:42") // optional; `conflict` decides duplicates
    .conflict(ConflictResolution::Ignore)
    .await?;
    println!("scheduled {id}");

    // The worker: runs every #[job] of the binary until SIGINT/SIGTERM, then shuts down
    // gracefully. `pgsched::run()` does the same with a scheduler built from the environment.
    scheduler.run().await
}

/// What `send_email` sends with: prints each message on stdout, where the test reads it.
#[derive(Default)]
pub struct Mailer;

/// Why sending failed.
pub type MailError = std::io::Error;

impl Mailer {
    /// A mailer.
    pub fn new() -> Mailer {
        Mailer
    }

    /// "Sends" a message: prints it.
    pub async fn send(&self, to: &str, subject: &str, attempt: u32) -> Result<(), MailError> {
        println!("sent `{subject}` to {to} (attempt {attempt})");
        Ok(())
    }
}
