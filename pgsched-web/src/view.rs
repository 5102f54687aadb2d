//! How values read on the page: times, durations, counts, statuses; and the filter values the
//! jobs list reads back from its query string.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use pgsched_core::JobStatus;

/// A time for people: `2030-01-01 09:00:00` (UTC).
pub(crate) fn time(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// An optional time (`–` when absent).
pub(crate) fn maybe_time(at: &Option<DateTime<Utc>>) -> String {
    at.as_ref().map_or_else(|| "–".to_owned(), time)
}

/// A time as a cursor in a link: RFC 3339 to the microsecond, as PostgreSQL stores it.
pub(crate) fn cursor_time(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Milliseconds for people: `850 ms`, `12.5 s`, `3m 20s`.
pub(crate) fn millis(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{} ms", ms.round())
    } else if ms < 60_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        let seconds = Duration::from_secs((ms / 1000.0).round() as u64);
        humantime::format_duration(seconds).to_string()
    }
}

/// A count capped at `cap`: `≥ 10000` at the cap.
pub(crate) fn capped(count: i64, cap: u64) -> String {
    if u64::try_from(count).is_ok_and(|count| count >= cap) {
        format!("≥ {cap}")
    } else {
        count.to_string()
    }
}

/// The statuses a filter offers, in the order of a job's life.
pub(crate) const STATUSES: [JobStatus; 6] = [
    JobStatus::Pending,
    JobStatus::Running,
    JobStatus::Completed,
    JobStatus::Failed,
    JobStatus::Cancelled,
    JobStatus::Expired,
];

/// A status filter from a query string (`""`: any).
///
/// # Errors
/// The value is not a status.
pub(crate) fn parse_status(value: &str) -> Result<Option<JobStatus>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    value
        .parse()
        .map(Some)
        .map_err(|_| format!("unknown status {value:?}: use one of pending, running, completed, failed, cancelled, expired"))
}

/// A time filter from a query string: RFC 3339, or `YYYY-MM-DDTHH:MM[:SS]` in UTC (what a
/// `datetime-local` input sends). `""`: none.
///
/// # Errors
/// The value is not such a time.
pub(crate) fn parse_time(field: &str, value: &str) -> Result<Option<DateTime<Utc>>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Ok(Some(at.with_timezone(&Utc)));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(value, format) {
            return Ok(Some(naive.and_utc()));
        }
    }
    Err(format!(
        "{field}: {value:?} is not a time; write 2030-01-01T09:00 (UTC) or an RFC 3339 time"
    ))
}

/// What a cron or interval schedule description says, for people:
/// `cron:0 9 * * *:tz:Europe/London` → (`0 9 * * *`, `Europe/London`);
/// `every:900000ms` → (`every 15m`, `–`).
pub(crate) fn schedule_parts(description: &str) -> (String, String) {
    if let Some(cron) = description.strip_prefix("cron:") {
        if let Some((expression, zone)) = cron.rsplit_once(":tz:") {
            return (expression.to_owned(), zone.to_owned());
        }
        return (cron.to_owned(), "UTC".to_owned());
    }
    if let Some(every) = description
        .strip_prefix("every:")
        .and_then(|every| every.strip_suffix("ms"))
        .and_then(|ms| ms.parse::<u64>().ok())
    {
        let interval = humantime::format_duration(Duration::from_millis(every));
        return (format!("every {interval}"), "–".to_owned());
    }
    (description.to_owned(), "–".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_read_back_or_say_what_to_write() {
        assert_eq!(parse_status(""), Ok(None));
        assert_eq!(parse_status("failed"), Ok(Some(JobStatus::Failed)));
        assert!(parse_status("broken").expect_err("bad").contains("pending"));
        let at = parse_time("from", "2030-01-02T03:04")
            .expect("valid")
            .expect("some");
        assert_eq!(time(&at), "2030-01-02 03:04:00");
        let at = parse_time("from", "2030-01-02T03:04:05+01:00")
            .expect("valid")
            .expect("some");
        assert_eq!(time(&at), "2030-01-02 02:04:05");
        assert!(
            parse_time("from", "yesterday")
                .expect_err("bad")
                .starts_with("from:")
        );
    }

    #[test]
    fn schedules_counts_and_durations_read_well() {
        assert_eq!(
            schedule_parts("cron:0 9 * * MON-FRI:tz:Europe/London"),
            ("0 9 * * MON-FRI".to_owned(), "Europe/London".to_owned())
        );
        assert_eq!(schedule_parts("every:900000ms").0, "every 15m");
        assert_eq!(capped(10_000, 10_000), "≥ 10000");
        assert_eq!(capped(7, 10_000), "7");
        assert_eq!(millis(850.2), "850 ms");
        assert_eq!(millis(12_500.0), "12.5 s");
        assert_eq!(millis(200_000.0), "3m 20s");
    }
}
