//! Hand-verified fire times. Every expected instant is written out in UTC, with the local wall
//! time and offset it stands for in a comment.

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use crate::CronSchedule;

/// `"2026-03-29T01:00"` as a UTC instant.
fn z(text: &str) -> DateTime<Utc> {
    let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .unwrap_or_else(|e| panic!("bad test instant {text:?}: {e}"));
    naive.and_utc()
}

fn schedule(expr: &str, tz: Option<&str>) -> CronSchedule {
    CronSchedule::parse(expr, tz).unwrap_or_else(|e| panic!("{expr:?} in {tz:?}: {e}"))
}

/// The next `n` fires strictly after `after`.
fn fires(s: &CronSchedule, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
    let mut out = Vec::with_capacity(n);
    let mut t = after;
    while out.len() < n {
        match s.next_after(t) {
            Some(next) => {
                out.push(next);
                t = next;
            }
            None => break,
        }
    }
    out
}

/// Checks the next fires of `expr` in `tz` after `after` (given as `YYYY-MM-DDTHH:MM` UTC).
#[track_caller]
fn check(expr: &str, tz: Option<&str>, after: &str, expected: &[&str]) {
    let s = schedule(expr, tz);
    let expected: Vec<DateTime<Utc>> = expected.iter().map(|e| z(e)).collect();
    let got = fires(&s, z(after), expected.len());
    assert_eq!(got, expected, "{expr:?} in {tz:?} after {after}");
    // The fires are also what prev_at_or_before sees, and there is nothing between them.
    for pair in expected.windows(2) {
        assert_eq!(
            s.prev_at_or_before(pair[1]),
            Some(pair[1]),
            "{expr:?}: prev at a fire"
        );
        assert_eq!(
            s.prev_at_or_before(pair[1] - TimeDelta::seconds(1)),
            Some(pair[0]),
            "{expr:?}: prev just before a fire"
        );
    }
}

/// Fires whose instant falls on the local calendar day `date` in `tz`.
fn fires_on_local_day(expr: &str, tz: Tz, date: NaiveDate) -> usize {
    let s = schedule(expr, Some(tz.name()));
    let start = tz
        .from_local_datetime(&date.and_time(chrono::NaiveTime::MIN))
        .earliest()
        .map(|t| t.to_utc())
        .unwrap_or_else(|| panic!("midnight exists on {date} in {tz}"));
    let next_day = date.succ_opt().unwrap_or(date);
    let end = tz
        .from_local_datetime(&next_day.and_time(chrono::NaiveTime::MIN))
        .earliest()
        .map(|t| t.to_utc())
        .unwrap_or_else(|| panic!("midnight exists on {next_day} in {tz}"));
    let mut count = 0;
    let mut t = start - TimeDelta::seconds(1);
    while let Some(next) = s.next_after(t).filter(|&n| n < end) {
        count += 1;
        t = next;
    }
    count
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_else(|| panic!("bad date {y}-{m}-{d}"))
}

// ---------------------------------------------------------------------------------------------
// Europe/London: 2026-03-29 01:00 GMT -> 02:00 BST (at 01:00Z);
//                2026-10-25 02:00 BST -> 01:00 GMT (at 01:00Z), 01:00-02:00 happens twice.

#[test]
fn london_fixed_times_across_spring_forward() {
    let london = Some("Europe/London");
    // 01:30 does not exist on the 29th: one run at the end of the gap, 02:00 BST.
    check(
        "30 1 * * *",
        london,
        "2026-03-27T12:00",
        &[
            "2026-03-28T01:30", // 01:30 GMT
            "2026-03-29T01:00", // gap -> 02:00 BST
            "2026-03-30T00:30", // 01:30 BST
        ],
    );
    check(
        "30 2 * * *",
        london,
        "2026-03-27T12:00",
        &[
            "2026-03-28T02:30", // 02:30 GMT
            "2026-03-29T01:30", // 02:30 BST exists
            "2026-03-30T01:30", // 02:30 BST
        ],
    );
    // Two skipped fixed times collapse into one run.
    check(
        "0,30 1 * * *",
        london,
        "2026-03-28T12:00",
        &[
            "2026-03-29T01:00", // 01:00 and 01:30 skipped -> one run at 02:00 BST
            "2026-03-30T00:00", // 01:00 BST
            "2026-03-30T00:30", // 01:30 BST
        ],
    );
}

#[test]
fn london_fixed_times_across_fall_back() {
    let london = Some("Europe/London");
    // 01:30 happens twice on the 25th: only the first (BST) occurrence runs.
    check(
        "30 1 * * *",
        london,
        "2026-10-23T12:00",
        &[
            "2026-10-24T00:30", // 01:30 BST
            "2026-10-25T00:30", // first 01:30, BST; not again at 01:30 GMT
            "2026-10-26T01:30", // 01:30 GMT
        ],
    );
    check(
        "30 2 * * *",
        london,
        "2026-10-23T12:00",
        &[
            "2026-10-24T01:30", // 02:30 BST
            "2026-10-25T02:30", // 02:30 GMT, not repeated
            "2026-10-26T02:30", // 02:30 GMT
        ],
    );
    // Asking from inside the repeated hour does not bring the second 01:30 back.
    check(
        "30 1 * * *",
        london,
        "2026-10-25T00:45",
        &["2026-10-26T01:30"],
    );
}

#[test]
fn london_wildcards_across_both_transitions() {
    let london = Some("Europe/London");
    check(
        "*/30 * * * *",
        london,
        "2026-03-29T00:00",
        &[
            "2026-03-29T00:30", // 00:30 GMT
            "2026-03-29T01:00", // 02:00 BST: nothing in the skipped hour
            "2026-03-29T01:30", // 02:30 BST
        ],
    );
    check(
        "*/30 * * * *",
        london,
        "2026-10-24T23:45",
        &[
            "2026-10-25T00:00", // 01:00 BST
            "2026-10-25T00:30", // 01:30 BST
            "2026-10-25T01:00", // 01:00 GMT, second pass
            "2026-10-25T01:30", // 01:30 GMT, second pass
            "2026-10-25T02:00", // 02:00 GMT
        ],
    );
    // From inside the second pass.
    check(
        "*/30 * * * *",
        london,
        "2026-10-25T01:10",
        &["2026-10-25T01:30"],
    );
    // From inside the first pass, the next is the second pass's 01:00.
    check(
        "*/30 * * * *",
        london,
        "2026-10-25T00:40",
        &["2026-10-25T01:00"],
    );
    assert_eq!(
        fires_on_local_day("*/15 * * * *", Tz::Europe__London, day(2026, 3, 29)),
        92
    );
    assert_eq!(
        fires_on_local_day("*/15 * * * *", Tz::Europe__London, day(2026, 3, 28)),
        96
    );
    assert_eq!(
        fires_on_local_day("*/15 * * * *", Tz::Europe__London, day(2026, 10, 25)),
        100
    );
    assert_eq!(
        fires_on_local_day("*/15 * * * *", Tz::Europe__London, day(2026, 10, 26)),
        96
    );
}

// ---------------------------------------------------------------------------------------------
// America/New_York: 2026-03-08 02:00 EST -> 03:00 EDT (at 07:00Z);
//                   2026-11-01 02:00 EDT -> 01:00 EST (at 06:00Z), 01:00-02:00 twice.

#[test]
fn new_york_fixed_times_across_spring_forward() {
    let ny = Some("America/New_York");
    check(
        "30 1 * * *",
        ny,
        "2026-03-06T12:00",
        &[
            "2026-03-07T06:30", // 01:30 EST
            "2026-03-08T06:30", // 01:30 EST, before the gap
            "2026-03-09T05:30", // 01:30 EDT
        ],
    );
    check(
        "30 2 * * *",
        ny,
        "2026-03-06T12:00",
        &[
            "2026-03-07T07:30", // 02:30 EST
            "2026-03-08T07:00", // gap -> 03:00 EDT
            "2026-03-09T06:30", // 02:30 EDT
        ],
    );
}

#[test]
fn new_york_fixed_times_across_fall_back() {
    let ny = Some("America/New_York");
    check(
        "30 1 * * *",
        ny,
        "2026-10-30T12:00",
        &[
            "2026-10-31T05:30", // 01:30 EDT
            "2026-11-01T05:30", // first 01:30 (EDT) only
            "2026-11-02T06:30", // 01:30 EST
        ],
    );
    check(
        "30 2 * * *",
        ny,
        "2026-10-30T12:00",
        &[
            "2026-10-31T06:30", // 02:30 EDT
            "2026-11-01T07:30", // 02:30 EST
            "2026-11-02T07:30", // 02:30 EST
        ],
    );
}

#[test]
fn new_york_wildcards_across_both_transitions() {
    let ny = Some("America/New_York");
    check(
        "*/30 1 * * *",
        ny,
        "2026-11-01T04:00",
        &[
            "2026-11-01T05:00", // 01:00 EDT
            "2026-11-01T05:30", // 01:30 EDT
            "2026-11-01T06:00", // 01:00 EST
            "2026-11-01T06:30", // 01:30 EST
            "2026-11-02T06:00", // 01:00 EST next day
        ],
    );
    check(
        "*/30 2 * * *",
        ny,
        "2026-03-07T12:00",
        &[
            "2026-03-09T06:00", // 02:00 EDT on the 9th: none on the 8th, it was skipped
            "2026-03-09T06:30", // 02:30 EDT
        ],
    );
    assert_eq!(
        fires_on_local_day("*/15 * * * *", Tz::America__New_York, day(2026, 3, 8)),
        92
    );
    assert_eq!(
        fires_on_local_day("*/15 * * * *", Tz::America__New_York, day(2026, 11, 1)),
        100
    );
    assert_eq!(
        fires_on_local_day("*/15 * * * *", Tz::America__New_York, day(2026, 11, 2)),
        96
    );
}

// ---------------------------------------------------------------------------------------------
// Asia/Kathmandu is +05:45 all year.

#[test]
fn kathmandu_quarter_hour_offset() {
    check(
        "0 9 * * *",
        Some("Asia/Kathmandu"),
        "2026-11-27T23:40",
        &["2026-11-28T03:15", "2026-11-29T03:15", "2026-11-30T03:15"],
    );
    check(
        "*/30 * * * *",
        Some("Asia/Kathmandu"),
        "2026-11-27T23:40",
        &["2026-11-27T23:45", "2026-11-28T00:15", "2026-11-28T00:45"],
    );
}

// ---------------------------------------------------------------------------------------------
// Australia/Lord_Howe moves by 30 minutes:
//   2026-04-05 02:00 +11:00 -> 01:30 +10:30 (at 2026-04-04T15:00Z), 01:30-02:00 twice;
//   2026-10-04 02:00 +10:30 -> 02:30 +11:00 (at 2026-10-03T15:30Z), 02:00-02:30 skipped.

#[test]
fn lord_howe_half_hour_fall_back() {
    let lh = Some("Australia/Lord_Howe");
    check(
        "45 1 * * *",
        lh,
        "2026-04-03T00:00",
        &[
            "2026-04-03T14:45", // 01:45 +11:00
            "2026-04-04T14:45", // first 01:45 (+11:00) only
            "2026-04-05T15:15", // 01:45 +10:30
        ],
    );
    check(
        "15 2 * * *",
        lh,
        "2026-04-03T00:00",
        &[
            "2026-04-03T15:15", // 02:15 +11:00
            "2026-04-04T15:45", // 02:15 +10:30
            "2026-04-05T15:45", // 02:15 +10:30
        ],
    );
    check(
        "*/30 * * * *",
        lh,
        "2026-04-04T13:45",
        &[
            "2026-04-04T14:00", // 01:00 +11:00
            "2026-04-04T14:30", // 01:30 +11:00
            "2026-04-04T15:00", // 01:30 +10:30, second pass
            "2026-04-04T15:30", // 02:00 +10:30
            "2026-04-04T16:00", // 02:30 +10:30
        ],
    );
    // A 24.5-hour local day.
    assert_eq!(
        fires_on_local_day("*/30 * * * *", Tz::Australia__Lord_Howe, day(2026, 4, 5)),
        49
    );
}

#[test]
fn lord_howe_half_hour_spring_forward() {
    let lh = Some("Australia/Lord_Howe");
    check(
        "45 1 * * *",
        lh,
        "2026-10-02T00:00",
        &[
            "2026-10-02T15:15", // 01:45 +10:30
            "2026-10-03T15:15", // 01:45 +10:30, before the gap
            "2026-10-04T14:45", // 01:45 +11:00
        ],
    );
    check(
        "15 2 * * *",
        lh,
        "2026-10-02T00:00",
        &[
            "2026-10-02T15:45", // 02:15 +10:30
            "2026-10-03T15:30", // gap -> 02:30 +11:00
            "2026-10-04T15:15", // 02:15 +11:00
        ],
    );
    check(
        "*/30 * * * *",
        lh,
        "2026-10-03T14:45",
        &[
            "2026-10-03T15:00", // 01:30 +10:30
            "2026-10-03T15:30", // 02:30 +11:00: 02:00 was skipped
            "2026-10-03T16:00", // 03:00 +11:00
        ],
    );
    // A 23.5-hour local day.
    assert_eq!(
        fires_on_local_day("*/30 * * * *", Tz::Australia__Lord_Howe, day(2026, 10, 4)),
        47
    );
}

// ---------------------------------------------------------------------------------------------
// The eight expressions of reference/crates.md §1 (croniter 7.0.0 and croner 4.0.3 agree on
// these), next 5 fires after Friday 2026-11-27T23:40Z, in UTC.

const AFTER: &str = "2026-11-27T23:40";

#[test]
fn the_eight_reference_expressions() {
    let sundays = [
        "2026-11-29T00:00",
        "2026-12-06T00:00",
        "2026-12-13T00:00",
        "2026-12-20T00:00",
        "2026-12-27T00:00",
    ];
    check(
        "0 0 * * *",
        None,
        AFTER,
        &[
            "2026-11-28T00:00",
            "2026-11-29T00:00",
            "2026-11-30T00:00",
            "2026-12-01T00:00",
            "2026-12-02T00:00",
        ],
    );
    check("0 0 * * SUN", None, AFTER, &sundays);
    check(
        "*/15 * * * *",
        None,
        AFTER,
        &[
            "2026-11-27T23:45",
            "2026-11-28T00:00",
            "2026-11-28T00:15",
            "2026-11-28T00:30",
            "2026-11-28T00:45",
        ],
    );
    check(
        "0 9-17 * * MON-FRI",
        None,
        AFTER,
        &[
            "2026-11-30T09:00",
            "2026-11-30T10:00",
            "2026-11-30T11:00",
            "2026-11-30T12:00",
            "2026-11-30T13:00",
        ],
    );
    check("0 0 * * 0", None, AFTER, &sundays);
    check("0 0 * * 7", None, AFTER, &sundays);
    check(
        "0 0 1 * *",
        None,
        AFTER,
        &[
            "2026-12-01T00:00",
            "2027-01-01T00:00",
            "2027-02-01T00:00",
            "2027-03-01T00:00",
            "2027-04-01T00:00",
        ],
    );
    check(
        "30 2 * * *",
        None,
        AFTER,
        &[
            "2026-11-28T02:30",
            "2026-11-29T02:30",
            "2026-11-30T02:30",
            "2026-12-01T02:30",
            "2026-12-02T02:30",
        ],
    );
}

#[test]
fn the_extra_reference_expressions() {
    let mondays = [
        "2026-11-30T00:00",
        "2026-12-07T00:00",
        "2026-12-14T00:00",
        "2026-12-21T00:00",
        "2026-12-28T00:00",
    ];
    let daily = [
        "2026-11-28T00:00",
        "2026-11-29T00:00",
        "2026-11-30T00:00",
        "2026-12-01T00:00",
        "2026-12-02T00:00",
    ];
    check("0 0 * * 1", None, AFTER, &mondays);
    check("0 0 * * mon", None, AFTER, &mondays);
    check("0 0 ? * MON", None, AFTER, &mondays);
    check("0 0 * * ?", None, AFTER, &daily);
    check("@daily", None, AFTER, &daily);
    check("@midnight", None, AFTER, &daily);
    check("0 0 * * 0-6", None, AFTER, &daily);
    check("0 0 * * 0-7", None, AFTER, &daily);
    check(
        "0 0 * * 6",
        None,
        AFTER,
        &[
            "2026-11-28T00:00",
            "2026-12-05T00:00",
            "2026-12-12T00:00",
            "2026-12-19T00:00",
            "2026-12-26T00:00",
        ],
    );
    check(
        "0 0 * * 1-5",
        None,
        AFTER,
        &[
            "2026-11-30T00:00",
            "2026-12-01T00:00",
            "2026-12-02T00:00",
            "2026-12-03T00:00",
            "2026-12-04T00:00",
        ],
    );
    check(
        "0 0 * * FRI-MON",
        None,
        AFTER,
        &[
            "2026-11-28T00:00",
            "2026-11-29T00:00",
            "2026-11-30T00:00",
            "2026-12-04T00:00",
            "2026-12-05T00:00",
        ],
    );
    check(
        "0 0 * * SAT-SUN",
        None,
        AFTER,
        &[
            "2026-11-28T00:00",
            "2026-11-29T00:00",
            "2026-12-05T00:00",
            "2026-12-06T00:00",
            "2026-12-12T00:00",
        ],
    );
    check(
        "0 22-2 * * *",
        None,
        AFTER,
        &[
            "2026-11-28T00:00",
            "2026-11-28T01:00",
            "2026-11-28T02:00",
            "2026-11-28T22:00",
            "2026-11-28T23:00",
        ],
    );
    check(
        "0 12 * * 1/2",
        None,
        AFTER,
        &[
            "2026-11-30T12:00",
            "2026-12-02T12:00",
            "2026-12-04T12:00",
            "2026-12-07T12:00",
            "2026-12-09T12:00",
        ],
    );
    check(
        "0 0 * * */2",
        None,
        AFTER,
        &[
            "2026-11-28T00:00",
            "2026-11-29T00:00",
            "2026-12-01T00:00",
            "2026-12-03T00:00",
            "2026-12-05T00:00",
        ],
    );
    // Day-of-month OR day-of-week when both are restricted.
    check(
        "0 0 1 * MON",
        None,
        AFTER,
        &[
            "2026-11-30T00:00",
            "2026-12-01T00:00",
            "2026-12-07T00:00",
            "2026-12-14T00:00",
            "2026-12-21T00:00",
        ],
    );
    check(
        "0 0 1,15 * MON",
        None,
        AFTER,
        &[
            "2026-11-30T00:00",
            "2026-12-01T00:00",
            "2026-12-07T00:00",
            "2026-12-14T00:00",
            "2026-12-15T00:00",
        ],
    );
    check(
        "0 0 1-7 * MON",
        None,
        AFTER,
        &[
            "2026-11-30T00:00",
            "2026-12-01T00:00",
            "2026-12-02T00:00",
            "2026-12-03T00:00",
            "2026-12-04T00:00",
        ],
    );
    // croniter's OR (cronie would AND here: Mondays on odd days only).
    check(
        "0 0 */2 * MON",
        None,
        AFTER,
        &[
            "2026-11-29T00:00",
            "2026-11-30T00:00",
            "2026-12-01T00:00",
            "2026-12-03T00:00",
            "2026-12-05T00:00",
        ],
    );
    // A full day-of-week next to a `*`-containing day-of-month collapses: odd days only.
    check(
        "0 0 */2 * 0-6",
        None,
        AFTER,
        &[
            "2026-11-29T00:00",
            "2026-12-01T00:00",
            "2026-12-03T00:00",
            "2026-12-05T00:00",
            "2026-12-07T00:00",
        ],
    );
    check(
        "0 0 31 * *",
        None,
        AFTER,
        &[
            "2026-12-31T00:00",
            "2027-01-31T00:00",
            "2027-03-31T00:00",
            "2027-05-31T00:00",
            "2027-07-31T00:00",
        ],
    );
    check(
        "0 0 * JAN,JUL *",
        None,
        AFTER,
        &[
            "2027-01-01T00:00",
            "2027-01-02T00:00",
            "2027-01-03T00:00",
            "2027-01-04T00:00",
            "2027-01-05T00:00",
        ],
    );
    check(
        "0 0 1 NOV-FEB *",
        None,
        AFTER,
        &[
            "2026-12-01T00:00",
            "2027-01-01T00:00",
            "2027-02-01T00:00",
            "2027-11-01T00:00",
            "2027-12-01T00:00",
        ],
    );
    check(
        "5,35 */6 * * *",
        None,
        AFTER,
        &[
            "2026-11-28T00:05",
            "2026-11-28T00:35",
            "2026-11-28T06:05",
            "2026-11-28T06:35",
            "2026-11-28T12:05",
        ],
    );
    check(
        "0-59/20 * * * *",
        None,
        AFTER,
        &[
            "2026-11-28T00:00",
            "2026-11-28T00:20",
            "2026-11-28T00:40",
            "2026-11-28T01:00",
            "2026-11-28T01:20",
        ],
    );
    check(
        "50-10/5 * * * *",
        None,
        AFTER,
        &[
            "2026-11-27T23:50",
            "2026-11-27T23:55",
            "2026-11-28T00:00",
            "2026-11-28T00:05",
            "2026-11-28T00:10",
        ],
    );
    check(
        "@hourly",
        None,
        AFTER,
        &[
            "2026-11-28T00:00",
            "2026-11-28T01:00",
            "2026-11-28T02:00",
            "2026-11-28T03:00",
            "2026-11-28T04:00",
        ],
    );
    check(
        "@weekly",
        None,
        AFTER,
        &["2026-11-29T00:00", "2026-12-06T00:00"],
    );
    check(
        "@monthly",
        None,
        AFTER,
        &["2026-12-01T00:00", "2027-01-01T00:00"],
    );
    check(
        "@yearly",
        None,
        AFTER,
        &["2027-01-01T00:00", "2028-01-01T00:00"],
    );
    check(
        "@annually",
        None,
        AFTER,
        &["2027-01-01T00:00", "2028-01-01T00:00"],
    );
    check(
        "0 0 29 2 *",
        None,
        AFTER,
        &["2028-02-29T00:00", "2032-02-29T00:00"],
    );
}

/// A day field whose list has a bare `*` is unrestricted (croniter; cronie when the `*` comes
/// first): only the other day field counts, instead of the OR rule firing every day.
#[test]
fn a_day_list_containing_a_star_is_unrestricted() {
    // 2026-11-27 is a Friday.
    let first_of_month = [
        "2026-12-01T00:00",
        "2027-01-01T00:00",
        "2027-02-01T00:00",
        "2027-03-01T00:00",
    ];
    check("0 0 1 * *,MON", None, AFTER, &first_of_month);
    check("0 0 1 * MON,*", None, AFTER, &first_of_month);
    check("0 0 1 * ?,MON", None, AFTER, &first_of_month);
    let mondays = [
        "2026-11-30T00:00",
        "2026-12-07T00:00",
        "2026-12-14T00:00",
        "2026-12-21T00:00",
    ];
    check("0 0 *,15 * MON", None, AFTER, &mondays);
    check("0 0 15,* * MON", None, AFTER, &mondays);
    // Both unrestricted: every day.
    check(
        "30 6 *,1 * *,MON",
        Some("Europe/London"),
        AFTER,
        &["2026-11-28T06:30", "2026-11-29T06:30", "2026-11-30T06:30"],
    );
    // A stepped `*/n` is not a bare `*`: both restricted, the OR rule (odd days or Mondays).
    check(
        "0 0 */2 * MON",
        None,
        AFTER,
        &["2026-11-29T00:00", "2026-11-30T00:00", "2026-12-01T00:00"],
    );
}

#[test]
fn schedules_that_never_fire() {
    for expr in ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 31 APR *"] {
        let s = schedule(expr, None);
        assert_eq!(s.next_after(z(AFTER)), None, "{expr}");
        assert_eq!(s.prev_at_or_before(z(AFTER)), None, "{expr}");
    }
}

#[test]
fn prev_at_or_before_finds_the_current_window() {
    let s = schedule("0 9 * * MON-FRI", Some("Europe/London"));
    // Friday 2026-11-27 09:00 GMT; asked on Sunday, the current window opened on Friday.
    assert_eq!(
        s.prev_at_or_before(z("2026-11-29T12:00")),
        Some(z("2026-11-27T09:00"))
    );
    assert_eq!(
        s.prev_at_or_before(z("2026-11-27T09:00")),
        Some(z("2026-11-27T09:00"))
    );
    let one_ns_early = z("2026-11-27T09:00") - TimeDelta::nanoseconds(1);
    assert_eq!(
        s.prev_at_or_before(one_ns_early),
        Some(z("2026-11-26T09:00"))
    );
    // Yearly: far back, but within the look-back.
    let s = schedule("0 0 29 2 *", None);
    assert_eq!(
        s.prev_at_or_before(z("2031-12-31T00:00")),
        Some(z("2028-02-29T00:00"))
    );
    // The gap-shifted fixed time is the window start on the spring-forward day.
    let s = schedule("30 1 * * *", Some("Europe/London"));
    assert_eq!(
        s.prev_at_or_before(z("2026-03-29T12:00")),
        Some(z("2026-03-29T01:00"))
    );
    // Only the first pass of a repeated fixed time counts.
    assert_eq!(
        s.prev_at_or_before(z("2026-10-25T01:45")),
        Some(z("2026-10-25T00:30"))
    );
}

#[test]
fn extreme_instants_do_not_panic() {
    for expr in ["* * * * *", "0 0 29 2 *", "30 1 * * *"] {
        for tz in [None, Some("Europe/London")] {
            let s = schedule(expr, tz);
            for t in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
                let next = s.next_after(t);
                assert!(next.is_none_or(|n| n > t), "{expr:?} {tz:?} {t}");
                let prev = s.prev_at_or_before(t);
                assert!(prev.is_none_or(|p| p <= t), "{expr:?} {tz:?} {t}");
            }
        }
    }
}
