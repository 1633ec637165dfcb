//! The image work of one job: read the header, decode (with limits), resize, encode, and write the
//! result atomically. Nothing here knows about the pool; `main.rs` calls [`probe`] and
//! [`resize_file`] from its workers.
//!
//! - Decoding and encoding use the `image` crate with only its `png` and `jpeg` codecs.
//! - Decoding is bounded by [`limits`]: at most [`MAX_SIDE`] pixels per side and [`MAX_ALLOC`]
//!   bytes of decoder allocations, so a 100-byte "decompression bomb" whose header claims
//!   100000 x 100000 pixels fails on its own instead of taking the process down.
//! - Resizing uses fast_image_resize (SIMD convolution, Lanczos3) on the decoded pixels as they
//!   are (8-bit gray, gray + alpha, RGB or RGBA; other layouts are converted to 8-bit RGB(A)).
//! - The output keeps the input's format (detected from the contents, not the file name) and is
//!   written to a temporary file in the output folder, then renamed into place.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use anyhow::{Context as _, bail};
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{
    DynamicImage, ExtendedColorType, ImageEncoder as _, ImageError, ImageFormat, ImageReader, Limits,
};

/// The largest width or height a decoded image may have.
pub const MAX_SIDE: u32 = 16_384;
/// The most bytes the decoder may allocate for one image (an 8-bit RGBA image of about 67
/// megapixels).
pub const MAX_ALLOC: u64 = 256 * 1024 * 1024;
/// The largest `--size` side.
pub const MAX_TARGET_SIDE: u32 = 10_000;
/// JPEG quality of the outputs (and of the generated samples).
pub const JPEG_QUALITY: u8 = 85;

/// The decode limits applied to every input.
pub fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    limits
}

/// A `--size` box, `WIDTHxHEIGHT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

/// Parses `800x600`: two whole numbers from 1 to [`MAX_TARGET_SIDE`].
pub fn parse_size(s: &str) -> Result<Size, String> {
    let bad = || format!("'{s}' is not a size such as 800x600");
    let (w, h) = s.trim().split_once(['x', 'X']).ok_or_else(bad)?;
    let side = |v: &str| -> Result<u32, String> {
        let n: u32 = v.trim().parse().map_err(|_| bad())?;
        if (1..=MAX_TARGET_SIDE).contains(&n) {
            Ok(n)
        } else {
            Err(format!(
                "size '{s}': each side must be from 1 to {MAX_TARGET_SIDE} pixels"
            ))
        }
    };
    Ok(Size {
        width: side(w)?,
        height: side(h)?,
    })
}

/// The output dimensions for a `width` x `height` image: exactly the box with `exact`, else the
/// largest size that fits inside the box with the same aspect ratio (enlarging small images, as
/// ImageMagick's `-resize 800x600` does). The limiting side equals the box; the other is rounded
/// half up, and is at least 1.
pub fn target_size(width: u32, height: u32, bounds: Size, exact: bool) -> (u32, u32) {
    if exact || width == 0 || height == 0 {
        return (bounds.width, bounds.height);
    }
    let (w, h) = (u64::from(width), u64::from(height));
    let (bw, bh) = (u64::from(bounds.width), u64::from(bounds.height));
    // Both results are at most the box side (a u32), so the conversions cannot fail.
    let fit = |n: u64| u32::try_from(n).unwrap_or(u32::MAX).max(1);
    if w * bh >= h * bw {
        (bounds.width, fit((2 * h * bw + w) / (2 * w)))
    } else {
        (fit((2 * w * bh + h) / (2 * h)), bounds.height)
    }
}

/// The two formats this example reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Png,
    Jpeg,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Jpeg => "jpeg",
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            Format::Png => ImageFormat::Png,
            Format::Jpeg => ImageFormat::Jpeg,
        }
    }
}

/// What the header of an input says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub format: Format,
    pub width: u32,
    pub height: u32,
}

/// Reads only the header: the format (from the first bytes) and the dimensions, within
/// [`limits`]. Cheap, so a worker can report the image's size as soon as it starts it.
pub fn probe(path: &Path) -> anyhow::Result<Probe> {
    let file = File::open(path).context("cannot open")?;
    if file.metadata().context("cannot stat")?.len() == 0 {
        bail!("empty file (0 bytes)");
    }
    let reader = ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .context("cannot read")?;
    let format = match reader.format() {
        Some(ImageFormat::Png) => Format::Png,
        Some(ImageFormat::Jpeg) => Format::Jpeg,
        Some(other) => bail!("unsupported image format {other:?} (only PNG and JPEG)"),
        None => bail!("not a PNG or JPEG image"),
    };
    let mut reader = reader;
    reader.limits(limits());
    let (width, height) = reader
        .into_dimensions()
        .map_err(|e| describe(e, "cannot read the header"))?;
    Ok(Probe {
        format,
        width,
        height,
    })
}

/// Turns the decoder's errors into reasons a person understands.
fn describe(err: ImageError, what: &str) -> anyhow::Error {
    match err {
        ImageError::Limits(limit) => anyhow::anyhow!(
            "over the decode limits (at most {MAX_SIDE}x{MAX_SIDE} pixels and {} MiB): {limit}",
            MAX_ALLOC >> 20
        ),
        other => anyhow::anyhow!("{what}: {other}"),
    }
}

/// What one job will do: the input's header, and the output's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub format: Format,
    pub width: u32,
    pub height: u32,
    pub out_width: u32,
    pub out_height: u32,
}

/// [`probe`]s `input` and works out its output size for `--size bounds` (and `--exact`).
pub fn plan(input: &Path, bounds: Size, exact: bool) -> anyhow::Result<Plan> {
    let Probe {
        format,
        width,
        height,
    } = probe(input)?;
    let (out_width, out_height) = target_size(width, height, bounds, exact);
    Ok(Plan {
        format,
        width,
        height,
        out_width,
        out_height,
    })
}

/// Decodes `input` (whose header gave `plan`), resizes it with the worker's own `resizer` (its
/// buffers are reused from job to job), encodes it in the same format into `temp`, and renames
/// `temp` to `output`. Returns the bytes written. On any error the temporary file is removed,
/// so a failed job leaves nothing behind.
pub fn resize_file(
    input: &Path,
    plan: &Plan,
    resizer: &mut Resizer,
    temp: &Path,
    output: &Path,
) -> anyhow::Result<u64> {
    let &Plan {
        format,
        width,
        height,
        out_width,
        out_height,
    } = plan;
    let mut reader = ImageReader::with_format(
        BufReader::new(File::open(input).context("cannot open")?),
        format.image_format(),
    );
    reader.limits(limits());
    let decoded = reader.decode().map_err(|e| describe(e, "cannot decode"))?;
    let (pixels, pixel_type, color) = layout(decoded, format);
    let src = ImageRef::new(width, height, &pixels, pixel_type)
        .context("decoded buffer does not match the header's dimensions")?;
    let mut dst = Image::new(out_width, out_height, pixel_type);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    resizer
        .resize(&src, &mut dst, &options)
        .context("cannot resize")?;
    drop(pixels); // the full-size pixels are not needed while encoding

    let written = write_encoded(temp, format, dst.buffer(), out_width, out_height, color).and_then(|bytes| {
        std::fs::rename(temp, output).context("cannot rename the temporary file into place")?;
        Ok(bytes)
    });
    if written.is_err() {
        let _ = std::fs::remove_file(temp); // best effort: it may not exist
    }
    written
}

/// The decoded pixels as a buffer fast_image_resize understands, with the matching encoder
/// color type. JPEG has no alpha channel, so an alpha channel is only kept for PNG outputs.
fn layout(decoded: DynamicImage, format: Format) -> (Vec<u8>, PixelType, ExtendedColorType) {
    let keep_alpha = format == Format::Png && decoded.color().has_alpha();
    match decoded {
        DynamicImage::ImageLuma8(img) => (img.into_raw(), PixelType::U8, ExtendedColorType::L8),
        DynamicImage::ImageLumaA8(img) if keep_alpha => {
            (img.into_raw(), PixelType::U8x2, ExtendedColorType::La8)
        }
        DynamicImage::ImageRgb8(img) => (img.into_raw(), PixelType::U8x3, ExtendedColorType::Rgb8),
        DynamicImage::ImageRgba8(img) if keep_alpha => {
            (img.into_raw(), PixelType::U8x4, ExtendedColorType::Rgba8)
        }
        other if keep_alpha => (
            other.to_rgba8().into_raw(),
            PixelType::U8x4,
            ExtendedColorType::Rgba8,
        ),
        other => (
            other.to_rgb8().into_raw(),
            PixelType::U8x3,
            ExtendedColorType::Rgb8,
        ),
    }
}

/// Encodes `pixels` as `format` into a new file at `path`; returns the bytes written.
pub fn write_encoded(
    path: &Path,
    format: Format,
    pixels: &[u8],
    width: u32,
    height: u32,
    color: ExtendedColorType,
) -> anyhow::Result<u64> {
    let file = File::create(path).context("cannot create the output file")?;
    let mut out = BufWriter::new(file);
    let encoded = match format {
        Format::Png => PngEncoder::new(&mut out).write_image(pixels, width, height, color),
        Format::Jpeg => {
            JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY).write_image(pixels, width, height, color)
        }
    };
    encoded.context("cannot encode")?;
    let file = out
        .into_inner()
        .map_err(|e| e.into_error())
        .context("cannot write")?;
    let bytes = file.metadata().context("cannot stat the output")?.len();
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_bad_ones_are_refused() {
        assert_eq!(
            parse_size("800x600"),
            Ok(Size {
                width: 800,
                height: 600
            })
        );
        assert_eq!(
            parse_size(" 32X24 ").map(|s| s.to_string()),
            Ok("32x24".to_owned())
        );
        for bad in [
            "0x600", "800x0", "abc", "800", "800x", "x600", "-1x5", "20000x10", "8x6x4",
        ] {
            assert!(parse_size(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn fitting_keeps_the_aspect_ratio_inside_the_box() {
        let b = Size {
            width: 800,
            height: 600,
        };
        assert_eq!(target_size(1920, 1080, b, false), (800, 450));
        assert_eq!(target_size(300, 200, b, false), (800, 533));
        assert_eq!(target_size(120, 160, b, false), (450, 600));
        assert_eq!(target_size(1000, 10, b, false), (800, 8));
        assert_eq!(target_size(100_000, 1, b, false), (800, 1));
        assert_eq!(target_size(1920, 1080, b, true), (800, 600));
        for (w, h) in [(1, 1), (7, 3), (1919, 1081), (16_384, 5), (640, 480)] {
            let (ow, oh) = target_size(w, h, b, false);
            assert!(ow <= 800 && oh <= 600 && ow >= 1 && oh >= 1);
            assert!(ow == 800 || oh == 600, "{w}x{h} -> {ow}x{oh} touches no side");
        }
    }

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("image-resize-codec-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn a_png_and_a_jpeg_round_trip_with_the_expected_dimensions() {
        let dir = temp_dir("roundtrip");
        for (name, format, color, channels) in [
            ("a.png", Format::Png, ExtendedColorType::Rgba8, 4),
            ("b.jpg", Format::Jpeg, ExtendedColorType::Rgb8, 3),
        ] {
            let (w, h) = (64u32, 40u32);
            let pixels: Vec<u8> = (0..w * h * channels).map(|i| (i % 251) as u8).collect();
            let input = dir.join(name);
            write_encoded(&input, format, &pixels, w, h, color).expect("encode input");
            let bounds = Size {
                width: 16,
                height: 16,
            };
            let p = plan(&input, bounds, false).expect("plan");
            assert_eq!((p.format, p.width, p.height), (format, w, h));
            assert_eq!((p.out_width, p.out_height), (16, 10));
            let out = dir.join(format!("out-{name}"));
            let temp = dir.join(format!(".tmp-{name}"));
            let bytes = resize_file(&input, &p, &mut Resizer::new(), &temp, &out).expect("resize");
            assert!(bytes > 0);
            assert!(!temp.exists(), "the temporary file was renamed");
            let back = ImageReader::open(&out)
                .expect("open")
                .with_guessed_format()
                .expect("guess");
            assert_eq!(back.format(), Some(format.image_format()));
            let img = back.decode().expect("decode the output");
            assert_eq!((img.width(), img.height()), (16, 10));
            assert_eq!(img.color().has_alpha(), format == Format::Png);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn faults_fail_with_a_reason() {
        let dir = temp_dir("faults");
        let empty = dir.join("empty.png");
        std::fs::write(&empty, b"").expect("write");
        let text = dir.join("notes.txt");
        std::fs::write(&text, b"hello, not an image\n").expect("write");
        assert!(format!("{:#}", probe(&empty).expect_err("empty")).contains("empty"));
        assert!(format!("{:#}", probe(&text).expect_err("text")).contains("not a PNG or JPEG"));
        assert!(probe(&dir.join("missing.png")).is_err());

        // A real PNG whose header then claims 100000 x 100000 pixels (CRC fixed up).
        let bomb = dir.join("bomb.png");
        write_encoded(&bomb, Format::Png, &[0; 12], 2, 2, ExtendedColorType::Rgb8).expect("encode");
        let mut bytes = std::fs::read(&bomb).expect("read");
        bytes[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        std::fs::write(&bomb, &bytes).expect("write");
        let reason = format!("{:#}", probe(&bomb).expect_err("bomb"));
        assert!(reason.contains("decode limits"), "{reason}");
        let _ = std::fs::remove_dir_all(&dir);
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
}
