//! Deterministic sample images, generated once under `target/`: the default input of
//! `image-resize`, so a run needs no files of the user's.
//!
//! [`ensure`]`(dir, N, S, …)` writes N images to `dir`: sizes from 320x240 up to 1920x1080 (the
//! first one is exactly 1920x1080), even-numbered files PNG (every other PNG with an alpha
//! channel), odd-numbered files JPEG, each a gradient with discs and stripes drawn from the seed.
//! A `.complete` marker is written last; when it is present with the same parameters, the folder
//! is reused as it is (delete it to regenerate).
//!
//! Why generated rather than shipped: a folder of real photos would weigh megabytes in the
//! repository and say nothing about its licence; these pictures cost a second to draw, are the
//! same on every machine for a seed (`rand`'s `StdRng`, seeded per image), and still exercise what
//! matters to the pool: images of many sizes (so jobs take different times), both codecs, with
//! and without an alpha channel. The drawing itself is a few loops on purpose: no drawing crate
//! is worth its build time for gradients and discs.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context as _;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder as _};
use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng as _};

/// Bump when the pictures change, so old sample folders are regenerated.
const VERSION: u32 = 2;
/// JPEG quality of the samples.
const JPEG_QUALITY: u8 = 85;

/// The workspace's target folder: `$CARGO_TARGET_DIR` if set, else the `target` folder the
/// executable runs from (`target/debug/image-resize`), else `./target`.
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    if let Ok(exe) = std::env::current_exe()
        && let Some(target) = exe
            .ancestors()
            .find(|a| a.file_name().is_some_and(|n| n == "target"))
    {
        return target.to_path_buf();
    }
    PathBuf::from("target")
}

/// What [`ensure`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Samples {
    /// The folder already held these samples.
    Reused,
    Generated,
    /// `stopped()` became true before every sample was written (the marker is not written).
    Interrupted,
}

/// The two formats of the samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Png,
    Jpeg,
}

/// Makes sure `dir` holds the `count` samples for `seed`, generating them on `threads` threads
/// if it does not; stops early once `stopped()` returns true (Ctrl-C).
pub fn ensure(
    dir: &Path,
    count: u32,
    seed: u64,
    threads: usize,
    stopped: impl Fn() -> bool + Sync,
) -> anyhow::Result<Samples> {
    let marker = dir.join(".complete");
    let stamp = format!("count={count} seed={seed} version={VERSION}\n");
    if std::fs::read_to_string(&marker).is_ok_and(|s| s == stamp) {
        return Ok(Samples::Reused);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Each thread takes the next index until none is left; the scope joins them all.
    let next = AtomicUsize::new(0);
    // A thread the OS refuses is one generator fewer; only none at all is an error.
    let errors = std::thread::scope(|s| {
        let mut handles = Vec::with_capacity(threads.max(1));
        for _ in 0..threads.max(1) {
            let generator = std::thread::Builder::new()
                .name("sample-generator".into())
                .spawn_scoped(s, || {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count as usize || stopped() {
                            return Ok(());
                        }
                        write_sample(dir, i as u32, seed)?;
                    }
                });
            match generator {
                Ok(handle) => handles.push(handle),
                Err(e) if handles.is_empty() => {
                    return Some(anyhow::Error::new(e).context("cannot start a sample generator thread"));
                }
                Err(_) => break,
            }
        }
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a generator thread panicked")))
            })
            .find_map(Result::err)
    });
    if let Some(err) = errors {
        return Err(err.context("cannot generate the sample images"));
    }
    if stopped() {
        return Ok(Samples::Interrupted);
    }
    std::fs::write(&marker, stamp).with_context(|| format!("cannot write {}", marker.display()))?;
    Ok(Samples::Generated)
}

/// The file name of sample `i` (0-based), which also says its format.
pub fn file_name(i: u32) -> String {
    match format_of(i) {
        Format::Png => format!("sample-{:03}.png", i + 1),
        Format::Jpeg => format!("sample-{:03}.jpg", i + 1),
    }
}

/// The format of sample `i`: PNG for even `i`, JPEG for odd.
pub fn format_of(i: u32) -> Format {
    if i.is_multiple_of(2) {
        Format::Png
    } else {
        Format::Jpeg
    }
}

/// The generator of sample `i`: its own stream, so any sample can be drawn alone.
fn rng(i: u32, seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed ^ (u64::from(i) << 32))
}

/// The size of sample `i`.
pub fn dimensions(i: u32, seed: u64) -> (u32, u32) {
    if i == 0 {
        return (1920, 1080);
    }
    let mut rng = rng(i, seed);
    (rng.random_range(320..=1920), rng.random_range(240..=1080))
}

fn color(rng: &mut StdRng) -> [u32; 3] {
    [0; 3].map(|_| rng.random_range(0..=255))
}

fn write_sample(dir: &Path, i: u32, seed: u64) -> anyhow::Result<()> {
    let (w, h) = dimensions(i, seed);
    let mut rng = rng(i, seed);
    let _ = (rng.random::<u64>(), rng.random::<u64>()); // not the two draws of `dimensions`
    let (from, to) = (color(&mut rng), color(&mut rng));
    let discs: Vec<(i64, i64, i64, [u32; 3])> = (0..4)
        .map(|_| {
            let r = i64::from(rng.random_range(h / 10..=h / 3));
            let cx = i64::from(rng.random_range(0..w));
            let cy = i64::from(rng.random_range(0..h));
            (cx, cy, r * r, color(&mut rng))
        })
        .collect();
    let stripe = rng.random_range(12..=48);
    let format = format_of(i);
    let alpha = format == Format::Png && i % 4 == 2;
    let channels = if alpha { 4 } else { 3 };
    let mut pixels = Vec::with_capacity((w * h * channels) as usize);
    for y in 0..h {
        for x in 0..w {
            // A diagonal gradient between two colours...
            let t = (x * 255 / w + y * 255 / h) / 2;
            let mut px = [0u32; 3];
            for c in 0..3 {
                px[c] = (from[c] * (255 - t) + to[c] * t) / 255;
            }
            // ...with discs on top...
            for &(cx, cy, r2, color) in &discs {
                let (dx, dy) = (i64::from(x) - cx, i64::from(y) - cy);
                if dx * dx + dy * dy <= r2 {
                    px = color;
                }
            }
            // ...and darker diagonal stripes across the lower third.
            if y > h * 2 / 3 && ((x + y) / stripe) % 2 == 0 {
                px = px.map(|v| v / 2);
            }
            pixels.extend(px.map(|v| v as u8));
            if alpha {
                // Opaque in the middle, fading towards the left and right edges.
                let edge = x.min(w - 1 - x);
                pixels.push((64 + (edge * 4).min(191)) as u8);
            }
        }
    }
    let color = if alpha {
        ExtendedColorType::Rgba8
    } else {
        ExtendedColorType::Rgb8
    };
    let path = dir.join(file_name(i));
    encode(&path, format, &pixels, w, h, color).with_context(|| format!("cannot write {}", path.display()))
}

/// Encodes `pixels` as `format` into a new file at `path` (a sample is written whole or the run
/// fails: the `.complete` marker comes after every file).
pub fn encode(
    path: &Path,
    format: Format,
    pixels: &[u8],
    width: u32,
    height: u32,
    color: ExtendedColorType,
) -> anyhow::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    match format {
        Format::Png => PngEncoder::new(&mut out).write_image(pixels, width, height, color)?,
        Format::Jpeg => {
            JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY).write_image(pixels, width, height, color)?
        }
    }
    out.into_inner().map_err(|e| e.into_error())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("testbed-images-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn samples_are_deterministic_and_within_1920x1080() {
        for i in 0..200 {
            let (w, h) = dimensions(i, 42);
            assert!((320..=1920).contains(&w) && (240..=1080).contains(&h));
            assert_eq!((w, h), dimensions(i, 42));
        }
        assert_eq!(dimensions(0, 7), (1920, 1080));
        assert!((1..20).any(|i| dimensions(i, 1) != dimensions(i, 2)));
    }

    #[test]
    fn ensure_writes_decodable_samples_once() {
        let dir = temp_dir("once");
        assert_eq!(
            ensure(&dir, 3, 9, 2, || false).expect("generate"),
            Samples::Generated
        );
        let first = std::fs::read(dir.join(file_name(1))).expect("read");
        assert_eq!(ensure(&dir, 3, 9, 2, || false).expect("reuse"), Samples::Reused);
        for i in 0..3 {
            let img = image::open(dir.join(file_name(i))).expect("decode");
            assert_eq!((img.width(), img.height()), dimensions(i, 9));
            assert_eq!(img.color().has_alpha(), i % 4 == 2);
        }
        // The same seed draws the same picture.
        let again = temp_dir("again");
        ensure(&again, 2, 9, 1, || false).expect("generate");
        assert_eq!(std::fs::read(again.join(file_name(1))).expect("read"), first);
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&again);
    }

    #[test]
    fn a_stopped_generation_is_not_marked_complete() {
        let dir = temp_dir("stopped");
        assert_eq!(
            ensure(&dir, 3, 9, 1, || true).expect("stop"),
            Samples::Interrupted
        );
        assert!(!dir.join(".complete").exists());
        assert_eq!(
            ensure(&dir, 3, 9, 1, || false).expect("generate"),
            Samples::Generated
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
