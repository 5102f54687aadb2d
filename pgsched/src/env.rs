//! Configuration from the environment: `DATABASE_URL` and `PGSCHED_*`.
//!
//! Each variable calls the matching [`SchedulerBuilder`] setter (`PGSCHED_POLL_INTERVAL` →
//! [`SchedulerBuilder::poll_interval`]; `PGSCHED_VACUUM_INTERVAL` and
//! `PGSCHED_VACUUM_TRACK_METRICS` → [`SchedulerBuilder::vacuum`]), so its meaning and its
//! default are the setter's (the defaults are the constants of [`crate::defaults`]). The list
//! for users is the table on [`SchedulerBuilder`]. Durations are written like `500ms`, `30s`, `5m`;
//! `PGSCHED_MISFIRE_GRACE` also takes `never`; booleans are `true`/`false`.

use std::str::FromStr;
use std::time::Duration;

use pgsched_core::{Error, Result, VacuumConfig};

use crate::scheduler::SchedulerBuilder;

/// A builder setter taking a duration.
type DurationSetter = fn(SchedulerBuilder, Duration) -> SchedulerBuilder;

/// The duration variables and the setter each one calls.
const DURATIONS: [(&str, DurationSetter); 7] = [
    ("PGSCHED_POLL_INTERVAL", SchedulerBuilder::poll_interval),
    ("PGSCHED_LEASE_DURATION", SchedulerBuilder::lease_duration),
    (
        "PGSCHED_HEARTBEAT_INTERVAL",
        SchedulerBuilder::heartbeat_interval,
    ),
    ("PGSCHED_SWEEP_INTERVAL", SchedulerBuilder::sweep_interval),
    ("PGSCHED_SHUTDOWN_GRACE", SchedulerBuilder::shutdown_grace),
    (
        "PGSCHED_DEAD_WORKER_AFTER",
        SchedulerBuilder::dead_worker_after,
    ),
    ("PGSCHED_PERIODIC_TICK", SchedulerBuilder::periodic_tick),
];

impl SchedulerBuilder {
    /// Reads `DATABASE_URL` and `PGSCHED_*` through `lookup` (listed on [`SchedulerBuilder`]);
    /// each variable that is set calls the builder's setter of the same name, so a variable
    /// means exactly what its setter means.
    ///
    /// # Errors
    /// [`Error::Config`] naming the variable that is missing or invalid.
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<SchedulerBuilder> {
        builder_from(lookup)
    }
}

fn builder_from(lookup: impl Fn(&str) -> Option<String>) -> Result<SchedulerBuilder> {
    let get = |key: &str| {
        lookup(key)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let url = get("DATABASE_URL").ok_or_else(|| {
        Error::config(
            "DATABASE_URL",
            "is not set; set it to your PostgreSQL, e.g. DATABASE_URL=postgres://postgres@localhost:5432/postgres",
        )
    })?;
    let mut builder = SchedulerBuilder::default().url(url);
    if let Some(schema) = get("PGSCHED_SCHEMA") {
        builder = builder.schema(schema);
    }
    if let Some(size) = parse::<u32>(&get, "PGSCHED_POOL_SIZE")? {
        builder = builder.pool_size(size);
    }
    if let Some(grace) = get("PGSCHED_MISFIRE_GRACE") {
        let grace = if grace.eq_ignore_ascii_case("never") {
            None
        } else {
            Some(duration("PGSCHED_MISFIRE_GRACE", &grace)?)
        };
        builder = builder.misfire_grace_time(grace);
    }
    if let Some(bytes) = parse::<usize>(&get, "PGSCHED_MAX_PAYLOAD_BYTES")? {
        builder = builder.max_payload_bytes(bytes);
    }
    if let Some(bytes) = parse::<usize>(&get, "PGSCHED_MAX_OUTPUT_BYTES")? {
        builder = builder.max_output_bytes(bytes);
    }
    if let Some(listen) = parse(&get, "PGSCHED_LISTEN")? {
        builder = builder.listen(listen);
    }
    if let Some(pooler) = parse(&get, "PGSCHED_TRANSACTION_POOLER")? {
        builder = builder.transaction_pooler(pooler);
    }
    if let Some(jobs) = parse(&get, "PGSCHED_MAX_CONCURRENT_JOBS")? {
        builder = builder.max_concurrent_jobs(jobs);
    }
    if let Some(limit) = parse(&get, "PGSCHED_BATCH_CLAIM_LIMIT")? {
        builder = builder.batch_claim_limit(limit);
    }
    if let Some(enabled) = parse(&get, "PGSCHED_VACUUM_ENABLED")? {
        builder = builder.vacuum_enabled(enabled);
    }
    let track_metrics = parse(&get, "PGSCHED_VACUUM_TRACK_METRICS")?;
    let vacuum_interval = get("PGSCHED_VACUUM_INTERVAL")
        .map(|value| duration("PGSCHED_VACUUM_INTERVAL", &value))
        .transpose()?;
    if track_metrics.is_some() || vacuum_interval.is_some() {
        let mut vacuum = VacuumConfig::new();
        if let Some(track) = track_metrics {
            vacuum = vacuum.track_metrics(track);
        }
        if let Some(interval) = vacuum_interval {
            vacuum = vacuum.interval(interval);
        }
        builder = builder.vacuum(vacuum);
    }
    for (key, set) in DURATIONS {
        if let Some(value) = get(key) {
            builder = set(builder, duration(key, &value)?);
        }
    }
    Ok(builder)
}

fn parse<T: FromStr>(get: &impl Fn(&str) -> Option<String>, key: &str) -> Result<Option<T>>
where
    T::Err: std::fmt::Display,
{
    get(key)
        .map(|value| {
            value
                .parse::<T>()
                .map_err(|error| Error::config(key, format!("{value:?}: {error}")))
        })
        .transpose()
}

fn duration(key: &str, value: &str) -> Result<Duration> {
    humantime::parse_duration(value).map_err(|error| {
        Error::config(
            key,
            format!("{value:?}: {error} (use a duration like 500ms, 30s, 5m)"),
        )
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |key| map.get(key).cloned()
    }

    #[test]
    fn database_url_is_required_and_named_in_the_error() {
        let err = builder_from(lookup(&[])).expect_err("missing url");
        assert!(err.to_string().contains("DATABASE_URL"), "{err}");
    }

    #[test]
    fn variables_reach_the_builder() {
        let builder = builder_from(lookup(&[
            ("DATABASE_URL", "postgres://x@h/db"),
            ("PGSCHED_MAX_CONCURRENT_JOBS", "7"),
            ("PGSCHED_POLL_INTERVAL", "250ms"),
            ("PGSCHED_LISTEN", "false"),
            ("PGSCHED_MISFIRE_GRACE", "never"),
        ]))
        .expect("valid");
        assert_eq!(builder.listen_setting().ok(), Some(false));
        assert!(!builder.is_transaction_pooler());
        let worker = builder.worker_settings();
        assert_eq!(worker.max_concurrent_jobs, 7);
        assert_eq!(worker.poll_interval, Duration::from_millis(250));
    }

    #[test]
    fn a_transaction_pooler_turns_listen_off_and_refuses_it_on() {
        let url = ("DATABASE_URL", "postgres://x@h/db");
        let pooled =
            builder_from(lookup(&[url, ("PGSCHED_TRANSACTION_POOLER", "true")])).expect("valid");
        assert!(pooled.is_transaction_pooler());
        assert_eq!(pooled.listen_setting().ok(), Some(false));
        let direct = builder_from(lookup(&[url])).expect("valid");
        assert_eq!(direct.listen_setting().ok(), Some(true));
        let both = builder_from(lookup(&[
            url,
            ("PGSCHED_TRANSACTION_POOLER", "true"),
            ("PGSCHED_LISTEN", "true"),
        ]))
        .expect("parsed");
        let err = both.listen_setting().expect_err("LISTEN behind a pooler");
        assert!(err.to_string().contains("PGSCHED_LISTEN"), "{err}");
    }

    #[test]
    fn invalid_values_name_their_variable() {
        for (key, value) in [
            ("PGSCHED_MAX_CONCURRENT_JOBS", "many"),
            ("PGSCHED_LEASE_DURATION", "soon"),
            ("PGSCHED_LISTEN", "maybe"),
            ("PGSCHED_TRANSACTION_POOLER", "pgbouncer"),
        ] {
            let err = builder_from(lookup(&[
                ("DATABASE_URL", "postgres://x@h/db"),
                (key, value),
            ]))
            .expect_err("invalid");
            assert!(err.to_string().contains(key), "{err}");
        }
    }
}
