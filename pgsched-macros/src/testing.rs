//! Helpers for the unit tests: run `#[job]`'s parser and read its errors back.

use proc_macro2::TokenStream;
use syn::ItemFn;

use crate::model::JobDef;

pub(crate) fn parse(attr: TokenStream, item: TokenStream) -> syn::Result<JobDef> {
    let item: ItemFn = syn::parse2(item).expect("test input is a fn");
    JobDef::parse(attr, &item)
}

pub(crate) fn messages(attr: TokenStream, item: TokenStream) -> Vec<String> {
    match parse(attr, item) {
        Ok(_) => Vec::new(),
        Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
    }
}

/// The source text each error points at. Spans are only real for parsed text, so the
/// input is a string here.
pub(crate) fn spans(attr: &str, item: &str) -> Vec<String> {
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
pub(crate) fn j(message: &str) -> String {
    format!("#[job] {message}")
}

pub(crate) fn message(attr: TokenStream, item: TokenStream) -> String {
    let all = messages(attr, item);
    assert_eq!(all.len(), 1, "expected exactly one error, got {all:?}");
    all.into_iter().next().expect("one error")
}
