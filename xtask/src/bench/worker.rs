//! Worker processes for the benchmarks: this binary, started again as
//! `xtask bench-worker <url> <schema> [profile]`, runs a pgsched worker with default settings
//! (25 concurrent jobs) until SIGTERM; the `soak` profile deletes completed jobs at every
//! retention pass, once a minute.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pgsched::{Scheduler, job};
use sqlx::AssertSqlSafe;

use super::BenchResult;

/// The no-op job of the throughput workloads.
#[job]
pub(crate) async fn bench_noop() {}

/// The worker settings of the soak workloads (see [`serve`]).
pub(crate) const SOAK_PROFILE: &str = "soak";

/// Worker profiles that serve named queues instead of `default` (see [`serve`]): the value
/// is `PGSCHED_QUEUES`' syntax, 25 slots in all like the default worker.
pub(crate) const QUEUE_PROFILES: &[(&str, &str)] = &[
    ("queues4", "q0:7,q1:6,q2:6,q3:6"),
    ("limited", "limited:25"),
];

/// Runs a worker until SIGTERM (the `bench-worker` command).
pub(crate) async fn serve(url: &str, schema: &str, profile: Option<&str>) -> BenchResult {
    use tokio::signal::unix::{SignalKind, signal};
    let mut builder = Scheduler::builder().url(url).schema(schema);
    if let Some((_, queues)) = QUEUE_PROFILES
        .iter()
        .find(|(name, _)| Some(*name) == profile)
    {
        builder = builder.queues(queues.parse()?);
    }
    if profile == Some(SOAK_PROFILE) {
        builder = builder.vacuum(
            pgsched::VacuumConfig::new()
                .completed(pgsched::VacuumPolicy::immediate())
                .interval(Duration::from_secs(60)),
        );
    }
    let scheduler = builder.build().await?;
    scheduler.start().await?;
    signal(SignalKind::terminate())?.recv().await;
    scheduler.shutdown().await?;
    Ok(())
}

/// Worker processes of one workload; killed when dropped.
pub(crate) struct Workers {
    children: Vec<Child>,
}

impl Workers {
    /// Starts `count` worker processes on `schema` and waits until they are registered.
    pub(crate) async fn start(
        scheduler: &Scheduler,
        url: &str,
        count: usize,
    ) -> BenchResult<Workers> {
        Workers::start_with(scheduler, url, count, None).await
    }

    /// [`Workers::start`] with a settings profile (see [`serve`]).
    pub(crate) async fn start_with(
        scheduler: &Scheduler,
        url: &str,
        count: usize,
        profile: Option<&str>,
    ) -> BenchResult<Workers> {
        let exe = std::env::current_exe()?;
        let schema = pgsched::__private::store(scheduler)
            .schema()
            .as_str()
            .to_owned();
        let mut children = Vec::new();
        for _ in 0..count {
            children.push(
                Command::new(&exe)
                    .args(["bench-worker", url, &schema])
                    .args(profile)
                    .stdin(Stdio::null())
                    .spawn()?,
            );
        }
        let workers = Workers { children };
        let registered = format!(
            "SELECT count(*) FROM {}.workers",
            pgsched::__private::store(scheduler).schema().quoted()
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let n: i64 = sqlx::query_scalar(AssertSqlSafe(registered.clone()))
                .fetch_one(scheduler.pool())
                .await?;
            if usize::try_from(n).unwrap_or(0) >= count {
                return Ok(workers);
            }
            if Instant::now() > deadline {
                return Err("bench workers did not start within 30 s".into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The OS process ids.
    pub(crate) fn pids(&self) -> Vec<u32> {
        self.children.iter().map(Child::id).collect()
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        for child in &mut self.children {
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Peak resident memory of a process, in MiB (`VmHWM`).
pub(crate) fn peak_rss_mib(pid: u32) -> BenchResult<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or("no VmHWM in /proc/<pid>/status")?;
    Ok(kib / 1024.0)
}
