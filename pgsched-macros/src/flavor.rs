//! Flavours of the job attribute, and the driver that runs every check for one.
//!
//! Every check reports on the token the user has to change, phrased as the fix. All problems
//! found are combined into one `syn::Error` ([`Errors`]), so a single build shows them all.
//!
//! Attributes built on `#[job]` (`#[periodic]`) reuse all of it through [`Flavor`]: they add
//! their own options and may refuse job arguments, and every other check is the job's.

use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::{ItemFn, Meta};

use crate::errors::Errors;
use crate::model::JobDef;
use crate::options::parse_options;
use crate::signature::{check_signature, parse_params};

/// An attribute built on the job parser: `#[job]` itself ([`Job`]) or `#[periodic]`.
///
/// The parser runs every job check and hands the flavor its own options; the flavor decides
/// whether the function may take job arguments.
pub(crate) trait Flavor {
    /// What the flavor adds to the [`JobDef`] once everything is valid.
    type Output;
    /// The attribute as shown in messages and docs, like `#[job]`.
    const ATTR: &'static str;
    /// Its own options, listed before the job's in messages.
    const OPTIONS: &'static [&'static str];
    /// `Some(message)` if parameters other than context parameters are refused (each reported
    /// on the parameter with `message`); `None` if they are the job's arguments.
    const NO_ARGUMENTS: Option<&'static str>;

    /// Takes one of [`Self::OPTIONS`]. Called in the order written, at most once per key
    /// (unknown and duplicate keys are refused before this); problems are kept for
    /// [`Flavor::finish`].
    fn option(&mut self, key: &str, meta: &Meta);

    /// Checks that involve several options, once all have been seen, and the result. Always
    /// called, so its errors are reported together with the job's.
    ///
    /// # Errors
    /// Every problem with the flavor's options, combined, on the tokens to change.
    fn finish(self) -> syn::Result<Self::Output>;
}

/// Plain `#[job]`: no options of its own, parameters are arguments.
pub(crate) struct Job;

impl Flavor for Job {
    type Output = ();
    const ATTR: &'static str = "#[job]";
    const OPTIONS: &'static [&'static str] = &[];
    const NO_ARGUMENTS: Option<&'static str> = None;

    fn option(&mut self, _key: &str, _meta: &Meta) {}

    fn finish(self) -> syn::Result<()> {
        Ok(())
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
        let output = flavor.finish();
        if let Err(error) = &output {
            errors.push(error.clone());
        }
        check_signature(&item.sig, &mut errors);
        let params = parse_params(&item.sig, F::NO_ARGUMENTS, &mut errors);
        errors.finish()?;
        let output = output?;
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
        };
        Ok((def, output))
    }
}
