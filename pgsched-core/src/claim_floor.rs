//! Where a worker's next claim starts reading each priority's due jobs, and where its next
//! promotion pass starts reading the scheduled jobs that came due.
//!
//! The claim walks the index of due jobs in (priority, due time, insertion) order. Every job
//! it claims leaves a dead entry at the front of that index, which only `VACUUM` removes, and
//! `VACUUM` cannot remove it while any transaction in the cluster is older than the claim
//! (a report, a backup, a forgotten `psql`). A claim that always read from the front would
//! step over every job claimed since that transaction began, and slow down without bound.
//! So the next claim starts after the newest job this worker claimed at each priority; after
//! two claims in a row came back short (the backlog is drained: an idle worker always reads
//! from the front), and at least once every [`FRONT_WALK_EVERY`], a claim reads from the
//! front again (see [`FrontWalks`]). A job that becomes due with an older
//! key than one already claimed (released, recovered, written with a past due time, or
//! skipped while another claim held it) therefore waits at most that long behind newer jobs
//! of its priority during a backlog, and not at all otherwise.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::JobId;
use crate::priority::Priority;
use crate::store::ClaimedJob;

/// How often a busy worker's claim reads each priority from the front regardless.
pub const FRONT_WALK_EVERY: Duration = Duration::from_secs(1);

/// Short results in a row after which the next read starts from the front.
const SHORT_RESULTS_FOR_A_FRONT_WALK: u32 = 2;

/// When a claim loop's (or the promoter's) next read starts from the front rather than from
/// its floor: once [`FRONT_WALK_EVERY`], and after two short results in a row. A single short
/// result does not: a busy loop that briefly outruns its supply would otherwise step over
/// every dead entry again each time. (A job a floor read missed is still found: the claim
/// loop's idle wait asks whether any job is claimable, and claims again at once if so; that
/// claim, a second short one, reads from the front.)
#[derive(Debug, Default)]
pub struct FrontWalks {
    last: Option<Instant>,
    shorts_in_a_row: u32,
}

impl FrontWalks {
    /// Whether the read about to be sent starts from the front (recorded as done if so).
    pub fn due(&mut self) -> bool {
        let due = self
            .last
            .is_none_or(|last| last.elapsed() >= FRONT_WALK_EVERY)
            || self.shorts_in_a_row >= SHORT_RESULTS_FOR_A_FRONT_WALK;
        if due {
            self.last = Some(Instant::now());
        }
        due
    }

    /// Records how a read came back: `full` (as much as asked for) or short.
    pub fn came_back(&mut self, full: bool) {
        self.shorts_in_a_row = if full { 0 } else { self.shorts_in_a_row + 1 };
    }
}

/// A job's place in claim order within its priority: due time, insertion time, then id (so
/// no two jobs share a key and the floor can seek past exactly the jobs already claimed).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClaimKey {
    /// When it was due.
    pub run_at: DateTime<Utc>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// Its id.
    pub id: JobId,
}

/// Per priority level, the key a claim starts reading jobs without a concurrency key at
/// (`None`: the front); the concurrency key after which its walk over keys starts
/// (round-robin between keys: see `claim_jobs.sql`); and where round a limited queue's
/// numbered slots it starts looking for free ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimFloor {
    /// Indexed like [`Priority::ALL`].
    levels: [Option<ClaimKey>; 4],
    /// The last concurrency key the previous claim took a job of (`None`: the first key).
    after_key: Option<String>,
    /// See [`ClaimFloor::slot_start`].
    slot_start: u16,
}

impl ClaimFloor {
    /// Every priority read from the front, keys walked from the first.
    pub const FRONT: ClaimFloor = ClaimFloor {
        levels: [None, None, None, None],
        after_key: None,
        slot_start: 0,
    };

    /// Where round a limited queue's slots the claim starts looking for free ones, in
    /// 65,536ths of the limit (0: slot 0). Claims in flight at once that look from
    /// different places take different free slots: two that looked from the same place
    /// would pick the same ones (neither sees the other's before it commits), and the
    /// second would wait for the first only to find them taken and claim nothing.
    #[must_use]
    pub fn slot_start(&self) -> u16 {
        self.slot_start
    }

    /// This floor, looking for free slots from `start` (see [`ClaimFloor::slot_start`]).
    #[must_use]
    pub fn looking_from(mut self, start: u16) -> ClaimFloor {
        self.slot_start = start;
        self
    }

    /// The concurrency key after which the walk over keys starts (`None`: the first).
    #[must_use]
    pub fn after_key(&self) -> Option<&str> {
        self.after_key.as_deref()
    }

    /// The next claim walks keys after the last one `jobs` took a job of, or from the first
    /// key again when they took none (the walk wraps around).
    pub fn rotate_keys(&mut self, jobs: &[ClaimedJob]) {
        self.after_key = jobs
            .iter()
            .filter_map(|job| job.concurrency_key.as_deref())
            .max()
            .map(str::to_owned);
    }

    /// Where the claim starts at `priority`.
    #[must_use]
    pub fn at(&self, priority: Priority) -> Option<&ClaimKey> {
        self.levels[Self::slot(priority)].as_ref()
    }

    /// Moves each priority's start to the newest of `jobs` without a concurrency key claimed
    /// there (never back). Keyed jobs are read by the walk over keys, not from these floors.
    pub fn raise(&mut self, jobs: &[ClaimedJob]) {
        for job in jobs.iter().filter(|job| job.concurrency_key.is_none()) {
            let key = ClaimKey {
                run_at: job.run_at,
                created_at: job.created_at,
                id: job.lease.id.clone(),
            };
            let level = &mut self.levels[Self::slot(job.priority)];
            if level.as_ref().is_none_or(|floor| *floor < key) {
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

/// A scheduled job's place in one of the promotion's two probes (jobs that never expire,
/// jobs that can): its due time, then its id.
pub type PromotionKey = (DateTime<Utc>, JobId);

/// Where a promotion pass starts each probe (`None`: the front). Promoted jobs leave dead
/// entries in the scheduled indexes just as claimed jobs do in the claim's, so while passes
/// come back full the next starts after the last job promoted; a short pass, and at least
/// one pass every [`FRONT_WALK_EVERY`], reads from the front.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PromotionFloor {
    /// Jobs that never expire, by due time.
    pub lasting: Option<PromotionKey>,
    /// Jobs that can expire, by due time.
    pub expiring: Option<PromotionKey>,
}

impl PromotionFloor {
    /// Both probes read from the front.
    pub const FRONT: PromotionFloor = PromotionFloor {
        lasting: None,
        expiring: None,
    };

    /// Moves each probe's start to the last job a pass promoted there (never back).
    pub fn raise(&mut self, reached: &PromotionFloor) {
        for (floor, key) in [
            (&mut self.lasting, &reached.lasting),
            (&mut self.expiring, &reached.expiring),
        ] {
            if let Some(key) = key
                && floor.as_ref().is_none_or(|floor| floor < key)
            {
                *floor = Some(key.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::JobId;
    use crate::store::Lease;
    use chrono::TimeZone;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(seconds, 0).single().expect("valid")
    }

    fn claimed(priority: Priority, run_at_s: i64, created_s: i64, id: &str) -> ClaimedJob {
        ClaimedJob {
            lease: Lease {
                id: JobId::new(id).expect("valid id"),
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
            queue: crate::QueueName::DEFAULT,
            concurrency_key: None,
            passes_slot: false,
            claimed_at: at(run_at_s),
            timeout: None,
            trace_context: None,
        }
    }

    #[test]
    fn each_priority_starts_after_its_newest_claimed_job_and_never_moves_back() {
        let mut floor = ClaimFloor::FRONT;
        floor.raise(&[
            claimed(Priority::Normal, 10, 1, "b"),
            claimed(Priority::Normal, 10, 3, "a"),
            claimed(Priority::Normal, 10, 3, "c"),
            claimed(Priority::Critical, 5, 2, "d"),
        ]);
        let key = |run_at, created, id: &str| ClaimKey {
            run_at: at(run_at),
            created_at: at(created),
            id: JobId::new(id).expect("valid id"),
        };
        assert_eq!(floor.at(Priority::Normal), Some(&key(10, 3, "c")));
        assert_eq!(floor.at(Priority::Critical), Some(&key(5, 2, "d")));
        assert_eq!(floor.at(Priority::High), None);
        floor.raise(&[claimed(Priority::Normal, 9, 9, "z")]);
        assert_eq!(
            floor.at(Priority::Normal),
            Some(&key(10, 3, "c")),
            "never back"
        );
        assert_eq!(ClaimFloor::FRONT.at(Priority::Low), None);
    }

    #[test]
    fn front_walks_come_first_then_after_two_short_results_in_a_row() {
        let mut walks = FrontWalks::default();
        assert!(walks.due(), "the first read starts from the front");
        walks.came_back(true);
        assert!(!walks.due());
        walks.came_back(false);
        assert!(!walks.due(), "one short result is not enough");
        walks.came_back(false);
        assert!(walks.due(), "two in a row are");
        walks.came_back(false);
        assert!(walks.due(), "and it stays so while results are short");
        walks.came_back(true);
        assert!(!walks.due());
    }

    #[test]
    fn a_promotion_floor_only_moves_up_and_per_probe() {
        let key = |seconds, id: &str| Some((at(seconds), JobId::new(id).expect("valid id")));
        let mut floor = PromotionFloor::FRONT;
        floor.raise(&PromotionFloor {
            lasting: key(5, "a"),
            expiring: None,
        });
        floor.raise(&PromotionFloor {
            lasting: key(4, "z"),
            expiring: key(9, "b"),
        });
        assert_eq!(floor.lasting, key(5, "a"));
        assert_eq!(floor.expiring, key(9, "b"));
    }
}
