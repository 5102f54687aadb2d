//! Evaluating a saffron schedule in a time zone, with cronie's DST rule.
//!
//! saffron only knows UTC, so its "UTC" is used as the zone's local wall clock: we ask it for
//! wall-clock matches and map each one back to real instants through `chrono-tz`:
//!
//! - a wall time that exists once is one instant;
//! - a wall time repeated by a fall-back transition is two instants; a *fixed-time* schedule
//!   keeps only the first, a wildcard schedule keeps both;
//! - a wall time skipped by a spring-forward transition is no instant for a wildcard schedule,
//!   and for a fixed-time schedule the first instant after the gap (several skipped fixed
//!   times in one gap all land there, so they collapse into one fire).
//!
//! Because local and real order disagree around a fall-back transition, the search for the
//! first instant after `after` may have to look at wall times slightly *before* the local time
//! of `after`, and past the first candidate it finds. How far is bounded by the size of the
//! offset drop, which is measured from the zone itself within a 3-hour window (cronie uses the
//! same 3-hour threshold; real DST shifts are at most 2 hours). Away from transitions no extra
//! candidate is examined.

use chrono::{
    DateTime, LocalResult, NaiveDateTime, Offset, TimeDelta, TimeZone, Timelike as _, Utc,
};
use chrono_tz::Tz;

/// How far apart in real time a wall-clock reordering can reach.
const SLACK: TimeDelta = TimeDelta::hours(3);
/// The longest gap we walk across to find "the first instant after the gap".
const MAX_GAP_MINUTES: i64 = 180;
/// Give up looking for a representable fire this far (in local time) past `after`.
const HORIZON: TimeDelta = TimeDelta::days(366 * 30);
/// How far back [`ZonedCron::prev_at_or_before`] looks.
const LOOKBACK: TimeDelta = TimeDelta::days(366 * 8);

/// A saffron schedule read as wall-clock time in `tz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ZonedCron {
    pub(crate) cron: saffron::Cron,
    pub(crate) tz: Tz,
    pub(crate) fixed_time: bool,
}

impl ZonedCron {
    /// The first fire instant strictly after `after`.
    pub(crate) fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local_after = self.local(after)?;
        // A fall-back transition shortly after `after` repeats wall times that lie before
        // `local_after`; their second occurrence is still in the future.
        let rewind = self.drop_within(after, after.checked_add_signed(SLACK)?);
        let start = local_after
            .checked_sub_signed(rewind)?
            .checked_sub_signed(TimeDelta::minutes(1))?;
        let horizon = local_after
            .checked_add_signed(HORIZON)
            .unwrap_or(NaiveDateTime::MAX);

        // The best instant so far, and the last wall time that could still beat it.
        let mut best: Option<(DateTime<Utc>, NaiveDateTime)> = None;
        for candidate in self.cron.clone().iter_after(start.and_utc()) {
            let wall = candidate.naive_utc();
            match best {
                Some((_, last_useful)) if wall > last_useful => break,
                None if wall > horizon => return None,
                _ => {}
            }
            for instant in self.instants(wall).into_iter().flatten() {
                if instant > after && best.is_none_or(|(b, _)| instant < b) {
                    // A fall-back transition shortly before `instant` means a later wall time
                    // can still be an earlier instant; look that much further.
                    let lookback = self.drop_within(instant.checked_sub_signed(SLACK)?, instant);
                    let last_useful = wall.checked_add_signed(lookback).unwrap_or(wall);
                    best = Some((instant, last_useful));
                }
            }
        }
        best.map(|(instant, _)| instant)
    }

    /// The most recent fire instant at or before `at`, looking back [`LOOKBACK`].
    pub(crate) fn prev_at_or_before(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Fires are whole seconds, so comparing against `at` truncated to the second is exact.
        let at = at.with_nanosecond(0)?;
        let fires_by_at = |t: DateTime<Utc>| self.next_after(t).is_some_and(|next| next <= at);
        // Invariant: some fire lies in (lo, at], none in (hi, at].
        let mut lo = at.checked_sub_signed(LOOKBACK)?;
        let mut hi = at;
        if !fires_by_at(lo) {
            return None;
        }
        while hi - lo > TimeDelta::seconds(1) {
            let mid = lo + (hi - lo) / 2;
            let mid = mid.with_nanosecond(0).unwrap_or(mid);
            if fires_by_at(mid) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        // Fires are at least a minute apart, so (lo, hi] holds exactly one: the answer.
        self.next_after(lo)
    }

    /// The real instants the wall time `wall` stands for under the DST rule.
    fn instants(&self, wall: NaiveDateTime) -> [Option<DateTime<Utc>>; 2] {
        match self.tz.from_local_datetime(&wall) {
            LocalResult::Single(t) => [Some(t.to_utc()), None],
            LocalResult::Ambiguous(first, _) if self.fixed_time => [Some(first.to_utc()), None],
            LocalResult::Ambiguous(first, second) => [Some(first.to_utc()), Some(second.to_utc())],
            LocalResult::None if self.fixed_time => [self.first_instant_after_gap(wall), None],
            LocalResult::None => [None, None],
        }
    }

    /// For a wall time inside a spring-forward gap: the instant the gap ends.
    fn first_instant_after_gap(&self, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
        (1..=MAX_GAP_MINUTES).find_map(|m| {
            let later = wall.checked_add_signed(TimeDelta::minutes(m))?;
            self.tz
                .from_local_datetime(&later)
                .earliest()
                .map(|t| t.to_utc())
        })
    }

    /// The wall time at `t`; `None` at the very ends of chrono's range.
    fn local(&self, t: DateTime<Utc>) -> Option<NaiveDateTime> {
        t.naive_utc().checked_add_signed(self.offset(t))
    }

    fn offset(&self, t: DateTime<Utc>) -> TimeDelta {
        let seconds = self
            .tz
            .offset_from_utc_datetime(&t.naive_utc())
            .fix()
            .local_minus_utc();
        TimeDelta::seconds(i64::from(seconds))
    }

    /// By how much the UTC offset falls between `from` and `to` (zero if it does not fall).
    fn drop_within(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> TimeDelta {
        (self.offset(from) - self.offset(to)).max(TimeDelta::zero())
    }
}
