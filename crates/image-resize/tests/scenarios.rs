//! image-resize's promises, each a run of the real binary checked against the invariants I1–I5
//! (`harness`) and against the images it wrote: every ok output decodes whole (`image` crate),
//! fits the box (or is the box with `--exact`) in the format its name says; bad, empty and
//! truncated files fail alone, naming why; Ctrl-C leaves no temporary or half-written file.
//! `cargo test -p image-resize ctrl_c` runs the Ctrl-C cases.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use common::event::OutcomeKind;
use harness::{Interrupt, Scenario, Signal};
use testbed::images::Format;

use crate::support::{
    DEFAULT_FIT, Fit, JPEG_EOI, PNG_IEND, check, decode_whole, files_with, final_files_complete,
    finished_for, outputs_match, picture, skipped,
};

#[test]
fn generated_samples_fit_inside_800x600() {
    // The embedded default on a few images (the test runs a debug build): 6 samples, PNG and
    // JPEG, fitted inside 800x600 on 2 workers.
    check(
        Scenario::run(
            "generated-samples",
            &["--generate", "6", "--workers", "2", "--output", "{dir}/out"],
            0,
        )
        .timeout(Duration::from_secs(120))
        .check(|run| outputs_match(run, DEFAULT_FIT, 6)),
    );
}

#[test]
fn exact_size_stretches_to_the_box() {
    check(
        Scenario::run(
            "exact-size",
            &[
                "--generate",
                "4",
                "--workers",
                "2",
                "--size",
                "320x200",
                "--exact",
                "--output",
                "{dir}/out",
            ],
            0,
        )
        .timeout(Duration::from_secs(120))
        .check(|run| {
            outputs_match(
                run,
                Fit {
                    width: 320,
                    height: 200,
                    exact: true,
                    enlarge: false,
                },
                4,
            )
        }),
    );
}

#[test]
fn faults_fail_alone() {
    // A corrupt (truncated) PNG, a zero-byte file, a text file named .png and a decompression
    // bomb fail alone; the three good PNGs are resized; a text file named .txt is skipped.
    check(
        Scenario::run(
            "faults-fail-alone",
            &["--input", "{dir}/in", "--output", "{dir}/out", "--workers", "2"],
            1,
        )
        // Failing files end in microseconds: the two workers need not overlap.
        .partial_concurrency()
        .setup(write_fault_folder)
        .check(|run| {
            let failed = files_with(run, OutcomeKind::Failed)?;
            let expected: BTreeSet<String> = ["bomb.png", "corrupt.png", "empty.jpg", "notes.png"]
                .map(str::to_owned)
                .into();
            if failed != expected {
                return Err(format!("failed files {failed:?}, expected {expected:?}"));
            }
            let reason = finished_for(run, "bomb.png")?.reason.clone().unwrap_or_default();
            if !reason.contains("decode limits") {
                return Err(format!("the bomb failed for another reason: {reason}"));
            }
            let reason = finished_for(run, "notes.png")?.reason.clone().unwrap_or_default();
            if !reason.contains("not a PNG or JPEG") {
                return Err(format!("notes.png failed for another reason: {reason}"));
            }
            let skipped = skipped(run)?;
            if skipped.len() != 1 || skipped[0].0 != "notes.txt" || skipped[0].1 != "not_png_or_jpeg" {
                return Err(format!(
                    "expected notes.txt skipped as not_png_or_jpeg, got {skipped:?}"
                ));
            }
            let summary = &run.events()?.summary;
            for (key, want) in [("images_ok", 3), ("images_failed", 4), ("skipped", 1)] {
                if summary.count(key) != Some(want) {
                    return Err(format!(
                        "summary {key} should be {want}, got {:?}",
                        summary.count(key)
                    ));
                }
            }
            outputs_match(run, DEFAULT_FIT, 3)
        }),
    );
}

/// The files the truncation test cuts, and where (all must fail, naming truncation).
const TRUNCATED: [&str; 8] = [
    "cut-third.jpg",
    "cut-half.jpg",
    "cut-two-thirds.jpg",
    "no-eoi.jpg",
    "cut-third.png",
    "cut-half.png",
    "cut-two-thirds.png",
    "cut-inside-iend.png",
];

#[test]
fn truncated_files_fail_naming_truncation() {
    // JPEG and PNG files cut at a third, half, two thirds, or just before (JPEG) or inside (PNG)
    // their end marker fail alone, each with a reason that names truncation; the two whole files
    // are resized, and so is the PNG without its IEND chunk, its image data whole
    // (tests/truncation.rs has the border cases).
    check(
        Scenario::run(
            "truncated-files-fail",
            &["--input", "{dir}/in", "--output", "{dir}/out", "--workers", "2"],
            1,
        )
        .partial_concurrency()
        .setup(write_truncated_folder)
        .check(|run| {
            let failed = files_with(run, OutcomeKind::Failed)?;
            let expected: BTreeSet<String> = TRUNCATED.map(str::to_owned).into();
            if failed != expected {
                return Err(format!("failed files {failed:?}, expected {expected:?}"));
            }
            for file in TRUNCATED {
                let reason = finished_for(run, file)?.reason.clone().unwrap_or_default();
                if !reason.contains("truncated") {
                    return Err(format!("{file} failed without naming truncation: {reason}"));
                }
            }
            outputs_match(run, DEFAULT_FIT, 3)
        }),
    );
}

#[test]
fn empty_folder() {
    check(
        Scenario::run(
            "empty-folder",
            &["--input", "{dir}/in", "--output", "{dir}/out"],
            0,
        )
        .setup(|dir| Ok(std::fs::create_dir_all(dir.join("in"))?)),
    );
}

/// The arguments of the Ctrl-C runs: 20 generated samples on one worker.
const SIGNAL_RUN: &[&str] = &["--generate", "20", "--workers", "1", "--output", "{dir}/out"];

/// A run of [`SIGNAL_RUN`] interrupted by `interrupt`: exit 130 with a summary that says so,
/// every job accounted for (the standard checks), every output whole, no temporary file left.
fn signal_run(name: &str, interrupt: Interrupt) -> Scenario {
    Scenario::run(name, SIGNAL_RUN, 130)
        .partial_concurrency()
        .timeout(Duration::from_secs(120))
        .interrupt(interrupt)
        .check(|run| {
            let summary = &run.events()?.summary;
            if !summary.interrupted {
                return Err("the summary does not say interrupted".into());
            }
            outputs_match(run, DEFAULT_FIT, summary.ok)
        })
}

#[test]
fn ctrl_c_sigint_mid_run() {
    // Ctrl-C after the 2nd image starts, one worker: the image in flight finishes, the rest are
    // not started, exit 130, and no temporary file is left behind.
    check(
        signal_run("sigint-mid-run", Interrupt::AfterStarted(2)).check(|run| {
            match run.events()?.summary.not_started {
                0 => Err("the interrupt left no image unstarted".into()),
                _ => Ok(()),
            }
        }),
    );
}

#[test]
fn ctrl_c_sigterm_mid_run() {
    check(signal_run(
        "sigterm-mid-run",
        Interrupt::SignalAfterStarted(Signal::Term, 2),
    ));
}

// A signal in the first instants (while the samples are listed or generated, or the first image
// is resized): still a summary and 130, and no partial or temporary file.

#[test]
fn ctrl_c_sigint_at_1ms() {
    check(signal_run(
        "sigint-at-1ms",
        Interrupt::SignalAfterMs(Signal::Int, 1),
    ));
}

#[test]
fn ctrl_c_sigterm_at_3ms() {
    check(signal_run(
        "sigterm-at-3ms",
        Interrupt::SignalAfterMs(Signal::Term, 3),
    ));
}

#[test]
fn ctrl_c_double_sigint_exits_at_once() {
    // A second Ctrl-C exits at once (130, no summary required). Its temporary file may stay (the
    // next run removes it), but no file under a final name is incomplete.
    check(
        Scenario::exit_only("double-sigint-exits-at-once", SIGNAL_RUN, 130)
            .timeout(Duration::from_secs(120))
            .interrupt(Interrupt::SignalAfterStarted(Signal::IntTwice, 1))
            .check(|run| final_files_complete(run).map(|_| ())),
    );
}

// Usage errors that need a folder: exit 2 with one line on stderr (I6). The others are in
// `tests/bad-input.txt`.

#[test]
fn bad_input_missing_input_dir() {
    check(Scenario::bad_input(
        "bad-input/missing-input-dir",
        &["--input", "{dir}/no-such-folder"],
    ));
}

#[test]
fn bad_input_output_is_input() {
    check(Scenario::bad_input(
        "bad-input/output-is-input",
        &["--input", "{dir}", "--output", "{dir}"],
    ));
}

#[test]
fn bad_input_output_under_a_file() {
    // An output folder that cannot be created (its parent is a regular file: root may write
    // anywhere else): exit 2 with one line, before any image is decoded.
    check(
        Scenario::bad_input(
            "bad-input/output-under-a-file",
            &["--input", "{dir}/in", "--output", "{dir}/file/out"],
        )
        .setup(|dir| {
            std::fs::create_dir_all(dir.join("in"))?;
            picture(&dir.join("in").join("good.png"), Format::Png, 64, 48)?;
            Ok(std::fs::write(dir.join("file"), b"a regular file")?)
        }),
    );
}

/// `{dir}/in`: three good PNGs, the four faults, and a text file named .txt.
fn write_fault_folder(dir: &Path) -> anyhow::Result<()> {
    let input = dir.join("in");
    std::fs::create_dir_all(&input)?;
    picture(&input.join("good-a.png"), Format::Png, 300, 200)?;
    picture(&input.join("good-b.png"), Format::Png, 120, 160)?;
    picture(&input.join("good-c.png"), Format::Png, 1000, 10)?;
    // Valid header, truncated data: it fails while decoding, not while probing.
    let good = picture(&input.join("corrupt.png"), Format::Png, 200, 100)?;
    std::fs::write(input.join("corrupt.png"), &good[..good.len() / 2])?;
    std::fs::write(input.join("empty.jpg"), b"")?;
    std::fs::write(input.join("notes.txt"), b"hello, this is not an image\n")?;
    std::fs::write(input.join("notes.png"), b"hello, this is not an image either\n")?;
    // A 100000 x 100000 header (valid CRC) in front of a few bytes of data: 40 GB if decoded.
    let mut bomb = picture(&input.join("bomb.png"), Format::Png, 4, 4)?;
    anyhow::ensure!(&bomb[12..16] == b"IHDR", "the PNG does not start with IHDR");
    bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32fast::hash(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    std::fs::write(input.join("bomb.png"), bomb)?;
    Ok(())
}

/// `{dir}/in`: a whole PNG and a whole JPEG, two of the example's own generated samples
/// (`testbed::images`, drawn into `{dir}/samples`), the [`TRUNCATED`] cuts of them, and the PNG
/// without its IEND chunk.
fn write_truncated_folder(dir: &Path) -> anyhow::Result<()> {
    let samples = dir.join("samples");
    testbed::images::ensure(&samples, 2, 42, 1, || false)?;
    let input = dir.join("in");
    std::fs::create_dir_all(&input)?;
    let sample = |i: u32| std::fs::read(samples.join(testbed::images::file_name(i)));
    let (png, jpeg) = (sample(0)?, sample(1)?);
    for (bytes, want) in [(&png, "png"), (&jpeg, "jpeg")] {
        let (format, _) = decode_whole(bytes).map_err(|e| anyhow::anyhow!("a sample is not whole: {e}"))?;
        anyhow::ensure!(format == want, "the sample is {format}, expected {want}");
    }
    std::fs::write(input.join("whole.png"), &png)?;
    std::fs::write(input.join("whole.jpg"), &jpeg)?;
    for (bytes, ext, end_marker) in [(&jpeg, "jpg", JPEG_EOI), (&png, "png", PNG_IEND)] {
        let n = bytes.len();
        for (name, cut) in [
            ("cut-third", n / 3),
            ("cut-half", n / 2),
            ("cut-two-thirds", n * 2 / 3),
        ] {
            std::fs::write(input.join(format!("{name}.{ext}")), &bytes[..cut])?;
        }
        if ext == "jpg" {
            std::fs::write(input.join("no-eoi.jpg"), &bytes[..n - end_marker.len()])?;
        } else {
            std::fs::write(input.join("no-iend.png"), &bytes[..n - end_marker.len()])?;
            std::fs::write(input.join("cut-inside-iend.png"), &bytes[..n - 6])?;
        }
    }
    Ok(())
}
