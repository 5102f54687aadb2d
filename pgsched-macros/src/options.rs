//! The job's options (`name`, `priority`, `max_retries`, `misfire_grace`, `timeout`), and the
//! helpers every option parser uses to read a value.

use std::collections::HashSet;
use std::time::Duration;

use pgsched_names::{Key, KeyProblem};
use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, Lit, LitStr, Meta, Token};

use crate::errors::Errors;
use crate::flavor::Flavor;
use crate::model::{Defaults, MisfireGrace};

/// The options every job attribute accepts, in the order the error message lists them.
const OPTIONS: [&str; 5] = [
    "name",
    "priority",
    "max_retries",
    "misfire_grace",
    "timeout",
];
/// The four priority levels, as written in `priority = …`.
const PRIORITIES: [&str; 4] = ["Critical", "High", "Normal", "Low"];

const MISFIRE_GRACE: &str = r#"expected a duration like "30s", "5m", "2h" or "never""#;
const TIMEOUT: &str =
    r#"expected a non-zero duration like "30s", "5m" or "2h" (leave `timeout` out for no timeout)"#;

/// The parsed options: a name if one was given, and the defaults.
#[derive(Default)]
pub(crate) struct Options {
    /// The job name, if given.
    pub(crate) name: Option<String>,
    /// The defaults.
    pub(crate) defaults: Defaults,
}

pub(crate) fn parse_options<F: Flavor>(
    attr: TokenStream,
    flavor: &mut F,
    errors: &mut Errors,
) -> Options {
    let mut options = Options::default();
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr) {
        Ok(metas) => metas,
        Err(error) => {
            errors.push(error);
            return options;
        }
    };
    let known = || F::OPTIONS.iter().chain(&OPTIONS).copied();
    let mut seen = HashSet::new();
    for meta in metas {
        let path = meta.path();
        let key = match path.get_ident() {
            Some(ident) if known().any(|option| ident == option) => ident.to_string(),
            _ => {
                let shown = path.to_token_stream().to_string().replace(' ', "");
                let expected = known().collect::<Vec<_>>().join(", ");
                errors.push(syn::Error::new_spanned(
                    path,
                    format!(
                        "unknown {} option `{shown}`; expected one of: {expected}",
                        F::ATTR
                    ),
                ));
                continue;
            }
        };
        if !seen.insert(key.clone()) {
            errors.push(syn::Error::new_spanned(
                path,
                format!("duplicate {} option `{key}`: set it once", F::ATTR),
            ));
            continue;
        }
        if F::OPTIONS.contains(&key.as_str()) {
            flavor.option(&key, &meta);
            continue;
        }
        let value = match option_value(&meta, &key, example(&key)) {
            Ok(value) => value,
            Err(error) => {
                errors.push(error);
                continue;
            }
        };
        let result = match key.as_str() {
            "name" => parse_name(value).map(|name| options.name = Some(name)),
            "priority" => parse_priority(value).map(|p| options.defaults.priority = p),
            "max_retries" => parse_max_retries(value).map(|n| options.defaults.max_retries = n),
            "misfire_grace" => {
                parse_misfire_grace(value).map(|grace| options.defaults.misfire_grace = grace)
            }
            _ => parse_timeout(value).map(|ms| options.defaults.timeout_ms = Some(ms)),
        };
        if let Err(error) = result {
            errors.push(error);
        }
    }
    options
}

/// The value of `key = value`; any other form is refused with `key = example` as the fix.
///
/// # Errors
/// On the option, when it has no `= value`.
pub(crate) fn option_value<'a>(meta: &'a Meta, key: &str, example: &str) -> syn::Result<&'a Expr> {
    match meta {
        Meta::NameValue(name_value) => Ok(&name_value.value),
        other => Err(syn::Error::new_spanned(
            other,
            format!("expected a value: `{key} = {example}`"),
        )),
    }
}

/// An example value for an option, used in messages.
fn example(key: &str) -> &'static str {
    match key {
        "name" => r#""send_email""#,
        "priority" => "High",
        "max_retries" => "3",
        "misfire_grace" => r#""5m""#,
        _ => r#""30s""#,
    }
}

/// Looks through the invisible groups a `macro_rules!` expansion may wrap a value in.
pub(crate) fn ungroup(mut expr: &Expr) -> &Expr {
    while let Expr::Group(group) = expr {
        expr = &group.expr;
    }
    expr
}

/// The string literal `value` is, if it is one.
pub(crate) fn string_literal(value: &Expr) -> Option<&LitStr> {
    match ungroup(value) {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(lit), ..
        }) => Some(lit),
        _ => None,
    }
}

fn parse_name(value: &Expr) -> syn::Result<String> {
    let Some(lit) = string_literal(value) else {
        return Err(syn::Error::new_spanned(
            value,
            r#"expected a string literal like `name = "send_email"`"#,
        ));
    };
    stored_key(
        lit,
        Key::JOB_NAME,
        r#"name = "send_email""#,
        "leave `name` out to use the fn name",
    )
}

/// The text of `lit`, checked with the runtime's rule for `key` (non-empty, bounded, no NUL);
/// an empty one is refused with `example` and `default` (how to leave the option out) as fixes.
///
/// # Errors
/// On the literal, the rule it breaks phrased as the fix.
pub(crate) fn stored_key(
    lit: &LitStr,
    key: Key,
    example: &str,
    default: &str,
) -> syn::Result<String> {
    let value = lit.value();
    let what = key.what;
    // "name" for a job name, "key" for a dedup key.
    let noun = what.rsplit(' ').next().unwrap_or(what);
    let problem = match key.check(&value) {
        Ok(()) => return Ok(value),
        Err(KeyProblem::Empty) => {
            format!("a {what} cannot be empty; write one like `{example}` or {default}")
        }
        Err(KeyProblem::TooLong { len, max_bytes }) => format!(
            "a {what} can be at most {max_bytes} bytes (this one has {len}); choose a shorter {noun}"
        ),
        Err(KeyProblem::Nul) => {
            format!("a {what} cannot contain NUL characters (`\\0`); remove them")
        }
    };
    Err(syn::Error::new_spanned(lit, problem))
}

fn parse_priority(value: &Expr) -> syn::Result<&'static str> {
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
        "expected a priority: one of Critical, High, Normal, Low (like `priority = High`)",
    ))
}

fn parse_max_retries(value: &Expr) -> syn::Result<u32> {
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
        "expected a whole number of retries that fits in u32, like `max_retries = 3`",
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
