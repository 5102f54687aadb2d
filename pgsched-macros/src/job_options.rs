//! The options every job attribute accepts (`name`, `priority`, `max_retries`,
//! `misfire_grace`, `timeout`): their table and their parsers.

use std::time::Duration;

use pgsched_names::Key;
use syn::{Expr, Lit};

use crate::model::{Defaults, MisfireGrace};
use crate::options::{Given, OptionSpec, string_literal, ungroup};

/// The four priority levels, as written in `priority = …`.
const PRIORITIES: [&str; 4] = ["Critical", "High", "Normal", "Low"];

const MISFIRE_GRACE: &str = r#"expected a duration like "30s", "5m", "2h" or "never""#;
const TIMEOUT: &str =
    r#"expected a non-zero duration like "30s", "5m" or "2h" (leave `timeout` out for no timeout)"#;

/// The job's options, in the order the "expected one of" help lists them.
pub(crate) const JOB_OPTIONS: &[OptionSpec<JobOptions>] = &[
    OptionSpec {
        key: "name",
        example: r#""send_email""#,
        parse: |options, given| {
            let name = given.stored_key(Key::JOB_NAME, "leave `name` out to use the fn name")?;
            options.name = Some(name);
            Ok(())
        },
    },
    OptionSpec {
        key: "priority",
        example: "High",
        parse: |options, given| {
            options.defaults.priority = parse_priority(given)?;
            Ok(())
        },
    },
    OptionSpec {
        key: "max_retries",
        example: "3",
        parse: |options, given| {
            options.defaults.max_retries = parse_max_retries(given)?;
            Ok(())
        },
    },
    OptionSpec {
        key: "misfire_grace",
        example: r#""5m""#,
        parse: |options, given| {
            options.defaults.misfire_grace = parse_misfire_grace(given.value()?)?;
            Ok(())
        },
    },
    OptionSpec {
        key: "timeout",
        example: r#""30s""#,
        parse: |options, given| {
            options.defaults.timeout_ms = Some(parse_timeout(given.value()?)?);
            Ok(())
        },
    },
];

/// The parsed options: a name if one was given, and the defaults.
#[derive(Default)]
pub(crate) struct JobOptions {
    /// The job name, if given.
    pub(crate) name: Option<String>,
    /// The defaults.
    pub(crate) defaults: Defaults,
}

fn parse_priority(given: Given<'_>) -> syn::Result<&'static str> {
    let value = given.value()?;
    if let Expr::Path(path) = ungroup(value)
        && path.qself.is_none()
        && let Some(last) = path.path.segments.last()
        && last.arguments.is_none()
        && let Some(priority) = PRIORITIES.iter().find(|p| last.ident == p)
    {
        return Ok(priority);
    }
    Err(syn::Error::new_spanned(
        value,
        format!(
            "expected a priority: one of {} (like `{}`)",
            PRIORITIES.join(", "),
            given.usage()
        ),
    ))
}

fn parse_max_retries(given: Given<'_>) -> syn::Result<u32> {
    let value = given.value()?;
    if let Expr::Lit(syn::ExprLit {
        lit: Lit::Int(lit), ..
    }) = ungroup(value)
        && matches!(lit.suffix(), "" | "u32")
        && let Ok(n) = lit.base10_parse::<u32>()
    {
        return Ok(n);
    }
    Err(syn::Error::new_spanned(
        value,
        format!(
            "expected a whole number of retries that fits in u32, like `{}`",
            given.usage()
        ),
    ))
}

/// Parses a humantime duration into whole, non-zero milliseconds.
fn duration_millis(text: &str) -> Option<u64> {
    let duration: Duration = humantime::parse_duration(text).ok()?;
    if duration.is_zero() || !duration.subsec_nanos().is_multiple_of(1_000_000) {
        return None;
    }
    u64::try_from(duration.as_millis()).ok()
}

fn parse_misfire_grace(value: &Expr) -> syn::Result<MisfireGrace> {
    let Some(lit) = string_literal(value) else {
        return Err(syn::Error::new_spanned(value, MISFIRE_GRACE));
    };
    let text = lit.value();
    if text == "never" {
        return Ok(MisfireGrace::Never);
    }
    duration_millis(&text)
        .map(MisfireGrace::AfterMillis)
        .ok_or_else(|| syn::Error::new_spanned(lit, MISFIRE_GRACE))
}

fn parse_timeout(value: &Expr) -> syn::Result<u64> {
    let Some(lit) = string_literal(value) else {
        return Err(syn::Error::new_spanned(value, TIMEOUT));
    };
    duration_millis(&lit.value()).ok_or_else(|| syn::Error::new_spanned(lit, TIMEOUT))
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;
    use crate::testing::{message, messages, parse};

    #[test]
    fn all_options() {
        let def = parse(
            quote!(
                name = "mail.v2",
                priority = Priority::High,
                max_retries = 7,
                misfire_grace = "1h 30m",
                timeout = "30s"
            ),
            quote!(
                async fn f() {}
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
            }
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
    }

    #[test]
    fn option_errors() {
        let f = quote!(
            async fn f() {}
        );
        assert_eq!(
            message(quote!(foo = 1), f.clone()),
            "unknown #[job] option `foo`; expected one of: name, priority, max_retries, misfire_grace, timeout"
        );
        assert_eq!(
            message(quote!(a::b = 1), f.clone()),
            "unknown #[job] option `a::b`; expected one of: name, priority, max_retries, misfire_grace, timeout"
        );
        assert_eq!(
            message(quote!(max_retries = 1, max_retries = 2), f.clone()),
            "duplicate #[job] option `max_retries`: set it once"
        );
        assert_eq!(
            message(quote!(priority), f.clone()),
            "expected a value: `priority = High`"
        );
        assert!(message(quote!(priority = Urgent), f.clone()).starts_with("expected a priority"));
        assert!(message(quote!(priority = 1), f.clone()).starts_with("expected a priority"));
        assert!(
            message(quote!(max_retries = -1), f.clone()).starts_with("expected a whole number")
        );
        assert!(
            message(quote!(max_retries = 4294967296), f.clone())
                .starts_with("expected a whole number")
        );
        assert!(
            message(quote!(max_retries = 3u8), f.clone()).starts_with("expected a whole number")
        );
        for bad in [
            quote!("soon"),
            quote!("0s"),
            quote!("500us"),
            quote!(5),
            quote!("Never"),
        ] {
            assert_eq!(
                message(quote!(misfire_grace = #bad), f.clone()),
                MISFIRE_GRACE
            );
        }
        for bad in [quote!("0s"), quote!("never"), quote!(30)] {
            assert_eq!(message(quote!(timeout = #bad), f.clone()), TIMEOUT);
        }
        assert!(message(quote!(name = ""), f.clone()).contains("cannot be empty"));
        assert!(message(quote!(name = "a\0b"), f.clone()).contains("NUL"));
        let long = "x".repeat(129);
        assert!(message(quote!(name = #long), f.clone()).contains("at most 128 bytes"));
        let max = "x".repeat(128);
        assert_eq!(
            parse(quote!(name = #max), f.clone()).expect("valid").name,
            max
        );
        assert!(message(quote!(name = send), f.clone()).starts_with("expected a string literal"));
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
