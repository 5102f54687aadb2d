//! The options every job attribute accepts (`name`, `queue`, `priority`, `max_retries`,
//! `misfire_grace`, `timeout`, `concurrency_key`, `concurrency`, `on_parent_failure`,
//! `upgrade`): their table and their parsers.

use std::time::Duration;

use pgsched_names::Key;
use quote::ToTokens;
use syn::{Expr, ExprLit, ExprPath, Ident, Lit, Path};

use crate::model::{Defaults, MisfireGrace};
use crate::options::{Given, OptionSpec, string_literal, ungroup};

/// The four priority levels, as written in `priority = …`.
const PRIORITIES: [&str; 4] = ["Critical", "High", "Normal", "Low"];

/// The policies of a dependent whose parent does not complete, as written in
/// `on_parent_failure = …`.
const PARENT_FAILURE_POLICIES: [&str; 2] = ["Cancel", "Run"];

const MISFIRE_GRACE: &str = r#"expected a duration like "30s", "5m", "2h" or "never""#;
const UPGRADE: &str = "expected the fn that converts an earlier version's arguments, like `upgrade = from_v1`, or a list of them, like `upgrade = [from_v1, from_v2]`";
const TIMEOUT: &str =
    r#"expected a non-zero duration like "30s", "5m" or "2h" (leave `timeout` out for no timeout)"#;

/// The job's options, in the order the "expected one of" help lists them.
pub(crate) const JOB_OPTIONS: &[OptionSpec<JobOptions>] = &[
    OptionSpec::new("name", r#""send_email""#, name),
    OptionSpec::new("queue", r#""emails""#, queue),
    OptionSpec::new("priority", "High", priority),
    OptionSpec::new("max_retries", "3", max_retries),
    OptionSpec::new("misfire_grace", r#""5m""#, misfire_grace),
    OptionSpec::new("timeout", r#""30s""#, timeout),
    OptionSpec::new("concurrency_key", "tenant_id", concurrency_key),
    OptionSpec::new("concurrency", "2", concurrency),
    OptionSpec::new("on_parent_failure", "Run", on_parent_failure),
    OptionSpec::new("upgrade", "from_v1", upgrade),
];

/// The parsed options: a name if one was given, and the defaults.
#[derive(Default)]
pub(crate) struct JobOptions {
    /// The job name, if given.
    pub(crate) name: Option<String>,
    /// The defaults.
    pub(crate) defaults: Defaults,
    /// The fns that convert earlier versions' arguments, as written.
    pub(crate) upgrades: Vec<Path>,
    /// The argument named by `concurrency_key`, checked against the parameters later.
    pub(crate) concurrency_key: Option<Ident>,
}

fn queue(options: &mut JobOptions, given: Given<'_>) -> syn::Result<()> {
    let queue = given.stored_key(Key::QUEUE_NAME, "leave `queue` out for the default queue")?;
    options.defaults.queue = Some(queue);
    Ok(())
}

fn concurrency_key(options: &mut JobOptions, given: Given<'_>) -> syn::Result<()> {
    let argument = |value: &Expr| match ungroup(value) {
        Expr::Path(ExprPath {
            qself: None, path, ..
        }) => path.get_ident().cloned(),
        _ => None,
    };
    options.concurrency_key = Some(given.read(argument, || {
        format!(
            "expected the name of one of the job's arguments, like `{}`: its value is the key",
            given.usage()
        )
    })?);
    Ok(())
}

fn concurrency(options: &mut JobOptions, given: Given<'_>) -> syn::Result<()> {
    let count = |value: &Expr| match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) if matches!(lit.suffix(), "" | "u32") => {
            lit.base10_parse::<u32>().ok().filter(|n| *n > 0)
        }
        _ => None,
    };
    options.defaults.concurrency = given.read(count, || {
        format!(
            "expected how many jobs of one concurrency key may run at once, a whole number from 1, like `{}`",
            given.usage()
        )
    })?;
    Ok(())
}

fn name(options: &mut JobOptions, given: Given<'_>) -> syn::Result<()> {
    let name = given.stored_key(Key::JOB_NAME, "leave `name` out to use the fn name")?;
    options.name = Some(name);
    Ok(())
}

/// The one of `choices` that `value` names as a bare identifier (`High`, `Run`).
fn bare_choice(value: &Expr, choices: &[&'static str]) -> Option<&'static str> {
    let Expr::Path(path) = value else { return None };
    let last = path.path.segments.last()?;
    let unqualified = path.qself.is_none() && last.arguments.is_none();
    choices
        .iter()
        .copied()
        .find(|choice| unqualified && last.ident == choice)
}

fn on_parent_failure(options: &mut JobOptions, given: Given<'_>) -> syn::Result<()> {
    let policy = |value: &Expr| bare_choice(value, &PARENT_FAILURE_POLICIES);
    options.defaults.on_parent_failure = given.read(policy, || {
        format!(
            "expected what the job does when a job it runs after fails: `Cancel` (the default) or `Run` (like `{}`)",
            given.usage()
        )
    })?;
    Ok(())
}

fn priority(options: &mut JobOptions, given: Given<'_>) -> syn::Result<()> {
    let level = |value: &Expr| bare_choice(value, &PRIORITIES);
    options.defaults.priority = given.read(level, || {
        let levels = PRIORITIES.join(", ");
        format!(
            "expected a priority: one of {levels} (like `{}`)",
            given.usage()
        )
    })?;
    Ok(())
}

fn max_retries(options: &mut JobOptions, given: Given<'_>) -> syn::Result<()> {
    let count = |value: &Expr| match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) if matches!(lit.suffix(), "" | "u32") => lit.base10_parse().ok(),
        _ => None,
    };
    let fits = || {
        let usage = given.usage();
        format!("expected a whole number of retries that fits in u32, like `{usage}`")
    };
    options.defaults.max_retries = given.read(count, fits)?;
    Ok(())
}

/// Parses a humantime duration into whole, non-zero milliseconds.
fn duration_millis(text: &str) -> Option<u64> {
    let duration: Duration = humantime::parse_duration(text).ok()?;
    if duration.is_zero() || !duration.subsec_nanos().is_multiple_of(1_000_000) {
        return None;
    }
    u64::try_from(duration.as_millis()).ok()
}

fn misfire_grace(options: &mut JobOptions, given: Given<'_>) -> syn::Result<()> {
    let value = given.value()?;
    let lit = string_literal(value).ok_or_else(|| syn::Error::new_spanned(value, MISFIRE_GRACE))?;
    let text = lit.value();
    options.defaults.misfire_grace = if text == "never" {
        MisfireGrace::Never
    } else {
        duration_millis(&text)
            .map(MisfireGrace::AfterMillis)
            .ok_or_else(|| syn::Error::new_spanned(lit, MISFIRE_GRACE))?
    };
    Ok(())
}

fn timeout(options: &mut JobOptions, given: Given<'_>) -> syn::Result<()> {
    let value = given.value()?;
    let Some(lit) = string_literal(value) else {
        return Err(syn::Error::new_spanned(value, TIMEOUT));
    };
    let millis =
        duration_millis(&lit.value()).ok_or_else(|| syn::Error::new_spanned(lit, TIMEOUT))?;
    options.defaults.timeout_ms = Some(millis);
    Ok(())
}

/// `upgrade = from_v1` or `upgrade = [from_v1, from_v2]`: paths to fns, each listed once.
/// Every bad entry is its own error.
fn upgrade(options: &mut JobOptions, given: Given<'_>) -> syn::Result<()> {
    let value = given.value()?;
    let entries: Vec<&Expr> = match ungroup(value) {
        Expr::Array(array) if array.elems.is_empty() => {
            return Err(syn::Error::new_spanned(
                value,
                "an empty list upgrades nothing: name the fns that convert earlier arguments, like `upgrade = [from_v1]`, or leave `upgrade` out",
            ));
        }
        Expr::Array(array) => array.elems.iter().collect(),
        single => vec![single],
    };
    let mut errors: Option<syn::Error> = None;
    let mut push = |error: syn::Error| match &mut errors {
        Some(first) => first.combine(error),
        None => errors = Some(error),
    };
    for entry in entries {
        let Expr::Path(ExprPath {
            qself: None,
            path,
            attrs,
        }) = ungroup(entry)
        else {
            push(syn::Error::new_spanned(entry, UPGRADE));
            continue;
        };
        if !attrs.is_empty() {
            push(syn::Error::new_spanned(entry, UPGRADE));
        } else if options.upgrades.contains(path) {
            let shown = path.to_token_stream().to_string().replace(' ', "");
            push(syn::Error::new_spanned(
                path,
                format!("upgrade `{shown}` is listed twice: list each fn once"),
            ));
        } else {
            options.upgrades.push(path.clone());
        }
    }
    errors.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use pgsched_names::MAX_JOB_NAME_BYTES;

    use super::*;
    use crate::testing::{job_errors, messages, parse};

    #[test]
    fn all_options() {
        let def = parse(
            quote!(
                name = "mail.v2",
                queue = "emails",
                priority = Priority::High,
                max_retries = 7,
                misfire_grace = "1h 30m",
                timeout = "30s",
                concurrency_key = tenant,
                concurrency = 3,
                on_parent_failure = Run
            ),
            quote!(
                async fn f(tenant: u32) {}
            ),
        )
        .expect("valid");
        assert_eq!(def.name, "mail.v2");
        assert_eq!(
            def.defaults,
            Defaults {
                priority: "High",
                max_retries: 7,
                misfire_grace: MisfireGrace::AfterMillis(5_400_000),
                timeout_ms: Some(30_000),
                queue: Some("emails".to_owned()),
                concurrency: 3,
                on_parent_failure: "Run",
            }
        );
        assert_eq!(
            def.concurrency_key.map(|key| key.to_string()).as_deref(),
            Some("tenant")
        );
        let def = parse(
            quote!(priority = Low, misfire_grace = "never"),
            quote!(
                async fn f() {}
            ),
        )
        .expect("valid");
        assert_eq!(def.defaults.priority, "Low");
        assert_eq!(def.defaults.misfire_grace, MisfireGrace::Never);
        assert_eq!(def.defaults.on_parent_failure, "Cancel", "the default");
    }

    const PRIORITY: &str =
        "expected a priority: one of Critical, High, Normal, Low (like `priority = High`)";
    const RETRIES: &str =
        "expected a whole number of retries that fits in u32, like `max_retries = 3`";
    const PARENT_FAILURE: &str = "expected what the job does when a job it runs after fails: `Cancel` (the default) or `Run` (like `on_parent_failure = Run`)";
    const UNKNOWN: &str = "expected one of: name, queue, priority, max_retries, misfire_grace, timeout, concurrency_key, concurrency, on_parent_failure, upgrade";

    /// Each attribute (on a valid fn) and its one error: message and the source text it
    /// points at.
    const ERRORS: &[(&str, &str, &str)] = &[
        ("foo = 1", "unknown #[job] option `foo`; ", "foo"),
        ("a::b = 1", "unknown #[job] option `a::b`; ", "a::b"),
        (
            "max_retries = 1, max_retries = 2",
            "duplicate #[job] option `max_retries`: set it once",
            "max_retries",
        ),
        (
            r#"timeout = "1s", timeout = "2s""#,
            "duplicate #[job] option `timeout`: set it once",
            "timeout",
        ),
        (
            "priority",
            "expected a value: `priority = High`",
            "priority",
        ),
        ("name", r#"expected a value: `name = "send_email"`"#, "name"),
        (
            "timeout(1)",
            r#"expected a value: `timeout = "30s"`"#,
            "timeout(1)",
        ),
        ("priority = Urgent", PRIORITY, "Urgent"),
        ("priority = Priority::Urgent", PRIORITY, "Priority::Urgent"),
        ("priority = 1", PRIORITY, "1"),
        ("on_parent_failure = Skip", PARENT_FAILURE, "Skip"),
        (r#"on_parent_failure = "run""#, PARENT_FAILURE, r#""run""#),
        ("max_retries = -1", RETRIES, "-1"),
        ("max_retries = 4294967296", RETRIES, "4294967296"),
        ("max_retries = 3u8", RETRIES, "3u8"),
        (r#"misfire_grace = "soon""#, MISFIRE_GRACE, r#""soon""#),
        (r#"misfire_grace = "0s""#, MISFIRE_GRACE, r#""0s""#),
        (r#"misfire_grace = "500us""#, MISFIRE_GRACE, r#""500us""#),
        (r#"misfire_grace = "Never""#, MISFIRE_GRACE, r#""Never""#),
        ("misfire_grace = 5", MISFIRE_GRACE, "5"),
        (r#"timeout = "0s""#, TIMEOUT, r#""0s""#),
        (r#"timeout = "never""#, TIMEOUT, r#""never""#),
        ("timeout = 30", TIMEOUT, "30"),
        (
            r#"name = """#,
            r#"a job name cannot be empty; write one like `name = "send_email"` or leave `name` out to use the fn name"#,
            r#""""#,
        ),
        (
            r#"name = "a\0b""#,
            "a job name cannot contain NUL characters (`\\0`); remove them",
            r#""a\0b""#,
        ),
        (
            "name = send",
            r#"expected a string literal like `name = "send_email"`"#,
            "send",
        ),
        (
            "upgrade",
            "expected a value: `upgrade = from_v1`",
            "upgrade",
        ),
        (r#"upgrade = "from_v1""#, UPGRADE, r#""from_v1""#),
        ("upgrade = from_v1()", UPGRADE, "from_v1()"),
        ("upgrade = <T>::from_v1", UPGRADE, "<T>::from_v1"),
        (
            "upgrade = []",
            "an empty list upgrades nothing: name the fns that convert earlier arguments, like `upgrade = [from_v1]`, or leave `upgrade` out",
            "[]",
        ),
        (
            "upgrade = [from_v1, from_v1]",
            "upgrade `from_v1` is listed twice: list each fn once",
            "from_v1",
        ),
    ];

    #[test]
    fn option_errors() {
        for (attr, message, span) in ERRORS {
            // Unknown keys are listed with the whole table.
            let message = if message.starts_with("unknown") {
                format!("{message}{UNKNOWN}")
            } else {
                (*message).to_owned()
            };
            assert_eq!(
                job_errors(attr, "async fn f() {}"),
                [(message, (*span).to_owned())],
                "{attr}"
            );
        }
    }

    #[test]
    fn names_follow_the_runtime_limit() {
        let max = "x".repeat(MAX_JOB_NAME_BYTES);
        assert_eq!(
            parse(
                quote!(name = #max),
                quote!(
                    async fn f() {}
                )
            )
            .expect("valid")
            .name,
            max
        );
        let long = "x".repeat(MAX_JOB_NAME_BYTES + 1);
        assert_eq!(
            messages(
                quote!(name = #long),
                quote!(
                    async fn f() {}
                )
            ),
            [format!(
                "a job name can be at most {MAX_JOB_NAME_BYTES} bytes (this one has {}); choose a shorter name",
                MAX_JOB_NAME_BYTES + 1
            )]
        );
        assert_eq!(
            MAX_JOB_NAME_BYTES, 128,
            "the limit the attribute docs in lib.rs state"
        );
    }

    #[test]
    fn upgrades_are_kept_in_order() {
        let def = parse(
            quote!(upgrade = [from_v1, old::from_v2]),
            quote!(
                async fn f() {}
            ),
        )
        .expect("valid");
        let shown: Vec<_> = def
            .upgrades
            .iter()
            .map(|path| path.to_token_stream().to_string().replace(' ', ""))
            .collect();
        assert_eq!(shown, ["from_v1", "old::from_v2"]);
    }

    #[test]
    fn every_bad_upgrade_is_its_own_error() {
        assert_eq!(
            job_errors(
                r#"upgrade = [from_v1, "v2", from_v1, 3]"#,
                "async fn f() {}"
            ),
            [
                (UPGRADE.to_owned(), r#""v2""#.to_owned()),
                (
                    "upgrade `from_v1` is listed twice: list each fn once".to_owned(),
                    "from_v1".to_owned()
                ),
                (UPGRADE.to_owned(), "3".to_owned()),
            ]
        );
    }

    #[test]
    fn errors_are_reported_together() {
        // Every bad option is reported, together with signature errors.
        assert_eq!(
            messages(
                quote!(foo = 1, timeout = "0s"),
                quote!(
                    fn f() {}
                )
            )
            .len(),
            3
        );
        // A malformed attribute is a syn parse error, still alongside the signature's.
        assert_eq!(
            messages(
                quote!(name =),
                quote!(
                    fn f() {}
                )
            )
            .len(),
            2
        );
    }
}
