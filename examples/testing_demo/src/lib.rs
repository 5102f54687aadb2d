//! A small application's jobs, and how its own tests check them with `pgsched::testing`
//! (see `tests/jobs.rs`): signing up enqueues a welcome email; a nightly digest runs once a
//! day. The jobs send through a [`Mailer`] given as application state, so tests read what was
//! sent.

use std::sync::{Arc, Mutex};

use pgsched::{JobContext, JobError, Scheduler, State, job, periodic};

/// Sends email (here: keeps each message in memory, so a test can read what was sent).
#[derive(Debug, Default, Clone)]
pub struct Mailer {
    sent: Arc<Mutex<Vec<(String, String)>>>,
}

impl Mailer {
    /// Sends `subject` to `to`.
    pub fn send(&self, to: &str, subject: &str) {
        self.outbox().push((to.to_owned(), subject.to_owned()));
    }

    /// Every message sent so far: `(to, subject)`, in order.
    #[must_use]
    pub fn sent(&self) -> Vec<(String, String)> {
        self.outbox().clone()
    }

    fn outbox(&self) -> std::sync::MutexGuard<'_, Vec<(String, String)>> {
        // A panic while pushing cannot leave the list half-written.
        self.sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Sends the welcome email of a new account. An address without `@` can never be delivered:
/// the job fails at once instead of retrying.
#[job(max_retries = 3)]
pub async fn send_welcome_email(
    to: String,
    name: String,
    mailer: State<Mailer>,
) -> Result<(), JobError> {
    if !to.contains('@') {
        return Err(JobError::fatal(format!("{to} is not an email address")));
    }
    mailer.send(&to, &format!("Welcome, {name}!"));
    Ok(())
}

/// Every night at 02:30 UTC, the day's digest goes to the operators.
#[periodic(cron = "30 2 * * *")]
pub async fn nightly_digest(ctx: JobContext, mailer: State<Mailer>) {
    mailer.send("ops@example.com", &format!("digest ({})", ctx.id()));
}

/// Signs a user up: the application code under test. The welcome email is a job, so a slow
/// mail server never slows the sign-up down.
///
/// # Errors
/// When the job cannot be enqueued.
pub async fn sign_up(scheduler: &Scheduler, email: &str, name: &str) -> pgsched::Result<()> {
    send_welcome_email::enqueue(send_welcome_email::Args {
        to: email.to_owned(),
        name: name.to_owned(),
    })
    .on(scheduler)
    .await?;
    Ok(())
}
