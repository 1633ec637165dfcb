//! Every entry of `--input` is accounted for: resized, failed with its reason, or reported
//! `skipped` with its reason and counted in the summary by kind. Hidden entries, folders
//! (`--input` is not read recursively), entries that are not regular files (a FIFO) and files
//! not named .png, .jpg or .jpeg (a .txt, a .gif) are skipped; a symbolic link is followed: to
//! a file, it is resized; to a folder, skipped as one; to nothing, it fails.
#![cfg(unix)]

mod support;

use std::collections::BTreeSet;
use std::os::unix::fs::symlink;
use std::path::Path;

use common::event::OutcomeKind;
use harness::Scenario;
use testbed::images::Format;

use crate::support::{DEFAULT_FIT, check, expect_files, finished_for, outputs_match, picture, skipped};

/// The entries skipped, with their kind.
const SKIPPED: [(&str, &str); 7] = [
    (".hidden.png", "hidden"),
    (".git", "hidden"),
    ("sub", "folder"),
    ("folder-link", "folder"),
    ("notes.txt", "not_png_or_jpeg"),
    ("anim.gif", "not_png_or_jpeg"),
    ("fifo.png", "special"),
];

/// The summary's count of each kind of skipped entry.
const SKIPPED_COUNTS: [(&str, u64); 5] = [
    ("skipped", 7),
    ("skipped_hidden", 2),
    ("skipped_folder", 2),
    ("skipped_special", 1),
    ("skipped_not_png_or_jpeg", 2),
];

#[test]
fn every_entry_is_resized_failed_or_skipped_with_its_reason() {
    check(
        Scenario::run(
            "folder-entries",
            &["--input", "{dir}/in", "--output", "{dir}/out", "--workers", "2"],
            1, // the broken link fails
        )
        .partial_concurrency()
        .setup(write_mixed_folder)
        .check(|run| {
            let got: BTreeSet<(String, String)> = skipped(run)?
                .into_iter()
                .map(|(file, kind, reason)| {
                    if reason.trim().is_empty() {
                        Err(format!("{file} was skipped without a reason"))
                    } else {
                        Ok((file, kind))
                    }
                })
                .collect::<Result<_, _>>()?;
            let want: BTreeSet<(String, String)> = SKIPPED
                .iter()
                .map(|(f, k)| ((*f).to_owned(), (*k).to_owned()))
                .collect();
            if got != want {
                return Err(format!("skipped {got:?}, expected {want:?}"));
            }
            for (key, want) in SKIPPED_COUNTS {
                run.expect_count(key, want)?;
            }
            expect_files(run, OutcomeKind::Ok, &["good.png", "link.png"])?;
            expect_files(run, OutcomeKind::Failed, &["dangling.jpg"])?;
            let reason = finished_for(run, "dangling.jpg")?
                .reason
                .clone()
                .unwrap_or_default();
            if !reason.contains("symbolic link") {
                return Err(format!("the broken link failed without saying so: {reason}"));
            }
            // Every entry of the folder is a job or a skipped entry.
            let entries = std::fs::read_dir(run.dir.join("in"))
                .map_err(|e| e.to_string())?
                .count() as u64;
            let accounted = run.summary()?.submitted + run.count("skipped")?;
            if entries != accounted {
                return Err(format!(
                    "{entries} entries, {accounted} resized, failed or skipped"
                ));
            }
            outputs_match(run, DEFAULT_FIT, 2)
        }),
    );
}

/// `{dir}/in`: one good PNG, a link to a PNG elsewhere, a broken link, and the [`SKIPPED`]
/// entries.
fn write_mixed_folder(dir: &Path) -> anyhow::Result<()> {
    let input = dir.join("in");
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir_all(input.join("sub"))?;
    std::fs::create_dir_all(input.join(".git"))?;
    std::fs::create_dir_all(&elsewhere)?;
    picture(&input.join("good.png"), Format::Png, 64, 48)?;
    picture(&input.join(".hidden.png"), Format::Png, 64, 48)?;
    picture(&input.join("sub").join("nested.png"), Format::Png, 64, 48)?;
    picture(&elsewhere.join("target.png"), Format::Png, 40, 30)?;
    symlink(elsewhere.join("target.png"), input.join("link.png"))?;
    symlink(dir.join("nowhere.jpg"), input.join("dangling.jpg"))?;
    symlink(input.join("sub"), input.join("folder-link"))?;
    std::fs::write(input.join("notes.txt"), b"hello, this is not an image\n")?;
    // The start of a GIF: this example reads PNG and JPEG only.
    std::fs::write(input.join("anim.gif"), b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")?;
    // A FIFO named like an image: opening it would wait for a writer forever.
    let made = std::process::Command::new("mkfifo")
        .arg(input.join("fifo.png"))
        .status()?;
    anyhow::ensure!(made.success(), "mkfifo failed: {made}");
    Ok(())
}
