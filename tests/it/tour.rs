//! The README's tour, run as a user would paste it into a binary (`tests/bin/tour.rs`):
//! against a schema nobody migrated, with a job that takes `State<Mailer>`, through
//! `Scheduler::run`.

use std::process::{Command, Stdio};
use std::time::Duration;

use pgsched::JobStatus;
use pgsched_tests::{DEADLINE, TestDb, database_url, eventually};

/// The tour binary, built by cargo for this test.
const TOUR: &str = env!("CARGO_BIN_EXE_pgsched-tour");

#[tokio::test]
async fn the_tour_schedules_into_a_fresh_schema_and_runs_its_job_with_state() {
    let db = TestDb::new();
    let output = tempfile_path(db.schema());
    let mut tour = KillOnDrop(
        Command::new(TOUR)
            .env("DATABASE_URL", database_url())
            .env("PGSCHED_SCHEMA", db.schema())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::from(
                std::fs::File::create(&output).expect("stdout file"),
            ))
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the tour binary"),
    );

    // Not migrated by this test: the tour migrates before it schedules.
    let scheduler = db.builder().build().await.expect("scheduler builds");
    let job = eventually("the tour's job to complete", || async {
        match scheduler.job("welcome:42").await {
            Ok(Some(job)) if job.status == JobStatus::Completed => Some(job),
            Ok(Some(job)) => {
                assert!(
                    matches!(job.status, JobStatus::Pending | JobStatus::Running),
                    "the tour's job ended as {job:?}"
                );
                None
            }
            // Not scheduled yet, or the schema not migrated yet.
            Ok(None) | Err(pgsched::Error::NotMigrated { .. }) => None,
            // Migrations commit one by one: until the last one, a column get_job reads (the
            // output of migration 0011) may not exist yet.
            Err(error) if error.to_string().contains("does not exist") => None,
            Err(error) => panic!("inspecting the tour's job: {error}"),
        }
    })
    .await;
    assert_eq!(
        job.attempts, 1,
        "the State<Mailer> was there on the first attempt"
    );
    assert_eq!(job.last_error, None);

    let status = Command::new("kill")
        .arg("-TERM")
        .arg(tour.0.id().to_string())
        .status()
        .expect("run kill(1)");
    assert!(status.success(), "kill -TERM failed");
    let asked = tokio::time::Instant::now();
    let exit = loop {
        if let Some(exit) = tour.0.try_wait().expect("poll the tour") {
            break exit;
        }
        assert!(
            asked.elapsed() < DEADLINE,
            "the tour did not exit within {DEADLINE:?} of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let printed = std::fs::read_to_string(&output).expect("the tour's stdout");
    let _ = std::fs::remove_file(&output);
    assert!(
        exit.success(),
        "the tour exited with {exit}; it printed:\n{printed}"
    );
    assert!(
        printed.contains("scheduled welcome:42"),
        "the tour printed:\n{printed}"
    );
    assert!(
        printed.contains("sent `hi` to a@b.c (attempt 1)"),
        "the job ran with the mailer given as state; the tour printed:\n{printed}"
    );
    db.drop_schema().await;
}

#[test]
fn the_tour_binary_is_the_readme_tour_word_for_word() {
    let readme = include_str!("../../README.md");
    let binary = include_str!("../bin/tour.rs");
    let start = readme.find("```rust").expect("the README has a rust block");
    let body_start = start + readme[start..].find('\n').expect("fence line ends") + 1;
    let body_end = body_start + readme[body_start..].find("```").expect("the block ends");
    let visible: String = readme[body_start..body_end]
        .lines()
        .filter(|line| !(line.starts_with("# ") || *line == "#"))
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(
        visible.contains("scheduler.run().await"),
        "the first rust block of the README is the tour:\n{visible}"
    );
    assert!(
        binary.contains(&visible),
        "tests/bin/tour.rs must hold the README's tour as written (its lines not starting \
         with `# `); the README's tour is:\n{visible}"
    );
}

/// The tour process, killed if the test ends before it exits.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Where the tour's stdout goes, unique per test schema.
fn tempfile_path(schema: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("pgsched-tour-{schema}.out"))
}
