//! `cargo xtask tidy`: the workspace's house rules, also run as a test.
//!
//! - every example's `src/main.rs` opens with a `//!` header that names `cargo run -p <name>`;
//! - every member's folder name is its package name, and every member opts into the workspace
//!   lints (`[lints] workspace = true`);
//! - no example builds a standard event (`started`, `finished`, `not_started`, `summary`) as a
//!   JSON literal: `common::Reporter` emits them (the typed contract of `common::event`);
//! - `common`'s modules are layers: each imports through `crate::` only the modules below it
//!   ([`COMMON_LAYERS`]), so no circle can return.

use std::path::{Path, PathBuf};

use crate::{examples, workspace_root};

pub fn tidy() -> anyhow::Result<()> {
    let problems = problems(&workspace_root())?;
    for p in &problems {
        println!("tidy: {p}");
    }
    anyhow::ensure!(problems.is_empty(), "{} tidy problem(s)", problems.len());
    println!("tidy: ok");
    Ok(())
}

pub fn problems(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    let examples = examples(root)?;
    let mut members: Vec<(String, PathBuf)> = vec![
        ("common".into(), root.join("common")),
        ("testbed".into(), root.join("testbed")),
        ("xtask".into(), root.join("xtask")),
    ];
    for name in &examples {
        let main = root.join("crates").join(name).join("src/main.rs");
        match std::fs::read_to_string(&main) {
            Ok(text) => {
                if !text.starts_with("//!") {
                    problems.push(format!("{} must open with a //! header", main.display()));
                }
                let header: String = text
                    .lines()
                    .take_while(|l| l.starts_with("//!"))
                    .collect::<Vec<_>>()
                    .join("\n");
                if !header.contains(&format!("cargo run -p {name}")) {
                    problems.push(format!(
                        "{}: the //! header must say \"Run with: cargo run -p {name}\"",
                        main.display()
                    ));
                }
                if !header.contains("Go original") {
                    problems.push(format!(
                        "{}: the //! header must name the Go original it ports",
                        main.display()
                    ));
                }
            }
            Err(e) => problems.push(format!("{}: {e}", main.display())),
        }
        members.push((name.clone(), root.join("crates").join(name)));
        if HAND_BUILT_EVENTS_RULE {
            for file in rust_files(&root.join("crates").join(name).join("src")) {
                problems.extend(hand_built_events(&file));
            }
        }
    }
    problems.extend(common_layers(&root.join("common/src")));
    for (name, dir) in members {
        let manifest = dir.join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap_or_default();
        if !text.contains(&format!("name = \"{name}\"")) {
            problems.push(format!(
                "{}: the package name must be the folder name {name:?}",
                manifest.display()
            ));
        }
        let opted_in = text.split("\n[").any(|section| {
            section.starts_with("lints]") && section.lines().any(|l| l.replace(' ', "") == "workspace=true")
        });
        if !opted_in {
            problems.push(format!(
                "{}: add `[lints]\\nworkspace = true`",
                manifest.display()
            ));
        }
    }
    Ok(problems)
}

/// Whether examples are checked for standard events written as JSON literals. On once http-fetch
/// and db-batch emit theirs through `Reporter` (issue 11).
const HAND_BUILT_EVENTS_RULE: bool = true;

/// The standard events, which only `common::Reporter` may print.
const STANDARD_EVENTS: [&str; 4] = ["started", "finished", "not_started", "summary"];

/// Lines of `file` that build a standard event by hand: `"event"` next to a standard event's
/// name, in a `json!` literal or an escaped string alike.
fn hand_built_events(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let plain: String = line
            .chars()
            .filter(|c| *c != '\\' && !c.is_whitespace())
            .collect();
        let names_one = STANDARD_EVENTS
            .iter()
            .any(|name| plain.contains(&format!("\"event\":\"{name}\"")));
        if names_one {
            found.push(format!(
                "{}:{}: a standard event built by hand: emit it with common::Reporter",
                file.display(),
                i + 1
            ));
        }
    }
    found
}

/// `common`'s modules, bottom up, each with the modules it may import through `crate::`: only
/// modules below it. `lib.rs` declares the modules and re-exports their items; a module names
/// the module it imports from, never a re-export of the crate root.
const COMMON_LAYERS: &[(&str, &[&str])] = &[
    ("exit", &[]),
    ("job", &[]),
    ("event", &[]),
    ("gauge", &[]),
    ("progress", &[]),
    ("work", &["job"]),
    ("threads", &["exit"]),
    ("signal", &["exit", "threads"]),
    ("report", &["exit", "job", "event", "work", "threads"]),
    ("cli", &["exit", "job", "work", "report"]),
];

/// Every `crate::` import in `common`'s modules (files of `src`, besides `lib.rs`) that its
/// entry in [`COMMON_LAYERS`] does not allow, and every module without an entry.
fn common_layers(src: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for file in rust_files(src) {
        let Some(module) = file.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if module == "lib" {
            continue;
        }
        let Some((_, allowed)) = COMMON_LAYERS.iter().find(|(name, _)| *name == module) else {
            found.push(format!(
                "{}: a module of common without a layer: add it to COMMON_LAYERS in xtask/src/tidy.rs",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (i, line) in text.lines().enumerate() {
            for target in crate_imports(line) {
                if !allowed.contains(&target.as_str()) {
                    let why = if COMMON_LAYERS.iter().any(|(name, _)| *name == target) {
                        format!("`{module}` may import only {allowed:?}")
                    } else {
                        "name the module it comes from, not the crate root".to_owned()
                    };
                    found.push(format!(
                        "{}:{}: crate::{target} imported by common's `{module}`: {why}",
                        file.display(),
                        i + 1
                    ));
                }
            }
        }
    }
    found
}

/// The first path segment of every `crate::` path in the code of `line` (comments and string
/// literals left out): `crate::a::b` gives `a`, `crate::{a::b, c}` gives `a` and `c`.
fn crate_imports(line: &str) -> Vec<String> {
    let code = code_only(line);
    let mut targets = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        let after = &rest[at + "crate::".len()..];
        rest = after;
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue; // `$crate::` in a macro, or another name ending in "crate"
        }
        if let Some(group) = after.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        targets.push(first_segment(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    item.push(c);
                }
            }
            targets.push(first_segment(&item));
        } else {
            targets.push(first_segment(after));
        }
    }
    targets.retain(|t| !t.is_empty() && t != "self");
    targets
}

/// The identifier at the start of `path`.
fn first_segment(path: &str) -> String {
    path.trim()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// `line` without its `//` comment and with its string literals blanked.
fn code_only(line: &str) -> String {
    let mut code = String::new();
    let mut chars = line.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '/' if chars.peek() == Some(&'/') => break,
            _ => code.push(c),
        }
    }
    code
}

/// The `.rs` files under `dir`, recursively, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_workspace_is_tidy() {
        let problems = super::problems(&crate::workspace_root()).expect("tidy runs");
        assert!(problems.is_empty(), "tidy problems:\n{}", problems.join("\n"));
    }

    #[test]
    fn an_import_against_common_layers_is_found() {
        let dir = std::env::temp_dir().join(format!("xtask-tidy-layers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let files = [
            (
                "threads.rs",
                concat!(
                    "use crate::exit::EXIT_USAGE;\n",
                    "use crate::{exit::print_error_line, report::Summary};\n",
                    "// crate::cli in a comment is no import\n",
                    "let s = \"crate::cli in a string is none either\";\n",
                    "    crate::signal::interrupted_at() // crate::cli\n",
                    "let j: crate::Job = todo();\n",
                ),
            ),
            (
                "signal.rs",
                "use crate::{exit::{EXIT_USAGE, print_error_line}, threads};\n",
            ),
            ("lib.rs", "pub use crate::report::Reporter;\n"),
            ("newcomer.rs", "fn f() {}\n"),
        ];
        for (name, text) in files {
            std::fs::write(dir.join(name), text).expect("write");
        }
        let found = super::common_layers(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        let lines: Vec<&str> = found.iter().map(String::as_str).collect();
        assert_eq!(found.len(), 4, "{found:#?}");
        assert!(lines[0].contains("newcomer.rs") && lines[0].contains("without a layer"));
        assert!(lines[1].contains("threads.rs:2: crate::report imported by common's `threads`"));
        assert!(lines[2].contains("threads.rs:5: crate::signal"));
        assert!(lines[3].contains("threads.rs:6: crate::Job") && lines[3].contains("crate root"));
    }

    #[test]
    fn a_standard_event_built_by_hand_is_found() {
        let dir = std::env::temp_dir().join(format!("xtask-tidy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("main.rs");
        let text = concat!(
            "let a = json!({\"event\": \"started\", \"job\": 1});\n",
            "println!(\"{{\\\"event\\\":\\\"finished\\\"}}\");\n",
            "let ok = json!({\"event\": \"batch_retry\"});\n",
        );
        std::fs::write(&file, text).expect("write");
        let found = super::hand_built_events(&file);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("main.rs:1:") && found[1].contains("main.rs:2:"));
    }
}
