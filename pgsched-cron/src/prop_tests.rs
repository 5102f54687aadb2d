//! Property tests against a brute-force reference written independently of the translation
//! layer and of saffron.
//!
//! Expressions are generated as structures (numbers, names in any case, ranges including
//! wrapping ones, steps, lists, `*`, `?` in the day fields) and rendered to text for
//! [`CronSchedule::parse`]. The reference computes each field's value set from the structure and
//! walks real UTC minutes forward, converting each to wall-clock time: a minute fires when its
//! wall time matches (with the day-of-month / day-of-week OR rule). For a fixed-time schedule the
//! second occurrence of a repeated wall time does not fire, and the first minute after a
//! spring-forward gap fires when any wall time skipped by the gap matches.

use std::sync::OnceLock;

use chrono::{
    DateTime, Datelike, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

use crate::CronSchedule;

const ZONES: [Tz; 6] = [
    Tz::UTC,
    Tz::America__New_York,
    Tz::Europe__Berlin,
    Tz::Australia__Lord_Howe,
    Tz::Asia__Kathmandu,
    Tz::America__Sao_Paulo,
];

/// The reference gives up this far past `after`.
const CAP: TimeDelta = TimeDelta::days(366 * 9);

fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(0x5eed_c401),
        failure_persistence: None,
        ..Config::default()
    }
}

// ------------------------------------------------------------------ generated expressions

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum F {
    Minute,
    Hour,
    Dom,
    Month,
    Dow,
}

impl F {
    fn lo(self) -> u32 {
        match self {
            F::Dom | F::Month => 1,
            _ => 0,
        }
    }
    /// The largest value a user may write.
    fn hi(self) -> u32 {
        match self {
            F::Minute => 59,
            F::Hour => 23,
            F::Dom => 31,
            F::Month => 12,
            F::Dow => 7,
        }
    }
    /// The largest value of the cycle (`7` is Sunday again).
    fn top(self) -> u32 {
        if self == F::Dow { 6 } else { self.hi() }
    }
    fn names(self) -> &'static [&'static str] {
        match self {
            F::Month => &[
                "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
            ],
            F::Dow => &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
            _ => &[],
        }
    }
}

#[derive(Debug, Clone)]
struct Val {
    v: u32,
    /// 0: digits; 1: UPPER name; 2: lower name; 3: Title name (digits where there is no name).
    style: u8,
}

#[derive(Debug, Clone)]
enum Base {
    Star,
    One(Val),
    Range(Val, Val),
}

#[derive(Debug, Clone)]
struct Item {
    base: Base,
    step: Option<u32>,
}

#[derive(Debug, Clone)]
enum FieldGen {
    Question,
    List(Vec<Item>),
}

#[derive(Debug, Clone)]
struct Expr {
    fields: [FieldGen; 5],
}

fn val(f: F, hi: u32) -> impl Strategy<Value = Val> {
    (f.lo()..=hi, 0u8..4).prop_map(|(v, style)| Val { v, style })
}

fn item(f: F) -> impl Strategy<Value = Item> {
    let span = f.top() - f.lo() + 1;
    let step = move || proptest::option::weighted(0.4, 1..=span);
    prop_oneof![
        2 => step().prop_map(|step| Item { base: Base::Star, step }),
        4 => val(f, f.hi()).prop_map(|v| Item { base: Base::One(v), step: None }),
        3 => (val(f, f.hi()), val(f, f.hi()), step())
            .prop_map(|(a, b, step)| Item { base: Base::Range(a, b), step }),
        1 => (val(f, f.top()), 1..=span)
            .prop_map(|(v, s)| Item { base: Base::One(v), step: Some(s) }),
    ]
}

fn field(f: F) -> BoxedStrategy<FieldGen> {
    let star = Just(FieldGen::List(vec![Item {
        base: Base::Star,
        step: None,
    }]));
    let list = proptest::collection::vec(item(f), 1..=3).prop_map(FieldGen::List);
    match f {
        F::Dom | F::Dow => prop_oneof![5 => star, 1 => Just(FieldGen::Question), 5 => list].boxed(),
        F::Month => prop_oneof![3 => star, 2 => list].boxed(),
        F::Minute | F::Hour => prop_oneof![1 => star, 3 => list].boxed(),
    }
}

fn expr() -> impl Strategy<Value = Expr> {
    (
        field(F::Minute),
        field(F::Hour),
        field(F::Dom),
        field(F::Month),
        field(F::Dow),
    )
        .prop_map(|(a, b, c, d, e)| Expr {
            fields: [a, b, c, d, e],
        })
}

const ORDER: [F; 5] = [F::Minute, F::Hour, F::Dom, F::Month, F::Dow];

fn render_val(f: F, v: &Val) -> String {
    let names = f.names();
    let index = usize::try_from(v.v - f.lo()).unwrap_or(usize::MAX);
    match names.get(index) {
        Some(name) if v.style == 1 => name.to_ascii_uppercase(),
        Some(name) if v.style == 2 => (*name).to_owned(),
        Some(name) if v.style == 3 => {
            let mut out = name[..1].to_ascii_uppercase();
            out.push_str(&name[1..]);
            out
        }
        _ => v.v.to_string(),
    }
}

fn render_field(f: F, g: &FieldGen) -> String {
    match g {
        FieldGen::Question => "?".to_owned(),
        FieldGen::List(items) => {
            let parts: Vec<String> = items
                .iter()
                .map(|it| {
                    let base = match &it.base {
                        Base::Star => "*".to_owned(),
                        Base::One(v) => render_val(f, v),
                        Base::Range(a, b) => format!("{}-{}", render_val(f, a), render_val(f, b)),
                    };
                    match it.step {
                        Some(s) => format!("{base}/{s}"),
                        None => base,
                    }
                })
                .collect();
            parts.join(",")
        }
    }
}

impl Expr {
    fn texts(&self) -> Vec<String> {
        ORDER
            .iter()
            .zip(&self.fields)
            .map(|(&f, g)| render_field(f, g))
            .collect()
    }
    fn render(&self) -> String {
        self.texts().join(" ")
    }
}

// ------------------------------------------------------------------ the reference

/// The values `a` to `b` walked one by one, wrapping from the top of the cycle to its bottom.
fn walk(f: F, a: u32, b: u32) -> Vec<u32> {
    let a = if f == F::Dow && a == 7 && b != 7 {
        0
    } else {
        a
    };
    if a <= b {
        return (a..=b).collect();
    }
    let mut out = Vec::new();
    let mut cur = a;
    loop {
        out.push(cur);
        if cur == b {
            return out;
        }
        cur = if cur >= f.top() { f.lo() } else { cur + 1 };
    }
}

fn value_set(f: F, g: &FieldGen) -> Vec<bool> {
    let mut set = vec![false; 64];
    let mut add = |v: u32| {
        let v = if f == F::Dow && v == 7 { 0 } else { v };
        set[v as usize] = true;
    };
    match g {
        FieldGen::Question => (f.lo()..=f.top()).for_each(&mut add),
        FieldGen::List(items) => {
            for it in items {
                let seq = match &it.base {
                    Base::Star => walk(f, f.lo(), f.top()),
                    Base::One(v) if it.step.is_none() => vec![v.v],
                    Base::One(v) => (v.v..=f.top()).collect(),
                    Base::Range(a, b) => walk(f, a.v, b.v),
                };
                let step = it.step.unwrap_or(1) as usize;
                seq.into_iter().step_by(step).for_each(&mut add);
            }
        }
    }
    set
}

struct Reference {
    sets: Vec<Vec<bool>>,
    dom_any: bool,
    dow_any: bool,
    fixed: bool,
    tz: Tz,
}

impl Reference {
    fn new(e: &Expr, tz: Tz) -> Self {
        let texts = e.texts();
        let sets: Vec<Vec<bool>> = ORDER
            .iter()
            .zip(&e.fields)
            .map(|(&f, g)| value_set(f, g))
            .collect();
        let full = |f: F, set: &[bool]| (f.lo()..=f.top()).all(|v| set[v as usize]);
        // A list with a bare `*` (or `?`) item is unrestricted, wherever the item stands.
        let bare = |t: &str| t.split(',').any(|item| item == "*" || item == "?");
        let starry = |t: &str| t.contains('*') || t.contains('?');
        Reference {
            dom_any: bare(&texts[2]) || (full(F::Dom, &sets[2]) && starry(&texts[4])),
            dow_any: bare(&texts[4]) || (full(F::Dow, &sets[4]) && starry(&texts[2])),
            fixed: !texts[0].starts_with('*') && !texts[1].starts_with('*'),
            sets,
            tz,
        }
    }

    fn date_matches(&self, d: NaiveDate) -> bool {
        let dom = self.sets[2][d.day() as usize];
        let dow = self.sets[4][d.weekday().num_days_from_sunday() as usize];
        let day = match (self.dom_any, self.dow_any) {
            (true, true) => true,
            (true, false) => dow,
            (false, true) => dom,
            (false, false) => dom || dow,
        };
        day && self.sets[3][d.month() as usize]
    }

    fn matches(&self, l: NaiveDateTime) -> bool {
        self.sets[0][l.minute() as usize]
            && self.sets[1][l.hour() as usize]
            && self.date_matches(l.date())
    }

    fn local(&self, t: DateTime<Utc>) -> NaiveDateTime {
        t.with_timezone(&self.tz).naive_local()
    }

    fn offset(&self, t: DateTime<Utc>) -> i32 {
        self.tz
            .offset_from_utc_datetime(&t.naive_utc())
            .fix()
            .local_minus_utc()
    }

    /// Whether an earlier instant had the same wall time (a fall-back repeat).
    fn is_second_pass(&self, m: DateTime<Utc>) -> bool {
        let drop = self.offset(m - TimeDelta::hours(3)) - self.offset(m);
        drop > 0 && self.local(m - TimeDelta::seconds(i64::from(drop))) == self.local(m)
    }

    /// Whether the wall clock jumped forward into `m` past a matching wall time.
    fn gap_before_matches(&self, m: DateTime<Utc>) -> bool {
        let before = self.local(m - TimeDelta::minutes(1));
        let now = self.local(m);
        let mut w = before + TimeDelta::minutes(1);
        while w < now {
            if self.matches(w) {
                return true;
            }
            w += TimeDelta::minutes(1);
        }
        false
    }

    /// Walks real minutes after `after` up to `after + CAP`.
    fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let floor = after.timestamp().div_euclid(60) * 60;
        let mut m = DateTime::from_timestamp(floor, 0)? + TimeDelta::minutes(1);
        let end = after + CAP;
        while m <= end {
            let l = self.local(m);
            let hit = self.matches(l) && !(self.fixed && self.is_second_pass(m));
            if hit || (self.fixed && self.gap_before_matches(m)) {
                return Some(m);
            }
            // Skip the rest of a non-matching local day or hour when the offset does not change
            // on the way (so the wall clock just runs on, with no gap and no repeat).
            let to_next = if !self.date_matches(l.date()) {
                1440 - i64::from(l.hour() * 60 + l.minute())
            } else if !self.sets[1][l.hour() as usize] {
                60 - i64::from(l.minute())
            } else {
                1
            };
            let target = m + TimeDelta::minutes(to_next);
            m = if to_next > 1 && self.offset(m) == self.offset(target) {
                target
            } else {
                m + TimeDelta::minutes(1)
            };
        }
        None
    }
}

// ------------------------------------------------------------------ instants

fn range_start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_577_836_800, 0).unwrap_or_default() // 2020-01-01T00:00Z
}

fn range_end() -> DateTime<Utc> {
    DateTime::from_timestamp(2_082_758_400, 0).unwrap_or_default() // 2036-01-01T00:00Z
}

/// The UTC-offset changes of every test zone between 2020 and 2035, found by scanning.
fn transitions(zone: usize) -> &'static [DateTime<Utc>] {
    static ALL: OnceLock<Vec<Vec<DateTime<Utc>>>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        ZONES
            .iter()
            .map(|tz| {
                let off = |t: DateTime<Utc>| {
                    tz.offset_from_utc_datetime(&t.naive_utc())
                        .fix()
                        .local_minus_utc()
                };
                let mut found = Vec::new();
                let mut day = range_start();
                while day < range_end() {
                    let next = day + TimeDelta::days(1);
                    if off(day) != off(next) {
                        // Bisect in whole minutes: the first minute with the new offset.
                        let (mut lo, mut hi) = (0i64, 1440i64);
                        while hi - lo > 1 {
                            let mid = (lo + hi) / 2;
                            if off(day + TimeDelta::minutes(mid)) == off(day) {
                                lo = mid;
                            } else {
                                hi = mid;
                            }
                        }
                        found.push(day + TimeDelta::minutes(hi));
                    }
                    day = next;
                }
                found
            })
            .collect()
    });
    &all[zone]
}

/// A uniform instant in 2020-2035, or one within `shift_s` of a DST transition of the zone.
fn instant(zone: usize, near_transition: bool, pick: u64, shift_s: i64) -> DateTime<Utc> {
    let ts = transitions(zone);
    if near_transition && !ts.is_empty() {
        let i = usize::try_from(pick % ts.len() as u64).unwrap_or(0);
        return ts[i] + TimeDelta::seconds(shift_s);
    }
    let span = u64::try_from((range_end() - range_start()).num_seconds()).unwrap_or(1);
    range_start() + TimeDelta::seconds(i64::try_from(pick % span).unwrap_or(0))
}

fn case() -> impl Strategy<Value = (Expr, usize, DateTime<Utc>, i64)> {
    (
        expr(),
        0..ZONES.len(),
        prop_oneof![1 => Just(false), 2 => Just(true)],
        any::<u64>(),
        prop_oneof![
            1 => -30 * 3600i64..30 * 3600,
            2 => -4 * 3600i64..4 * 3600,
        ],
        0i64..3 * 86_400,
    )
        .prop_map(|(e, zone, near, pick, shift, later)| {
            (e, zone, instant(zone, near, pick, shift), later)
        })
}

fn parse(e: &Expr, zone: usize) -> Result<CronSchedule, TestCaseError> {
    let text = e.render();
    CronSchedule::parse(&text, Some(ZONES[zone].name()))
        .map_err(|err| TestCaseError::fail(format!("{text:?} should parse: {err}")))
}

proptest! {
    #![proptest_config(config(4_000))]

    /// `next_after` agrees with the minute-walking reference, is strictly after its argument
    /// and is monotonic.
    #[test]
    fn next_after_matches_the_reference((e, zone, after, later) in case()) {
        let schedule = parse(&e, zone)?;
        let reference = Reference::new(&e, ZONES[zone]);
        let got = schedule.next_after(after);
        let want = reference.next_after(after);
        let text = e.render();
        let tz = ZONES[zone];
        match want {
            Some(want) => prop_assert_eq!(got, Some(want), "{:?} in {} after {}", text, tz, after),
            None => prop_assert!(
                got.is_none_or(|g| g > after + CAP),
                "{:?} in {} after {}: got {:?}, reference found nothing", text, tz, after, got
            ),
        }
        if let Some(next) = got {
            prop_assert!(next > after);
            // Monotonic, and nothing fires in between: from any later point up to `next`,
            // the answer is still `next`.
            let t2 = after + TimeDelta::seconds(later);
            let got2 = schedule.next_after(t2);
            if t2 < next {
                prop_assert_eq!(got2, Some(next), "{:?} in {} after {}", text, tz, t2);
            } else {
                prop_assert!(got2.is_none_or(|g| g >= next));
            }
        }
    }

}

proptest! {
    #![proptest_config(config(2_000))]

    /// `prev_at_or_before` is the last fire at or before `t`: nothing fires in between, and
    /// `next_after` just before it finds it again.
    #[test]
    fn prev_at_or_before_is_consistent((e, zone, t, _later) in case()) {
        let schedule = parse(&e, zone)?;
        let prev = schedule.prev_at_or_before(t);
        let next = schedule.next_after(t);
        let text = e.render();
        prop_assert!(next.is_none_or(|n| n > t));
        match prev {
            Some(p) => {
                prop_assert!(p <= t, "{:?}: prev {} > {}", text, p, t);
                prop_assert_eq!(schedule.next_after(p - TimeDelta::minutes(1)), Some(p), "{:?} at {}", text, t);
                prop_assert_eq!(schedule.next_after(p), next, "{:?}: a fire between {} and {}", text, p, t);
            }
            None => {
                let earlier = schedule.next_after(t - TimeDelta::days(366 * 8));
                prop_assert!(earlier.is_none_or(|n| n > t), "{:?}: missed {:?}", text, earlier);
            }
        }
    }

    /// Arbitrary text never panics: it is either refused or yields a usable schedule.
    #[test]
    fn arbitrary_text_never_panics(text in "[0-9a-zA-Z*/,?@#LW -]{0,24}", pick in any::<u64>()) {
        if let Ok(schedule) = CronSchedule::parse(&text, None) {
            let at = instant(0, false, pick, 0);
            if let Some(next) = schedule.next_after(at) {
                prop_assert!(next > at);
            }
        }
    }
}

#[test]
fn the_scanner_sees_the_known_transitions() {
    let berlin = transitions(2);
    assert_eq!(berlin.len(), 32, "two a year in Berlin, 2020-2035");
    assert!(
        berlin.contains(
            &Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0)
                .single()
                .unwrap_or_default()
        )
    );
    assert!(transitions(0).is_empty(), "UTC");
    assert!(transitions(4).is_empty(), "Kathmandu");
    let lord_howe = transitions(3);
    assert!(
        lord_howe.contains(
            &Utc.with_ymd_and_hms(2026, 10, 3, 15, 30, 0)
                .single()
                .unwrap_or_default()
        )
    );
}
