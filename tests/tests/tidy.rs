// SPDX-License-Identifier: BUSL-1.1
//! Tidy: the house rules that a reviewer would otherwise check by eye.
//!
//! Every Rust source file starts with the licence line and a module doc; product code (every
//! item not behind `#[cfg(test)]`, wherever it sits in a file, read as Rust with syn) never
//! unwraps, expects or panics; the zone's hand-written runtime never names a generated route by
//! table index (`ROUTES[..]`) or by path text (a `/api/v1` literal), but through the typed
//! `Route`; the generated golden copy carries its do-not-edit header.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            // trybuild's fixtures are compiled by trybuild, not part of a crate.
            if !path.ends_with("ui") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources(dirs: &[&str]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in dirs {
        rust_files(&root().join(dir), &mut files);
    }
    files.sort();
    assert!(!files.is_empty(), "no sources found under {dirs:?}");
    files
}

#[test]
fn every_source_file_starts_with_the_licence_and_a_module_doc() {
    let mut bad = Vec::new();
    for file in sources(&[
        "mez-api/src",
        "mez-api/tests",
        "mez-api/benches",
        "mez-codegen/src",
        "mez-codegen/tests",
        "mez-codegen/benches",
        "mez-macros/src",
        "mez-macros/tests",
        "tests/src",
        "tests/tests",
        "tests/benches",
    ]) {
        let text = std::fs::read_to_string(&file).expect("read");
        let mut lines = text.lines();
        let first = lines.next().unwrap_or_default();
        let second = lines.next().unwrap_or_default();
        if first != "// SPDX-License-Identifier: BUSL-1.1" || !second.starts_with("//!") {
            bad.push(file.display().to_string());
        }
    }
    assert!(
        bad.is_empty(),
        "missing licence line or module doc: {bad:#?}"
    );
}

/// Whether an item is compiled only for tests.
fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg") && quote::quote!(#a).to_string().replace(' ', "") == "#[cfg(test)]"
            || a.path().is_ident("test")
    })
}

/// Walks the product code of one file (everything not behind `#[cfg(test)]`, wherever it sits)
/// and collects what the house rules forbid there.
struct ProductRules<'a> {
    file: String,
    /// Whether the file is the zone's hand-written runtime, which must reach generated routes
    /// through the typed `Route`, never by table index or path text.
    runtime: bool,
    scope: Vec<String>,
    bad: &'a mut Vec<String>,
}

impl ProductRules<'_> {
    fn report(&mut self, what: String) {
        let scope = self.scope.join("::");
        self.bad.push(format!("{} ({scope}): {what}", self.file));
    }
}

impl<'ast> syn::visit::Visit<'ast> for ProductRules<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs: &[syn::Attribute] = match item {
            syn::Item::Fn(i) => &i.attrs,
            syn::Item::Mod(i) => &i.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Use(i) => &i.attrs,
            syn::Item::Const(i) => &i.attrs,
            syn::Item::Static(i) => &i.attrs,
            syn::Item::Struct(i) => &i.attrs,
            syn::Item::Enum(i) => &i.attrs,
            syn::Item::Trait(i) => &i.attrs,
            syn::Item::Macro(i) => &i.attrs,
            _ => &[],
        };
        if is_test_only(attrs) {
            return;
        }
        syn::visit::visit_item(self, item);
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.scope.push(f.sig.ident.to_string());
        syn::visit::visit_item_fn(self, f);
        self.scope.pop();
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if is_test_only(&f.attrs) {
            return;
        }
        self.scope.push(f.sig.ident.to_string());
        syn::visit::visit_impl_item_fn(self, f);
        self.scope.pop();
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        let method = call.method.to_string();
        if method == "expect" || (method == "unwrap" && call.args.is_empty()) {
            self.report(format!(".{method}()"));
        }
        syn::visit::visit_expr_method_call(self, call);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let name = mac
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        if ["panic", "unreachable", "todo", "unimplemented"].contains(&name.as_str()) {
            self.report(format!("{name}!"));
        }
        // Macro arguments are tokens, not syntax: look for route paths in their literals too.
        if self.runtime {
            for token in mac.tokens.clone() {
                if let proc_macro2::TokenTree::Literal(lit) = token {
                    if lit.to_string().contains("/api/v1") {
                        self.report(format!("route path literal {lit}"));
                    }
                }
            }
        }
        syn::visit::visit_macro(self, mac);
    }

    fn visit_attribute(&mut self, _: &'ast syn::Attribute) {
        // Doc comments may name routes; only code may not.
    }

    fn visit_lit_str(&mut self, lit: &'ast syn::LitStr) {
        if self.runtime && lit.value().contains("/api/v1") {
            self.report(format!("route path literal {:?}", lit.value()));
        }
    }

    fn visit_expr_index(&mut self, index: &'ast syn::ExprIndex) {
        if self.runtime {
            if let syn::Expr::Path(path) = &*index.expr {
                if path
                    .path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "ROUTES")
                {
                    self.report("ROUTES[...] by index".to_string());
                }
            }
        }
        syn::visit::visit_expr_index(self, index);
    }
}

/// What the house rules find in the product code of the files under `dirs`.
fn product_violations(dirs: &[&str]) -> Vec<String> {
    let mut bad = Vec::new();
    for file in sources(dirs) {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        // Test modules kept in files of their own (`#[cfg(test)] mod tests;`).
        if name == "tests.rs" || name.ends_with("_tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read");
        let parsed = match syn::parse_file(&text) {
            Ok(parsed) => parsed,
            Err(err) => panic!("{} does not parse: {err}", file.display()),
        };
        let shown = file
            .strip_prefix(root())
            .unwrap_or(&file)
            .display()
            .to_string();
        let mut rules = ProductRules {
            runtime: shown.starts_with("mez-api/src"),
            file: shown,
            scope: Vec::new(),
            bad: &mut bad,
        };
        syn::visit::Visit::visit_file(&mut rules, &parsed);
    }
    bad
}

#[test]
fn product_code_never_unwraps_or_panics_nor_names_routes_by_index_or_path() {
    let bad = product_violations(&["mez-api/src", "mez-codegen/src", "mez-macros/src"]);
    assert!(
        bad.is_empty(),
        "forbidden in product code:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_product_rules_catch_what_they_name() {
    // A product file breaking each rule, and test code that may do all of it.
    let text = r#"
fn a() { let x: Option<u8> = None; x.unwrap(); }
fn b() { Some(1).expect("one"); }
fn c() { panic!("no"); }
fn d() -> &'static str { "/treasury-info/api/v1/account/{id}" }
fn e() { let _ = &crate::surface::ROUTES[3]; }
fn f() { let _ = format!("GET {}", "/consent-info/api/v1/x"); }
impl S {
    fn g(&self) { todo!() }
    #[cfg(test)]
    fn allowed(&self) { None::<u8>.unwrap(); }
}
#[cfg(test)]
mod tests { fn t() { Some(1).unwrap(); panic!("fine in tests"); } }
/// Doc text may name `/organization-info/api/v1/organization/{id}`.
fn h() {}
"#;
    let parsed = syn::parse_file(text).expect("parse");
    let mut bad = Vec::new();
    let mut rules = ProductRules {
        file: "mez-api/src/broken.rs".into(),
        runtime: true,
        scope: Vec::new(),
        bad: &mut bad,
    };
    syn::visit::Visit::visit_file(&mut rules, &parsed);
    let found: Vec<&str> = bad
        .iter()
        .filter_map(|b| b.split('(').nth(1)?.split(')').next())
        .collect();
    assert_eq!(found, ["a", "b", "c", "d", "e", "f", "g"], "{bad:#?}");
}

#[test]
fn the_generated_golden_copy_says_it_is_generated() {
    let text = std::fs::read_to_string(root().join("mez-api/generated/surface.rs")).expect("read");
    assert!(text.starts_with("// @generated by mez-codegen from spec/; do not edit by hand."));
}

#[test]
fn the_readme_lists_exactly_the_upstream_variables_of_the_spec() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("read README");
    let mut listed: Vec<&str> = readme
        .split('`')
        .filter(|word| word.starts_with("MASS_") && word.ends_with("_URL"))
        .collect();
    listed.sort_unstable();
    listed.dedup();
    let mut spec: Vec<&str> = mez_api::surface::URL_ENVS.to_vec();
    spec.sort_unstable();
    assert_eq!(
        listed, spec,
        "README.md's MASS_*_URL variables must be the spec's url_envs"
    );
}
