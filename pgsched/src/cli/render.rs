//! Text and JSON renderings shared by the commands: aligned tables, field lists, times, and a
//! job as JSON with its arguments decoded through the registry.

use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use pgsched_core::{JobId, JobInfo, Registry, Shown};
use serde_json::{Value, json};

/// Columns separated by two spaces, each as wide as its widest cell; the last is not padded.
pub(super) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (index, cell) in row.iter().enumerate() {
            if index + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$}  ", width = widths[index]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `label  value` lines, values aligned.
pub(super) fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs
        .iter()
        .map(|(label, _)| label.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (label, value) in pairs {
        let _ = writeln!(out, "{label:<width$}  {value}");
    }
    out
}

/// A time for people: RFC 3339 to the second, UTC (`2030-01-01T09:00:00Z`).
pub(super) fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An optional time for people (`-` when absent).
pub(super) fn maybe_time(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(|| "-".to_owned(), time)
}

/// A time for scripts: RFC 3339 to the millisecond, UTC, or `null`.
pub(super) fn time_json(at: Option<DateTime<Utc>>) -> Value {
    at.map_or(Value::Null, |at| {
        Value::String(at.to_rfc3339_opts(SecondsFormat::Millis, true))
    })
}

/// A duration for people (`5m`, `1h 30m`), or `none`.
pub(super) fn duration(value: Option<Duration>, none: &str) -> String {
    value.map_or_else(
        || none.to_owned(),
        |d| humantime::format_duration(d).to_string(),
    )
}

/// A duration for scripts: milliseconds, or `null`.
pub(super) fn millis_json(value: Option<Duration>) -> Value {
    value.map_or(Value::Null, |d| {
        json!(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    })
}

/// Text on one line, at most `max` characters (`…` marks a cut).
pub(super) fn one_line(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        flat
    } else {
        let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// Lowercase hex of `bytes`.
pub(super) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// A job's arguments as JSON, decoded by the job's registered definition (through its upgrade
/// when the payload was written with an earlier schema); the error says why they cannot be
/// shown (unknown name, unknown argument schema, undecodable payload).
pub(super) fn decode_args(job: &JobInfo, registry: Option<&Registry>) -> Result<Value, String> {
    match registry {
        Some(registry) => registry.args_json(&job.name, job.schema_hash, &job.payload),
        None => Registry::default().args_json(&job.name, job.schema_hash, &job.payload),
    }
}

/// A job's output as JSON, decoded by the job's registered definition once its schema hash
/// matches the output type the job returns in this binary; `Ok(None)` when it has none; the
/// error says why it cannot be shown (unknown name, another output schema, undecodable).
pub(super) fn decode_output(
    job: &JobInfo,
    registry: Option<&Registry>,
) -> Result<Option<Value>, String> {
    let Some(output) = &job.output else {
        return Ok(None);
    };
    let Some(definition) = registry.and_then(|registry| registry.get(&job.name)) else {
        return Err(format!(
            "the job name {} is unknown to this binary",
            Shown(&job.name)
        ));
    };
    let expected = definition.output;
    if output.schema_hash != expected.schema_hash {
        return Err(format!(
            "written for output schema {:#018x}; the job returns {} ({:#018x}) in this binary",
            output.schema_hash,
            Shown(expected.schema),
            expected.schema_hash
        ));
    }
    (expected.to_json)(&output.bytes)
        .map(Some)
        .map_err(|error| format!("undecodable output: {error}"))
}

/// A job for scripts. Field names are stable: `args` holds the decoded arguments (or `null`,
/// with `args_error` saying why), `payload_hex` the stored bytes; `output` the decoded output
/// (or `null`: none, or `output_error` says why), `output_hex` its stored bytes.
pub(super) fn job_json(job: &JobInfo, registry: Option<&Registry>) -> Value {
    let (args, args_error) = match decode_args(job, registry) {
        Ok(args) => (args, Value::Null),
        Err(reason) => (Value::Null, Value::String(reason)),
    };
    let (output, output_error) = match decode_output(job, registry) {
        Ok(output) => (output.unwrap_or(Value::Null), Value::Null),
        Err(reason) => (Value::Null, Value::String(reason)),
    };
    json!({
        "id": job.id.as_str(),
        "name": job.name,
        "status": job.status.as_str(),
        "queue": job.queue.as_str(),
        "concurrency_key": job.concurrency_key,
        "priority": job.priority.label(),
        "attempts": job.attempts,
        "max_retries": job.max_retries,
        "run_at": time_json(Some(job.run_at)),
        "created_at": time_json(Some(job.created_at)),
        "started_at": time_json(job.started_at),
        "finished_at": time_json(job.finished_at),
        "worker_id": job.worker_id,
        "last_error": job.last_error,
        "misfire_grace_ms": millis_json(job.misfire_grace),
        "timeout_ms": millis_json(job.timeout),
        "schema_hash": job.schema_hash.map(|hash| format!("{hash:016x}")),
        "args": args,
        "args_error": args_error,
        "payload_hex": hex(&job.payload),
        "parents": job.parents.iter().map(JobId::as_str).collect::<Vec<_>>(),
        "dependents": job.dependents.iter().map(JobId::as_str).collect::<Vec<_>>(),
        "output": output,
        "output_error": output_error,
        "output_schema_hash": job.output.as_ref().map(|output| format!("{:016x}", output.schema_hash)),
        "output_hex": job.output.as_ref().map(|output| hex(&output.bytes)),
    })
}

/// Ids for people: comma-separated, `-` when none, at most `shown` of them and a count of
/// the rest.
pub(super) fn ids(ids: &[JobId], shown: usize) -> String {
    if ids.is_empty() {
        return "-".into();
    }
    let mut text = ids
        .iter()
        .take(shown)
        .map(JobId::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > shown {
        let _ = write!(text, " and {} more", ids.len() - shown);
    }
    text
}

/// A job for people: every field, one per line.
pub(super) fn job_text(job: &JobInfo, registry: Option<&Registry>) -> String {
    let args = match decode_args(job, registry) {
        Ok(args) => ("args", args.to_string()),
        Err(reason) => (
            "payload",
            format!("{} (hex; {reason})", or_dash(hex(&job.payload))),
        ),
    };
    let output = match (decode_output(job, registry), &job.output) {
        (Ok(Some(output)), _) => ("output", output.to_string()),
        (Err(reason), Some(stored)) => (
            "output",
            format!("{} (hex; {reason})", or_dash(hex(&stored.bytes))),
        ),
        (_, _) => ("output", "-".to_owned()),
    };
    fields(&[
        ("id", job.id.to_string()),
        ("name", job.name.clone()),
        ("status", job.status.to_string()),
        ("queue", job.queue.to_string()),
        (
            "concurrency key",
            job.concurrency_key.clone().unwrap_or_else(|| "-".into()),
        ),
        ("priority", job.priority.to_string()),
        (
            "attempts",
            format!("{} (max retries {})", job.attempts, job.max_retries),
        ),
        ("run at", time(job.run_at)),
        ("created at", time(job.created_at)),
        ("started at", maybe_time(job.started_at)),
        ("finished at", maybe_time(job.finished_at)),
        (
            "worker",
            job.worker_id.clone().unwrap_or_else(|| "-".into()),
        ),
        (
            "misfire grace",
            duration(job.misfire_grace, "never expires"),
        ),
        ("timeout", duration(job.timeout, "none")),
        (
            "last error",
            job.last_error.clone().unwrap_or_else(|| "-".into()),
        ),
        ("runs after", ids(&job.parents, 10)),
        ("runs before", ids(&job.dependents, 10)),
        args,
        output,
    ])
}

fn or_dash(text: String) -> String {
    if text.is_empty() { "-".into() } else { text }
}

#[cfg(test)]
mod tests {
    use pgsched_core::FailureReason;

    use super::*;

    #[test]
    fn tables_align_columns_and_do_not_pad_the_last() {
        let out = table(
            &["ID", "NAME", "NOTE"],
            &[
                vec!["1".into(), "send_email".into(), "x".into()],
                vec!["22".into(), "a".into(), String::new()],
            ],
        );
        assert_eq!(out, "ID  NAME        NOTE\n1   send_email  x\n22  a\n");
    }

    #[test]
    fn one_line_flattens_and_cuts() {
        assert_eq!(one_line("a\nb", 10), "a b");
        assert_eq!(one_line("abcdef", 4), "abc…");
    }

    /// `resize` today: its arguments gained `height`.
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Resize {
        width: u32,
        height: u32,
    }

    /// `resize` as it was: width only.
    #[derive(serde::Serialize, serde::Deserialize)]
    struct ResizeV1 {
        width: u32,
    }

    impl pgsched_core::ArgsSchema for ResizeV1 {
        const SCHEMA: &'static str = "width:u32";
        const SCHEMA_HASH: u64 = pgsched_core::codec::schema_hash(Self::SCHEMA);
    }

    fn square(old: ResizeV1) -> Resize {
        Resize {
            width: old.width,
            height: old.width,
        }
    }

    fn upgrade_square(payload: &[u8]) -> Result<Vec<u8>, FailureReason> {
        pgsched_core::codec::upgrade_payload(payload, square)
    }

    fn never_runs(
        _: pgsched_core::JobContext,
        _: &[u8],
    ) -> Result<pgsched_core::JobFuture, FailureReason> {
        Err(FailureReason::Decode("not run in this test".into()))
    }

    static UPGRADES: [pgsched_core::ArgsUpgrade; 1] =
        [pgsched_core::ArgsUpgrade::new(square, upgrade_square)];

    /// `resize` with `output` (its options own no text, so a static can be built from it).
    const fn resize(output: pgsched_core::OutputDefinition) -> pgsched_core::JobDefinition {
        pgsched_core::JobDefinition {
            name: "resize",
            schema: "width:u32,height:u32",
            schema_hash: pgsched_core::codec::schema_hash("width:u32,height:u32"),
            defaults: pgsched_core::JobOptions::STANDARD,
            upgrades: &UPGRADES,
            output,
            run: never_runs,
            args_to_json: pgsched_core::codec::args_to_json::<Resize>,
            args_from_json: pgsched_core::codec::args_from_json::<Resize>,
            file: "render.rs",
            line: 1,
        }
    }

    static RESIZE: pgsched_core::JobDefinition = resize(pgsched_core::OutputDefinition::UNIT);

    fn stored(payload: Vec<u8>, schema_hash: u64) -> JobInfo {
        let at = Utc::now();
        JobInfo {
            id: pgsched_core::JobId::from_stored("j".into()),
            name: "resize".into(),
            status: pgsched_core::JobStatus::Pending,
            priority: pgsched_core::Priority::Normal,
            attempts: 0,
            max_retries: 0,
            run_at: at,
            last_error: None,
            worker_id: None,
            misfire_grace: None,
            timeout: None,
            created_at: at,
            started_at: None,
            finished_at: None,
            payload,
            schema_hash: Some(schema_hash),
            queue: pgsched_core::QueueName::DEFAULT,
            concurrency_key: None,
            parents: Vec::new(),
            dependents: Vec::new(),
            output: None,
        }
    }

    /// `resize` returning the resized size as `(u32, u32)`.
    static RESIZE_RETURNING: pgsched_core::JobDefinition = resize(pgsched_core::OutputDefinition {
        schema: "(u32,u32)",
        schema_hash: pgsched_core::codec::schema_hash("(u32,u32)"),
        type_id: std::any::TypeId::of::<(u32, u32)>,
        to_json: pgsched_core::codec::output_to_json::<(u32, u32)>,
    });

    #[test]
    fn outputs_are_shown_as_json_or_as_hex_with_the_reason() {
        let registry = Registry::from_definitions([&RESIZE_RETURNING]).expect("one job");
        let mut job = stored(vec![], 0);
        assert_eq!(decode_output(&job, Some(&registry)), Ok(None));
        job.output = Some(pgsched_core::JobOutput {
            bytes: postcard::to_allocvec(&(640_u32, 480_u32)).expect("encodes"),
            schema_hash: RESIZE_RETURNING.output.schema_hash,
        });
        assert_eq!(
            decode_output(&job, Some(&registry)),
            Ok(Some(json!([640, 480])))
        );
        assert_eq!(job_json(&job, Some(&registry))["output"], json!([640, 480]));
        assert!(job_text(&job, Some(&registry)).contains("[640,480]"));
        let bytes = job.output.as_ref().map(|output| hex(&output.bytes));
        job.output = job.output.map(|output| pgsched_core::JobOutput {
            schema_hash: 7,
            ..output
        });
        let error = decode_output(&job, Some(&registry)).expect_err("another schema");
        assert!(
            error.starts_with("written for output schema 0x0000000000000007"),
            "{error}"
        );
        let text = job_text(&job, Some(&registry));
        assert!(
            text.contains(&format!(
                "{} (hex; written for output schema",
                bytes.unwrap_or_default()
            )),
            "{text}"
        );
        assert_eq!(job_json(&job, None)["output"], Value::Null);
        assert!(job_json(&job, None)["output_error"].as_str().is_some());
    }

    #[test]
    fn arguments_of_an_earlier_schema_are_shown_upgraded_and_unknown_ones_say_why() {
        let registry = Registry::from_definitions([&RESIZE]).expect("one job");
        let old = postcard::to_allocvec(&ResizeV1 { width: 64 }).expect("encodes");
        let job = stored(old, <ResizeV1 as pgsched_core::ArgsSchema>::SCHEMA_HASH);
        assert_eq!(
            decode_args(&job, Some(&registry)),
            Ok(json!({"width": 64, "height": 64}))
        );
        let job = stored(vec![1], 0xdead_beef);
        let error = decode_args(&job, Some(&registry)).expect_err("unknown schema");
        assert!(
            error.starts_with(
                "unknown_schema: job `resize` has a payload written for argument schema 0x00000000deadbeef"
            ),
            "{error}"
        );
    }

    #[test]
    fn times_and_hex() {
        let at = DateTime::parse_from_rfc3339("2030-01-01T09:00:00.250Z")
            .expect("valid")
            .with_timezone(&Utc);
        assert_eq!(time(at), "2030-01-01T09:00:00Z");
        assert_eq!(time_json(Some(at)), json!("2030-01-01T09:00:00.250Z"));
        assert_eq!(hex(&[0, 0xab, 7]), "00ab07");
        assert_eq!(duration(Some(Duration::from_secs(300)), "never"), "5m");
        assert_eq!(duration(None, "never"), "never");
    }
}
