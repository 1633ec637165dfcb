//! Bad input as data: each example keeps every usage error it prints in one file,
//! `tests/bad-input.txt`, so a reviewer reads all its error messages in one place, and a test
//! checks each one exactly (I6: exit 2, that one line on stderr, no panic).
//!
//! The file is blocks separated by blank lines; `#` starts a comment line. In each block the
//! first line is the arguments (split at whitespace; `'…'` keeps spaces), the second the exact
//! line the example must print on stderr:
//!
//! ```text
//! # --workers takes 1 to 4096
//! --workers 0
//! error: invalid value '0' for '--workers <WORKERS>': workers must be between 1 and 4096, got 0 (see --help)
//! ```
//!
//! `HARNESS_BLESS=1 cargo test -p <example> bad_input` writes what the example prints now into
//! the file (review the diff).

use std::path::Path;
use std::time::Duration;

use crate::check::check_bad_input;

/// One case of a bad-input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The comment lines above it, kept when the file is rewritten.
    pub comments: Vec<String>,
    pub args: Vec<String>,
    pub stderr: String,
}

/// Reads the blocks of a bad-input file.
pub fn parse(text: &str) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    for (n, block) in text.split("\n\n").enumerate() {
        let mut comments = Vec::new();
        let mut lines = Vec::new();
        for line in block.lines().filter(|l| !l.trim().is_empty()) {
            if line.starts_with('#') {
                comments.push(line.to_owned());
            } else {
                lines.push(line);
            }
        }
        match lines.as_slice() {
            [] => {}
            [args, stderr] => cases.push(Case {
                comments,
                args: split_args(args)?,
                stderr: (*stderr).to_owned(),
            }),
            _ => {
                return Err(format!(
                    "block {} has {} lines; want the arguments, then the stderr line",
                    n + 1,
                    lines.len()
                ));
            }
        }
    }
    Ok(cases)
}

/// Whitespace-separated words; `'…'` keeps its spaces.
fn split_args(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    words.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    if quoted {
        return Err(format!("unclosed quote in {line:?}"));
    }
    if any {
        words.push(word);
    }
    Ok(words)
}

fn format_args(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if a.is_empty() || a.contains(char::is_whitespace) {
                format!("'{a}'")
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs every case of the file at `path` on `program` and panics listing every case whose exit
/// code, stderr line or panic-freedom is wrong. With `HARNESS_BLESS=1`, rewrites the file with
/// what the program prints now instead.
#[track_caller]
pub fn assert_bad_input_file(program: &str, path: &str) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let cases = parse(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(!cases.is_empty(), "{path} has no cases");
    let bless = std::env::var_os("HARNESS_BLESS").is_some_and(|v| v == "1");
    let scratch = std::env::temp_dir().join(format!("harness-bad-input-{}", std::process::id()));
    let mut failures = Vec::new();
    let mut blessed = Vec::new();
    for case in &cases {
        let _ = std::fs::create_dir_all(&scratch);
        let out = crate::process::run_watched(
            Path::new(program),
            &case.args,
            &scratch,
            Duration::from_secs(30),
            None,
        );
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                failures.push(format!("{}: could not run: {e:#}", format_args(&case.args)));
                continue;
            }
        };
        let mut why = check_bad_input(&out);
        let got = out.stderr.trim_end().to_owned();
        if got != case.stderr && !bless {
            why.push(format!(
                "stderr differs:\n      want: {}\n      got:  {got}",
                case.stderr
            ));
        }
        if !why.is_empty() {
            failures.push(format!(
                "{}:\n    {}",
                format_args(&case.args),
                why.join("\n    ")
            ));
        }
        blessed.push(Case {
            stderr: got,
            ..case.clone()
        });
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if bless {
        let text: Vec<String> = blessed
            .iter()
            .map(|c| {
                let mut lines = c.comments.clone();
                lines.push(format_args(&c.args));
                lines.push(c.stderr.clone());
                lines.join("\n")
            })
            .collect();
        std::fs::write(path, text.join("\n\n") + "\n").unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
    }
    assert!(
        failures.is_empty(),
        "{} of {} bad-input case(s) in {path} failed (HARNESS_BLESS=1 rewrites the file with what the program prints now):\n  {}",
        failures.len(),
        cases.len(),
        failures.join("\n  ")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_become_cases_with_their_comments() {
        let text = "# first\n--workers 0\nerror: no\n\n--db 'a b' --x\nerror: yes\n";
        let cases = parse(text).expect("parses");
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].comments, vec!["# first"]);
        assert_eq!(cases[0].args, vec!["--workers", "0"]);
        assert_eq!(cases[1].args, vec!["--db", "a b", "--x"]);
        assert_eq!(cases[1].stderr, "error: yes");
        assert_eq!(format_args(&cases[1].args), "--db 'a b' --x");
    }

    #[test]
    fn a_block_without_its_stderr_line_is_an_error() {
        assert!(parse("--workers 0\n").is_err());
        assert!(parse("--x 'open\nerror: y\n").is_err());
    }

    #[test]
    fn empty_arguments_round_trip() {
        let cases = parse("--url ''\nerror: empty\n").expect("parses");
        assert_eq!(cases[0].args, vec!["--url", ""]);
        assert_eq!(format_args(&cases[0].args), "--url ''");
    }
}
