// SPDX-License-Identifier: BUSL-1.1
//! Proc macros: thin shims over mez-codegen's front end.
//!
//! `surface_tests!("spec", crate::harness)` loads the spec directory (relative to the
//! invoking crate's manifest directory), and expands to one `#[tokio::test]` per check the spec
//! implies, each calling a function of the given harness path. A spec error becomes a
//! `compile_error!` carrying the spec's `file:line:col`, exactly as build.rs and the CLI
//! report it.

use proc_macro::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{LitStr, Path, Token};

struct Args {
    dir: LitStr,
    harness: Path,
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let dir = input.parse()?;
        input.parse::<Token![,]>()?;
        let harness = input.parse()?;
        let _ = input.parse::<Option<Token![,]>>()?;
        Ok(Self { dir, harness })
    }
}

/// Expands to the spec-derived test suite. See the crate docs.
#[proc_macro]
pub fn surface_tests(input: TokenStream) -> TokenStream {
    let args = syn::parse_macro_input!(input as Args);
    expand(&args, mez_codegen::tests_gen::tests)
}

/// Expands to the spec-derived parity suite: every `/v1` route on a sovereign and a proxy
/// zone, every direct route through the typed client's types.
#[proc_macro]
pub fn parity_tests(input: TokenStream) -> TokenStream {
    let args = syn::parse_macro_input!(input as Args);
    expand(&args, mez_codegen::tests_gen::parity)
}

/// Loads the spec named by `args` and expands it with `generate`, or reports its errors.
fn expand(
    args: &Args,
    generate: fn(&mez_codegen::Spec, &proc_macro2::TokenStream) -> proc_macro2::TokenStream,
) -> TokenStream {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let rel = args.dir.value();
    let dir = std::path::Path::new(&manifest).join(&rel);
    let display = rel
        .trim_start_matches("../")
        .trim_end_matches('/')
        .to_string();
    let spec = match mez_codegen::load_dir(&dir, &display) {
        Ok(spec) => spec,
        Err(diags) => {
            let errors = diags.0.iter().map(|d| {
                let text = d.to_string();
                quote!(compile_error!(#text);)
            });
            return quote!(#(#errors)*).into();
        }
    };
    // Make rustc rebuild the expansion when a spec file changes.
    let tracked = mez_codegen::spec_files(&dir)
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            let p = p.to_string_lossy().into_owned();
            quote!(
                const _: &[u8] = include_bytes!(#p);
            )
        });
    let harness = &args.harness;
    let tests = generate(&spec, &quote!(#harness));
    quote!(#(#tracked)* #tests).into()
}
