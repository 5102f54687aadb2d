//! Where a worker's next claim starts reading each priority's due jobs.
//!
//! The claim walks the index of due jobs in (priority, due time, insertion) order. Every job
//! it claims leaves a dead entry at the front of that index, which only `VACUUM` removes, and
//! `VACUUM` cannot remove it while any transaction in the cluster is older than the claim
//! (a report, a backup, a forgotten `psql`). A claim that always read from the front would
//! step over every job claimed since that transaction began, and slow down without bound.
//! So while claims come back full, the next one starts after the newest job this worker
//! claimed at each priority; a claim that comes back short, and at least one claim every
//! [`FRONT_WALK_EVERY`], reads from the front again. A job that becomes due with an older
//! key than one already claimed (released, recovered, written with a past due time, or
//! skipped while another claim held it) therefore waits at most that long behind newer jobs
//! of its priority during a backlog, and not at all otherwise.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::priority::Priority;
use crate::store::ClaimedJob;

/// How often a busy worker's claim reads each priority from the front regardless.
pub const FRONT_WALK_EVERY: Duration = Duration::from_secs(1);

/// A job's place in claim order within its priority: due time, then insertion time.
pub type ClaimKey = (DateTime<Utc>, DateTime<Utc>);

/// Per priority level, the key a claim starts reading at (`None`: the front).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClaimFloor {
    /// Indexed like [`Priority::ALL`].
    levels: [Option<ClaimKey>; 4],
}

impl ClaimFloor {
    /// Every priority read from the front.
    pub const FRONT: ClaimFloor = ClaimFloor { levels: [None; 4] };

    /// Where the claim starts at `priority`.
    #[must_use]
    pub fn at(&self, priority: Priority) -> Option<ClaimKey> {
        self.levels[Self::slot(priority)]
    }

    /// Moves each priority's start to the newest of `jobs` claimed there (never back).
    pub fn raise(&mut self, jobs: &[ClaimedJob]) {
        for job in jobs {
            let key = (job.run_at, job.created_at);
            let level = &mut self.levels[Self::slot(job.priority)];
            if level.is_none_or(|floor| floor < key) {
                *level = Some(key);
            }
        }
    }

    fn slot(priority: Priority) -> usize {
        Priority::ALL
            .iter()
            .position(|level| *level == priority)
            .unwrap_or(2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::JobId;
    use crate::store::Lease;
    use chrono::TimeZone;

    fn claimed(priority: Priority, run_at_s: i64, created_s: i64) -> ClaimedJob {
        let at = |s| Utc.timestamp_opt(s, 0).single().expect("valid");
        ClaimedJob {
            lease: Lease {
                id: JobId::generate(),
                token: 1,
            },
            name: "j".into(),
            payload: Vec::new(),
            schema_hash: None,
            attempt: 1,
            max_retries: 0,
            priority,
            run_at: at(run_at_s),
            created_at: at(created_s),
            claimed_at: at(run_at_s),
            timeout: None,
        }
    }

    #[test]
    fn each_priority_starts_after_its_newest_claimed_job_and_never_moves_back() {
        let mut floor = ClaimFloor::FRONT;
        floor.raise(&[
            claimed(Priority::Normal, 10, 1),
            claimed(Priority::Normal, 10, 3),
            claimed(Priority::Critical, 5, 2),
        ]);
        let key = |run_at, created| {
            Some((
                Utc.timestamp_opt(run_at, 0).single().expect("valid"),
                Utc.timestamp_opt(created, 0).single().expect("valid"),
            ))
        };
        assert_eq!(floor.at(Priority::Normal), key(10, 3));
        assert_eq!(floor.at(Priority::Critical), key(5, 2));
        assert_eq!(floor.at(Priority::High), None);
        floor.raise(&[claimed(Priority::Normal, 9, 9)]);
        assert_eq!(floor.at(Priority::Normal), key(10, 3), "never back");
        assert_eq!(ClaimFloor::FRONT.at(Priority::Low), None);
    }
}
