//! `#[pgsched::args]`: an earlier version of a job's arguments, kept so that payloads written
//! with it can be upgraded. It derives serde's traits (through the facade) and gives the
//! struct the schema a job with the same parameters has (`ArgsSchema`), by the one rule in
//! `model::schema`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Fields, ItemStruct};

use crate::errors::Errors;
use crate::model::schema;

const SHAPE: &str = "#[pgsched::args] goes on a struct with named fields, the job's parameters as they were, like `struct SendEmailV1 { to: String }`";

/// Checks the struct and emits it with its derives and its `ArgsSchema` impl; on any error,
/// the item unchanged next to every error.
pub(crate) fn args(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item_struct: ItemStruct = match syn::parse2(item.clone()) {
        Ok(item_struct) => item_struct,
        Err(error) => {
            let error = syn::Error::new(error.span(), SHAPE).to_compile_error();
            return quote!(#item #error);
        }
    };
    match expand(attr, &item_struct) {
        Ok(tokens) => tokens,
        Err(error) => {
            let error = error.to_compile_error();
            quote!(#item_struct #error)
        }
    }
}

fn expand(attr: TokenStream, item: &ItemStruct) -> syn::Result<TokenStream> {
    let mut errors = Errors::new("#[pgsched::args]");
    if !attr.is_empty() {
        errors.push(syn::Error::new_spanned(
            &attr,
            "#[pgsched::args] takes no options: write `#[pgsched::args]`",
        ));
    }
    if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
        errors.refuse(
            &item.generics,
            "structs cannot be generic: the schema stored with a payload names concrete types",
        );
    }
    let fields: Vec<_> = match &item.fields {
        Fields::Named(named) => named.named.iter().collect(),
        Fields::Unit => Vec::new(),
        Fields::Unnamed(unnamed) => {
            errors.push(syn::Error::new_spanned(unnamed, SHAPE));
            Vec::new()
        }
    };
    errors.finish()?;
    let schema = schema(
        fields
            .iter()
            .filter_map(|field| Some((field.ident.as_ref()?, &field.ty))),
    );
    let ident = &item.ident;
    Ok(quote! {
        #[derive(
            ::pgsched::__private::serde::Serialize,
            ::pgsched::__private::serde::Deserialize
        )]
        #[serde(crate = "::pgsched::__private::serde")]
        #item

        impl ::pgsched::ArgsSchema for #ident {
            const SCHEMA: &'static str = #schema;
            const SCHEMA_HASH: u64 = ::pgsched::__private::schema_hash(#schema);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(attr: &str, item: &str) -> String {
        args(
            attr.parse().expect("attr tokens"),
            item.parse().expect("item tokens"),
        )
        .to_string()
    }

    #[test]
    fn the_schema_is_the_jobs_rule_for_the_same_fields() {
        let out = expand_str(
            "",
            "pub struct SendEmailV1 { pub to: String, n: Vec < u8 > }",
        );
        assert!(
            out.contains(r#"const SCHEMA : & 'static str = "to:String,n:Vec<u8>""#),
            "{out}"
        );
        assert!(
            out.contains("impl :: pgsched :: ArgsSchema for SendEmailV1"),
            "{out}"
        );
        let unit = expand_str("", "struct Empty;");
        assert!(
            unit.contains(r#"const SCHEMA : & 'static str = """#),
            "{unit}"
        );
    }

    #[test]
    fn every_mistake_is_reported() {
        let out = expand_str("v = 1", "struct V<T>(T);");
        assert_eq!(out.matches("compile_error").count(), 3, "{out}");
        assert!(out.starts_with("struct V < T > (T) ;"), "{out}");
        let out = expand_str("", "enum E { A }");
        assert!(out.contains("goes on a struct with named fields"), "{out}");
    }
}
