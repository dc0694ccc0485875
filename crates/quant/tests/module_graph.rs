//! The core's modules import each other without a cycle (issue 13): read from the sources, each
//! top-level module's references to another (`crate::m::…`, and the crate root's re-exports such
//! as `crate::Dataset`) outside comments and test modules form a graph that has a topological
//! order. A new import that closes a loop fails here, naming the modules on it.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The module a path inside `src` belongs to (`calib/mse.rs` → `calib`), or `None` for the root.
fn module_of(rel: &Path) -> Option<String> {
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_string();
    (name != "lib").then_some(name)
}

/// The source without its `#[cfg(test)]` modules (they come last in every file here) and
/// without `//` comments (doc links are not imports).
fn code_of(source: &str) -> String {
    let source = source.split("#[cfg(test)]").next().unwrap_or("");
    source
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Identifiers after `crate::` (lower-case: modules; anything in `crate::{…}` or capitalised:
/// names the root re-exports).
fn references(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(list) = rest.strip_prefix('{') {
            let end = list.find('}').unwrap_or(list.len());
            out.extend(
                list[..end]
                    .split(',')
                    .filter_map(|s| s.split_whitespace().next())
                    .map(str::to_string),
            );
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            out.push(rest[..end].to_string());
        }
    }
    out
}

/// The crate root's `pub use m::{a, b}` / `pub use m::a`: name → module.
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for stmt in lib.split(';') {
        let Some(at) = stmt.find("pub use ") else {
            continue;
        };
        let path = stmt[at + "pub use ".len()..].trim();
        let Some((module, names)) = path.split_once("::") else {
            continue;
        };
        let names = names.trim_start_matches('{').trim_end_matches('}');
        for n in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let n = n.rsplit(" as ").next().unwrap_or(n);
            out.insert(n.to_string(), module.to_string());
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Module → the modules it refers to.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap_or_else(|e| panic!("{e}"));
    let root = reexports(&code_of(&lib));
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|f| module_of(f.strip_prefix(&src).unwrap_or(f)))
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap_or(&file);
        // Test-only files of a directory module (`ggml/tests.rs`).
        if rel.file_name().is_some_and(|f| f == "tests.rs") {
            continue;
        }
        let Some(module) = module_of(rel) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
        let edges = graph.entry(module.clone()).or_default();
        for r in references(&code_of(&text)) {
            // `crate::analyze` is the module (and the function the root re-exports from `run`):
            // a module's name means the module.
            let target = match root.get(&r) {
                Some(m) if !modules.contains(&r) => m.clone(),
                _ => r,
            };
            if target != module && target.chars().all(|c| c.is_lowercase() || c == '_') {
                edges.insert(target);
            }
        }
    }
    graph
}

/// A cycle of `graph`, if it has one (depth-first search with colours).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if !graph.contains_key(next) {
                continue;
            }
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(next, graph, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(node, graph, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn the_core_modules_import_each_other_without_a_cycle() {
    let graph = graph();
    // The graph is the real one: the paths and the format's families are in it.
    assert!(graph.len() > 25, "{:?}", graph.keys().collect::<Vec<_>>());
    assert!(graph["run"].contains("family") && graph["run"].contains("plan"));
    assert!(graph["family"].contains("analyze") && graph["family"].contains("plan"));
    assert!(graph["plan"].contains("analysis"));
    // The families sit above the shared machinery: none of it reaches back to them.
    for low in [
        "plan",
        "analyze",
        "analysis",
        "config",
        "formula",
        "inspect",
        "numberline",
    ] {
        assert!(!graph[low].contains("family"), "{low} imports family");
    }
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "the core's modules import each other in a loop: {}",
            cycle.join(" → ")
        );
    }
}

#[test]
fn the_checker_finds_a_loop_and_reads_re_exports() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")] {
        g.entry(a.into()).or_default().insert(b.into());
        g.entry(b.into()).or_default();
    }
    assert_eq!(
        find_cycle(&g),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    g.get_mut("c").map(|e| e.remove("a"));
    assert_eq!(find_cycle(&g), None);
    let code = code_of("use crate::x::Y; // crate::z\nfn f() { crate::Dataset::new(); }\nuse crate::{q, R};\n#[cfg(test)]\nuse crate::t;");
    assert_eq!(references(&code), vec!["x", "Dataset", "q", "R"]);
    let root = reexports("pub use dataset::{Dataset, DatasetError};\npub use run::analyze;");
    assert_eq!(root["Dataset"], "dataset");
    assert_eq!(root["analyze"], "run");
}

/// `Family::V` and `Format::V` (a variant: capitalised) in `code`, skipping longer names such as
/// `ScaleFormat::`.
fn variants_named(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for name in ["Family::", "Format::"] {
        let mut from = 0;
        while let Some(at) = code[from..].find(name) {
            let start = from + at;
            from = start + name.len();
            let before = code[..start].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let rest = &code[from..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let variant = &rest[..end];
            if variant.starts_with(|c: char| c.is_uppercase()) && variant != "ALL" {
                out.push(format!("{name}{variant}"));
            }
        }
    }
    out
}

/// What a format family does lives in its module (issue 13): outside `format.rs` (the formats,
/// their families and knobs) and `family/` (each family's behaviour), the core's code names no
/// family and no format — except the integer format, whose fast pass the shared views special-case,
/// and `presets.rs`, whose named configurations are data. A new family or format then touches
/// those files, and the compiler's exhaustive matches name each place in them.
#[test]
fn formats_and_families_are_named_only_in_their_modules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found = Vec::new();
    let mut family_files = 0;
    for file in files {
        let rel = file.strip_prefix(&src).unwrap_or(&file).to_path_buf();
        let rel_text = rel.to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
        let named = variants_named(&code_of(&text));
        if rel_text.starts_with("family/") {
            family_files += usize::from(!named.is_empty() || rel_text.ends_with("mod.rs"));
            continue;
        }
        if matches!(rel_text.as_str(), "format.rs" | "presets.rs")
            || rel.file_name().is_some_and(|f| f == "tests.rs")
        {
            continue;
        }
        found.extend(
            named
                .into_iter()
                .filter(|v| v != "Format::Int")
                .map(|v| format!("{rel_text}: {v}")),
        );
    }
    // The scan is real: the family modules are there and name their formats.
    assert!(family_files >= 2, "{family_files}");
    assert_eq!(
        variants_named("x == Format::Fp16 && ScaleFormat::E8m0 != Family::Cast"),
        ["Family::Cast", "Format::Fp16"]
    );
    assert!(
        found.is_empty(),
        "formats named outside their modules: {found:#?}"
    );
}
