//! A job's attempt: claims, outcomes, lease renewals and releases, and the sweeps that
//! recover, expire and promote jobs (on the worker and heartbeat pools).

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pgsched_core::claim_floor::ClaimKey;
use pgsched_core::store::{
    ClaimedJob, Finish, Lease, Promotion, PromotionFloor, QueueClaim, Recovered, Release,
};
use pgsched_core::{JobId, Priority, QueueName, Result};
use sqlx::Row;

use super::PgStore;
use crate::errors::is_claim_race;
use crate::rows::{ClaimRow, PromotionRow, hash_to_db, to_millis};

/// How many times a claim that lost an exclusive-key race is sent again at once.
const EXCLUSIVE_RACE_RETRIES: u32 = 3;

impl PgStore {
    /// See [`pgsched_core::store::JobStore::claim_queues`].
    pub(super) async fn claim_queues(
        &self,
        worker: &str,
        queues: &[QueueClaim<'_>],
        lease: Duration,
    ) -> Result<Vec<ClaimedJob>> {
        let names: Vec<&str> = queues.iter().map(|claim| claim.queue.as_str()).collect();
        let limits: Vec<i32> = queues
            .iter()
            .map(|claim| i32::try_from(claim.limit).unwrap_or(i32::MAX))
            .collect();
        let after_keys: Vec<Option<&str>> =
            queues.iter().map(|claim| claim.floor.after_key()).collect();
        let slot_starts: Vec<i32> = queues
            .iter()
            .map(|claim| i32::from(claim.floor.slot_start()))
            .collect();
        // One row per queue and priority level: the queue's place in `names` (from 1, as
        // `WITH ORDINALITY` counts), the level, and where its read starts.
        let mut level_queues: Vec<i32> = Vec::new();
        let mut levels: Vec<i16> = Vec::new();
        let mut floor_run_at: Vec<Option<DateTime<Utc>>> = Vec::new();
        let mut floor_created_at: Vec<Option<DateTime<Utc>>> = Vec::new();
        let mut floor_id: Vec<Option<&str>> = Vec::new();
        for (ordinal, claim) in (1..).zip(queues) {
            for priority in Priority::ALL {
                let key: Option<&ClaimKey> = claim.floor.at(priority);
                level_queues.push(ordinal);
                levels.push(priority.db_value());
                floor_run_at.push(key.map(|k| k.run_at));
                floor_created_at.push(key.map(|k| k.created_at));
                floor_id.push(key.map(|k| k.id.as_str()));
            }
        }
        // One row per passing job: its lease, and its queue's place in `names`.
        let (passing_ids, passing_tokens) = lease_columns(
            queues
                .iter()
                .flat_map(|claim| claim.passing.iter().cloned()),
        );
        let passing_queues: Vec<i32> = (1..)
            .zip(queues)
            .flat_map(|(ordinal, claim)| std::iter::repeat_n(ordinal, claim.passing.len()))
            .collect();
        let mut attempt = 1;
        loop {
            let claimed: std::result::Result<Vec<ClaimRow>, sqlx::Error> = self
                .sql
                .claim_jobs
                .query_as()
                .bind(&names)
                .bind(&limits)
                .bind(&after_keys)
                .bind(&slot_starts)
                .bind(&level_queues)
                .bind(&levels)
                .bind(&floor_run_at)
                .bind(&floor_created_at)
                .bind(&floor_id)
                .bind(to_millis(lease))
                .bind(worker)
                .bind(&passing_ids)
                .bind(&passing_tokens)
                .bind(&passing_queues)
                .fetch_all(self.worker())
                .await;
            match claimed {
                Ok(rows) => {
                    // By queue, each in claim order (an UPDATE's RETURNING has no order of
                    // its own), so a worker starts the most urgent first.
                    let mut jobs: Vec<ClaimedJob> =
                        rows.into_iter().map(ClaimedJob::from).collect();
                    jobs.sort_by(|a, b| {
                        let place =
                            |queue: &QueueName| names.iter().position(|n| *n == queue.as_str());
                        (
                            place(&a.queue),
                            a.priority.db_value(),
                            a.run_at,
                            a.created_at,
                            &a.lease.id,
                        )
                            .cmp(&(
                                place(&b.queue),
                                b.priority.db_value(),
                                b.run_at,
                                b.created_at,
                                &b.lease.id,
                            ))
                    });
                    return Ok(jobs);
                }
                // Another claim took a job of the same exclusive key after this one's snapshot
                // (see claim_jobs.sql): the next claim sees it and skips the key. Or two claims
                // racing for the slots of a limited queue and of keys waited on each other in
                // opposite orders, and PostgreSQL chose this one to give way.
                Err(error) if attempt < EXCLUSIVE_RACE_RETRIES && is_claim_race(&error) => {
                    tracing::debug!(
                        "claim raced another for an exclusive key or a slot; claiming again"
                    );
                    attempt += 1;
                }
                Err(error) => return Err(self.sql.claim_jobs.error()(error)),
            }
        }
    }

    /// See [`pgsched_core::store::JobStore::finish`].
    pub(super) async fn finish(&self, outcomes: &[(Lease, Finish)]) -> Result<Vec<bool>> {
        let (ids, tokens) = lease_columns(outcomes.iter().map(|(lease, _)| lease.clone()));
        let mut statuses = Vec::with_capacity(outcomes.len());
        let mut delays = Vec::with_capacity(outcomes.len());
        let mut errors = Vec::with_capacity(outcomes.len());
        let mut outputs: Vec<Option<&[u8]>> = Vec::with_capacity(outcomes.len());
        let mut output_hashes = Vec::with_capacity(outcomes.len());
        for (_, finish) in outcomes {
            let (status, delay, error) = match finish {
                Finish::Completed | Finish::CompletedWith(_) => ("completed", None, None),
                Finish::Failed { error } => ("failed", None, Some(error.as_str())),
                Finish::Retry { delay, error } => {
                    ("pending", Some(to_millis(*delay)), Some(error.as_str()))
                }
            };
            let output = match finish {
                Finish::CompletedWith(output) => Some(output),
                _ => None,
            };
            statuses.push(status);
            delays.push(delay);
            errors.push(error);
            outputs.push(output.map(|output| output.bytes.as_slice()));
            output_hashes.push(output.map(|output| hash_to_db(output.schema_hash)));
        }
        let written: Vec<i64> = self
            .sql
            .finish_jobs
            .query_scalar()
            .bind(ids)
            .bind(&tokens)
            .bind(statuses)
            .bind(delays)
            .bind(errors)
            .bind(outputs)
            .bind(output_hashes)
            .bind(attempt_errors_kept())
            .fetch_all(self.worker())
            .await
            .map_err(self.sql.finish_jobs.refusal())?;
        let written: HashSet<i64> = written.into_iter().collect();
        Ok(tokens.iter().map(|token| written.contains(token)).collect())
    }

    /// See [`pgsched_core::store::JobStore::renew_leases`].
    pub(super) async fn renew_leases(&self, leases: &[Lease], lease: Duration) -> Result<Vec<i64>> {
        let (ids, tokens) = lease_columns(leases.iter().cloned());
        self.sql
            .renew_leases
            .query_scalar()
            .bind(ids)
            .bind(tokens)
            .bind(to_millis(lease))
            .fetch_all(self.heartbeat())
            .await
            .map_err(self.sql.renew_leases.error())
    }

    /// See [`pgsched_core::store::JobStore::release`].
    pub(super) async fn release(&self, releases: &[Release]) -> Result<u64> {
        let (ids, tokens) = lease_columns(releases.iter().map(|release| release.lease.clone()));
        let refunds: Vec<bool> = releases
            .iter()
            .map(|release| release.refund_attempt)
            .collect();
        let last_errors: Vec<Option<&str>> = releases
            .iter()
            .map(|release| release.last_error.as_deref())
            .collect();
        let released: i64 = self
            .sql
            .release_jobs
            .query_scalar()
            .bind(ids)
            .bind(tokens)
            .bind(refunds)
            .bind(self.wake_channel())
            .bind(last_errors)
            .bind(attempt_errors_kept())
            .fetch_one(self.worker())
            .await
            .map_err(self.sql.release_jobs.error())?;
        Ok(u64::try_from(released).unwrap_or(0))
    }

    /// See [`pgsched_core::store::JobStore::recover_orphans`].
    pub(super) async fn recover_orphans(&self, limit: u32) -> Result<Recovered> {
        let rows = self
            .sql
            .recover_orphans
            .query()
            .bind(i64::from(limit))
            .bind(i32::try_from(self.lost_lease_retries).unwrap_or(i32::MAX))
            .bind(attempt_errors_kept())
            .fetch_all(self.worker())
            .await
            .map_err(self.sql.recover_orphans.error())?;
        let mut recovered = Recovered::default();
        for row in rows {
            let id: String = row
                .try_get("id")
                .map_err(self.sql.recover_orphans.error())?;
            let status: String = row
                .try_get("status")
                .map_err(self.sql.recover_orphans.error())?;
            if status == "failed" {
                recovered.failed.push(JobId::from_stored(id));
            } else {
                recovered.requeued.push(JobId::from_stored(id));
            }
        }
        Ok(recovered)
    }

    /// See [`pgsched_core::store::JobStore::expire_misfired`].
    pub(super) async fn expire_misfired(&self, limit: u32) -> Result<Vec<(JobId, Priority)>> {
        let rows: Vec<(String, i16)> = self
            .sql
            .expire_misfired
            .query_as()
            .bind(i64::from(limit))
            .fetch_all(self.worker())
            .await
            .map_err(self.sql.expire_misfired.error())?;
        Ok(rows
            .into_iter()
            .map(|(id, priority)| (JobId::from_stored(id), Priority::from_db_value(priority)))
            .collect())
    }

    /// See [`pgsched_core::store::JobStore::promote`].
    pub(super) async fn promote(&self, limit: u32, floor: &PromotionFloor) -> Result<Promotion> {
        let row: PromotionRow = self
            .sql
            .promote_jobs
            .query_as()
            .bind(i64::from(limit))
            .bind(self.wake_channel())
            .bind(floor.lasting.as_ref().map(|(at, _)| *at))
            .bind(floor.lasting.as_ref().map(|(_, id)| id.as_str()))
            .bind(floor.expiring.as_ref().map(|(at, _)| *at))
            .bind(floor.expiring.as_ref().map(|(_, id)| id.as_str()))
            .fetch_one(self.worker())
            .await
            .map_err(self.sql.promote_jobs.error())?;
        Ok(Promotion::from(row))
    }

    /// See [`pgsched_core::store::JobStore::next_due`].
    pub(super) async fn next_due(&self, queues: &[QueueName]) -> Result<Option<Duration>> {
        let names: Vec<&str> = queues.iter().map(QueueName::as_str).collect();
        let millis: Option<i64> = self
            .sql
            .next_due
            .query_scalar()
            .bind(names)
            .fetch_one(self.main())
            .await
            .map_err(self.sql.next_due.error())?;
        Ok(millis.map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0))))
    }
}

/// [`crate::ATTEMPT_ERRORS_KEPT`] as the statements bind it.
fn attempt_errors_kept() -> i32 {
    i32::try_from(crate::ATTEMPT_ERRORS_KEPT).unwrap_or(i32::MAX)
}

fn lease_columns(leases: impl Iterator<Item = Lease>) -> (Vec<String>, Vec<i64>) {
    leases
        .map(|lease| (lease.id.into_string(), lease.token))
        .unzip()
}
