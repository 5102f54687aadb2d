//! Flavours of the job attribute, and the driver that runs every check for one.
//!
//! Every check reports on the token the user has to change, phrased as the fix. All problems
//! found are combined into one `syn::Error` ([`Errors`]), so a single build shows them all.
//!
//! Attributes built on `#[job]` (`#[periodic]`) reuse all of it through [`Flavor`]: they add
//! their own options and may refuse job arguments, and every other check is the job's.

use proc_macro2::{Span, TokenStream};
use syn::ItemFn;
use syn::ext::IdentExt;

use crate::errors::Errors;
use crate::model::{JobDef, ParamKind};
use crate::options::{OptionSpec, parse_options};
use crate::signature::{check_signature, parse_params};

/// An attribute built on the job parser: `#[job]` itself ([`Job`]) or `#[periodic]`.
///
/// The parser runs every job check and hands the flavor its own options (its table); the
/// flavor decides whether the function may take job arguments.
pub(crate) trait Flavor: Sized + 'static {
    /// What the flavor adds to the [`JobDef`] once everything is valid.
    type Output;
    /// The attribute as shown in messages and docs, like `#[job]`.
    const ATTR: &'static str;
    /// Its own options, listed before the job's in messages. Their parsers run in the order
    /// written, at most once per key (unknown and duplicate keys are refused before), and
    /// may keep what they see for [`Flavor::finish`].
    const OPTIONS: &'static [OptionSpec<Self>];
    /// `Some(message)` if parameters other than context parameters are refused (each reported
    /// on the parameter with `message`); `None` if they are the job's arguments.
    const NO_ARGUMENTS: Option<&'static str>;

    /// Checks that involve several options, once all have been seen, and the result. Always
    /// called, so its problems are reported together with the job's: each is pushed to
    /// `errors`, on the tokens to change. `None` when the options are not valid: a problem
    /// was pushed here or by an option's parser.
    fn finish(self, errors: &mut Errors) -> Option<Self::Output>;
}

/// Plain `#[job]`: no options of its own, parameters are arguments.
pub(crate) struct Job;

impl Flavor for Job {
    type Output = ();
    const ATTR: &'static str = "#[job]";
    const OPTIONS: &'static [OptionSpec<Self>] = &[];
    const NO_ARGUMENTS: Option<&'static str> = None;

    fn finish(self, _errors: &mut Errors) -> Option<()> {
        Some(())
    }
}

impl JobDef {
    /// Parses and validates `#[job]`'s options and the function.
    ///
    /// # Errors
    /// Every problem found, combined.
    pub(crate) fn parse(attr: TokenStream, item: &ItemFn) -> syn::Result<JobDef> {
        JobDef::parse_as(attr, item, Job).map(|(def, ())| def)
    }

    /// Parses and validates the options and the function for an attribute of `flavor`.
    ///
    /// # Errors
    /// Every problem found, the flavor's included, combined.
    pub(crate) fn parse_as<F: Flavor>(
        attr: TokenStream,
        item: &ItemFn,
        mut flavor: F,
    ) -> syn::Result<(JobDef, F::Output)> {
        let mut errors = Errors::new(F::ATTR);
        let options = parse_options(attr, &mut flavor, &mut errors);
        let output = flavor.finish(&mut errors);
        check_signature(&item.sig, &mut errors);
        let params = parse_params(&item.sig, F::NO_ARGUMENTS, &mut errors);
        if let Some(key) = &options.concurrency_key {
            let is_argument = params
                .iter()
                .any(|param| param.kind == ParamKind::Arg && param.ident == *key);
            if !is_argument {
                errors.push(syn::Error::new_spanned(
                    key,
                    format!("`concurrency_key = {key}` must name one of the job's arguments; `{key}` is not one"),
                ));
            }
        }
        errors.finish()?;
        let output = output.ok_or_else(|| {
            syn::Error::new(
                Span::call_site(),
                format!("{} refused its options without saying why; this is a bug in pgsched-macros, please report it", F::ATTR),
            )
        })?;
        let name = match options.name {
            Some(name) => name,
            None => item.sig.ident.unraw().to_string(),
        };
        let def = JobDef {
            attr: F::ATTR,
            item: item.clone(),
            name,
            defaults: options.defaults,
            params,
            upgrades: options.upgrades,
            concurrency_key: options.concurrency_key,
        };
        Ok((def, output))
    }
}
