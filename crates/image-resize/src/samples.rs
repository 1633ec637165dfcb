//! The embedded default input: deterministic sample images, generated once under `target/`.
//!
//! `--generate N --seed S` writes N images to `<target>/image-resize/samples-N-seed-S/`:
//! sizes from 320x240 up to 1920x1080 (the first one is exactly 1920x1080), even-numbered files
//! PNG (every other PNG with an alpha channel), odd-numbered files JPEG, each a gradient with
//! discs and stripes drawn from the seed. A `.complete` marker is written last; when it is
//! present with the same parameters, the folder is reused as it is (delete it to regenerate).
//!
//! `<target>` is `$CARGO_TARGET_DIR` if set, else the `target` folder the executable runs from
//! (`target/debug/image-resize`), else `./target`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use anyhow::Context as _;
use image::ExtendedColorType;

use crate::codec::{self, Format};

/// Bump when the pictures change, so old sample folders are regenerated.
const VERSION: u32 = 1;

/// The workspace's target folder (see the module docs).
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
    /// `stop` was set before every sample was written (the marker is not written).
    Interrupted,
}

/// Makes sure `dir` holds the `count` samples for `seed`, generating them on `threads` threads
/// if it does not; stops early once `stop` is set (Ctrl-C).
pub fn ensure(
    dir: &Path,
    count: u32,
    seed: u64,
    threads: usize,
    stop: &AtomicBool,
) -> anyhow::Result<Samples> {
    let marker = dir.join(".complete");
    let stamp = format!("count={count} seed={seed} version={VERSION}\n");
    if std::fs::read_to_string(&marker).is_ok_and(|s| s == stamp) {
        return Ok(Samples::Reused);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Each thread takes the next index until none is left; the scope joins them all.
    let next = AtomicUsize::new(0);
    let errors = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| {
                s.spawn(|| -> anyhow::Result<()> {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count as usize || stop.load(Ordering::SeqCst) {
                            return Ok(());
                        }
                        write_sample(dir, i as u32, seed)?;
                    }
                })
            })
            .collect();
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
    if stop.load(Ordering::SeqCst) {
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

fn format_of(i: u32) -> Format {
    if i % 2 == 0 { Format::Png } else { Format::Jpeg }
}

/// splitmix64: a tiny deterministic generator, enough for picking sizes and colours.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next() % u64::from(hi - lo + 1)) as u32
    }

    fn color(&mut self) -> [u32; 3] {
        [self.range(0, 255), self.range(0, 255), self.range(0, 255)]
    }
}

/// The size of sample `i`.
pub fn dimensions(i: u32, seed: u64) -> (u32, u32) {
    if i == 0 {
        return (1920, 1080);
    }
    let mut rng = Mix(seed ^ (u64::from(i) << 32));
    (rng.range(320, 1920), rng.range(240, 1080))
}

fn write_sample(dir: &Path, i: u32, seed: u64) -> anyhow::Result<()> {
    let (w, h) = dimensions(i, seed);
    let mut rng = Mix(seed ^ (u64::from(i) << 32));
    let _ = (rng.next(), rng.next()); // the two draws `dimensions` used
    let (from, to) = (rng.color(), rng.color());
    let discs: Vec<(i64, i64, i64, [u32; 3])> = (0..4)
        .map(|_| {
            let r = rng.range(h / 10, h / 3);
            (
                i64::from(rng.range(0, w)),
                i64::from(rng.range(0, h)),
                i64::from(r * r),
                rng.color(),
            )
        })
        .collect();
    let stripe = rng.range(12, 48);
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
    codec::write_encoded(&path, format, &pixels, w, h, color)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_deterministic_and_within_1920x1080() {
        for i in 0..200 {
            let (w, h) = dimensions(i, 42);
            assert!((320..=1920).contains(&w) && (240..=1080).contains(&h));
            assert_eq!((w, h), dimensions(i, 42));
        }
        assert_eq!(dimensions(0, 7), (1920, 1080));
        assert_ne!(dimensions(5, 1), dimensions(5, 2));
    }

    #[test]
    fn ensure_writes_decodable_samples_once() {
        let dir = std::env::temp_dir().join(format!("image-resize-samples-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let go = AtomicBool::new(false);
        assert_eq!(ensure(&dir, 3, 9, 2, &go).expect("generate"), Samples::Generated);
        assert_eq!(ensure(&dir, 3, 9, 2, &go).expect("reuse"), Samples::Reused);
        for i in 0..3 {
            let p = codec::probe(&dir.join(file_name(i))).expect("probe");
            assert_eq!((p.width, p.height), dimensions(i, 9));
            assert_eq!(p.format, format_of(i));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_stopped_generation_is_not_marked_complete() {
        let dir = std::env::temp_dir().join(format!("image-resize-stopped-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let stop = AtomicBool::new(true);
        assert_eq!(ensure(&dir, 3, 9, 1, &stop).expect("stop"), Samples::Interrupted);
        assert!(!dir.join(".complete").exists());
        let go = AtomicBool::new(false);
        assert_eq!(ensure(&dir, 3, 9, 1, &go).expect("generate"), Samples::Generated);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
