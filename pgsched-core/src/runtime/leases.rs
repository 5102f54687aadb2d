//! The leases this worker holds, and how their attempts are told to stop.
//!
//! A lease enters the table when its job is claimed and leaves it when the job's outcome is
//! written (or when the lease is found lost). While it is in the table the heartbeat renews it,
//! so a finished job whose completion is still being written keeps its lease.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::job::JobId;
use crate::store::Lease;

/// Why a running attempt is being abandoned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AbortReason {
    /// The lease is gone (expired, recovered by another worker, or the job was cancelled):
    /// this worker must not write anything for it.
    LeaseLost,
    /// Shutdown's grace period ran out: release the job.
    Shutdown,
}

/// Tells one attempt to stop, once, with a reason.
#[derive(Debug, Default)]
pub(crate) struct Abort {
    token: CancellationToken,
    reason: OnceLock<AbortReason>,
}

impl Abort {
    pub(crate) fn trigger(&self, reason: AbortReason) {
        // The first reason wins; later ones find the attempt already stopping.
        let _ = self.reason.set(reason);
        self.token.cancel();
    }

    pub(crate) fn token(&self) -> &CancellationToken {
        &self.token
    }

    pub(crate) fn reason(&self) -> AbortReason {
        self.reason.get().copied().unwrap_or(AbortReason::LeaseLost)
    }
}

struct Held {
    id: JobId,
    /// Local time at which the last successful renewal (or the claim) was *sent*: the lease
    /// in the database runs at least `lease_duration` from then.
    renewed_at: Instant,
    abort: Arc<Abort>,
    /// The attempt ended and its outcome is queued for writing: once written, the lease is
    /// gone from the database, so a renewal that misses it is not a lost lease.
    finishing: bool,
}

/// Leases held by this worker, keyed by token.
#[derive(Default)]
pub(crate) struct LeaseTable {
    held: Mutex<HashMap<i64, Held>>,
}

impl LeaseTable {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Held>> {
        // A panic while holding this lock cannot leave the map half-updated (each operation is
        // a single insert/remove), so a poisoned lock is still safe to use.
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn insert(&self, lease: &Lease, claimed_at: Instant) -> Arc<Abort> {
        let abort = Arc::new(Abort::default());
        self.lock().insert(
            lease.token,
            Held {
                id: lease.id.clone(),
                renewed_at: claimed_at,
                abort: Arc::clone(&abort),
                finishing: false,
            },
        );
        abort
    }

    /// Marks a lease whose outcome is queued for writing (see [`Held::finishing`]).
    pub(crate) fn finishing(&self, token: i64) {
        if let Some(held) = self.lock().get_mut(&token) {
            held.finishing = true;
        }
    }

    pub(crate) fn remove(&self, token: i64) {
        self.lock().remove(&token);
    }

    pub(crate) fn snapshot(&self) -> Vec<Lease> {
        self.lock()
            .iter()
            .map(|(token, held)| Lease {
                id: held.id.clone(),
                token: *token,
            })
            .collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Records a successful renewal sent at `sent_at`; leases in `sent` but not in `held` are
    /// lost: they are removed and their attempts aborted. Returns the lost leases.
    pub(crate) fn renewed(&self, sent: &[Lease], held: &[i64], sent_at: Instant) -> Vec<Lease> {
        let still: std::collections::HashSet<i64> = held.iter().copied().collect();
        let mut table = self.lock();
        let mut lost = Vec::new();
        for lease in sent {
            if still.contains(&lease.token) {
                if let Some(entry) = table.get_mut(&lease.token) {
                    entry.renewed_at = sent_at;
                }
            } else if table
                .get(&lease.token)
                .is_some_and(|entry| !entry.finishing)
                && let Some(entry) = table.remove(&lease.token)
            {
                entry.abort.trigger(AbortReason::LeaseLost);
                lost.push(lease.clone());
            }
        }
        lost
    }

    /// Aborts and forgets every lease not renewed for `max_age`: the database may hand them
    /// to another worker soon, so this worker stops running them first.
    pub(crate) fn expire_unrenewed(&self, max_age: Duration, now: Instant) -> Vec<Lease> {
        let mut table = self.lock();
        let stale: Vec<i64> = table
            .iter()
            .filter(|(_, held)| now.duration_since(held.renewed_at) >= max_age)
            .map(|(token, _)| *token)
            .collect();
        stale
            .into_iter()
            .filter_map(|token| {
                table.remove(&token).map(|held| {
                    held.abort.trigger(AbortReason::LeaseLost);
                    Lease { id: held.id, token }
                })
            })
            .collect()
    }

    /// Aborts every attempt still holding a lease (shutdown's grace ran out).
    pub(crate) fn abort_all(&self, reason: AbortReason) {
        for held in self.lock().values() {
            held.abort.trigger(reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(token: i64) -> Lease {
        Lease {
            id: JobId::from_stored(format!("j{token}")),
            token,
        }
    }

    #[test]
    fn renewal_keeps_held_leases_and_aborts_lost_ones() {
        let table = LeaseTable::default();
        let start = Instant::now();
        let kept = table.insert(&lease(1), start);
        let lost = table.insert(&lease(2), start);
        let lost_leases = table.renewed(&[lease(1), lease(2)], &[1], start);
        assert_eq!(lost_leases, [lease(2)]);
        assert!(!kept.token().is_cancelled());
        assert!(lost.token().is_cancelled());
        assert_eq!(lost.reason(), AbortReason::LeaseLost);
        assert_eq!(table.snapshot(), [lease(1)]);
    }

    #[test]
    fn a_lease_whose_outcome_is_being_written_is_not_reported_lost() {
        let table = LeaseTable::default();
        let start = Instant::now();
        let abort = table.insert(&lease(1), start);
        table.finishing(1);
        assert!(table.renewed(&[lease(1)], &[], start).is_empty());
        assert!(!abort.token().is_cancelled());
        assert_eq!(table.len(), 1, "the finisher removes it once written");
    }

    #[test]
    fn unrenewed_leases_are_aborted_before_they_expire() {
        let table = LeaseTable::default();
        let start = Instant::now();
        let old = table.insert(&lease(1), start);
        let fresh = table.insert(&lease(2), start + Duration::from_secs(5));
        let expired =
            table.expire_unrenewed(Duration::from_secs(4), start + Duration::from_secs(6));
        assert_eq!(expired, [lease(1)]);
        assert!(old.token().is_cancelled());
        assert!(!fresh.token().is_cancelled());
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn the_first_abort_reason_wins() {
        let abort = Abort::default();
        abort.trigger(AbortReason::Shutdown);
        abort.trigger(AbortReason::LeaseLost);
        assert_eq!(abort.reason(), AbortReason::Shutdown);
    }
}
