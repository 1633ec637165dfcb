//! `cargo xtask tidy`: the workspace's house rules, also run as a test.
//!
//! - every example's `src/main.rs` opens with a `//!` header that names `cargo run -p <name>`;
//! - every member's folder name is its package name, and every member opts into the workspace
//!   lints (`[lints] workspace = true`);
//! - no example builds a standard event (`started`, `finished`, `not_started`, `summary`) as a
//!   JSON literal: `common::Reporter` emits them (the typed contract of `common::event`);

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
