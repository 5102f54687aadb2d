//! LISTEN/NOTIFY: the workers' wake-ups and the waiters' "job ended" notifications, with
//! reconnection and a ping for half-open connections.

use std::time::Duration;

use async_trait::async_trait;
use pgsched_core::backoff::Backoff;
use pgsched_core::store::{EndListener, Ended, Listener, Wakeup};
use pgsched_core::{JobId, QueueName};
use sqlx::PgPool;
use sqlx::postgres::PgListener;

/// Longest silence before the connection is pinged (a half-open TCP connection otherwise
/// goes unnoticed).
const PING_AFTER: Duration = Duration::from_secs(15);
/// Backoff between reconnection attempts ([`Backoff`]): starts here, doubles, capped at
/// `RECONNECT_MAX`.
const RECONNECT_MIN: Duration = Duration::from_millis(100);
const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// Notifications of one channel: a schema's wake-ups (as a [`Listener`]) or the ends of its
/// awaited jobs (as an [`EndListener`]).
pub(crate) struct PgWakeups {
    pool: PgPool,
    channel: String,
    listener: Option<PgListener>,
}

impl PgWakeups {
    /// Subscribes to `channel`.
    pub(crate) async fn connect(pool: PgPool, channel: String) -> Result<PgWakeups, sqlx::Error> {
        let listener = subscribe(&pool, &channel).await?;
        Ok(PgWakeups {
            pool,
            channel,
            listener: Some(listener),
        })
    }

    async fn reconnect(&mut self) -> PgListener {
        let mut backoff = Backoff::new(RECONNECT_MIN, RECONNECT_MAX);
        loop {
            match subscribe(&self.pool, &self.channel).await {
                Ok(listener) => {
                    tracing::info!(channel = %self.channel, "LISTEN re-established");
                    return listener;
                }
                Err(error) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(
                        retry_in_ms = delay.as_millis() as u64,
                        "LISTEN reconnect failed: {error}"
                    );
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}

async fn subscribe(pool: &PgPool, channel: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // Reconnection is ours (to report it), not sqlx's silent one.
    listener.eager_reconnect(false);
    listener.listen(channel).await?;
    Ok(listener)
}

/// What the channel delivered.
enum Received {
    /// A notification, with its payload.
    Notification(String),
    /// The connection was lost; the next call reconnects.
    Lost,
    /// The connection was re-established: notifications may have been missed.
    Reconnected,
}

impl PgWakeups {
    /// The next notification, loss of the connection, or reconnection.
    async fn receive(&mut self) -> Received {
        loop {
            let Some(listener) = self.listener.as_mut() else {
                self.listener = Some(self.reconnect().await);
                return Received::Reconnected;
            };
            match tokio::time::timeout(PING_AFTER, listener.try_recv()).await {
                Ok(Ok(Some(notification))) => {
                    return Received::Notification(notification.payload().to_owned());
                }
                Ok(Ok(None)) => {
                    tracing::warn!("LISTEN connection lost");
                    self.listener = None;
                    return Received::Lost;
                }
                Ok(Err(error)) => {
                    tracing::warn!("LISTEN connection failed: {error}");
                    self.listener = None;
                    return Received::Lost;
                }
                Err(_) => {
                    if let Err(error) = sqlx::query("SELECT 1").execute(&mut *listener).await {
                        tracing::warn!("LISTEN connection did not answer a ping: {error}");
                        self.listener = None;
                        return Received::Lost;
                    }
                }
            }
        }
    }
}

/// Payload prefix of a freed slot's notification, before the queue's name (migration 0015).
const SLOT_FREED: &str = "slot:";

/// What a notification on the workers' channel says: a slot freed in a queue, or (any other
/// payload, the empty one of the statements that write jobs) jobs to look at.
fn wakeup(payload: &str) -> Wakeup {
    match payload.strip_prefix(SLOT_FREED) {
        Some(queue) => Wakeup::SlotFreed(QueueName::from_stored(queue.to_owned())),
        None => Wakeup::Notified,
    }
}

#[async_trait]
impl Listener for PgWakeups {
    async fn next(&mut self) -> Wakeup {
        loop {
            match self.receive().await {
                Received::Notification(payload) => return wakeup(&payload),
                Received::Lost => {}
                Received::Reconnected => return Wakeup::Reconnected,
            }
        }
    }
}

#[async_trait]
impl EndListener for PgWakeups {
    async fn next(&mut self) -> Ended {
        match self.receive().await {
            Received::Notification(id) => Ended::Job(JobId::from_stored(id)),
            Received::Lost => Ended::Lost,
            Received::Reconnected => Ended::Reconnected,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use pgsched_core::store::{ClaimFloor, Finish, JobStore, Wakeup};
    use pgsched_core::{QueueName, WorkerConfig};
    use sqlx::{AssertSqlSafe, Executor};

    use super::wakeup;
    use crate::test_schema::TestSchema;

    #[test]
    fn a_slot_payload_names_its_queue_and_any_other_means_jobs() {
        assert_eq!(
            wakeup("slot:emails"),
            Wakeup::SlotFreed(QueueName::from_stored("emails".to_owned()))
        );
        assert_eq!(wakeup(""), Wakeup::Notified);
        assert_eq!(wakeup("emails"), Wakeup::Notified);
    }

    #[tokio::test]
    async fn a_job_that_frees_a_slot_says_which_queue_it_was_in() {
        let mut test = TestSchema::new("t_slot_wakeup").await;
        let schema = test.schema.clone();
        let store = crate::PgStore::new(test.pool.clone(), schema.clone());
        store.migrate().await.expect("migrated");
        let limited = QueueName::from_stored("limited".to_owned());
        store
            .set_queue_concurrency_limit(&limited, Some(1))
            .await
            .expect("limit set");
        test.connection
            .execute(AssertSqlSafe(format!(
                "INSERT INTO {}.jobs (id, name, payload, run_at, queue) \
                 VALUES ('held', 'j', '\\x', now(), 'limited')",
                schema.quoted()
            )))
            .await
            .expect("job written");
        let claimed = store
            .claim(
                "w1",
                &limited,
                1,
                WorkerConfig::default().lease_duration,
                &ClaimFloor::FRONT,
            )
            .await
            .expect("claimed");
        assert_eq!(claimed.len(), 1, "the job takes the queue's one slot");

        let mut wakeups = store.listen().await.expect("listening");
        store
            .finish(&[(claimed[0].lease.clone(), Finish::Completed)])
            .await
            .expect("finished");
        let woken = tokio::time::timeout(Duration::from_secs(10), wakeups.next())
            .await
            .expect("a wake-up within 10 s");
        assert_eq!(woken, Wakeup::SlotFreed(limited));
        test.drop().await;
    }
}
