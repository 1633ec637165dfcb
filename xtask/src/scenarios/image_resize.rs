//! Scenarios for `image-resize`: generated samples (PNG and JPEG), exact sizes, a folder of
//! faults, Ctrl-C mid-run, and bad input.
//!
//! xtask does not depend on an image library, so the checks read the outputs' headers
//! directly: a PNG must have its signature, an IHDR first, every chunk's CRC right and an IEND
//! last; a JPEG must start with SOI, carry a SOF header before its scan, and end with EOI. The
//! dimensions in those headers must be the ones the event reports and the ones the input's
//! size gives. (The example's own tests decode outputs fully with the `image` crate.)

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::{Interrupt, Run, Scenario};

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
            let failed = files_with(run, "failed")?;
            let expected: BTreeSet<String> = ["bomb.png", "corrupt.png", "empty.jpg", "notes.txt"]
                .map(str::to_owned)
                .into();
            if failed != expected {
                return Err(format!("failed files {failed:?}, expected {expected:?}"));
            }
            let bomb = finished_for(run, "bomb.png")?;
            let reason = bomb["reason"].as_str().unwrap_or_default();
            if !reason.contains("decode limits") {
                return Err(format!("the bomb failed for another reason: {reason}"));
            }
            for key in ["images_ok", "images_failed"] {
                let want = if key == "images_ok" { 3 } else { 4 };
                if run.summary(key)?.as_u64() != Some(want) {
                    return Err(format!("summary {key} should be {want}"));
                }
            }
            outputs_match(run, (800, 600), false, 3)
        }),
        Scenario::run(
            "empty-folder",
            &["--input", "{dir}/in", "--output", "{dir}/out"],
            0,
        )
        .setup(|dir| Ok(std::fs::create_dir_all(dir.join("in"))?)),
        // Ctrl-C after the 2nd image starts, one worker: the image in flight finishes, the rest
        // are not started, exit 130, and no temporary file is left behind.
        Scenario::run(
            "sigint-mid-run",
            &["--generate", "20", "--workers", "1", "--output", "{dir}/out"],
            130,
        )
        .partial_concurrency()
        .timeout(Duration::from_secs(120))
        .interrupt(Interrupt::AfterStarted(2))
        .check(|run| {
            let not_started = run.summary("not_started")?.as_u64().unwrap_or(0);
            if not_started == 0 {
                return Err("the interrupt left no image unstarted".into());
            }
            let ok = run.summary("ok")?.as_u64().unwrap_or(0);
            outputs_match(run, (800, 600), false, ok)
        }),
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
    ]
}

/// The `finished` event for `file`.
fn finished_for<'a>(run: &'a Run<'_>, file: &str) -> Result<&'a Value, String> {
    run.events()?
        .named("finished")
        .find(|e| e["file"] == file)
        .ok_or_else(|| format!("no finished event for {file}"))
}

/// The files whose `finished` outcome is `outcome`.
fn files_with(run: &Run<'_>, outcome: &str) -> Result<BTreeSet<String>, String> {
    Ok(run
        .events()?
        .named("finished")
        .filter(|e| e["outcome"] == outcome)
        .filter_map(|e| e["file"].as_str().map(str::to_owned))
        .collect())
}

/// Every ok image has a complete output in `{dir}/out` with the expected dimensions; the folder
/// holds exactly `ok` images and no temporary file.
fn outputs_match(run: &Run<'_>, bounds: (u32, u32), exact: bool, ok: u64) -> Result<(), String> {
    let out = run.dir.join("out");
    let mut seen = 0;
    for e in run.events()?.named("finished").filter(|e| e["outcome"] == "ok") {
        let n = |k: &str| -> Result<u32, String> {
            e[k].as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| format!("finished event without {k}: {e}"))
        };
        let (w, h, ow, oh) = (n("width")?, n("height")?, n("out_width")?, n("out_height")?);
        let want = expected_size(w, h, bounds, exact);
        if (ow, oh) != want {
            return Err(format!("{w}x{h} was reported as {ow}x{oh}, expected {want:?}"));
        }
        let path = e["out_path"].as_str().ok_or("finished event without out_path")?;
        let path = Path::new(path);
        if path.parent() != Some(out.as_path()) {
            return Err(format!("{} is not in {}", path.display(), out.display()));
        }
        let bytes = std::fs::read(path).map_err(|err| format!("{}: {err}", path.display()))?;
        let (format, actual) = image_header(&bytes).map_err(|err| format!("{}: {err}", path.display()))?;
        if actual != want {
            return Err(format!("{} is {actual:?}, expected {want:?}", path.display()));
        }
        if e["format"] != format {
            return Err(format!(
                "{} is {format}, its input was {}",
                path.display(),
                e["format"]
            ));
        }
        seen += 1;
    }
    if seen != ok {
        return Err(format!("{seen} images resized, expected {ok}"));
    }
    let names: Vec<String> = std::fs::read_dir(&out)
        .map_err(|e| format!("{}: {e}", out.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    if let Some(temp) = names.iter().find(|n| n.ends_with(".tmp")) {
        return Err(format!("a temporary file was left behind: {temp}"));
    }
    if names.len() as u64 != ok {
        return Err(format!(
            "{} holds {} files, expected {ok}",
            out.display(),
            names.len()
        ));
    }
    Ok(())
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
            if crc32(&rest[4..8 + len]) != be32(crc) {
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

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
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
    let crc = crc32(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    std::fs::write(input.join("bomb.png"), bomb)?;
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
        let crc = crc32(&out[start..]);
        out.extend(crc.to_be_bytes());
    }
    out
}
