//! The model: what a valid `#[job]` function is ([`JobDef`]), as the parsers build it and
//! `expand` reads it, and the schema text derived from its argument types.

use quote::ToTokens;
use syn::ext::IdentExt;
use syn::{Ident, ItemFn, Path, ReturnType, Type};

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
    /// The fns that convert earlier versions' arguments (`upgrade = …`), as written.
    pub(crate) upgrades: Vec<Path>,
    /// The argument whose value is the job's concurrency key (`concurrency_key = …`).
    pub(crate) concurrency_key: Option<Ident>,
}

impl JobDef {
    /// The parameters stored in `Args`, in order.
    pub(crate) fn args(&self) -> impl Iterator<Item = &Param> {
        self.params
            .iter()
            .filter(|param| param.kind == ParamKind::Arg)
    }

    /// The canonical argument schema: `name:Type` per `Args` field, joined by `,`.
    pub(crate) fn schema(&self) -> String {
        schema(self.args().map(|param| (&param.ident, &param.ty)))
    }

    /// The output schema: the output type as written, without whitespace. For a return type
    /// `Result<T, …>` (any path ending in `Result`: `anyhow::Result<T>`, `io::Result<T>`) it
    /// is `T`; without a return type `()`; otherwise the return type as written (an alias
    /// such as `MyResult<T>` is hashed as written, so changing it changes the hash too).
    pub(crate) fn output_schema(&self) -> String {
        let Some(ty) = self.output() else {
            return "()".to_owned();
        };
        if let Type::Path(path) = ungroup_type_for_schema(ty)
            && path.qself.is_none()
            && let Some(last) = path.path.segments.last()
            && last.ident == "Result"
            && let syn::PathArguments::AngleBracketed(arguments) = &last.arguments
            && let Some(syn::GenericArgument::Type(output)) = arguments.args.first()
        {
            return compact_type(output);
        }
        compact_type(ty)
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
    /// One of the priority levels, like `"Normal"`.
    pub(crate) priority: &'static str,
    /// Retries after the first failed attempt.
    pub(crate) max_retries: u32,
    /// How late a pending job may still start.
    pub(crate) misfire_grace: MisfireGrace,
    /// Per-attempt timeout in milliseconds.
    pub(crate) timeout_ms: Option<u64>,
    /// The queue (`None`: the default queue).
    pub(crate) queue: Option<String>,
    /// Jobs of one concurrency key allowed to run at once.
    pub(crate) concurrency: u32,
    /// What a dependent does when a parent does not complete, like `"Cancel"`.
    pub(crate) on_parent_failure: &'static str,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            priority: "Normal",
            max_retries: 0,
            misfire_grace: MisfireGrace::Default,
            timeout_ms: None,
            queue: None,
            concurrency: 1,
            on_parent_failure: "Cancel",
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

/// The canonical schema of named fields: `name:Type` each, in order, joined by `,`. The one
/// rule for a job's `Args` and for earlier arguments kept with `#[pgsched::args]`, so the same
/// fields give the same hash.
pub(crate) fn schema<'a>(fields: impl Iterator<Item = (&'a Ident, &'a Type)>) -> String {
    fields
        .map(|(ident, ty)| format!("{}:{}", ident.unraw(), compact_type(ty)))
        .collect::<Vec<_>>()
        .join(",")
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
    use crate::testing::parse;

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
    fn the_output_schema_is_the_ok_type_as_written() {
        let cases = [
            (
                quote!(
                    async fn f() {}
                ),
                "()",
            ),
            (
                quote!(
                    async fn f() -> () {}
                ),
                "()",
            ),
            (
                quote!(
                    async fn f() -> Result<(), String> {}
                ),
                "()",
            ),
            (
                quote!(
                    async fn f() -> Result<Vec<Thumb>, E> {}
                ),
                "Vec<Thumb>",
            ),
            (
                quote!(
                    async fn f() -> anyhow::Result<crate::Thumb> {}
                ),
                "crate::Thumb",
            ),
            (
                quote!(
                    async fn f() -> MyResult<u8> {}
                ),
                "MyResult<u8>",
            ),
        ];
        for (item, expected) in cases {
            let def = parse(quote!(), item).expect("valid");
            assert_eq!(def.output_schema(), expected);
        }
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
}
