//! Signature and parameter checks: what kind of `fn` a job may be, and which parameters are
//! arguments (stored, so owned and concrete) and which are context parameters.

use syn::visit::{self, Visit};
use syn::{FnArg, Lifetime, Pat, Signature, Type, TypeImplTrait, TypeReference};

use crate::errors::Errors;
use crate::model::{Param, ParamKind};

/// What a job function may not be or take. Each is reported after the attribute's name
/// (`#[job] functions must be …`), on the token to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mistake {
    NotAsync,
    Receiver,
    Generic,
    Borrowed,
    Pattern,
    ConstFn,
    UnsafeFn,
    ExternFn,
    Variadic,
}

impl Mistake {
    /// The message, phrased as the fix.
    const fn message(self) -> &'static str {
        match self {
            Mistake::NotAsync => "functions must be `async fn`",
            Mistake::Receiver => {
                "cannot take `self`: put the job on a free `async fn` (methods have no stable name to dispatch to)"
            }
            Mistake::Generic => {
                "functions cannot be generic: arguments are stored as bytes and dispatched by name"
            }
            Mistake::Borrowed => {
                "arguments must be owned types (they are deserialized from the database); use `String` instead of `&str`, `Vec<T>` instead of `&[T]`"
            }
            Mistake::Pattern => "arguments must be plain identifiers like `to: String`",
            Mistake::ConstFn => "functions cannot be `const`: remove `const` and write `async fn`",
            Mistake::UnsafeFn => {
                "functions cannot be `unsafe`: the worker cannot uphold a safety contract; remove `unsafe` and check the preconditions inside the job"
            }
            Mistake::ExternFn => {
                "functions cannot have an ABI: remove the `extern` and write a plain `async fn`"
            }
            Mistake::Variadic => {
                "functions cannot be variadic: remove the `...` and take the values as a `Vec<T>`"
            }
        }
    }
}

pub(crate) fn check_signature(sig: &Signature, errors: &mut Errors) {
    if let Some(token) = &sig.constness {
        errors.refuse(token, Mistake::ConstFn.message());
    }
    if sig.asyncness.is_none() {
        errors.refuse(sig.fn_token, Mistake::NotAsync.message());
    }
    if let Some(token) = &sig.unsafety {
        errors.refuse(token, Mistake::UnsafeFn.message());
    }
    if let Some(abi) = &sig.abi {
        errors.refuse(abi, Mistake::ExternFn.message());
    }
    if let Some(variadic) = &sig.variadic {
        errors.refuse(variadic, Mistake::Variadic.message());
    }
    if !sig.generics.params.is_empty() {
        errors.refuse(&sig.generics, Mistake::Generic.message());
    } else if let Some(where_clause) = &sig.generics.where_clause {
        errors.refuse(where_clause, Mistake::Generic.message());
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
                errors.refuse(receiver, Mistake::Receiver.message());
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
            errors.refuse(impl_trait, Mistake::Generic.message());
            ok = false;
        } else if kind == ParamKind::Arg && borrows.borrowed {
            errors.refuse(&typed.ty, Mistake::Borrowed.message());
            ok = false;
        }
        let ident = match &*typed.pat {
            Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => pat.ident.clone(),
            other => {
                errors.refuse(other, Mistake::Pattern.message());
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
    use super::*;
    use crate::testing::job_errors;

    /// Each function, and the errors it gets: message (after `#[job] `) and the source text it
    /// points at, in order.
    const CASES: &[(&str, &[(Mistake, &str)])] = &[
        // Signatures.
        ("fn f() {}", &[(Mistake::NotAsync, "fn")]),
        (
            "async fn f(&self, a: u8) {}",
            &[(Mistake::Receiver, "&self")],
        ),
        (
            "async fn f(&mut self) {}",
            &[(Mistake::Receiver, "&mut self")],
        ),
        (
            "async fn f<T: Clone>(a: T) {}",
            &[(Mistake::Generic, "<T: Clone>")],
        ),
        (
            "async fn f<'a, T: Clone>() {}",
            &[(Mistake::Generic, "<'a, T: Clone>")],
        ),
        (
            "async fn f<const N: usize>() {}",
            &[(Mistake::Generic, "<const N: usize>")],
        ),
        (
            "async fn f() where u8: Copy {}",
            &[(Mistake::Generic, "where u8: Copy")],
        ),
        ("async unsafe fn f() {}", &[(Mistake::UnsafeFn, "unsafe")]),
        (
            r#"async extern "C" fn f() {}"#,
            &[(Mistake::ExternFn, r#"extern "C""#)],
        ),
        ("async fn f(a: u8, ...) {}", &[(Mistake::Variadic, "...")]),
        (
            "const fn f() {}",
            &[(Mistake::ConstFn, "const"), (Mistake::NotAsync, "fn")],
        ),
        // Borrowed argument types, wherever the reference or lifetime is nested.
        ("async fn f(a: &str) {}", &[(Mistake::Borrowed, "&str")]),
        (
            "async fn f(a: &'static str) {}",
            &[(Mistake::Borrowed, "&'static str")],
        ),
        (
            "async fn f(a: Cow<'a, str>) {}",
            &[(Mistake::Borrowed, "Cow<'a, str>")],
        ),
        (
            "async fn f(a: Vec<&[u8]>) {}",
            &[(Mistake::Borrowed, "Vec<&[u8]>")],
        ),
        (
            "async fn f(a: (u8, &str)) {}",
            &[(Mistake::Borrowed, "(u8, &str)")],
        ),
        (
            "async fn f(a: [&str; 2]) {}",
            &[(Mistake::Borrowed, "[&str; 2]")],
        ),
        (
            "async fn f(a: Box<dyn Fn() + 'static>) {}",
            &[(Mistake::Borrowed, "Box<dyn Fn() + 'static>")],
        ),
        (
            "async fn f(a: Box<dyn Fn(&str) -> u8>) {}",
            &[(Mistake::Borrowed, "Box<dyn Fn(&str) -> u8>")],
        ),
        (
            "async fn f(a: fn() -> &'static str) {}",
            &[(Mistake::Borrowed, "fn() -> &'static str")],
        ),
        (
            "async fn f(a: <Vec<u8> as Tr<'a>>::Out) {}",
            &[(Mistake::Borrowed, "<Vec<u8> as Tr<'a>>::Out")],
        ),
        // `impl Trait`, on the `impl` itself, even when it is also borrowed.
        (
            "async fn f(a: impl Into<String>) {}",
            &[(Mistake::Generic, "impl Into<String>")],
        ),
        (
            "async fn f(a: Vec<impl Clone + Send>) {}",
            &[(Mistake::Generic, "impl Clone + Send")],
        ),
        (
            "async fn f(a: &impl Clone) {}",
            &[(Mistake::Generic, "impl Clone")],
        ),
        (
            "async fn f(s: State<impl Clone>) {}",
            &[(Mistake::Generic, "impl Clone")],
        ),
        // Patterns.
        (
            "async fn f((a, b): (u32, u32)) {}",
            &[(Mistake::Pattern, "(a, b)")],
        ),
        ("async fn f(_: u32) {}", &[(Mistake::Pattern, "_")]),
        ("async fn f(ref a: u32) {}", &[(Mistake::Pattern, "ref a")]),
        // Context parameters are not stored, so they may carry a lifetime.
        ("async fn f(s: State<&'static str>) {}", &[]),
        (
            "async fn f(c: pgsched::JobContext, s: State<Cow<'static, str>>) {}",
            &[],
        ),
        // Owned types of every shape.
        (
            "async fn f(a: Vec<Option<(u8, [u16; 4])>>, b: fn(u8) -> u8) {}",
            &[],
        ),
        // Several mistakes are all reported.
        (
            "fn f(&self, a: &str, (b, c): (u8, u8)) {}",
            &[
                (Mistake::NotAsync, "fn"),
                (Mistake::Receiver, "&self"),
                (Mistake::Borrowed, "&str"),
                (Mistake::Pattern, "(b, c)"),
            ],
        ),
    ];

    #[test]
    fn each_mistake_is_its_own_error_on_the_token_to_change() {
        for (item, expected) in CASES {
            let expected: Vec<_> = expected
                .iter()
                .map(|(mistake, span)| {
                    (format!("#[job] {}", mistake.message()), (*span).to_owned())
                })
                .collect();
            assert_eq!(job_errors("", item), expected, "{item}");
        }
    }
}
