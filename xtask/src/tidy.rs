//! `cargo xtask tidy`: the workspace's house rules, also run as a test.
//!
//! - every example's `src/main.rs` opens with a `//!` header that names `cargo run -p <name>`;
//! - every member's folder name is its package name, and every member opts into the workspace
//!   lints (`[lints] workspace = true`).

use std::path::Path;

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
    let mut members: Vec<(String, std::path::PathBuf)> = vec![
        ("common".into(), root.join("common")),
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_workspace_is_tidy() {
        let problems = super::problems(&crate::workspace_root()).expect("tidy runs");
        assert!(problems.is_empty(), "tidy problems:\n{}", problems.join("\n"));
    }
}
