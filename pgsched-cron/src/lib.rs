//! Cron expressions, time zones and intervals for pgsched's periodic jobs.
//!
//! This crate is small and synchronous on purpose: the `#[periodic]` macro uses it to validate
//! its literals at compile time, and the runtime uses it to compute fire times.
//!
//! # The dialect
//!
//! The standard 5-field dialect of Vixie cron and croniter:
//!
//! ```text
//! ┌───────────── minute        0-59
//! │ ┌─────────── hour          0-23
//! │ │ ┌───────── day-of-month  1-31             (`?` means `*`)
//! │ │ │ ┌─────── month         1-12 or JAN-DEC
//! │ │ │ │ ┌───── day-of-week   0-7 or SUN-SAT   (0 and 7 are Sunday; `?` means `*`)
//! * * * * *
//! ```
//!
//! - `*`, lists (`1,15`), ranges (`9-17`), steps (`*/15`, `0-59/20`, and `1/2` meaning "from 1
//!   every 2 up to the maximum").
//! - Names are case-insensitive (`jan`, `Mon`).
//! - Ranges may wrap: `FRI-MON` is Friday to Monday, `22-2` is 22,23,0,1,2 and `NOV-FEB` is
//!   November to February. A step keeps counting across the wrap (`50-10/5` is 50,55,0,5,10 and
//!   `22-2/3` is 22,1); croniter's arithmetic for *stepped* wrap-around ranges can differ.
//! - Nicknames: `@yearly` (`@annually`), `@monthly`, `@weekly`, `@daily` (`@midnight`) and
//!   `@hourly`.
//! - **Day-of-month and day-of-week**: when both are restricted, a day matches if *either*
//!   matches (the classic OR rule); when one is unrestricted, only the other one counts. As in
//!   croniter, a day field is unrestricted when its list has a bare `*` or `?` item (`*`,
//!   `*,MON`, `1,*`), or when it covers every value and the other day field contains a `*`. So
//!   `0 0 1 * *,MON` runs on the 1st of each month (as in croniter and cronie), not daily.
//!
//!   *Known differences from cronie:* cronie treats a day field as unrestricted exactly when
//!   its text *starts* with `*` (`src/entry.c` sets `DOM_STAR`/`DOW_STAR` on the first
//!   character) and then requires both fields to match. So `0 0 */2 * MON` runs on Mondays
//!   that fall on odd days there, and `0 0 1 * MON,*` runs daily there (the OR rule with a full
//!   day-of-week). We follow croniter (and croner, and saffron itself) in both: a stepped `*/n`
//!   day field is restricted, so the first runs on every odd day *and* every Monday; a bare `*`
//!   item anywhere makes the field unrestricted, so the second runs on the 1st only.
//!
//! Everything else is rejected with a message naming the field, the token and what is allowed:
//! a seconds or year field (6 or 7 fields), Quartz's `L`, `W` and `#`, `@reboot`, `?` outside the
//! day fields, zero or oversized steps and out-of-range values.
//!
//! # The translation
//!
//! The engine is [saffron](https://docs.rs/saffron), which is Quartz-flavoured: its day-of-week
//! `1` is Sunday and `0` an error, its wrap-around ranges include one extra value, and it knows
//! neither `?` nor nicknames. So each expression is tokenized, validated and expanded here, then
//! re-emitted as `*` or plain lists (day-of-week as names: `FRI-MON` becomes
//! `SUN,MON,FRI,SAT`), the one part of saffron's grammar that means the same as Vixie cron's.
//!
//! # Time zones and daylight saving time
//!
//! Schedules are evaluated on the wall clock of an IANA zone (UTC when none is given), and every
//! instant going in or out is UTC. Around DST transitions we follow cronie:
//!
//! - A **fixed-time** schedule is one whose minute and hour fields both do not start with `*`
//!   (`30 1 * * *`, `0 9,17 * * *`). If its wall time is skipped by a spring-forward
//!   transition it runs **once, at the first instant after the gap**; several skipped times in
//!   one gap collapse into that one run. If its wall time is repeated by a fall-back transition
//!   it runs **once, at the first occurrence**.
//! - Every other schedule (`*/15 * * * *`, `0 */2 * * *`) runs at every real instant whose wall
//!   time matches: in **both** passes of a repeated hour, and not at all in a skipped one.
//!
//! # Example
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use pgsched_cron::CronSchedule;
//!
//! // 01:30 London time does not exist on 2026-03-29: the job runs at 02:00 BST instead.
//! let schedule = CronSchedule::parse("30 1 * * *", Some("Europe/London"))?;
//! let after = Utc.with_ymd_and_hms(2026, 3, 28, 12, 0, 0).unwrap();
//! let next = schedule.next_after(after).unwrap();
//! assert_eq!(next, Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap());
//!
//! // Vixie numbering: 0 and 7 are both Sunday; wrap-around ranges work.
//! let weekend = CronSchedule::parse("0 10 * * SAT-SUN", None)?;
//! let sunday = weekend.next_after(next).unwrap();
//! assert_eq!(sunday, Utc.with_ymd_and_hms(2026, 3, 29, 10, 0, 0).unwrap());
//!
//! // Mistakes are explained.
//! let err = CronSchedule::parse("0 9 * * 8", None).unwrap_err();
//! assert!(err.to_string().contains("day-of-week 8 is out of range 0-7 (0 and 7 are Sunday)"));
//!
//! // Intervals are aligned to the Unix epoch.
//! let every = pgsched_cron::parse_interval("15m")?;
//! let at = Utc.with_ymd_and_hms(2026, 3, 28, 12, 7, 30).unwrap();
//! assert_eq!(
//!     pgsched_cron::interval_window_start(at, every),
//!     Utc.with_ymd_and_hms(2026, 3, 28, 12, 0, 0).unwrap(),
//! );
//! # Ok::<(), pgsched_cron::CronError>(())
//! ```

mod dialect;
mod error;
mod zoned;

#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod prop_tests;

use std::time::Duration;

use chrono::{DateTime, Utc};
pub use chrono_tz::Tz;

pub use crate::error::CronError;
use crate::zoned::ZonedCron;

/// A parsed 5-field cron expression in the Vixie/croniter dialect, evaluated in a time zone.
///
/// See the [crate docs](crate) for the dialect and the daylight-saving rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSchedule {
    zoned: ZonedCron,
    expression: String,
}

impl CronSchedule {
    /// Parses `expr` and the time zone `tz`, an IANA name such as `"Europe/London"`; `None`
    /// means UTC.
    ///
    /// # Errors
    ///
    /// [`CronError::InvalidExpression`] when `expr` is not in the supported dialect, and
    /// [`CronError::UnknownTimeZone`] when `tz` is not a known zone name.
    pub fn parse(expr: &str, tz: Option<&str>) -> Result<CronSchedule, CronError> {
        let translation =
            dialect::translate(expr).map_err(|reason| CronError::expression(expr, reason))?;
        let cron: saffron::Cron = translation.saffron.parse().map_err(|e| {
            CronError::expression(
                expr,
                format!(
                    "internal error: the translation {:?} was refused by saffron ({e})",
                    translation.saffron
                ),
            )
        })?;
        let tz = match tz {
            None => Tz::UTC,
            Some(name) => name.parse::<Tz>().map_err(|_| CronError::UnknownTimeZone {
                name: name.to_owned(),
            })?,
        };
        Ok(CronSchedule {
            zoned: ZonedCron {
                cron,
                tz,
                fixed_time: translation.fixed_time,
            },
            expression: expr.to_owned(),
        })
    }

    /// The first fire instant strictly after `after`, or `None` if the schedule never fires
    /// (such as `0 0 30 2 *`).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.zoned.next_after(after)
    }

    /// The most recent fire instant at or before `at`: the start of the current window. `None`
    /// if the schedule did not fire in the 8 years before `at`.
    pub fn prev_at_or_before(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.zoned.prev_at_or_before(at)
    }

    /// The expression as it was given to [`CronSchedule::parse`].
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The time zone whose wall clock the expression is read in.
    pub fn timezone(&self) -> Tz {
        self.zoned.tz
    }

    /// Whether cronie's DST rule treats this as a fixed-time schedule: its minute and hour
    /// fields both do not start with `*`.
    pub fn is_fixed_time(&self) -> bool {
        self.zoned.fixed_time
    }
}

/// Parses an `every = "15m"` interval with [`humantime`]: a non-zero whole number of
/// milliseconds, written like `"15m"`, `"1h 30m"`, `"90s"` or `"2days"`.
///
/// # Errors
///
/// [`CronError::InvalidInterval`] for text humantime cannot read, for zero, for a fraction of
/// a millisecond and for intervals too long to count in milliseconds.
pub fn parse_interval(text: &str) -> Result<Duration, CronError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(CronError::interval(
            text,
            "the interval is empty; write it like \"15m\", \"1h 30m\" or \"2days\"",
        ));
    }
    let interval = humantime::parse_duration(trimmed).map_err(|e| {
        CronError::interval(
            text,
            format!("{e}; write it like \"15m\", \"1h 30m\" or \"2days\""),
        )
    })?;
    if interval.is_zero() {
        return Err(CronError::interval(
            text,
            "the interval must be greater than zero",
        ));
    }
    if interval.subsec_nanos() % 1_000_000 != 0 {
        return Err(CronError::interval(
            text,
            "the interval must be a whole number of milliseconds",
        ));
    }
    if i64::try_from(interval.as_millis()).is_err() {
        return Err(CronError::interval(text, "the interval is too long"));
    }
    Ok(interval)
}

/// The start of the interval window containing `at`, with windows aligned to the Unix epoch:
/// `floor(at / interval) * interval`, counted in milliseconds (so also correct before 1970).
///
/// An `interval` under one millisecond counts as one millisecond.
pub fn interval_window_start(at: DateTime<Utc>, interval: Duration) -> DateTime<Utc> {
    let interval_ms = i64::try_from(interval.as_millis())
        .unwrap_or(i64::MAX)
        .max(1);
    let start_ms = at.timestamp_millis().div_euclid(interval_ms) * interval_ms;
    DateTime::from_timestamp_millis(start_ms).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
            .single()
            .expect("valid test instant")
    }

    #[test]
    fn parse_keeps_expression_and_zone() {
        let s = CronSchedule::parse("0 9 * * MON-FRI", Some("Europe/London")).expect("valid");
        assert_eq!(s.expression(), "0 9 * * MON-FRI");
        assert_eq!(s.timezone(), Tz::Europe__London);
        assert!(s.is_fixed_time());
        let s = CronSchedule::parse("*/5 * * * *", None).expect("valid");
        assert_eq!(s.timezone(), Tz::UTC);
        assert!(!s.is_fixed_time());
    }

    #[test]
    fn invalid_expressions_are_typed_errors() {
        for (expr, needle) in [
            (
                "0 9 * * 8",
                "day-of-week 8 is out of range 0-7 (0 and 7 are Sunday) in field 5",
            ),
            ("61 * * * *", "minute 61 is out of range 0-59 in field 1"),
            (
                "* * *",
                "expected 5 fields (minute hour day-of-month month day-of-week), found 3",
            ),
            ("0 0 0 * * *", "found 6 fields"),
            ("abc", "found 1"),
            (
                "5-1/0 * * * *",
                "the step in `5-1/0` is 0 in field 1 (minute): a step must be at least 1",
            ),
            ("0 0 L * *", "Quartz extension"),
        ] {
            let err = CronSchedule::parse(expr, None).expect_err(expr);
            match &err {
                CronError::InvalidExpression { expr: e, reason } => {
                    assert_eq!(e, expr);
                    assert!(reason.contains(needle), "{expr:?}: {reason}");
                }
                other => panic!("{expr:?}: wrong variant {other:?}"),
            }
            let message = err.to_string();
            assert!(
                message.starts_with(&format!("invalid cron expression {expr:?}: ")),
                "{message}"
            );
        }
    }

    #[test]
    fn unknown_zones_are_typed_errors() {
        let err = CronSchedule::parse("0 9 * * *", Some("Mars/Olympus_Mons")).expect_err("unknown");
        assert_eq!(
            err,
            CronError::UnknownTimeZone {
                name: "Mars/Olympus_Mons".into()
            }
        );
        assert!(
            err.to_string()
                .contains("expected an IANA zone name such as \"Europe/London\"")
        );
        let err = CronSchedule::parse("0 9 * * *", Some("europe/london")).expect_err("case");
        assert!(
            err.to_string().contains("did you mean \"Europe/London\"?"),
            "{err}"
        );
        // The expression is checked first.
        let err = CronSchedule::parse("0 9 * *", Some("Nowhere")).expect_err("both");
        assert!(matches!(err, CronError::InvalidExpression { .. }));
    }

    #[test]
    fn intervals_parse_with_humantime() {
        assert_eq!(parse_interval("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_interval(" 1h 30m "), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_interval("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_interval("2days"), Ok(Duration::from_secs(2 * 86_400)));
        for (text, needle) in [
            ("0s", "greater than zero"),
            ("0m", "greater than zero"),
            ("", "empty"),
            ("   ", "empty"),
            ("15", "time unit needed"),
            ("15 parsecs", "unknown time unit"),
            ("-5m", "write it like"),
            ("1500us", "whole number of milliseconds"),
            ("1ns", "whole number of milliseconds"),
        ] {
            match parse_interval(text) {
                Err(CronError::InvalidInterval { text: t, reason }) => {
                    assert_eq!(t, text);
                    assert!(reason.contains(needle), "{text:?}: {reason}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
        let err = parse_interval("0s").expect_err("zero");
        assert_eq!(
            err.to_string(),
            "invalid interval \"0s\": the interval must be greater than zero"
        );
    }

    #[test]
    fn interval_windows_align_to_the_epoch() {
        let fifteen = Duration::from_secs(15 * 60);
        let second = Duration::from_secs(1);
        let ms = chrono::TimeDelta::milliseconds;
        let day = |h, m, s| utc(2026, 3, 28, h, m, s);
        let eve = |h, m, s| utc(1969, 12, 31, h, m, s);
        let epoch = utc(1970, 1, 1, 0, 0, 0);
        let t = day(12, 15, 7) + ms(999);
        // (instant, interval, the start of its window)
        let cases = [
            (day(12, 0, 0), fifteen, day(12, 0, 0)),
            (day(12, 14, 59), fifteen, day(12, 0, 0)),
            (day(12, 15, 0), fifteen, day(12, 15, 0)),
            (
                day(12, 15, 0) - chrono::TimeDelta::nanoseconds(1),
                fifteen,
                day(12, 0, 0),
            ),
            (t, second, day(12, 15, 7)),
            // Across the epoch: windows keep their phase, they do not round toward zero.
            (epoch, fifteen, epoch),
            (eve(23, 59, 59), fifteen, eve(23, 45, 0)),
            (eve(23, 44, 0), fifteen, eve(23, 30, 0)),
            (epoch - ms(1), second, eve(23, 59, 59)),
        ];
        for (instant, interval, start) in cases {
            assert_eq!(
                interval_window_start(instant, interval),
                start,
                "{instant} every {interval:?}"
            );
        }
        // 7-minute windows do not divide an hour; they are still epoch-aligned.
        let seven = Duration::from_secs(7 * 60);
        let start = interval_window_start(utc(2026, 3, 28, 12, 0, 0), seven);
        assert_eq!(start.timestamp() % 420, 0);
        assert!(
            start <= utc(2026, 3, 28, 12, 0, 0)
                && utc(2026, 3, 28, 12, 0, 0) < start + chrono::TimeDelta::seconds(420)
        );
        // Degenerate intervals do not panic.
        assert_eq!(interval_window_start(t, Duration::ZERO), t);
    }
}
