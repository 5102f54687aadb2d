//! Fencing across a crash (issue 10, fencing test 1). Claims commit with
//! `synchronous_commit = off`, so an immediate stop loses the claims that the WAL writer had
//! not written yet. Worker B then claims the same jobs again; worker A, a zombie that kept its
//! leases in memory and reconnected, must not be able to renew, finish or release them with its
//! old tokens. With tokens from a sequence, the sequence advance is lost with the claims and B
//! is handed A's token values again, so A's writes land on B's jobs.
//!
//! Determinism: the server's WAL writer runs every 10 s (`wal_writer_delay`); autovacuum and
//! the background writer's page writes (which flush the WAL up to the page they write) are off.
//! The jobs are scheduled with a synchronous commit, so they survive. The claims' WAL starts
//! with enough room left in the current WAL page that filling a page does not wake the WAL
//! writer either. Nothing writes WAL between the claims and the stop, and the test checks that
//! the WAL write position did not move past where the claims began. If the WAL writer's 10 s
//! tick still falls into that window of milliseconds (the claims survive), the round is not
//! usable and runs again on a fresh cluster, at most [`ROUNDS`] times.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use pgsched::{ConflictResolution, JobSpec, Scheduler};
use pgsched_core::store::{ClaimedJob, Finish, JobStore, Lease, Release};
use pgsched_devdb::StopMode;
use sqlx::{PgPool, Row};

use crate::harness::gate;
use crate::private_cluster;

/// Jobs claimed by A, then by B.
const JOBS: usize = 6;
/// The lease both workers claim with (long: nothing here may expire on its own).
const LEASE: Duration = Duration::from_secs(60);
/// What the zombie's renewal asks for: different from [`LEASE`], so a renewal that went
/// through shows in `lease_expires_at`.
const ZOMBIE_LEASE: Duration = Duration::from_secs(600);
/// Fresh clusters tried before giving up on losing the claims.
const ROUNDS: usize = 3;
const SCHEMA: &str = "faults_crash";
/// A WAL page.
const WAL_PAGE: i64 = 8192;
/// Room the claims get in the current WAL page (they write about 2 KB).
const CLAIM_ROOM: i64 = 6 * 1024;

/// Server settings that make the claims' asynchronous commits stay in shared memory until the
/// immediate stop.
const SETTINGS: [(&str, &str); 4] = [
    // The WAL writer writes asynchronous commits out every 10 s (default 200 ms).
    ("wal_writer_delay", "10s"),
    // Autovacuum's own commits would flush the WAL, claims included.
    ("autovacuum", "off"),
    // Writing a dirty page first flushes the WAL up to that page's changes.
    ("bgwriter_lru_maxpages", "0"),
    // PostgreSQL's default, stated: the schedule is flushed at commit.
    ("synchronous_commit", "on"),
];

/// A job row as the test compares it: status, worker, token, attempts, lease expiry (µs).
type Row5 = (String, Option<String>, Option<i64>, i32, Option<i64>);

/// What a usable round saw.
struct Round {
    claims_wal: i64,
    a: Vec<ClaimedJob>,
    b: Vec<ClaimedJob>,
    renewed: Vec<i64>,
    finished: Vec<bool>,
    released: u64,
    before: BTreeMap<String, Row5>,
    after: BTreeMap<String, Row5>,
}

async fn connect(url: &str) -> Scheduler {
    Scheduler::builder()
        .url(url)
        .schema(SCHEMA)
        .pool_size(2)
        .build()
        .await
        .expect("connects to the private cluster")
}

async fn i64_of(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(pool)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
}

/// WAL positions in bytes: (inserted, written to the OS, flushed).
async fn wal_positions(pool: &PgPool) -> (i64, i64, i64) {
    let row = sqlx::query(
        "SELECT (pg_current_wal_insert_lsn() - '0/0')::int8,
                (pg_current_wal_lsn() - '0/0')::int8,
                (pg_current_wal_flush_lsn() - '0/0')::int8",
    )
    .fetch_one(pool)
    .await
    .expect("WAL positions");
    (row.get(0), row.get(1), row.get(2))
}

/// A committed transaction with an xid and `synchronous_commit = on`: every WAL record before
/// it is flushed when this returns.
async fn flush_wal(pool: &PgPool) {
    i64_of(pool, "SELECT txid_current()").await;
}

/// Flushes the WAL and, if less than [`CLAIM_ROOM`] is left in the current WAL page, writes a
/// logical message that crosses into the next one (and flushes again). Returns the position
/// the claims will start at.
async fn make_room_for_the_claims(pool: &PgPool) -> i64 {
    for _ in 0..4 {
        flush_wal(pool).await;
        let (inserted, _, _) = wal_positions(pool).await;
        let left = WAL_PAGE - inserted % WAL_PAGE;
        if left >= CLAIM_ROOM {
            return inserted;
        }
        sqlx::query("SELECT pg_logical_emit_message(false, 'pgsched-faults', repeat('x', $1))")
            .bind(i32::try_from(left).unwrap_or(0))
            .execute(pool)
            .await
            .expect("pad the WAL");
    }
    panic!("could not start the claims with {CLAIM_ROOM} bytes left in a WAL page");
}

/// Every job row, by id.
async fn job_rows(pool: &PgPool) -> BTreeMap<String, Row5> {
    let sql = format!(
        "SELECT id, status, worker_id, lease_token, attempts,
                (extract(epoch FROM lease_expires_at) * 1e6)::int8
           FROM \"{SCHEMA}\".jobs ORDER BY id"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await
        .expect("job rows")
        .iter()
        .map(|row| {
            (
                row.get(0),
                (row.get(1), row.get(2), row.get(3), row.get(4), row.get(5)),
            )
        })
        .collect()
}

fn leases(jobs: &[ClaimedJob]) -> Vec<Lease> {
    jobs.iter().map(|job| job.lease.clone()).collect()
}

fn ids(jobs: &[ClaimedJob]) -> BTreeSet<String> {
    jobs.iter()
        .map(|job| job.lease.id.as_str().to_owned())
        .collect()
}

/// One attempt at the scenario on a fresh cluster; `Err` says why it was not usable.
async fn round() -> Result<Round, String> {
    let mut cluster = private_cluster(&SETTINGS);
    let url = cluster.url();

    let setup = connect(&url).await;
    setup.initialize_db().await.expect("migrations run");
    let specs = (0..JOBS)
        .map(|i| JobSpec::by_name("crash_job", Vec::new()).job_id(format!("crash-{i}")))
        .collect();
    setup
        .schedule_bulk(specs, ConflictResolution::Raise, 100)
        .await
        .expect("schedule");
    let claims_start = make_room_for_the_claims(setup.pool()).await;

    // Worker A claims every job; its store's worker pool commits with synchronous_commit=off.
    let worker_a = connect(&url).await;
    let a = pgsched::__private::store(&worker_a)
        .claim(
            "worker-a",
            &pgsched_core::QueueName::DEFAULT,
            JOBS as u32,
            LEASE,
            &pgsched_core::store::ClaimFloor::FRONT,
        )
        .await
        .expect("A claims");
    assert_eq!(ids(&a).len(), JOBS, "A claims every job");
    let (inserted, written, flushed) = wal_positions(setup.pool()).await;
    if written > claims_start {
        return Err(format!(
            "the WAL writer wrote the claims out before the stop (claims from {claims_start} \
             to {inserted}, written up to {written}, flushed up to {flushed})"
        ));
    }
    tokio::task::block_in_place(|| {
        cluster.stop(StopMode::Immediate)?;
        cluster.start_again()
    })
    .unwrap_or_else(|error| panic!("crash and restart: {error}"));
    drop((setup, worker_a));

    // A reconnects (a zombie with its old leases in memory); B is another worker.
    let zombie = connect(&url).await;
    let worker_b = connect(&url).await;
    let pool = worker_b.pool().clone();
    let lost = job_rows(&pool).await;
    if lost.values().any(|(status, _, token, attempts, _)| {
        status != "pending" || token.is_some() || *attempts != 0
    }) {
        return Err(format!("some of A's claims survived the crash: {lost:?}"));
    }
    let b = pgsched::__private::store(&worker_b)
        .claim(
            "worker-b",
            &pgsched_core::QueueName::DEFAULT,
            JOBS as u32,
            LEASE,
            &pgsched_core::store::ClaimFloor::FRONT,
        )
        .await
        .expect("B claims");
    assert_eq!(ids(&b), ids(&a), "B claims the jobs A lost");

    let before = job_rows(&pool).await;
    let a_leases = leases(&a);
    let (finish_half, release_half) = a_leases.split_at(JOBS / 2);
    let renewed = pgsched::__private::store(&zombie)
        .renew_leases(&a_leases, ZOMBIE_LEASE)
        .await
        .expect("A's renewal runs");
    let outcomes: Vec<(Lease, Finish)> = finish_half
        .iter()
        .map(|lease| (lease.clone(), Finish::Completed))
        .collect();
    let finished = pgsched::__private::store(&zombie)
        .finish(&outcomes)
        .await
        .expect("A's finish runs");
    let releases: Vec<Release> = release_half
        .iter()
        .map(|lease| Release::unstarted(lease.clone()))
        .collect();
    let released = pgsched::__private::store(&zombie)
        .release(&releases)
        .await
        .expect("A's release runs");
    let after = job_rows(&pool).await;

    // B still holds every job: it completes them with its own tokens.
    let b_outcomes: Vec<(Lease, Finish)> = leases(&b)
        .into_iter()
        .map(|lease| (lease, Finish::Completed))
        .collect();
    let b_finished = pgsched::__private::store(&worker_b)
        .finish(&b_outcomes)
        .await
        .expect("B's finish runs");
    let completed = i64_of(
        &pool,
        &format!("SELECT count(*) FROM \"{SCHEMA}\".jobs WHERE status = 'completed'"),
    )
    .await;
    let round = Round {
        claims_wal: inserted - claims_start,
        a,
        b,
        renewed,
        finished,
        released,
        before,
        after,
    };
    let violations = round.violations();
    assert!(
        violations.is_empty(),
        "{}\nA zombie's old tokens changed B's jobs after the crash:\n  {}",
        round.figures(),
        violations.join("\n  ")
    );
    assert_eq!(b_finished, vec![true; JOBS], "B's outcomes are written");
    assert_eq!(completed, JOBS as i64, "B completed every job");

    drop((zombie, worker_b));
    tokio::task::block_in_place(move || drop(cluster));
    Ok(round)
}

impl Round {
    /// Tokens B was handed that A had held.
    fn reused_tokens(&self) -> usize {
        let a: BTreeSet<i64> = self.a.iter().map(|job| job.lease.token).collect();
        self.b
            .iter()
            .filter(|job| a.contains(&job.lease.token))
            .count()
    }

    fn figures(&self) -> String {
        let tokens =
            |jobs: &[ClaimedJob]| -> Vec<i64> { jobs.iter().map(|j| j.lease.token).collect() };
        format!(
            "claims' WAL {} bytes, none of it written before the stop; A claimed {JOBS}, B \
             claimed the same {JOBS} after the restart; tokens A {:?}, B {:?}: {}/{JOBS} \
             reused; A's renew returned {} token(s), finish {:?}, release {}",
            self.claims_wal,
            tokens(&self.a),
            tokens(&self.b),
            self.reused_tokens(),
            self.renewed.len(),
            self.finished,
            self.released
        )
    }

    /// Everything A's stale writes changed.
    fn violations(&self) -> Vec<String> {
        let mut found = Vec::new();
        if !self.renewed.is_empty() {
            found.push(format!(
                "renew_leases with A's tokens extended {} lease(s): {:?}",
                self.renewed.len(),
                self.renewed
            ));
        }
        let applied = self.finished.iter().filter(|applied| **applied).count();
        if applied > 0 {
            found.push(format!(
                "finish with A's tokens was applied to {applied} job(s): {:?}",
                self.finished
            ));
        }
        if self.released > 0 {
            found.push(format!(
                "release with A's tokens released {} job(s)",
                self.released
            ));
        }
        let b_tokens: BTreeMap<&str, i64> = self
            .b
            .iter()
            .map(|job| (job.lease.id.as_str(), job.lease.token))
            .collect();
        for (id, after) in &self.after {
            let before = self.before.get(id);
            let held_by_b = after.0 == "running"
                && after.1.as_deref() == Some("worker-b")
                && after.2 == b_tokens.get(id.as_str()).copied();
            if before != Some(after) || !held_by_b {
                found.push(format!("job {id}: {before:?} -> {after:?}"));
            }
        }
        found
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_zombie_token_changes_nothing_after_a_crash_lost_the_claims() {
    let _permit = gate(2);
    let mut unusable = Vec::new();
    for n in 1..=ROUNDS {
        match round().await {
            Ok(round) => {
                println!(
                    "crash: round {n} (unusable before it: {unusable:?}): {}; rows unchanged, \
                     all still held by B, which then completed them",
                    round.figures()
                );
                return;
            }
            Err(reason) => {
                println!("crash: round {n} not usable: {reason}");
                unusable.push(reason);
            }
        }
    }
    panic!("no round lost A's claims in the crash: {unusable:?}");
}
