//! The error combiner: every check pushes its error here instead of returning early, so one
//! build reports every mistake, each on its own token.

use quote::ToTokens;

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
    pub(crate) fn refuse(&mut self, tokens: impl ToTokens, message: &str) {
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
