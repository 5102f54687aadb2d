//! `#[job(...)]` and its function → a validated [`JobDef`].
//!
//! Every check reports on the token the user has to change, phrased as the fix. All problems
//! found are combined into one `syn::Error`, so a single build shows them all.
//!
//! Attributes built on `#[job]` (`#[periodic]`) reuse all of it through [`Flavor`]: they add
//! their own options and may refuse job arguments, and every other check is the job's.

use std::collections::HashSet;
use std::time::Duration;

use pgsched_names::{Key, KeyProblem};
use proc_macro2::{Spacing, TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{
    Expr, FnArg, GenericArgument, Ident, ItemFn, Lit, LitStr, Meta, Pat, PathArguments, ReturnType,
    Signature, Token, Type, TypeParamBound,
};

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

// Messages about the function, each shown after the attribute's name (`#[job] functions …`).
const NOT_ASYNC: &str = "functions must be `async fn`";
const RECEIVER: &str = "cannot take `self`: put the job on a free `async fn` (methods have no stable name to dispatch to)";
const GENERIC: &str =
    "functions cannot be generic: arguments are stored as bytes and dispatched by name";
const BORROWED: &str = "arguments must be owned types (they are deserialized from the database); use `String` instead of `&str`, `Vec<T>` instead of `&[T]`";
const PATTERN: &str = "arguments must be plain identifiers like `to: String`";
const CONST_FN: &str = "functions cannot be `const`: remove `const` and write `async fn`";
const UNSAFE_FN: &str = "functions cannot be `unsafe`: the worker cannot uphold a safety contract; remove `unsafe` and check the preconditions inside the job";
const EXTERN_FN: &str =
    "functions cannot have an ABI: remove the `extern` and write a plain `async fn`";
const VARIADIC: &str =
    "functions cannot be variadic: remove the `...` and take the values as a `Vec<T>`";

const MISFIRE_GRACE: &str = r#"expected a duration like "30s", "5m", "2h" or "never""#;
const TIMEOUT: &str =
    r#"expected a non-zero duration like "30s", "5m" or "2h" (leave `timeout` out for no timeout)"#;

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

/// A `#[job]` function that passed every check.
pub(crate) struct JobDef {
    /// The attribute that defined it, like `#[job]`, for generated docs.
    pub(crate) attr: &'static str,
    /// The function, unchanged.
    pub(crate) item: ItemFn,
    /// The stable job name.
    pub(crate) name: String,
    /// Defaults from the attribute's options.
    pub(crate) defaults: Defaults,
    /// The parameters, in signature order.
    pub(crate) params: Vec<Param>,
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

    /// The parameters stored in `Args`, in order.
    pub(crate) fn args(&self) -> impl Iterator<Item = &Param> {
        self.params
            .iter()
            .filter(|param| param.kind == ParamKind::Arg)
    }

    /// The canonical argument schema: `name:Type` per `Args` field, joined by `,`.
    pub(crate) fn schema(&self) -> String {
        self.args()
            .map(|param| format!("{}:{}", param.ident.unraw(), compact_type(&param.ty)))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The declared return type, if any.
    pub(crate) fn output(&self) -> Option<&Type> {
        match &self.item.sig.output {
            ReturnType::Default => None,
            ReturnType::Type(_, ty) => Some(ty),
        }
    }
}

/// Defaults a job carries from its attribute.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Defaults {
    /// One of [`PRIORITIES`].
    pub(crate) priority: &'static str,
    /// Retries after the first failed attempt.
    pub(crate) max_retries: u32,
    /// How late a pending job may still start.
    pub(crate) misfire_grace: MisfireGrace,
    /// Per-attempt timeout in milliseconds.
    pub(crate) timeout_ms: Option<u64>,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            priority: "Normal",
            max_retries: 0,
            misfire_grace: MisfireGrace::Default,
            timeout_ms: None,
        }
    }
}

/// The `misfire_grace` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MisfireGrace {
    /// Not given: the scheduler's default.
    Default,
    /// `"never"`.
    Never,
    /// A duration, in milliseconds.
    AfterMillis(u64),
}

/// One function parameter.
pub(crate) struct Param {
    /// Its name (without `mut`).
    pub(crate) ident: Ident,
    /// Its type, as written.
    pub(crate) ty: Type,
    /// Where its value comes from.
    pub(crate) kind: ParamKind,
}

/// Where a parameter's value comes from at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamKind {
    /// A field of `Args`, decoded from the payload.
    Arg,
    /// `JobContext` or `State<T>`, filled by the worker through `FromContext`.
    Context,
}

/// Collects errors so that one build reports them all.
pub(crate) struct Errors {
    /// The attribute, like `#[job]`, that function messages start with.
    attr: &'static str,
    first: Option<syn::Error>,
}

impl Errors {
    /// No errors yet, for messages led by `attr`.
    pub(crate) fn new(attr: &'static str) -> Self {
        Errors { attr, first: None }
    }

    /// Adds an error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.first {
            Some(first) => first.combine(error),
            None => self.first = Some(error),
        }
    }

    /// A message about the function, led by the attribute's name, on `tokens`.
    fn refuse(&mut self, tokens: impl ToTokens, message: &str) {
        self.push(syn::Error::new_spanned(
            tokens,
            format!("{} {message}", self.attr),
        ));
    }

    /// All errors added, combined.
    ///
    /// # Errors
    /// If any was added.
    pub(crate) fn finish(self) -> syn::Result<()> {
        self.first.map_or(Ok(()), Err)
    }
}

/// The parsed options: a name if one was given, and the defaults.
#[derive(Default)]
struct Options {
    name: Option<String>,
    defaults: Defaults,
}

fn parse_options<F: Flavor>(attr: TokenStream, flavor: &mut F, errors: &mut Errors) -> Options {
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

fn check_signature(sig: &Signature, errors: &mut Errors) {
    if let Some(token) = &sig.constness {
        errors.refuse(token, CONST_FN);
    }
    if sig.asyncness.is_none() {
        errors.refuse(sig.fn_token, NOT_ASYNC);
    }
    if let Some(token) = &sig.unsafety {
        errors.refuse(token, UNSAFE_FN);
    }
    if let Some(abi) = &sig.abi {
        errors.refuse(abi, EXTERN_FN);
    }
    if let Some(variadic) = &sig.variadic {
        errors.refuse(variadic, VARIADIC);
    }
    if !sig.generics.params.is_empty() {
        errors.refuse(&sig.generics, GENERIC);
    } else if let Some(where_clause) = &sig.generics.where_clause {
        errors.refuse(where_clause, GENERIC);
    }
}

/// The parameters. With `no_arguments`, a parameter that is not a context parameter is
/// refused with that message, on the whole parameter, instead of becoming an argument.
fn parse_params(sig: &Signature, no_arguments: Option<&str>, errors: &mut Errors) -> Vec<Param> {
    let mut params = Vec::new();
    for input in &sig.inputs {
        let typed = match input {
            FnArg::Receiver(receiver) => {
                errors.refuse(receiver, RECEIVER);
                continue;
            }
            FnArg::Typed(typed) => typed,
        };
        let kind = if is_context_type(&typed.ty) {
            ParamKind::Context
        } else if let Some(message) = no_arguments {
            errors.push(syn::Error::new_spanned(typed, message));
            continue;
        } else {
            ParamKind::Arg
        };
        let mut ok = true;
        if let Some(impl_trait) = find_impl_trait(&typed.ty) {
            errors.refuse(impl_trait, GENERIC);
            ok = false;
        } else if kind == ParamKind::Arg && is_borrowed(&typed.ty) {
            errors.refuse(&typed.ty, BORROWED);
            ok = false;
        }
        let ident = match &*typed.pat {
            Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => pat.ident.clone(),
            other => {
                errors.refuse(other, PATTERN);
                continue;
            }
        };
        if ok {
            params.push(Param {
                ident,
                ty: (*typed.ty).clone(),
                kind,
            });
        }
    }
    params
}

fn ungroup_type(mut ty: &Type) -> &Type {
    loop {
        match ty {
            Type::Group(group) => ty = &group.elem,
            Type::Paren(paren) => ty = &paren.elem,
            _ => return ty,
        }
    }
}

/// `JobContext`, `State<T>` or any path ending in one of them.
fn is_context_type(ty: &Type) -> bool {
    match ungroup_type(ty) {
        Type::Path(path) if path.qself.is_none() => path
            .path
            .segments
            .last()
            .is_some_and(|last| last.ident == "JobContext" || last.ident == "State"),
        _ => false,
    }
}

/// Calls `visit` on `ty` and on every type nested in it.
fn walk_types<'a>(ty: &'a Type, visit: &mut dyn FnMut(&'a Type)) {
    visit(ty);
    match ty {
        Type::Array(array) => walk_types(&array.elem, visit),
        Type::Group(group) => walk_types(&group.elem, visit),
        Type::Paren(paren) => walk_types(&paren.elem, visit),
        Type::Ptr(ptr) => walk_types(&ptr.elem, visit),
        Type::Reference(reference) => walk_types(&reference.elem, visit),
        Type::Slice(slice) => walk_types(&slice.elem, visit),
        Type::Tuple(tuple) => tuple.elems.iter().for_each(|elem| walk_types(elem, visit)),
        Type::BareFn(bare_fn) => {
            for input in &bare_fn.inputs {
                walk_types(&input.ty, visit);
            }
            if let ReturnType::Type(_, output) = &bare_fn.output {
                walk_types(output, visit);
            }
        }
        Type::Path(path) => {
            if let Some(qself) = &path.qself {
                walk_types(&qself.ty, visit);
            }
            walk_path(&path.path, visit);
        }
        Type::ImplTrait(impl_trait) => walk_bounds(impl_trait.bounds.iter(), visit),
        Type::TraitObject(object) => walk_bounds(object.bounds.iter(), visit),
        _ => {}
    }
}

fn walk_path<'a>(path: &'a syn::Path, visit: &mut dyn FnMut(&'a Type)) {
    for segment in &path.segments {
        match &segment.arguments {
            PathArguments::None => {}
            PathArguments::AngleBracketed(arguments) => {
                for argument in &arguments.args {
                    match argument {
                        GenericArgument::Type(ty) => walk_types(ty, visit),
                        GenericArgument::AssocType(assoc) => walk_types(&assoc.ty, visit),
                        GenericArgument::Constraint(constraint) => {
                            walk_bounds(constraint.bounds.iter(), visit);
                        }
                        _ => {}
                    }
                }
            }
            PathArguments::Parenthesized(arguments) => {
                arguments.inputs.iter().for_each(|ty| walk_types(ty, visit));
                if let ReturnType::Type(_, output) = &arguments.output {
                    walk_types(output, visit);
                }
            }
        }
    }
}

fn walk_bounds<'a>(
    bounds: impl Iterator<Item = &'a TypeParamBound>,
    visit: &mut dyn FnMut(&'a Type),
) {
    for bound in bounds {
        if let TypeParamBound::Trait(bound) = bound {
            walk_path(&bound.path, visit);
        }
    }
}

/// The first `impl Trait` in `ty`, if any.
fn find_impl_trait(ty: &Type) -> Option<&Type> {
    let mut found = None;
    walk_types(ty, &mut |ty| {
        if found.is_none() && matches!(ty, Type::ImplTrait(_)) {
            found = Some(ty);
        }
    });
    found
}

/// Whether `ty` contains a reference or a lifetime anywhere (`&str`, `Cow<'a, str>`, `&'static T`).
fn is_borrowed(ty: &Type) -> bool {
    let mut reference = false;
    walk_types(ty, &mut |ty| reference |= matches!(ty, Type::Reference(_)));
    reference || has_lifetime(ty.to_token_stream())
}

/// Whether a token stream holds a lifetime (a joint `'` followed by an identifier).
fn has_lifetime(tokens: TokenStream) -> bool {
    let mut after_quote = false;
    for token in tokens {
        match token {
            TokenTree::Punct(punct) if punct.as_char() == '\'' => {
                after_quote = punct.spacing() == Spacing::Joint;
            }
            TokenTree::Ident(_) if after_quote => return true,
            TokenTree::Group(group) => {
                if has_lifetime(group.stream()) {
                    return true;
                }
                after_quote = false;
            }
            _ => after_quote = false,
        }
    }
    false
}

/// A type's tokens with all whitespace removed: `Vec < u8 >` → `Vec<u8>`.
pub(crate) fn compact_type(ty: &Type) -> String {
    ungroup_type_for_schema(ty)
        .to_token_stream()
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// Drops the invisible group a `macro_rules!` `$t:ty` adds, which prints differently.
fn ungroup_type_for_schema(mut ty: &Type) -> &Type {
    while let Type::Group(group) = ty {
        ty = &group.elem;
    }
    ty
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn parse(attr: TokenStream, item: TokenStream) -> syn::Result<JobDef> {
        let item: ItemFn = syn::parse2(item).expect("test input is a fn");
        JobDef::parse(attr, &item)
    }

    fn messages(attr: TokenStream, item: TokenStream) -> Vec<String> {
        match parse(attr, item) {
            Ok(_) => Vec::new(),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    /// The source text each error points at. Spans are only real for parsed text, so the
    /// input is a string here.
    fn spans(attr: &str, item: &str) -> Vec<String> {
        let attr: TokenStream = attr.parse().expect("attr tokens");
        let item: TokenStream = item.parse().expect("item tokens");
        match parse(attr, item) {
            Ok(_) => Vec::new(),
            Err(error) => error
                .into_iter()
                .map(|e| e.span().source_text().unwrap_or_default())
                .collect(),
        }
    }

    /// A function message as `#[job]` shows it.
    fn j(message: &str) -> String {
        format!("#[job] {message}")
    }

    fn message(attr: TokenStream, item: TokenStream) -> String {
        let all = messages(attr, item);
        assert_eq!(all.len(), 1, "expected exactly one error, got {all:?}");
        all.into_iter().next().expect("one error")
    }

    #[test]
    fn defaults_and_params() {
        let def = parse(
            quote!(),
            quote! {
                /// Docs.
                pub async fn send_email(to: String, ctx: JobContext, mut subject: String, db: pgsched::State<Pool>) -> Result<(), E> {}
            },
        )
        .expect("valid");
        assert_eq!(def.name, "send_email");
        assert_eq!(def.defaults, Defaults::default());
        let kinds: Vec<_> = def
            .params
            .iter()
            .map(|p| (p.ident.to_string(), p.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("to".to_owned(), ParamKind::Arg),
                ("ctx".to_owned(), ParamKind::Context),
                ("subject".to_owned(), ParamKind::Arg),
                ("db".to_owned(), ParamKind::Context),
            ]
        );
        assert_eq!(def.schema(), "to:String,subject:String");
    }

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
    fn raw_ident_name() {
        let def = parse(
            quote!(),
            quote!(
                async fn r#type(r#loop: u8) {}
            ),
        )
        .expect("valid");
        assert_eq!(def.name, "type");
        assert_eq!(def.schema(), "loop:u8");
    }

    #[test]
    fn schema_is_compact_and_keeps_paths() {
        let def = parse(
            quote!(),
            quote!(
                async fn f(
                    a: Vec<u8>,
                    b: Option<std::string::String>,
                    c: [u8; 4],
                    d: (u32, Vec<Vec<u8>>),
                    e: ::std::collections::HashMap<String, u64>,
                ) {
                }
            ),
        )
        .expect("valid");
        assert_eq!(
            def.schema(),
            "a:Vec<u8>,b:Option<std::string::String>,c:[u8;4],d:(u32,Vec<Vec<u8>>),e:::std::collections::HashMap<String,u64>"
        );
        let def = parse(
            quote!(),
            quote!(
                async fn f() {}
            ),
        )
        .expect("valid");
        assert_eq!(def.schema(), "");
    }

    #[test]
    fn signature_errors() {
        assert_eq!(
            message(
                quote!(),
                quote!(
                    fn f() {}
                )
            ),
            j(NOT_ASYNC)
        );
        assert_eq!(spans("", "fn f() {}"), ["fn"]);
        assert_eq!(
            message(
                quote!(),
                quote!(
                    async fn f(&self, a: u8) {}
                )
            ),
            j(RECEIVER)
        );
        assert_eq!(
            message(
                quote!(),
                quote!(
                    async fn f<T: Clone>(a: T) {}
                )
            ),
            j(GENERIC)
        );
        assert_eq!(
            spans("", "async fn f<'a, T: Clone>() {}"),
            ["<'a, T: Clone>"]
        );
        assert_eq!(
            message(
                quote!(),
                quote!(
                    async fn f()
                    where
                        u8: Copy,
                    {
                    }
                )
            ),
            j(GENERIC)
        );
        assert_eq!(
            message(
                quote!(),
                quote!(
                    async fn f<const N: usize>() {}
                )
            ),
            j(GENERIC)
        );
        assert_eq!(
            message(
                quote!(),
                quote!(
                    async unsafe fn f() {}
                )
            ),
            j(UNSAFE_FN)
        );
        assert_eq!(
            message(
                quote!(),
                quote!(
                    async extern "C" fn f() {}
                )
            ),
            j(EXTERN_FN)
        );
        assert_eq!(
            message(
                quote!(),
                quote!(
                    async fn f(a: u8, ...) {}
                )
            ),
            j(VARIADIC)
        );
        assert_eq!(
            messages(
                quote!(),
                quote!(
                    const fn f() {}
                )
            ),
            [j(CONST_FN), j(NOT_ASYNC)]
        );
    }

    #[test]
    fn param_errors() {
        assert_eq!(
            message(
                quote!(),
                quote!(
                    async fn f(a: &str) {}
                )
            ),
            j(BORROWED)
        );
        assert_eq!(spans("", "async fn f(a: &str) {}"), ["&str"]);
        for ty in [
            quote!(Cow<'a, str>),
            quote!(&'static str),
            quote!(Vec<&[u8]>),
            quote!(Box<dyn Fn() + 'static>),
            quote!((u8, &str)),
        ] {
            assert_eq!(
                message(quote!(), quote!(async fn f(a: #ty) {})),
                j(BORROWED),
                "{ty}"
            );
        }
        assert_eq!(
            message(
                quote!(),
                quote!(
                    async fn f(a: impl Into<String>) {}
                )
            ),
            j(GENERIC)
        );
        assert_eq!(
            spans("", "async fn f(a: Vec<impl Clone + Send>) {}"),
            ["impl Clone + Send"]
        );
        assert_eq!(
            message(
                quote!(),
                quote!(
                    async fn f((a, b): (u32, u32)) {}
                )
            ),
            j(PATTERN)
        );
        assert_eq!(
            message(
                quote!(),
                quote!(
                    async fn f(_: u32) {}
                )
            ),
            j(PATTERN)
        );
        assert_eq!(
            message(
                quote!(),
                quote!(
                    async fn f(ref a: u32) {}
                )
            ),
            j(PATTERN)
        );
        // Context parameters are not stored, so they may carry a lifetime.
        assert!(
            messages(
                quote!(),
                quote!(
                    async fn f(s: State<&'static str>) {}
                )
            )
            .is_empty()
        );
        // Several mistakes are all reported.
        assert_eq!(
            messages(
                quote!(),
                quote!(
                    fn f(&self, a: &str, (b, c): (u8, u8)) {}
                )
            ),
            [j(NOT_ASYNC), j(RECEIVER), j(BORROWED), j(PATTERN)]
        );
    }

    #[test]
    fn spans_point_at_the_token_to_change() {
        assert_eq!(spans("", "async fn f(&mut self) {}"), ["&mut self"]);
        assert_eq!(
            spans("", "async fn f() where u8: Copy {}"),
            ["where u8: Copy"]
        );
        assert_eq!(spans("", "async fn f((a, b): (u8, u8)) {}"), ["(a, b)"]);
        assert_eq!(
            spans("", "async fn f(a: Cow<'a, str>) {}"),
            ["Cow<'a, str>"]
        );
        assert_eq!(spans("", "async unsafe fn f() {}"), ["unsafe"]);
        assert_eq!(
            spans("", r#"async extern "C" fn f() {}"#),
            [r#"extern "C""#]
        );
        assert_eq!(
            spans("foo = 1, name = \"\"", "async fn f() {}"),
            ["foo", "\"\""]
        );
        assert_eq!(
            spans("timeout = \"1s\", timeout = \"2s\"", "async fn f() {}"),
            ["timeout"]
        );
        assert_eq!(
            spans("priority = Priority::Urgent", "async fn f() {}"),
            ["Priority::Urgent"]
        );
        assert_eq!(
            spans("misfire_grace = \"soon\"", "async fn f() {}"),
            ["\"soon\""]
        );
        assert_eq!(spans("max_retries = -1", "async fn f() {}"), ["-1"]);
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
