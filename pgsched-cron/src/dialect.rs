//! Translation from the Vixie/croniter dialect to an expression saffron evaluates correctly.
//!
//! saffron is Quartz-flavoured: day-of-week `1` is Sunday and `0` is an error, wrap-around ranges
//! (`22-2`, `FRI-MON`) gain one extra value, and `?` and `@daily` are unknown. So we never hand it
//! a range, a step or a day-of-week number. Each field is tokenized and validated here, expanded
//! to the exact set of values it denotes, and re-emitted as `*` or as a plain comma-separated
//! list: numbers for minute, hour, day-of-month and month, day *names* for day-of-week. Plain
//! lists are the one part of saffron's grammar whose meaning is the same as Vixie cron's.
//!
//! Whether a day field counts as "restricted" (which decides between the day-of-month OR
//! day-of-week rule and using only one of them) follows croniter: a day field is unrestricted
//! when its list has a bare `*` (or `?`) item — `*`, `*,MON`, `1,*` — or when it covers every
//! value and the *other* day field contains a `*` anywhere (`*/2` included). An unrestricted
//! field is emitted as `*`, which is exactly what saffron tests for.
//!
//! cronie agrees whenever the `*` item comes first (it flags a day field as `*` when the field's
//! text *starts* with `*`, `entry.c`), so `0 0 1 * *,MON` fires on the 1st of each month in
//! all three. It differs when the `*` is not first (`0 0 1 * MON,*`: cronie applies the OR rule
//! to a full day-of-week, so daily) and for a leading `*/n` (cronie: unrestricted, so the other
//! field must match too; croniter and pgsched: restricted, OR rule).

/// One of the five fields, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

const FIELDS: [Field; 5] = [
    Field::Minute,
    Field::Hour,
    Field::DayOfMonth,
    Field::Month,
    Field::DayOfWeek,
];

const MONTH_NAMES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Field {
    /// The 1-based position, as users count fields.
    fn number(self) -> usize {
        match self {
            Field::Minute => 1,
            Field::Hour => 2,
            Field::DayOfMonth => 3,
            Field::Month => 4,
            Field::DayOfWeek => 5,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Field::Minute => "minute",
            Field::Hour => "hour",
            Field::DayOfMonth => "day-of-month",
            Field::Month => "month",
            Field::DayOfWeek => "day-of-week",
        }
    }

    /// The smallest value a user may write.
    fn min(self) -> u32 {
        match self {
            Field::DayOfMonth | Field::Month => 1,
            Field::Minute | Field::Hour | Field::DayOfWeek => 0,
        }
    }

    /// The largest value a user may write (`7` is Sunday again in day-of-week).
    fn max(self) -> u32 {
        match self {
            Field::Minute => 59,
            Field::Hour => 23,
            Field::DayOfMonth => 31,
            Field::Month => 12,
            Field::DayOfWeek => 7,
        }
    }

    /// The largest value of the evaluated domain: what `*` and `a/n` run up to.
    fn top(self) -> u32 {
        match self {
            Field::DayOfWeek => 6,
            other => other.max(),
        }
    }

    /// How many distinct values the field has.
    fn span(self) -> u32 {
        self.top() - self.min() + 1
    }

    /// The set of every value, as a bit mask.
    fn full(self) -> u64 {
        (self.min()..=self.top()).fold(0, |set, v| set | bit(v))
    }

    fn allowed(self) -> &'static str {
        match self {
            Field::Minute => "0-59",
            Field::Hour => "0-23",
            Field::DayOfMonth => "1-31",
            Field::Month => "1-12 (or JAN-DEC)",
            Field::DayOfWeek => "0-7 (0 and 7 are Sunday)",
        }
    }

    fn names(self) -> Option<&'static [&'static str]> {
        match self {
            Field::Month => Some(&MONTH_NAMES),
            Field::DayOfWeek => Some(&DAY_NAMES),
            _ => None,
        }
    }

    fn is_day(self) -> bool {
        matches!(self, Field::DayOfMonth | Field::DayOfWeek)
    }

    /// "in field 5 (day-of-week)"
    fn at(self) -> String {
        format!("in field {} ({})", self.number(), self.name())
    }
}

fn bit(v: u32) -> u64 {
    1 << v
}

/// The result of translating one expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Translation {
    /// The equivalent expression in saffron's dialect.
    pub(crate) saffron: String,
    /// cronie's "fixed time" flag: neither the minute nor the hour field starts with `*`.
    pub(crate) fixed_time: bool,
}

/// Validates `expr` and translates it, or explains precisely what is wrong.
pub(crate) fn translate(expr: &str) -> Result<Translation, String> {
    let trimmed = expr.trim();
    if trimmed.is_empty() {
        return Err(
            "the expression is empty; expected 5 fields: minute hour day-of-month month day-of-week"
                .to_owned(),
        );
    }
    let text = if trimmed.starts_with('@') {
        nickname(trimmed)?
    } else {
        trimmed
    };
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let [minute, hour, dom, month, dow] = tokens[..] else {
        return Err(match tokens.len() {
            6 | 7 => format!(
                "found {} fields, but only the standard 5 are supported \
                 (minute hour day-of-month month day-of-week): there is no seconds or year field",
                tokens.len()
            ),
            n => {
                format!("expected 5 fields (minute hour day-of-month month day-of-week), found {n}")
            }
        });
    };
    let texts = [minute, hour, dom, month, dow];
    let mut sets = [0u64; 5];
    for ((set, field), text) in sets.iter_mut().zip(FIELDS).zip(texts) {
        *set = parse_field(field, text)?;
    }

    // croniter's rule for "restricted" day fields (see the module docs).
    let is_star = |t: &str| t.split(',').any(|item| item == "*" || item == "?");
    let has_star = |t: &str| t.contains('*') || t.contains('?');
    let dom_star = is_star(dom) || (sets[2] == Field::DayOfMonth.full() && has_star(dow));
    let dow_star = is_star(dow) || (sets[4] == Field::DayOfWeek.full() && has_star(dom));

    let emitted = [
        emit_numbers(Field::Minute, sets[0], false),
        emit_numbers(Field::Hour, sets[1], false),
        emit_numbers(Field::DayOfMonth, sets[2], !dom_star),
        emit_numbers(Field::Month, sets[3], false),
        if dow_star {
            "*".to_owned()
        } else {
            emit_days(sets[4])
        },
    ];
    Ok(Translation {
        saffron: emitted.join(" "),
        fixed_time: !minute.starts_with('*') && !hour.starts_with('*'),
    })
}

/// `@daily` and friends.
fn nickname(text: &str) -> Result<&'static str, String> {
    let mut words = text.split_whitespace();
    let word = words.next().unwrap_or_default();
    if words.next().is_some() {
        return Err(format!(
            "a nickname such as `{word}` must stand alone, without further fields"
        ));
    }
    Ok(match word.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        "@reboot" => {
            return Err(
                "`@reboot` runs at start-up rather than on a schedule, so it is not supported"
                    .to_owned(),
            );
        }
        _ => {
            return Err(format!(
                "unknown nickname `{word}`: use @yearly, @annually, @monthly, @weekly, @daily, \
                 @midnight or @hourly"
            ));
        }
    })
}

fn parse_field(field: Field, text: &str) -> Result<u64, String> {
    let mut set = 0;
    for item in text.split(',') {
        if item.is_empty() {
            return Err(format!(
                "the list `{text}` has an empty item {}",
                field.at()
            ));
        }
        set |= parse_item(field, item)?;
    }
    Ok(set)
}

fn parse_item(field: Field, item: &str) -> Result<u64, String> {
    let (base, step) = match item.split_once('/') {
        Some((base, step)) => (base, Some(parse_step(field, item, step)?)),
        None => (item, None),
    };
    match base {
        "" => Err(format!(
            "`{item}` has nothing before `/` {}: write `*/n`, `a/n` or `a-b/n`",
            field.at()
        )),
        "*" => Ok(range(field, field.min(), field.top(), step.unwrap_or(1))),
        "?" if !field.is_day() => Err(format!(
            "`?` is only allowed in the day-of-month and day-of-week fields (where it means `*`), \
             not {}",
            field.at()
        )),
        "?" if step.is_some() => Err(format!("`?` cannot take a step (`{item}`) {}", field.at())),
        "?" => Ok(field.full()),
        _ => match base.split_once('-') {
            Some((from, to)) => {
                if from.is_empty() || to.is_empty() {
                    return Err(format!(
                        "`{item}` is not a valid range {}: a range needs a value on both sides \
                         of `-` (negative numbers do not exist in cron)",
                        field.at()
                    ));
                }
                if to.contains('-') {
                    return Err(format!(
                        "`{item}` has more than one `-` {}: write a range as `a-b`",
                        field.at()
                    ));
                }
                let from = parse_value(field, from)?;
                let to = parse_value(field, to)?;
                Ok(range(field, from, to, step.unwrap_or(1)))
            }
            None => {
                let value = parse_value(field, base)?;
                Ok(match step {
                    // `a/n`: from `a` every `n` up to the field's maximum.
                    Some(step) => range(field, value, field.top(), step),
                    None => bit(fold_sunday(field, value)),
                })
            }
        },
    }
}

fn parse_step(field: Field, item: &str, step: &str) -> Result<u32, String> {
    if step.is_empty() {
        return Err(format!("`{item}` has no step after `/` {}", field.at()));
    }
    if !step.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "the step `{step}` in `{item}` is not a whole number {}",
            field.at()
        ));
    }
    match step.parse::<u32>() {
        Ok(0) => Err(format!(
            "the step in `{item}` is 0 {}: a step must be at least 1",
            field.at()
        )),
        Ok(n) if n <= field.span() => Ok(n),
        _ => Err(format!(
            "the step {step} in `{item}` is out of range 1-{} {}",
            field.span(),
            field.at()
        )),
    }
}

/// A number or (in month and day-of-week) a name, validated against the field's range.
fn parse_value(field: Field, token: &str) -> Result<u32, String> {
    if !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) {
        return match token.parse::<u32>() {
            Ok(v) if (field.min()..=field.max()).contains(&v) => Ok(v),
            _ => Err(format!(
                "{} {token} is out of range {} in field {}",
                field.name(),
                field.allowed(),
                field.number()
            )),
        };
    }
    if let Some(index) = field
        .names()
        .and_then(|names| names.iter().position(|n| n.eq_ignore_ascii_case(token)))
    {
        // Months are 1-based; days are 0-based with SUN = 0.
        let index = u32::try_from(index).unwrap_or_default();
        return Ok(index + field.min());
    }
    let upper = token.to_ascii_uppercase();
    if field.is_day() && (upper.contains('#') || upper.contains('L') || upper.contains('W')) {
        return Err(format!(
            "`{token}` uses a Quartz extension (`L`, `W` or `#`), which is not supported {}; \
             only the standard 5-field cron dialect is accepted",
            field.at()
        ));
    }
    let names = match field {
        Field::Month => ", a name JAN-DEC",
        Field::DayOfWeek => ", a name SUN-SAT",
        _ => "",
    };
    let unknown_name = if token.bytes().all(|b| b.is_ascii_alphabetic()) {
        match field.names() {
            Some(_) => format!(" (`{token}` is not a known {} name)", field.name()),
            None => " (names are only allowed in the month and day-of-week fields)".to_owned(),
        }
    } else {
        String::new()
    };
    Err(format!(
        "`{token}` is not a valid {} {}{unknown_name}: use a number {}{names}, `*`, a range \
         `a-b`, a step `*/n`, `a/n` or `a-b/n`, or a comma-separated list of those",
        field.name(),
        field.at(),
        field.allowed(),
    ))
}

/// Day-of-week `7` is Sunday, stored as `0`.
fn fold_sunday(field: Field, v: u32) -> u32 {
    if field == Field::DayOfWeek && v == 7 {
        0
    } else {
        v
    }
}

/// The values `from-to/step` denotes. A range whose start is above its end wraps around the
/// field's maximum (`22-2` is 22,23,0,1,2) and the step keeps counting across the wrap.
fn range(field: Field, from: u32, to: u32, step: u32) -> u64 {
    let step = usize::try_from(step).unwrap_or(1).max(1);
    let from = if from > to {
        // `7-3` wraps from Sunday: the same as `0-3`.
        fold_sunday(field, from)
    } else {
        from
    };
    if from <= to {
        return (from..=to)
            .step_by(step)
            .fold(0, |set, v| set | bit(fold_sunday(field, v)));
    }
    let (min, span) = (field.min(), field.span());
    let len = to + span - from;
    (0..=len)
        .step_by(step)
        .fold(0, |set, k| set | bit(min + (from - min + k) % span))
}

/// `*` when the field is unrestricted (or covers everything and that makes no difference), or
/// the plain list of numbers.
fn emit_numbers(field: Field, set: u64, keep_full_list: bool) -> String {
    if set == field.full() && !keep_full_list {
        return "*".to_owned();
    }
    let values: Vec<String> = (field.min()..=field.top())
        .filter(|&v| set & bit(v) != 0)
        .map(|v| v.to_string())
        .collect();
    values.join(",")
}

/// Day-of-week as a list of names, which saffron reads without its numbering quirk.
fn emit_days(set: u64) -> String {
    let names: Vec<&str> = DAY_NAMES
        .iter()
        .zip(0u32..)
        .filter(|&(_, v)| set & bit(v) != 0)
        .map(|(name, _)| *name)
        .collect();
    names.join(",")
}

#[cfg(test)]
mod tests {
    use super::translate;

    fn saffron(expr: &str) -> String {
        match translate(expr) {
            Ok(t) => t.saffron,
            Err(e) => panic!("{expr:?} should translate: {e}"),
        }
    }

    fn reason(expr: &str) -> String {
        match translate(expr) {
            Ok(t) => panic!("{expr:?} should be rejected, got {t:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn weekday_numbers_and_names_become_names() {
        assert_eq!(saffron("0 0 * * 0"), "0 0 * * SUN");
        assert_eq!(saffron("0 0 * * 7"), "0 0 * * SUN");
        assert_eq!(saffron("0 0 * * 1-5"), "0 0 * * MON,TUE,WED,THU,FRI");
        assert_eq!(saffron("0 0 * * FRI-MON"), "0 0 * * SUN,MON,FRI,SAT");
        assert_eq!(saffron("0 0 * * sat-sun"), "0 0 * * SUN,SAT");
        assert_eq!(saffron("0 0 * * 5-7"), "0 0 * * SUN,FRI,SAT");
        assert_eq!(saffron("0 0 * * 7-2"), "0 0 * * SUN,MON,TUE");
        assert_eq!(saffron("0 12 * * 1/2"), "0 12 * * MON,WED,FRI");
        assert_eq!(saffron("0 0 * * */2"), "0 0 * * SUN,TUE,THU,SAT");
        assert_eq!(saffron("0 0 * * 1-7/3"), "0 0 * * SUN,MON,THU");
        assert_eq!(saffron("0 0 * * 5-1/2"), "0 0 * * SUN,FRI");
    }

    #[test]
    fn wrapping_ranges_and_steps_expand_to_lists() {
        assert_eq!(saffron("0 22-2 * * *"), "0 0,1,2,22,23 * * *");
        assert_eq!(saffron("0 0 1 NOV-FEB *"), "0 0 1 1,2,11,12 *");
        assert_eq!(saffron("0 0 28-2 * *"), "0 0 1,2,28,29,30,31 * *");
        assert_eq!(saffron("50-10/5 * * * *"), "0,5,10,50,55 * * * *");
        assert_eq!(saffron("*/15 * * * *"), "0,15,30,45 * * * *");
        assert_eq!(saffron("0-59/20 * * * *"), "0,20,40 * * * *");
        assert_eq!(saffron("59/15 * * * *"), "59 * * * *");
        assert_eq!(saffron("5,35 */6 * * *"), "5,35 0,6,12,18 * * *");
        assert_eq!(saffron("0 0 * jan,Jul *"), "0 0 * 1,7 *");
        assert_eq!(saffron("0-59 0-23 1-31 1-12 *"), "* * * * *");
        assert_eq!(
            saffron("0 0 1-31 * MON")
                .split(' ')
                .nth(2)
                .map(|d| d.split(',').count()),
            Some(31)
        );
    }

    #[test]
    fn nicknames_and_question_marks() {
        assert_eq!(saffron("@yearly"), "0 0 1 1 *");
        assert_eq!(saffron("@annually"), "0 0 1 1 *");
        assert_eq!(saffron("@monthly"), "0 0 1 * *");
        assert_eq!(saffron("@weekly"), "0 0 * * SUN");
        assert_eq!(saffron("@daily"), "0 0 * * *");
        assert_eq!(saffron("  @MIDNIGHT "), "0 0 * * *");
        assert_eq!(saffron("@hourly"), "0 * * * *");
        assert_eq!(saffron("0 0 ? * MON"), "0 0 * * MON");
        assert_eq!(saffron("0 0 * * ?"), "0 0 * * *");
    }

    #[test]
    fn restricted_day_fields_follow_croniter() {
        // Both restricted: OR, so the full lists must stay lists.
        assert_eq!(saffron("0 0 1 * MON"), "0 0 1 * MON");
        assert_eq!(
            saffron("0 0 */2 * MON").split(' ').nth(2),
            Some("1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31")
        );
        assert_eq!(
            saffron("0 0 1 * 0-6"),
            "0 0 1 * SUN,MON,TUE,WED,THU,FRI,SAT"
        );
        // A full field next to a `*`-containing one collapses to `*`.
        assert_eq!(saffron("0 0 1-31 * */2"), "0 0 * * SUN,TUE,THU,SAT");
        assert_eq!(
            saffron("0 0 */2 * 0-7"),
            "0 0 1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31 * *"
        );
    }

    #[test]
    fn a_day_list_with_a_bare_star_is_unrestricted() {
        // Day-of-week `*,MON` is every day *and* unrestricted: only the 1st counts.
        assert_eq!(saffron("0 0 1 * *,MON"), "0 0 1 * *");
        assert_eq!(saffron("0 0 1 * MON,*"), "0 0 1 * *");
        assert_eq!(saffron("0 0 1,15 * SAT,*,SUN"), "0 0 1,15 * *");
        assert_eq!(saffron("0 0 1 * ?,MON"), "0 0 1 * *");
        // Day-of-month `*,15` likewise: only Mondays count.
        assert_eq!(saffron("0 0 *,15 * MON"), "0 0 * * MON");
        assert_eq!(saffron("0 0 15,* * MON-FRI"), "0 0 * * MON,TUE,WED,THU,FRI");
        // Both: every day.
        assert_eq!(saffron("0 0 *,1 * *,MON"), "0 0 * * *");
        // A stepped `*/n` item is not a bare `*`: the field stays restricted (OR rule).
        assert_eq!(saffron("0 0 1 * */2,MON"), "0 0 1 * SUN,MON,TUE,THU,SAT");
        assert_eq!(saffron("0 0 */10,5 * MON"), "0 0 1,5,11,21,31 * MON");
    }

    #[test]
    fn fixed_time_is_cronies_first_character_rule() {
        let fixed = |e: &str| translate(e).map(|t| t.fixed_time).ok();
        assert_eq!(fixed("30 1 * * *"), Some(true));
        assert_eq!(fixed("0,30 1 * * *"), Some(true));
        assert_eq!(fixed("0 9-17 * * *"), Some(true));
        assert_eq!(fixed("*/15 * * * *"), Some(false));
        assert_eq!(fixed("0 */2 * * *"), Some(false));
        assert_eq!(fixed("*/30 1 * * *"), Some(false));
        assert_eq!(fixed("@daily"), Some(true));
        assert_eq!(fixed("@hourly"), Some(false));
    }

    #[test]
    fn rejections_say_which_field_and_why() {
        assert_eq!(
            reason("0 9 * * 8"),
            "day-of-week 8 is out of range 0-7 (0 and 7 are Sunday) in field 5"
        );
        assert_eq!(
            reason("61 * * * *"),
            "minute 61 is out of range 0-59 in field 1"
        );
        assert_eq!(
            reason("0 24 * * *"),
            "hour 24 is out of range 0-23 in field 2"
        );
        assert_eq!(
            reason("0 0 0 * *"),
            "day-of-month 0 is out of range 1-31 in field 3"
        );
        assert_eq!(
            reason("0 0 * 13 *"),
            "month 13 is out of range 1-12 (or JAN-DEC) in field 4"
        );
        assert!(
            reason("* * *").contains("expected 5 fields"),
            "{}",
            reason("* * *")
        );
        assert!(reason("0 0 0 * * *").contains("no seconds or year field"));
        assert!(reason("abc").contains("found 1"));
        assert!(reason("5-1/0 * * * *").contains("step in `5-1/0` is 0 in field 1 (minute)"));
        assert!(reason("*/61 * * * *").contains("out of range 1-60"));
        assert!(reason("0 0 L * *").contains("Quartz"));
        assert!(reason("0 0 15W * *").contains("Quartz"));
        assert!(reason("0 0 LW * *").contains("Quartz"));
        assert!(reason("0 0 L-3 * *").contains("Quartz"));
        assert!(reason("0 0 * * 6#3").contains("Quartz"));
        assert!(reason("0 0 * * FRI#3").contains("Quartz"));
        assert!(reason("0 0 * * 5L").contains("Quartz"));
        assert!(reason("? * * * *").contains("only allowed in the day-of-month and day-of-week"));
        assert!(reason("0 0 ?/2 * *").contains("cannot take a step"));
        assert!(reason("MON * * * *").contains("names are only allowed"));
        assert!(reason("0 0 * FOO *").contains("not a known month name"));
        assert!(reason("0 0 * * FOO").contains("not a known day-of-week name"));
        assert!(reason("-1 * * * *").contains("value on both sides"));
        assert!(reason("1-2-3 * * * *").contains("more than one `-`"));
        assert!(reason("1,,2 * * * *").contains("empty item"));
        assert!(reason("*/ * * * *").contains("no step"));
        assert!(reason("/5 * * * *").contains("nothing before `/`"));
        assert!(reason("*/x * * * *").contains("not a whole number"));
        assert!(reason("99999999999 * * * *").contains("out of range 0-59"));
        assert!(reason("").contains("empty"));
        assert!(reason("@reboot").contains("not supported"));
        assert!(reason("@often").contains("unknown nickname"));
        assert!(reason("@daily 5").contains("stand alone"));
    }
}
