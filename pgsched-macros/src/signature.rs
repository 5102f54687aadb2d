//! Signature and parameter checks: what kind of `fn` a job may be, and which parameters are
//! arguments (stored, so owned and concrete) and which are context parameters.

use syn::visit::{self, Visit};
use syn::{FnArg, Lifetime, Pat, Signature, Type, TypeImplTrait, TypeReference};

use crate::errors::Errors;
use crate::model::{Param, ParamKind};

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

pub(crate) fn check_signature(sig: &Signature, errors: &mut Errors) {
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
pub(crate) fn parse_params(
    sig: &Signature,
    no_arguments: Option<&str>,
    errors: &mut Errors,
) -> Vec<Param> {
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
        let borrows = Borrows::of(&typed.ty);
        if let Some(impl_trait) = borrows.impl_trait {
            errors.refuse(impl_trait, GENERIC);
            ok = false;
        } else if kind == ParamKind::Arg && borrows.borrowed {
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

/// What a parameter's type holds that a stored argument cannot, found with `syn`'s visitor
/// (which walks every type, path argument, bound and lifetime nested in it).
#[derive(Default)]
struct Borrows<'a> {
    /// The first `impl Trait`, outermost first.
    impl_trait: Option<&'a TypeImplTrait>,
    /// Whether it holds a reference (`&str`, `Vec<&[u8]>`) or a lifetime (`Cow<'a, str>`,
    /// `dyn Fn() + 'static`).
    borrowed: bool,
}

impl<'a> Borrows<'a> {
    fn of(ty: &'a Type) -> Self {
        let mut found = Borrows::default();
        found.visit_type(ty);
        found
    }
}

impl<'a> Visit<'a> for Borrows<'a> {
    fn visit_type_impl_trait(&mut self, node: &'a TypeImplTrait) {
        self.impl_trait.get_or_insert(node);
        visit::visit_type_impl_trait(self, node);
    }

    fn visit_type_reference(&mut self, node: &'a TypeReference) {
        self.borrowed = true;
        visit::visit_type_reference(self, node);
    }

    fn visit_lifetime(&mut self, _: &'a Lifetime) {
        self.borrowed = true;
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;
    use crate::testing::{j, message, messages, spans};

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
}
