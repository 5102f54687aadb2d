//! Helpers for the unit tests: run `#[job]`'s parser and read its errors back (messages, and
//! the source text each points at).

use proc_macro2::TokenStream;
use syn::ItemFn;

use crate::model::JobDef;

/// `#[job(attr)]` on `item`, parsed and validated.
pub(crate) fn parse(attr: TokenStream, item: TokenStream) -> syn::Result<JobDef> {
    let item: ItemFn = syn::parse2(item).expect("test input is a fn");
    JobDef::parse(attr, &item)
}

/// `#[job(attr)]` on `item`: each error's message, in order.
pub(crate) fn messages(attr: TokenStream, item: TokenStream) -> Vec<String> {
    match parse(attr, item) {
        Ok(_) => Vec::new(),
        Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
    }
}

/// Each error's message and the source text it points at, for any parser's result.
pub(crate) fn located<T>(result: syn::Result<T>) -> Vec<(String, String)> {
    match result {
        Ok(_) => Vec::new(),
        Err(error) => error
            .into_iter()
            .map(|e| (e.to_string(), e.span().source_text().unwrap_or_default()))
            .collect(),
    }
}

/// `#[job(attr)]` on `item`: each error's message and the source text it points at. Spans are
/// only real for parsed text, so the input is a string.
pub(crate) fn job_errors(attr: &str, item: &str) -> Vec<(String, String)> {
    let attr: TokenStream = attr.parse().expect("attr tokens");
    let item: TokenStream = item.parse().expect("item tokens");
    located(parse(attr, item))
}
