//! What image-resize's test files share: running a scenario on its binary, finding an image's
//! events, checking the outputs it wrote (whole, the expected size, the format their name says)
//! and writing input images. Each test file uses a part of it.
#![allow(dead_code)] // each test binary compiles this module and uses only a part of it

use std::collections::BTreeSet;
use std::path::Path;

use common::event::{Finished, OutcomeKind};
use harness::{Run, Scenario};
use image::{ExtendedColorType, ImageFormat};
use testbed::images::Format;

#[track_caller]
pub fn check(scenario: Scenario) {
    harness::assert_scenario(
        env!("CARGO_BIN_EXE_image-resize"),
        env!("CARGO_TARGET_TMPDIR"),
        scenario,
    );
}

/// The box of a run and how images are fitted into it (`--size`, `--exact`, `--enlarge`).
#[derive(Debug, Clone, Copy)]
pub struct Fit {
    pub width: u32,
    pub height: u32,
    pub exact: bool,
    pub enlarge: bool,
}

/// The default: fit inside 800x600, never enlarging.
pub const DEFAULT_FIT: Fit = Fit {
    width: 800,
    height: 600,
    exact: false,
    enlarge: false,
};

/// The `finished` event for `file`.
pub fn finished_for<'a>(run: &'a Run<'_>, file: &str) -> Result<&'a Finished, String> {
    run.events()?
        .finished()
        .find(|e| file_of(e) == Some(file))
        .ok_or_else(|| format!("no finished event for {file}"))
}

pub fn file_of(e: &Finished) -> Option<&str> {
    e.detail.get("file").and_then(|v| v.as_str())
}

/// The files whose `finished` outcome is `outcome`.
pub fn files_with(run: &Run<'_>, outcome: OutcomeKind) -> Result<BTreeSet<String>, String> {
    Ok(run
        .events()?
        .finished()
        .filter(|e| e.outcome == outcome)
        .filter_map(|e| file_of(e).map(str::to_owned))
        .collect())
}

/// Fails unless the files whose outcome is `outcome` are exactly `want`.
pub fn expect_files(run: &Run<'_>, outcome: OutcomeKind, want: &[&str]) -> Result<(), String> {
    let got = files_with(run, outcome)?;
    let want: BTreeSet<String> = want.iter().map(|s| (*s).to_owned()).collect();
    if got == want {
        Ok(())
    } else {
        Err(format!("{outcome:?} files {got:?}, expected {want:?}"))
    }
}

/// The `skipped` events: (file, kind, reason) of each, in the order printed.
pub fn skipped(run: &Run<'_>) -> Result<Vec<(String, String, String)>, String> {
    run.events()?
        .other("skipped")
        .map(|o| {
            let text = |k: &str| {
                o.text(k)
                    .map(str::to_owned)
                    .ok_or_else(|| format!("a skipped event without {k}: {o:?}"))
            };
            Ok((text("file")?, text("kind")?, text("reason")?))
        })
        .collect()
}

/// A `finished` event's number field `key`.
pub fn number(e: &Finished, key: &str) -> Result<u32, String> {
    e.detail
        .get(key)
        .and_then(|v| v.as_u64())
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| format!("finished event of job {} without {key}", e.job))
}

/// A `finished` event's text field `key`.
pub fn text<'a>(e: &'a Finished, key: &str) -> Result<&'a str, String> {
    e.detail
        .get(key)
        .and_then(|v| v.as_str())
        .ok_or_else(|| format!("finished event of job {} without {key}", e.job))
}

/// The format an output's name says: `.png` PNG, `.jpg` / `.jpeg` JPEG (any case).
pub fn format_of_name(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "png" => Some("png"),
        "jpg" | "jpeg" => Some("jpeg"),
        _ => None,
    }
}

/// Every ok image has a whole output in `{dir}/out` with the expected dimensions (its input's,
/// turned by its EXIF `orientation`, fitted by `fit`), in the format its `out_format` and its
/// name say; the folder holds exactly `ok` images and no temporary file (a run stopped before it
/// made the folder has none).
pub fn outputs_match(run: &Run<'_>, fit: Fit, ok: u64) -> Result<(), String> {
    let out = run.dir.join("out");
    let mut seen = 0;
    for e in run.events()?.finished().filter(|e| e.outcome == OutcomeKind::Ok) {
        let (w, h) = (number(e, "width")?, number(e, "height")?);
        let (ow, oh) = (number(e, "out_width")?, number(e, "out_height")?);
        let orientation = number(e, "orientation")?;
        // EXIF orientations 5 to 8 turn the image by a quarter: its width is shown as height.
        let (dw, dh) = if (5..=8).contains(&orientation) {
            (h, w)
        } else {
            (w, h)
        };
        let want = expected_size(dw, dh, fit);
        if (ow, oh) != want {
            return Err(format!(
                "{w}x{h} (orientation {orientation}) was reported as {ow}x{oh}, expected {want:?}"
            ));
        }
        let path = Path::new(text(e, "out_path")?);
        if path.parent() != Some(out.as_path()) {
            return Err(format!("{} is not in {}", path.display(), out.display()));
        }
        let bytes = std::fs::read(path).map_err(|err| format!("{}: {err}", path.display()))?;
        let (format, actual) = decode_whole(&bytes).map_err(|err| format!("{}: {err}", path.display()))?;
        if actual != want {
            return Err(format!("{} is {actual:?}, expected {want:?}", path.display()));
        }
        let reported = text(e, "out_format")?;
        if reported != format || format_of_name(path) != Some(format) {
            return Err(format!("{} is {format}, reported as {reported}", path.display()));
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
pub struct OutFolder {
    /// Files under their final name, each a whole PNG or JPEG.
    pub complete: usize,
    /// Names of temporary files.
    pub temporary: Vec<String>,
}

/// Fails if a file under a final name in `{dir}/out` is not a whole image; a missing folder is
/// an empty one.
pub fn final_files_complete(run: &Run<'_>) -> Result<OutFolder, String> {
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
        decode_whole(&bytes).map_err(|e| format!("{name} under its final name is not whole: {e}"))?;
        folder.complete += 1;
    }
    Ok(folder)
}

/// The same rule as the example: the box exactly with `exact`; an image already inside the box
/// as it is, unless `enlarge`; else the largest same-ratio size inside the box (the limiting
/// side equals the box, the other is rounded half up, at least 1).
pub fn expected_size(w: u32, h: u32, fit: Fit) -> (u32, u32) {
    let (bw, bh) = (fit.width, fit.height);
    if fit.exact {
        return (bw, bh);
    }
    if !fit.enlarge && w <= bw && h <= bh {
        return (w, h);
    }
    let (w, h, bw64, bh64) = (u64::from(w), u64::from(h), u64::from(bw), u64::from(bh));
    let side = |n: u64| u32::try_from(n).unwrap_or(u32::MAX).max(1);
    if w * bh64 >= h * bw64 {
        (bw, side((2 * h * bw64 + w) / (2 * w)))
    } else {
        (side((2 * w * bh64 + h) / (2 * h)), bh)
    }
}

/// The last chunk of every PNG: `IEND`, empty, and its CRC.
pub const PNG_IEND: &[u8] = b"\0\0\0\0IEND\xAE\x42\x60\x82";
/// The JPEG end-of-image marker.
pub const JPEG_EOI: &[u8] = &[0xFF, 0xD9];

/// The format ("png" or "jpeg") and dimensions of a whole PNG or JPEG file: it decodes fully
/// with the `image` crate (the PNG decoder checks the signature, IHDR first and each chunk's
/// CRC), and it ends where its format ends, a PNG with its `IEND` chunk, a JPEG with its
/// end-of-image marker (both decoders stop at the end of the pixels, and the JPEG one fills a
/// cut-off scan with grey and succeeds).
pub fn decode_whole(bytes: &[u8]) -> Result<(&'static str, (u32, u32)), String> {
    let (format, name, end) = match image::guess_format(bytes) {
        Ok(ImageFormat::Png) => (ImageFormat::Png, "png", PNG_IEND),
        Ok(ImageFormat::Jpeg) => (ImageFormat::Jpeg, "jpeg", JPEG_EOI),
        Ok(other) => return Err(format!("a {other:?} file, neither a PNG nor a JPEG")),
        Err(_) => return Err("neither a PNG nor a JPEG file".into()),
    };
    if !bytes.ends_with(end) {
        let what = if format == ImageFormat::Png {
            "IEND chunk"
        } else {
            "EOI marker"
        };
        return Err(format!("{name}: truncated (does not end with its {what})"));
    }
    let decoded = image::load_from_memory_with_format(bytes, format)
        .map_err(|e| format!("{name}: does not decode: {e}"))?;
    Ok((name, (decoded.width(), decoded.height())))
}

/// Decodes the output `out/name` of a run whole, as RGB.
pub fn output_rgb(run: &Run<'_>, name: &str) -> Result<image::RgbImage, String> {
    let path = run.dir.join("out").join(name);
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    decode_whole(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let img = image::load_from_memory(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(img.to_rgb8())
}

/// The pixels of a `w`x`h` RGB gradient.
pub fn gradient(w: u32, h: u32) -> Vec<u8> {
    (0..h)
        .flat_map(|y| (0..w).flat_map(move |x| [(x * 255 / w) as u8, (y * 255 / h) as u8, 128]))
        .collect()
}

/// Writes a `w`x`h` RGB gradient to `path` with the sample generator's encoder
/// (`testbed::images::encode`) and returns the file's bytes.
pub fn picture(path: &Path, format: Format, w: u32, h: u32) -> anyhow::Result<Vec<u8>> {
    testbed::images::encode(path, format, &gradient(w, h), w, h, ExtendedColorType::Rgb8)?;
    Ok(std::fs::read(path)?)
}

/// `pixels` (of `color`) encoded as `format`, in memory.
pub fn encoded(
    format: Format,
    pixels: &[u8],
    w: u32,
    h: u32,
    color: ExtendedColorType,
) -> anyhow::Result<Vec<u8>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("image");
    testbed::images::encode(&path, format, pixels, w, h, color)?;
    Ok(std::fs::read(path)?)
}
