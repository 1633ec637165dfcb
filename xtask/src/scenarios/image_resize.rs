//! Scenarios for `image-resize`: generated samples (PNG and JPEG), exact sizes, a folder of
//! faults, truncated files, Ctrl-C (SIGINT, SIGTERM, twice, in the first instants), an output
//! folder that cannot be written, and bad input.
//!
//! The checks read the outputs' headers directly, which is quick and independent of the decoder
//! the example uses: a PNG must have its signature, an IHDR first, every chunk's CRC right and an
//! IEND last; a JPEG must start with SOI, carry a SOF header before its scan, and end with EOI.
//! The dimensions in those headers must be the ones the event reports and the ones the input's
//! size gives. (Stress and the example's own tests decode outputs fully with the `image` crate.)

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use common::event::{Finished, OutcomeKind};
use serde_json::Value;

use super::{Interrupt, Run, Scenario, Signal};

/// A real 192x137 JPEG, written by image-resize itself from one of its generated samples: xtask
/// has no JPEG encoder, and the truncation scenario needs a real file to cut.
const JPEG_192X137: &[u8] = include_bytes!("image-resize-192x137.jpg");

/// The files the truncation scenario cuts, and where (all must fail, naming truncation).
const TRUNCATED: [&str; 8] = [
    "cut-third.jpg",
    "cut-half.jpg",
    "cut-two-thirds.jpg",
    "no-eoi.jpg",
    "cut-third.png",
    "cut-half.png",
    "cut-two-thirds.png",
    "no-iend.png",
];

/// The arguments of the Ctrl-C runs: 20 generated samples on one worker.
const SIGNAL_RUN: &[&str] = &["--generate", "20", "--workers", "1", "--output", "{dir}/out"];

pub fn scenarios() -> Vec<Scenario> {
    vec![
        // The embedded default on a few images (the scenario runs a debug build): 6 samples,
        // PNG and JPEG, fitted inside 800x600 on 2 workers.
        Scenario::run(
            "generated-samples",
            &["--generate", "6", "--workers", "2", "--output", "{dir}/out"],
            0,
        )
        .timeout(Duration::from_secs(120))
        .check(|run| outputs_match(run, (800, 600), false, 6)),
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
        .check(|run| outputs_match(run, (320, 200), true, 4)),
        // A corrupt (truncated) PNG, a zero-byte file, a text file and a decompression bomb fail
        // alone; the three good PNGs are resized.
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
            let expected: BTreeSet<String> = ["bomb.png", "corrupt.png", "empty.jpg", "notes.txt"]
                .map(str::to_owned)
                .into();
            if failed != expected {
                return Err(format!("failed files {failed:?}, expected {expected:?}"));
            }
            let reason = finished_for(run, "bomb.png")?.reason.clone().unwrap_or_default();
            if !reason.contains("decode limits") {
                return Err(format!("the bomb failed for another reason: {reason}"));
            }
            let summary = &run.events()?.summary;
            for (key, want) in [("images_ok", 3), ("images_failed", 4)] {
                if summary.count(key) != Some(want) {
                    return Err(format!(
                        "summary {key} should be {want}, got {:?}",
                        summary.count(key)
                    ));
                }
            }
            outputs_match(run, (800, 600), false, 3)
        }),
        // JPEG and PNG files cut at a third, half, two thirds, or just before their end
        // marker fail alone, each with a reason that names truncation; the two whole files are
        // resized.
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
            outputs_match(run, (800, 600), false, 2)
        }),
        Scenario::run(
            "empty-folder",
            &["--input", "{dir}/in", "--output", "{dir}/out"],
            0,
        )
        .setup(|dir| Ok(std::fs::create_dir_all(dir.join("in"))?)),
        // Ctrl-C after the 2nd image starts, one worker: the image in flight finishes, the rest
        // are not started, exit 130, and no temporary file is left behind.
        signal_run("sigint-mid-run", Interrupt::AfterStarted(2)).check(|run| {
            match run.events()?.summary.not_started {
                0 => Err("the interrupt left no image unstarted".into()),
                _ => Ok(()),
            }
        }),
        signal_run("sigterm-mid-run", Interrupt::SignalAfterStarted(Signal::Term, 2)),
        // A signal in the first instants (while the samples are listed or generated, or the first
        // image is resized): still a summary and 130, and no partial or temporary file.
        signal_run("sigint-at-1ms", Interrupt::SignalAfterMs(Signal::Int, 1)),
        signal_run("sigterm-at-3ms", Interrupt::SignalAfterMs(Signal::Term, 3)),
        // A second Ctrl-C exits at once (130, no summary required). Its temporary file may stay
        // (the next run removes it), but no file under a final name is incomplete.
        Scenario::exit_only("double-sigint-exits-at-once", SIGNAL_RUN, 130)
            .timeout(Duration::from_secs(120))
            .interrupt(Interrupt::SignalAfterStarted(Signal::IntTwice, 1))
            .check(|run| final_files_complete(run).map(|_| ())),
        Scenario::bad_input(
            "bad-input/missing-input-dir",
            &["--input", "{dir}/no-such-folder"],
        ),
        Scenario::bad_input("bad-input/size-zero", &["--size", "0x600"]),
        Scenario::bad_input("bad-input/size-abc", &["--size", "abc"]),
        Scenario::bad_input(
            "bad-input/output-is-input",
            &["--input", "{dir}", "--output", "{dir}"],
        ),
        // An output folder that cannot be created (its parent is a regular file: root may write
        // anywhere else): exit 2 with one line, before any image is decoded.
        Scenario::bad_input(
            "bad-input/output-under-a-file",
            &["--input", "{dir}/in", "--output", "{dir}/file/out"],
        )
        .setup(|dir| {
            std::fs::create_dir_all(dir.join("in"))?;
            std::fs::write(dir.join("in").join("good.png"), png(64, 48))?;
            Ok(std::fs::write(dir.join("file"), b"a regular file")?)
        }),
    ]
}

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
            outputs_match(run, (800, 600), false, summary.ok)
        })
}

/// The `finished` event for `file`.
fn finished_for<'a>(run: &'a Run<'_>, file: &str) -> Result<&'a Finished, String> {
    run.events()?
        .finished()
        .find(|e| file_of(e) == Some(file))
        .ok_or_else(|| format!("no finished event for {file}"))
}

fn file_of(e: &Finished) -> Option<&str> {
    e.detail.get("file").and_then(Value::as_str)
}

/// The files whose `finished` outcome is `outcome`.
fn files_with(run: &Run<'_>, outcome: OutcomeKind) -> Result<BTreeSet<String>, String> {
    Ok(run
        .events()?
        .finished()
        .filter(|e| e.outcome == outcome)
        .filter_map(|e| file_of(e).map(str::to_owned))
        .collect())
}

/// Every ok image has a complete output in `{dir}/out` with the expected dimensions; the folder
/// holds exactly `ok` images and no temporary file (a run stopped before it made the folder
/// has none).
fn outputs_match(run: &Run<'_>, bounds: (u32, u32), exact: bool, ok: u64) -> Result<(), String> {
    let out = run.dir.join("out");
    let mut seen = 0;
    for e in run.events()?.finished().filter(|e| e.outcome == OutcomeKind::Ok) {
        let n = |k: &str| -> Result<u32, String> {
            e.detail
                .get(k)
                .and_then(Value::as_u64)
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| format!("finished event of job {} without {k}", e.job))
        };
        let (w, h, ow, oh) = (n("width")?, n("height")?, n("out_width")?, n("out_height")?);
        let want = expected_size(w, h, bounds, exact);
        if (ow, oh) != want {
            return Err(format!("{w}x{h} was reported as {ow}x{oh}, expected {want:?}"));
        }
        let path = e.detail.get("out_path").and_then(Value::as_str);
        let path = Path::new(path.ok_or("finished event without out_path")?);
        if path.parent() != Some(out.as_path()) {
            return Err(format!("{} is not in {}", path.display(), out.display()));
        }
        let bytes = std::fs::read(path).map_err(|err| format!("{}: {err}", path.display()))?;
        let (format, actual) = image_header(&bytes).map_err(|err| format!("{}: {err}", path.display()))?;
        if actual != want {
            return Err(format!("{} is {actual:?}, expected {want:?}", path.display()));
        }
        let reported = e.detail.get("format").and_then(Value::as_str);
        if reported != Some(format) {
            return Err(format!(
                "{} is {format}, its input was {reported:?}",
                path.display()
            ));
        }
        seen += 1;
    }
    if seen != ok {
        return Err(format!("{seen} images resized, expected {ok}"));
    }
    let files = final_files_complete(run)?;
    if let Some(temp) = files.temporary.first() {
        return Err(format!("a temporary file was left behind: {temp}"));
    }
    if files.complete as u64 != ok {
        return Err(format!(
            "{} holds {} images, expected {ok}",
            out.display(),
            files.complete
        ));
    }
    Ok(())
}

/// What `{dir}/out` holds.
struct OutFolder {
    /// Files under their final name, each a complete PNG or JPEG.
    complete: usize,
    /// Names of temporary files.
    temporary: Vec<String>,
}

/// Fails if a file under a final name in `{dir}/out` is not a complete image; a missing folder
/// is an empty one.
fn final_files_complete(run: &Run<'_>) -> Result<OutFolder, String> {
    let out = run.dir.join("out");
    let mut folder = OutFolder {
        complete: 0,
        temporary: Vec::new(),
    };
    let entries = match std::fs::read_dir(&out) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(folder),
        Err(e) => return Err(format!("{}: {e}", out.display())),
    };
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", out.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".tmp") {
            folder.temporary.push(name);
            continue;
        }
        let bytes = std::fs::read(entry.path()).map_err(|e| format!("{name}: {e}"))?;
        image_header(&bytes).map_err(|e| format!("{name} under its final name is not whole: {e}"))?;
        folder.complete += 1;
    }
    Ok(folder)
}

/// The same rule as the example: the box exactly, or the largest same-ratio size inside it
/// (the limiting side equals the box, the other is rounded half up, at least 1).
fn expected_size(w: u32, h: u32, (bw, bh): (u32, u32), exact: bool) -> (u32, u32) {
    if exact {
        return (bw, bh);
    }
    let (w, h, bw64, bh64) = (u64::from(w), u64::from(h), u64::from(bw), u64::from(bh));
    let side = |n: u64| u32::try_from(n).unwrap_or(u32::MAX).max(1);
    if w * bh64 >= h * bw64 {
        (bw, side((2 * h * bw64 + w) / (2 * w)))
    } else {
        (side((2 * w * bh64 + h) / (2 * h)), bh)
    }
}

/// The format ("png" or "jpeg") and dimensions of a complete PNG or JPEG file.
fn image_header(bytes: &[u8]) -> Result<(&'static str, (u32, u32)), String> {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if let Some(mut rest) = bytes.strip_prefix(PNG) {
        let mut size = None;
        let mut first = true;
        loop {
            if rest.len() < 12 {
                return Err("PNG: truncated (no IEND)".into());
            }
            let len = be32(&rest[0..4]) as usize;
            let kind = &rest[4..8];
            let Some(data) = rest.get(8..8 + len) else {
                return Err("PNG: truncated chunk".into());
            };
            let Some(crc) = rest.get(8 + len..12 + len) else {
                return Err("PNG: truncated chunk CRC".into());
            };
            if crc32fast::hash(&rest[4..8 + len]) != be32(crc) {
                return Err(format!("PNG: bad CRC in {}", String::from_utf8_lossy(kind)));
            }
            if first {
                if kind != b"IHDR" || len < 8 {
                    return Err("PNG: the first chunk is not IHDR".into());
                }
                size = Some((be32(&data[0..4]), be32(&data[4..8])));
                first = false;
            }
            rest = &rest[12 + len..];
            if kind == b"IEND" {
                return size.map(|s| ("png", s)).ok_or_else(|| "PNG: no IHDR".into());
            }
        }
    }
    if bytes.starts_with(&[0xFF, 0xD8]) {
        if !bytes.ends_with(&[0xFF, 0xD9]) {
            return Err("JPEG: truncated (no EOI at the end)".into());
        }
        let mut i = 2;
        while i + 4 <= bytes.len() {
            if bytes[i] != 0xFF {
                return Err(format!("JPEG: no marker at byte {i}"));
            }
            let marker = bytes[i + 1];
            if marker == 0xFF {
                i += 1; // fill byte
                continue;
            }
            let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
            let is_sof = (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker);
            if is_sof {
                let seg = bytes.get(i + 4..i + 9).ok_or("JPEG: truncated SOF")?;
                let h = u32::from(u16::from_be_bytes([seg[1], seg[2]]));
                let w = u32::from(u16::from_be_bytes([seg[3], seg[4]]));
                return Ok(("jpeg", (w, h)));
            }
            if marker == 0xDA {
                return Err("JPEG: scan before any SOF header".into());
            }
            i += 2 + len;
        }
        return Err("JPEG: no SOF header".into());
    }
    Err("neither a PNG nor a JPEG file".into())
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// `{dir}/in`: three good PNGs and the four faults.
fn write_fault_folder(dir: &Path) -> anyhow::Result<()> {
    let input = dir.join("in");
    std::fs::create_dir_all(&input)?;
    std::fs::write(input.join("good-a.png"), png(300, 200))?;
    std::fs::write(input.join("good-b.png"), png(120, 160))?;
    std::fs::write(input.join("good-c.png"), png(1000, 10))?;
    // Valid header, truncated data: it fails while decoding, not while probing.
    let good = png(200, 100);
    std::fs::write(input.join("corrupt.png"), &good[..good.len() / 2])?;
    std::fs::write(input.join("empty.jpg"), b"")?;
    std::fs::write(input.join("notes.txt"), b"hello, this is not an image\n")?;
    // A 100000 x 100000 header (valid CRC) in front of a few bytes of data: 40 GB if decoded.
    let mut bomb = png(4, 4);
    bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32fast::hash(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    std::fs::write(input.join("bomb.png"), bomb)?;
    Ok(())
}

/// `{dir}/in`: a whole PNG and a whole JPEG, and the [`TRUNCATED`] cuts of them.
fn write_truncated_folder(dir: &Path) -> anyhow::Result<()> {
    let input = dir.join("in");
    std::fs::create_dir_all(&input)?;
    let png = png(300, 200);
    std::fs::write(input.join("whole.png"), &png)?;
    std::fs::write(input.join("whole.jpg"), JPEG_192X137)?;
    anyhow::ensure!(
        JPEG_192X137.ends_with(&[0xFF, 0xD9]),
        "the JPEG fixture has no EOI"
    );
    for (bytes, ext, end_marker) in [(JPEG_192X137, "jpg", 2), (png.as_slice(), "png", 12)] {
        let n = bytes.len();
        for (name, cut) in [
            ("cut-third", n / 3),
            ("cut-half", n / 2),
            ("cut-two-thirds", n * 2 / 3),
        ] {
            std::fs::write(input.join(format!("{name}.{ext}")), &bytes[..cut])?;
        }
        let name = if ext == "jpg" { "no-eoi.jpg" } else { "no-iend.png" };
        std::fs::write(input.join(name), &bytes[..n - end_marker])?;
    }
    Ok(())
}

/// A valid 8-bit RGB PNG of a gradient, with the image data in stored (uncompressed) deflate
/// blocks, so no compression library is needed.
fn png(w: u32, h: u32) -> Vec<u8> {
    let mut raw = Vec::new();
    for y in 0..h {
        raw.push(0); // filter: none
        for x in 0..w {
            raw.extend([(x * 255 / w) as u8, (y * 255 / h) as u8, 128]);
        }
    }
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        z.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        z.extend(len.to_le_bytes());
        z.extend((!len).to_le_bytes());
        z.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    z.extend(((b << 16) | a).to_be_bytes());

    let mut ihdr = Vec::new();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(&b"IHDR"[..], ihdr), (b"IDAT", z), (b"IEND", Vec::new())] {
        out.extend((data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(&data);
        let crc = crc32fast::hash(&out[start..]);
        out.extend(crc.to_be_bytes());
    }
    out
}
