//! Option parsing, driven by tables: each attribute lists its options once, as
//! [`OptionSpec`]s (key, example value, parser), and that one list decides which keys are
//! known, produces the "expected one of" help, the "expected a value: `key = example`" fix, and
//! dispatches each option written to its parser. Also the helpers parsers read values with.

use std::collections::HashSet;

use pgsched_names::{Key, KeyProblem};
use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, LitStr, Meta, Token};

use crate::errors::Errors;
use crate::flavor::Flavor;
use crate::job_options::{JOB_OPTIONS, JobOptions};

/// One option an attribute accepts, as a row of its table.
pub(crate) struct OptionSpec<T> {
    /// The key, like `max_retries`.
    pub(crate) key: &'static str,
    /// A value to show in fixes, as written in source, like `3` or `"30s"`.
    pub(crate) example: &'static str,
    /// Takes the option into `T`; called once per key, in the order written.
    pub(crate) parse: fn(&mut T, Given<'_>) -> syn::Result<()>,
}

impl<T> OptionSpec<T> {
    /// A row: `key`, a value to show in fixes, and the parser.
    pub(crate) const fn new(
        key: &'static str,
        example: &'static str,
        parse: fn(&mut T, Given<'_>) -> syn::Result<()>,
    ) -> Self {
        OptionSpec {
            key,
            example,
            parse,
        }
    }
}

/// An option as written, with its table row's key and example for messages.
#[derive(Clone, Copy)]
pub(crate) struct Given<'a> {
    /// The option: `key`, `key = value` or `key(…)`.
    pub(crate) meta: &'a Meta,
    key: &'static str,
    example: &'static str,
}

impl<'a> Given<'a> {
    /// `key = example`, as a fix in messages.
    pub(crate) fn usage(&self) -> String {
        format!("{} = {}", self.key, self.example)
    }

    /// The value of `key = value`.
    ///
    /// # Errors
    /// On the option, with `key = example` as the fix, when it has no `= value`.
    pub(crate) fn value(&self) -> syn::Result<&'a Expr> {
        match self.meta {
            Meta::NameValue(name_value) => Ok(&name_value.value),
            other => Err(syn::Error::new_spanned(
                other,
                format!("expected a value: `{}`", self.usage()),
            )),
        }
    }

    /// The value of `key = value` as `read` reads it (through `macro_rules!` groups).
    ///
    /// # Errors
    /// On the option without a value; on the value, with `expected()` as the message, when
    /// `read` finds nothing in it.
    pub(crate) fn read<T>(
        &self,
        read: impl FnOnce(&'a Expr) -> Option<T>,
        expected: impl FnOnce() -> String,
    ) -> syn::Result<T> {
        let value = self.value()?;
        read(ungroup(value)).ok_or_else(|| syn::Error::new_spanned(value, expected()))
    }

    /// The string literal of `key = "…"`. `what` names what the string holds in the message
    /// (`Some("a cron expression")`), or `None` when "a string literal" says it all.
    ///
    /// # Errors
    /// On the option without a value, or on a value that is not a string literal.
    pub(crate) fn string(&self, what: Option<&str>) -> syn::Result<&'a LitStr> {
        let value = self.value()?;
        string_literal(value).ok_or_else(|| {
            let message = match what {
                Some(what) => format!(
                    "expected {what} in a string literal, like `{}`",
                    self.usage()
                ),
                None => format!("expected a string literal like `{}`", self.usage()),
            };
            syn::Error::new_spanned(value, message)
        })
    }

    /// The text of `key = "…"`, checked with the runtime's rule for `rule` (non-empty,
    /// bounded, no NUL; see `pgsched-names`). `default` says how leaving the option out
    /// behaves, as the alternative fix for an empty one.
    ///
    /// # Errors
    /// On the value: not a string literal, or the rule it breaks phrased as the fix.
    pub(crate) fn stored_key(&self, rule: Key, default: &str) -> syn::Result<String> {
        let lit = self.string(None)?;
        let value = lit.value();
        let what = rule.what;
        // "name" for a job name, "key" for a dedup key.
        let noun = what.rsplit(' ').next().unwrap_or(what);
        let problem = match rule.check(&value) {
            Ok(()) => return Ok(value),
            Err(KeyProblem::Empty) => format!(
                "a {what} cannot be empty; write one like `{}` or {default}",
                self.usage()
            ),
            Err(KeyProblem::TooLong { len, max_bytes }) => format!(
                "a {what} can be at most {max_bytes} bytes (this one has {len}); choose a shorter {noun}"
            ),
            Err(KeyProblem::Nul) => {
                format!("a {what} cannot contain NUL characters (`\\0`); remove them")
            }
        };
        Err(syn::Error::new_spanned(lit, problem))
    }
}

/// Parses the attribute's options: the flavor's table first, then the job's. Unknown keys,
/// duplicates and every parser's error are pushed to `errors`, in the order written.
pub(crate) fn parse_options<F: Flavor>(
    attr: TokenStream,
    flavor: &mut F,
    errors: &mut Errors,
) -> JobOptions {
    let mut job = JobOptions::default();
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr) {
        Ok(metas) => metas,
        Err(error) => {
            errors.push(error);
            return job;
        }
    };
    let known = || keys(F::OPTIONS).chain(keys(JOB_OPTIONS));
    let mut seen = HashSet::new();
    for meta in &metas {
        let path = meta.path();
        let Some(key) = path
            .get_ident()
            .and_then(|ident| known().find(|key| ident == key))
        else {
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
        };
        if !seen.insert(key) {
            errors.push(syn::Error::new_spanned(
                path,
                format!("duplicate {} option `{key}`: set it once", F::ATTR),
            ));
            continue;
        }
        let result = match apply(F::OPTIONS, flavor, key, meta) {
            Some(result) => result,
            None => apply(JOB_OPTIONS, &mut job, key, meta).unwrap_or(Ok(())),
        };
        if let Err(error) = result {
            errors.push(error);
        }
    }
    job
}

/// The keys of a table, in order.
fn keys<T>(table: &'static [OptionSpec<T>]) -> impl Iterator<Item = &'static str> {
    table.iter().map(|spec| spec.key)
}

/// Runs `key`'s parser from `table` on `state`; `None` if the table has no such key.
fn apply<T>(
    table: &[OptionSpec<T>],
    state: &mut T,
    key: &str,
    meta: &Meta,
) -> Option<syn::Result<()>> {
    let spec = table.iter().find(|spec| spec.key == key)?;
    let given = Given {
        meta,
        key: spec.key,
        example: spec.example,
    };
    Some((spec.parse)(state, given))
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
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Some(lit),
        _ => None,
    }
}

/// `true` or `false`, if `value` is one.
pub(crate) fn bool_literal(value: &Expr) -> Option<bool> {
    match ungroup(value) {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(lit),
            ..
        }) => Some(lit.value),
        _ => None,
    }
}
