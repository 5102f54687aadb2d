//! `#[periodic(...)]` and its function → a validated [`PeriodicDef`].
//!
//! A periodic job is a job: its function and the job options go through [`JobDef::parse_as`]
//! unchanged. This module adds the schedule options (checked with `pgsched-cron`, the parser
//! the runtime uses, so what compiles is what runs) and refuses job arguments: every run of a
//! periodic job is the same.

use pgsched_cron::{CronError, CronSchedule};
use pgsched_names::Key;
use proc_macro2::Span;
use syn::{ItemFn, LitStr, Meta};

use crate::errors::Errors;
use crate::flavor::Flavor;
use crate::model::JobDef;
use crate::options::{Given, OptionSpec, bool_literal};

/// The attribute, as shown in messages.
const ATTR: &str = "#[periodic]";
/// Any valid expression, to check a time zone on its own.
const ANY_CRON: &str = "* * * * *";

const NO_ARGUMENTS: &str = "#[periodic] functions take no arguments (only `JobContext` or `State<T>` parameters): each run is the same";
const NO_SCHEDULE: &str = "#[periodic] needs a schedule: `cron = \"…\"` or `every = \"…\"`";
const TWO_SCHEDULES: &str =
    "#[periodic] takes one schedule: keep either `cron = \"…\"` or `every = \"…\"`, not both";
const TZ_WITH_EVERY: &str =
    "`tz` only applies to `cron` schedules; `every` intervals are time-zone independent";
const ADVISORY_LOCK: &str =
    "expected `advisory_lock`, `advisory_lock = true` or `advisory_lock = false`";
const ENABLED: &str = "expected `enabled = true` or `enabled = false`";

/// A `#[periodic]` function that passed every check.
pub(crate) struct PeriodicDef {
    /// The job, exactly as `#[job]` would define it (without arguments).
    pub(crate) job: JobDef,
    /// When it runs.
    pub(crate) schedule: Schedule,
    /// The key its windows are deduplicated by, if given.
    pub(crate) dedup_key: Option<String>,
    /// Whether runs never overlap (the job row's exclusive key).
    pub(crate) advisory_lock: bool,
    /// Whether the schedule starts enabled.
    pub(crate) enabled: bool,
}

impl PeriodicDef {
    /// Parses and validates the attribute's options and the function.
    ///
    /// # Errors
    /// Every problem found, the job's included, combined.
    pub(crate) fn parse(attr: proc_macro2::TokenStream, item: &ItemFn) -> syn::Result<Self> {
        let (job, settings) = JobDef::parse_as(attr, item, Periodic::default())?;
        Ok(PeriodicDef {
            job,
            schedule: settings.schedule,
            dedup_key: settings.dedup_key,
            advisory_lock: settings.advisory_lock,
            enabled: settings.enabled,
        })
    }
}

/// A validated schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Schedule {
    /// A cron expression, as written, in a time zone (`None`: UTC).
    Cron {
        /// The expression.
        expr: String,
        /// The IANA zone name.
        tz: Option<String>,
    },
    /// A fixed interval, in whole milliseconds, non-zero.
    Every {
        /// The interval.
        millis: u64,
    },
}

/// What `#[periodic]` adds to the job, once valid.
struct Settings {
    schedule: Schedule,
    dedup_key: Option<String>,
    advisory_lock: bool,
    enabled: bool,
}

/// `#[periodic]` as a [`Flavor`] of `#[job]`: the options seen so far.
struct Periodic {
    /// Whether `cron` or `every` was written, even if its value was refused.
    has_schedule: bool,
    /// Whether a second schedule was written (then `tz` may belong to either).
    two_schedules: bool,
    cron: Option<LitStr>,
    /// The `every` interval in milliseconds, once valid.
    every: Option<u64>,
    tz: Option<LitStr>,
    dedup_key: Option<String>,
    advisory_lock: bool,
    enabled: bool,
}

impl Default for Periodic {
    fn default() -> Self {
        Periodic {
            has_schedule: false,
            two_schedules: false,
            cron: None,
            every: None,
            tz: None,
            dedup_key: None,
            advisory_lock: false,
            enabled: true,
        }
    }
}

impl Flavor for Periodic {
    type Output = Settings;
    const ATTR: &'static str = ATTR;
    const OPTIONS: &'static [OptionSpec<Self>] = &[
        OptionSpec::new("cron", r#""0 9 * * MON-FRI""#, Periodic::cron),
        OptionSpec::new("every", r#""15m""#, Periodic::every),
        OptionSpec::new("tz", r#""Europe/London""#, Periodic::tz),
        OptionSpec::new("advisory_lock", "true", Periodic::advisory_lock),
        OptionSpec::new("enabled", "false", Periodic::enabled),
        OptionSpec::new("dedup_key", r#""nightly-report""#, Periodic::dedup_key),
    ];
    const NO_ARGUMENTS: Option<&'static str> = Some(NO_ARGUMENTS);

    fn finish(self, errors: &mut Errors) -> Option<Settings> {
        let schedule = self.schedule(errors);
        if !self.has_schedule {
            errors.push(syn::Error::new(Span::call_site(), NO_SCHEDULE));
        }
        Some(Settings {
            schedule: schedule?,
            dedup_key: self.dedup_key,
            advisory_lock: self.advisory_lock,
            enabled: self.enabled,
        })
    }
}

impl Periodic {
    fn cron(&mut self, given: Given<'_>) -> syn::Result<()> {
        self.one_schedule(given)?;
        self.cron = Some(given.string(Some("a cron expression"))?.clone());
        Ok(())
    }

    fn every(&mut self, given: Given<'_>) -> syn::Result<()> {
        self.one_schedule(given)?;
        self.every = Some(interval_millis(given.string(Some("an interval"))?)?);
        Ok(())
    }

    fn tz(&mut self, given: Given<'_>) -> syn::Result<()> {
        self.tz = Some(given.string(Some("an IANA time zone"))?.clone());
        Ok(())
    }

    /// Bare `advisory_lock` means `true`.
    fn advisory_lock(&mut self, given: Given<'_>) -> syn::Result<()> {
        self.advisory_lock = match given.meta {
            Meta::Path(_) => true,
            Meta::NameValue(_) => given.read(bool_literal, || ADVISORY_LOCK.to_owned())?,
            Meta::List(list) => return Err(syn::Error::new_spanned(list, ADVISORY_LOCK)),
        };
        Ok(())
    }

    fn enabled(&mut self, given: Given<'_>) -> syn::Result<()> {
        self.enabled = given.read(bool_literal, || ENABLED.to_owned())?;
        Ok(())
    }

    fn dedup_key(&mut self, given: Given<'_>) -> syn::Result<()> {
        let default = "leave `dedup_key` out to derive it from the job name and schedule";
        self.dedup_key = Some(given.stored_key(Key::DEDUP_KEY, default)?);
        Ok(())
    }

    /// Notes a schedule option (`cron` or `every`); a second one is refused on its key.
    fn one_schedule(&mut self, given: Given<'_>) -> syn::Result<()> {
        if self.has_schedule {
            self.two_schedules = true;
            return Err(syn::Error::new_spanned(given.meta.path(), TWO_SCHEDULES));
        }
        self.has_schedule = true;
        Ok(())
    }

    /// The schedule, if its options are valid; problems go to `errors`.
    fn schedule(&self, errors: &mut Errors) -> Option<Schedule> {
        if let Some(every) = self.every {
            if let Some(tz) = &self.tz
                && !self.two_schedules
            {
                errors.push(syn::Error::new_spanned(tz, TZ_WITH_EVERY));
            }
            return Some(Schedule::Every { millis: every });
        }
        let cron = self.cron.as_ref()?;
        let tz = self.tz.as_ref();
        let expr = cron.value();
        let zone = tz.map(LitStr::value);
        // The expression and the zone are checked apart first, so a mistake in each is
        // reported on its own literal, then together as the runtime will.
        let mut failed = false;
        let alone = [
            Some(CronSchedule::parse(&expr, None)),
            zone.as_deref()
                .map(|zone| CronSchedule::parse(ANY_CRON, Some(zone))),
        ];
        for error in alone.into_iter().flatten().filter_map(Result::err) {
            errors.push(cron_error(&error, cron, tz));
            failed = true;
        }
        if !failed && let Err(error) = CronSchedule::parse(&expr, zone.as_deref()) {
            errors.push(cron_error(&error, cron, tz));
            failed = true;
        }
        (!failed).then_some(Schedule::Cron { expr, tz: zone })
    }
}

/// The interval in `lit`, in milliseconds, as the runtime will read it.
fn interval_millis(lit: &LitStr) -> syn::Result<u64> {
    let duration = pgsched_cron::parse_interval(&lit.value())
        .map_err(|error| syn::Error::new_spanned(lit, error))?;
    u64::try_from(duration.as_millis()).map_err(|_| {
        syn::Error::new_spanned(
            lit,
            format!(
                "invalid interval {:?}: too long; use at most {} ms",
                lit.value(),
                u64::MAX
            ),
        )
    })
}

/// A `pgsched-cron` error, on the literal it is about: the zone's or the expression's.
fn cron_error(error: &CronError, cron: &LitStr, tz: Option<&LitStr>) -> syn::Error {
    match (error, tz) {
        (CronError::UnknownTimeZone { .. }, Some(tz)) => syn::Error::new_spanned(tz, error),
        _ => syn::Error::new_spanned(cron, error),
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;

    use super::*;
    use crate::model::ParamKind;
    use crate::testing;
    use pgsched_names::MAX_DEDUP_KEY_BYTES;

    // The wording, generated from the options table, checked to the letter.
    const CRON_LITERAL: &str =
        r#"expected a cron expression in a string literal, like `cron = "0 9 * * MON-FRI"`"#;
    const EVERY_LITERAL: &str = r#"expected an interval in a string literal, like `every = "15m"`"#;
    const TZ_LITERAL: &str =
        r#"expected an IANA time zone in a string literal, like `tz = "Europe/London"`"#;
    const DEDUP_KEY_LITERAL: &str =
        r#"expected a string literal like `dedup_key = "nightly-report"`"#;

    fn parse(attr: TokenStream, item: TokenStream) -> syn::Result<PeriodicDef> {
        let item: ItemFn = syn::parse2(item).expect("test input is a fn");
        PeriodicDef::parse(attr, &item)
    }

    fn valid(attr: TokenStream) -> PeriodicDef {
        parse(
            attr,
            quote!(
                async fn tick() {}
            ),
        )
        .unwrap_or_else(|error| panic!("valid: {error}"))
    }

    fn messages(attr: TokenStream, item: TokenStream) -> Vec<String> {
        match parse(attr, item) {
            Ok(_) => Vec::new(),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    /// The one error for `attr` on a valid fn.
    fn message(attr: TokenStream) -> String {
        let all = messages(
            attr,
            quote!(
                async fn tick() {}
            ),
        );
        assert_eq!(all.len(), 1, "expected exactly one error, got {all:?}");
        all.into_iter().next().expect("one error")
    }

    /// Each error's message and the source text it points at (spans are only real for parsed
    /// text, so the input is a string; the call site has none).
    fn located(attr: &str, item: &str) -> Vec<(String, String)> {
        let attr: TokenStream = attr.parse().expect("attr tokens");
        let item: TokenStream = item.parse().expect("item tokens");
        testing::located(parse(attr, item))
    }

    /// The source text each error points at, for `attr` on a valid fn.
    fn spans(attr: &str) -> Vec<String> {
        located(attr, "async fn tick() {}")
            .into_iter()
            .map(|(_, span)| span)
            .collect()
    }

    #[test]
    fn schedules() {
        let def = valid(quote!(cron = "0 9 * * MON-FRI", tz = "Europe/London"));
        assert_eq!(
            def.schedule,
            Schedule::Cron {
                expr: "0 9 * * MON-FRI".into(),
                tz: Some("Europe/London".into()),
            }
        );
        assert_eq!(def.job.name, "tick");
        assert_eq!(def.job.attr, "#[periodic]");
        assert_eq!(def.dedup_key, None);
        assert!(!def.advisory_lock);
        assert!(def.enabled);

        let def = valid(quote!(cron = "@hourly"));
        assert_eq!(
            def.schedule,
            Schedule::Cron {
                expr: "@hourly".into(),
                tz: None,
            }
        );
        // The tz may come first.
        let def = valid(quote!(tz = "UTC", cron = "*/5 * * * *"));
        assert_eq!(
            def.schedule,
            Schedule::Cron {
                expr: "*/5 * * * *".into(),
                tz: Some("UTC".into()),
            }
        );

        assert_eq!(
            valid(quote!(every = "15m")).schedule,
            Schedule::Every { millis: 900_000 }
        );
        assert_eq!(
            valid(quote!(every = "1h 30m 250ms")).schedule,
            Schedule::Every { millis: 5_400_250 }
        );
    }

    #[test]
    fn all_options() {
        let def = valid(quote!(
            every = "1m",
            advisory_lock,
            enabled = false,
            dedup_key = "tick.v1",
            name = "tick.every-minute",
            priority = High,
            max_retries = 2,
            misfire_grace = "30s",
            timeout = "10s"
        ));
        assert_eq!(def.schedule, Schedule::Every { millis: 60_000 });
        assert!(def.advisory_lock);
        assert!(!def.enabled);
        assert_eq!(def.dedup_key.as_deref(), Some("tick.v1"));
        assert_eq!(def.job.name, "tick.every-minute");
        assert_eq!(def.job.defaults.priority, "High");
        assert_eq!(def.job.defaults.max_retries, 2);
        assert_eq!(def.job.defaults.timeout_ms, Some(10_000));

        assert!(valid(quote!(every = "1m", advisory_lock = true)).advisory_lock);
        assert!(!valid(quote!(every = "1m", advisory_lock = false)).advisory_lock);
        assert!(valid(quote!(every = "1m", enabled = true)).enabled);
        let max = "k".repeat(MAX_DEDUP_KEY_BYTES);
        assert_eq!(
            valid(quote!(every = "1m", dedup_key = #max)).dedup_key,
            Some(max)
        );
    }

    #[test]
    fn context_parameters_only() {
        let def = parse(
            quote!(every = "1m"),
            quote!(
                async fn tick(ctx: JobContext, db: pgsched::State<Pool>) -> Result<(), E> {}
            ),
        )
        .expect("valid");
        assert!(def.job.params.iter().all(|p| p.kind == ParamKind::Context));
        assert_eq!(def.job.schema(), "");

        assert_eq!(
            located(
                "every = \"1m\"",
                "async fn tick(ctx: JobContext, x: u32) {}"
            ),
            [(NO_ARGUMENTS.to_owned(), "x: u32".to_owned())]
        );
        // One error per argument, whatever else is wrong with it.
        assert_eq!(
            messages(
                quote!(every = "1m"),
                quote!(
                    async fn tick(a: &str, (b, c): (u8, u8), d: impl Clone) {}
                )
            ),
            [NO_ARGUMENTS; 3]
        );
        // The job's own checks still apply, named after the attribute.
        assert_eq!(
            messages(
                quote!(every = "1m"),
                quote!(
                    fn tick(&self, _: JobContext) {}
                )
            ),
            [
                "#[periodic] functions must be `async fn`",
                "#[periodic] cannot take `self`: put the job on a free `async fn` (methods have no stable name to dispatch to)",
                "#[periodic] arguments must be plain identifiers like `to: String`",
            ]
        );
    }

    #[test]
    fn invalid_cron() {
        assert_eq!(
            located(r#"cron = "0 9 * * 8""#, "async fn tick() {}"),
            [(
                r#"invalid cron expression "0 9 * * 8": day-of-week 8 is out of range 0-7 (0 and 7 are Sunday) in field 5"#.to_owned(),
                r#""0 9 * * 8""#.to_owned()
            )]
        );
        assert!(
            message(quote!(cron = "* * *")).starts_with(r#"invalid cron expression "* * *": "#)
        );
        assert_eq!(message(quote!(cron = 5)), CRON_LITERAL);
        assert_eq!(
            message(quote!(cron)),
            r#"expected a value: `cron = "0 9 * * MON-FRI"`"#
        );
    }

    #[test]
    fn time_zones() {
        let errors = located(
            r#"cron = "0 9 * * *", tz = "Europe/Londn""#,
            "async fn tick() {}",
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].1, r#""Europe/Londn""#);
        assert!(
            errors[0]
                .0
                .starts_with(r#"unknown time zone "Europe/Londn": "#),
            "{errors:?}"
        );
        assert!(message(quote!(cron = "0 9 * * *", tz = "europe/london")).contains("did you mean"));
        // A bad expression and a bad zone: each on its own literal, in order.
        assert_eq!(
            spans(r#"tz = "Nowhere", cron = "0 9 * * 8""#),
            [r#""0 9 * * 8""#, r#""Nowhere""#]
        );
        assert_eq!(
            located(
                r#"every = "15m", tz = "Europe/London""#,
                "async fn tick() {}"
            ),
            [(TZ_WITH_EVERY.to_owned(), r#""Europe/London""#.to_owned())]
        );
        assert_eq!(message(quote!(cron = "@daily", tz = Utc)), TZ_LITERAL);
    }

    #[test]
    fn one_schedule() {
        assert_eq!(
            located(r#"cron = "@daily", every = "1h""#, "async fn tick() {}"),
            [(TWO_SCHEDULES.to_owned(), "every".to_owned())]
        );
        assert_eq!(
            spans(r#"every = "1h", tz = "UTC", cron = "@daily""#),
            ["cron"]
        );
        // Even when the first one's value is refused.
        assert_eq!(spans(r#"cron = 5, every = "1h""#), ["5", "every"]);
        assert_eq!(message(quote!()), NO_SCHEDULE);
        assert_eq!(message(quote!(tz = "UTC", advisory_lock)), NO_SCHEDULE);
        // A schedule whose value was refused is not also missing.
        assert_eq!(message(quote!(every = 15)), EVERY_LITERAL);
    }

    #[test]
    fn intervals() {
        assert_eq!(
            located(r#"every = "0s""#, "async fn tick() {}"),
            [(
                r#"invalid interval "0s": the interval must be greater than zero"#.to_owned(),
                r#""0s""#.to_owned()
            )]
        );
        let soon = located(r#"every = "soon""#, "async fn tick() {}");
        assert_eq!(soon.len(), 1);
        assert_eq!(soon[0].1, r#""soon""#);
        assert!(
            soon[0].0.starts_with(r#"invalid interval "soon": "#),
            "{soon:?}"
        );
        assert!(message(quote!(every = "1500us")).contains("whole number of milliseconds"));
    }

    #[test]
    fn flags_and_keys() {
        // Each option (after a valid schedule), its one error and what it points at.
        let cases: &[(&str, &str, &str)] = &[
            ("advisory_lock = 1", ADVISORY_LOCK, "1"),
            ("advisory_lock = yes", ADVISORY_LOCK, "yes"),
            ("advisory_lock(true)", ADVISORY_LOCK, "advisory_lock(true)"),
            ("enabled", "expected a value: `enabled = false`", "enabled"),
            (r#"enabled = "no""#, ENABLED, r#""no""#),
            (
                r#"dedup_key = """#,
                r#"a dedup key cannot be empty; write one like `dedup_key = "nightly-report"` or leave `dedup_key` out to derive it from the job name and schedule"#,
                r#""""#,
            ),
            (
                r#"dedup_key = "a\0b""#,
                "a dedup key cannot contain NUL characters (`\\0`); remove them",
                r#""a\0b""#,
            ),
            ("dedup_key = key", DEDUP_KEY_LITERAL, "key"),
        ];
        for (option, message, span) in cases {
            assert_eq!(
                located(&format!(r#"every = "1m", {option}"#), "async fn tick() {}"),
                [((*message).to_owned(), (*span).to_owned())],
                "{option}"
            );
        }
        let long = "k".repeat(MAX_DEDUP_KEY_BYTES + 1);
        assert_eq!(
            message(quote!(every = "1m", dedup_key = #long)),
            format!(
                "a dedup key can be at most {MAX_DEDUP_KEY_BYTES} bytes (this one has {}); choose a shorter key",
                MAX_DEDUP_KEY_BYTES + 1
            )
        );
        assert_eq!(
            MAX_DEDUP_KEY_BYTES, 512,
            "the limit the attribute docs in lib.rs state"
        );
    }

    #[test]
    fn option_names() {
        assert_eq!(
            message(quote!(every = "1m", crom = "@daily")),
            "unknown #[periodic] option `crom`; expected one of: cron, every, tz, advisory_lock, enabled, dedup_key, name, queue, priority, max_retries, misfire_grace, timeout, concurrency_key, concurrency, on_parent_failure, upgrade"
        );
        assert_eq!(spans(r#"cron = "@daily", cron = "@hourly""#), ["cron"]);
        assert_eq!(
            message(quote!(every = "1m", every = "2m")),
            "duplicate #[periodic] option `every`: set it once"
        );
        assert_eq!(
            message(quote!(every = "1m", timeout = "0s")),
            r#"expected a non-zero duration like "30s", "5m" or "2h" (leave `timeout` out for no timeout)"#
        );
    }

    #[test]
    fn all_errors_together() {
        assert_eq!(
            messages(
                quote!(tz = "UTC", priority = Urgent),
                quote!(
                    fn tick(x: u32) {}
                )
            ),
            [
                "expected a priority: one of Critical, High, Normal, Low (like `priority = High`)",
                NO_SCHEDULE,
                "#[periodic] functions must be `async fn`",
                NO_ARGUMENTS,
            ]
        );
    }
}
