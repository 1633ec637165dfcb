//! The image work of one job: read the header, check the file is whole, decode (with limits),
//! resize, encode, and write the result atomically. Nothing here knows about the pool; `main.rs`
//! calls [`plan`] and [`resize_file`] from its workers.
//!
//! - Decoding and encoding use the `image` crate with only its `png` and `jpeg` codecs.
//! - A truncated file fails: [`check_complete`] walks the file's structure before decoding (a
//!   PNG's chunks, each CRC, up to `IEND`; a JPEG's segments and scans up to the end-of-image
//!   marker). The decoders alone are not enough: the JPEG decoder fills the part of a cut-off
//!   file that is missing with grey and reports success. Two border cases, decided so:
//!   - A PNG that ends right after a whole chunk, its image data begun, but without `IEND` (some
//!     encoders leave it out) is resized when its image data decodes whole, as Pillow loads it:
//!     an `IEND` is added in memory for the `png` decoder, which wants one after the image data.
//!     If the data stops short it fails, as truncated. A file that ends inside a chunk,
//!     `IEND` included, is truncated.
//!   - Half a JPEG with an end-of-image marker appended passes: its structure is whole, and
//!     only an entropy decoder can tell that its scan stops early. The decoder fills the missing
//!     blocks (libjpeg only warns of it, and Pillow loads it), so that output is flat where the
//!     data is missing. Refusing it would take a second Huffman decoder here.
//! - Decoding is bounded by [`limits`]: at most [`MAX_SIDE`] pixels per side and [`MAX_ALLOC`]
//!   bytes of decoder allocations, so a 100-byte "decompression bomb" whose header claims
//!   100000 x 100000 pixels fails on its own instead of taking the process down.
//! - Resizing uses fast_image_resize (SIMD convolution, Lanczos3) on the decoded pixels as they
//!   are (8-bit gray, gray + alpha, RGB or RGBA; other layouts are converted to 8-bit RGB(A)).
//!   A fit never enlarges unless asked (`--enlarge`): an image already inside the box keeps its
//!   size, as with ImageMagick's `-resize 800x600>` and Pillow's `thumbnail` ([`target_size`]).
//! - The EXIF orientation (a JPEG's APP1 segment, a PNG's `eXIf` chunk, read by the `image`
//!   decoders) is applied: the image is fitted as it is shown, and the small result is turned
//!   (`DynamicImage::apply_orientation`). The outputs carry no EXIF, so no viewer turns them
//!   again.
//! - The input is read as the format its contents say; the output is written in the format its
//!   name (the input's) says, so a PNG named `.jpg` becomes a JPEG named `.jpg`, and its
//!   `finished` event says so ([`Plan::format_note`]). It is written to a temporary file in the
//!   output folder (`tempfile`'s `NamedTempFile`, removed if anything fails), then renamed into
//!   place (`persist`): a reader never sees half an image.

use std::fs::File;
use std::io::{BufReader, BufWriter, Cursor, Write};
use std::path::Path;

use anyhow::{Context as _, bail};
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::metadata::Orientation;
use image::{
    DynamicImage, ExtendedColorType, ImageBuffer, ImageDecoder as _, ImageEncoder as _, ImageError,
    ImageFormat, ImageReader, Limits,
};

/// The largest width or height a decoded image may have.
pub const MAX_SIDE: u32 = 16_384;
/// The most bytes the decoder may allocate for one image (an 8-bit RGBA image of about 67
/// megapixels).
pub const MAX_ALLOC: u64 = 256 * 1024 * 1024;
/// The largest input file read (it is read whole, to check its structure before decoding).
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;
/// Where the temporary files of the outputs are named: `.image-resize-XXXXXX.tmp`.
pub const TEMP_PREFIX: &str = ".image-resize-";
pub const TEMP_SUFFIX: &str = ".tmp";
/// The largest `--size` side.
pub const MAX_TARGET_SIDE: u32 = 10_000;
/// JPEG quality of the outputs.
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

/// How an image is fitted into the `--size` box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fit {
    pub size: Size,
    /// `--exact`: the box itself, stretching (and enlarging) as needed.
    pub exact: bool,
    /// `--enlarge`: an image smaller than the box is enlarged to fill it.
    pub enlarge: bool,
}

/// "to fit inside 800x600, never enlarging" / "exactly 800x600" / "to fit inside 800x600,
/// enlarging small images".
impl std::fmt::Display for Fit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.exact, self.enlarge) {
            (true, _) => write!(f, "exactly {}", self.size),
            (false, false) => write!(f, "to fit inside {}, never enlarging", self.size),
            (false, true) => write!(f, "to fit inside {}, enlarging small images", self.size),
        }
    }
}

/// The output dimensions for a `width` x `height` image: exactly the box with `exact`; else an
/// image already inside the box keeps its size unless `enlarge` (a fit never enlarges by default,
/// as ImageMagick's `-resize 800x600>` and Pillow's `thumbnail`); else the largest size that
/// fits inside the box with the same aspect ratio. The limiting side equals the box; the other
/// is rounded half up, and is at least 1.
pub fn target_size(width: u32, height: u32, fit: Fit) -> (u32, u32) {
    let bounds = fit.size;
    if fit.exact || width == 0 || height == 0 {
        return (bounds.width, bounds.height);
    }
    if !fit.enlarge && width <= bounds.width && height <= bounds.height {
        return (width, height);
    }
    let (w, h) = (u64::from(width), u64::from(height));
    let (bw, bh) = (u64::from(bounds.width), u64::from(bounds.height));
    // Both results are at most the box side (a u32), so the conversions cannot fail.
    let side = |n: u64| u32::try_from(n).unwrap_or(u32::MAX).max(1);
    if w * bh >= h * bw {
        (bounds.width, side((2 * h * bw + w) / (2 * w)))
    } else {
        (side((2 * w * bh + h) / (2 * h)), bounds.height)
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

    /// "PNG" / "JPEG", for sentences.
    pub fn label(self) -> &'static str {
        match self {
            Format::Png => "PNG",
            Format::Jpeg => "JPEG",
        }
    }

    /// The format a file name says: `.png`, or `.jpg` / `.jpeg`, in any case.
    pub fn from_name(name: &Path) -> Option<Format> {
        let ext = name.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "png" => Some(Format::Png),
            "jpg" | "jpeg" => Some(Format::Jpeg),
            _ => None,
        }
    }

    pub fn image_format(self) -> ImageFormat {
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
    /// The dimensions as stored (before `orientation` is applied).
    pub width: u32,
    pub height: u32,
    /// The EXIF orientation (JPEG's APP1 segment, PNG's `eXIf` chunk): how the stored image is
    /// turned to be shown. `NoTransforms` without EXIF.
    pub orientation: Orientation,
}

/// Reads only the header: the format (from the first bytes), the dimensions and the EXIF
/// orientation, within [`limits`]. Cheap, so a worker can report the image's size as soon as it
/// starts it.
pub fn probe(path: &Path) -> anyhow::Result<Probe> {
    let file = File::open(path).with_context(|| match std::fs::read_link(path) {
        Ok(target) => format!(
            "cannot open {}, which this symbolic link points to",
            target.display()
        ),
        Err(_) => "cannot open".to_owned(),
    })?;
    if file.metadata().context("cannot stat")?.len() == 0 {
        bail!("empty file (0 bytes)");
    }
    probe_reader(BufReader::new(file))
}

/// [`probe`] on the bytes of a file already in memory (the fuzz targets use it).
pub fn probe_bytes(bytes: &[u8]) -> anyhow::Result<Probe> {
    if bytes.is_empty() {
        bail!("empty file (0 bytes)");
    }
    probe_reader(Cursor::new(bytes))
}

fn probe_reader(input: impl std::io::BufRead + std::io::Seek) -> anyhow::Result<Probe> {
    let reader = ImageReader::new(input)
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
    let header = |e| describe(e, "cannot read the header");
    let mut decoder = reader.into_decoder().map_err(header)?;
    let (width, height) = decoder.dimensions();
    let orientation = decoder.orientation().map_err(header)?;
    Ok(Probe {
        format,
        width,
        height,
        orientation,
    })
}

/// Turns the decoder's errors into sentences a person understands (the decoders' own messages
/// are kept, last, as the detail).
fn describe(err: ImageError, what: &str) -> anyhow::Error {
    let detail = |e: &dyn std::error::Error| {
        let mut text = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            let more = s.to_string();
            if !text.contains(&more) {
                text = format!("{text}: {more}"); // some errors print their source themselves
            }
            source = s.source();
        }
        text
    };
    match err {
        ImageError::Limits(limit) => anyhow::anyhow!(
            "over the decode limits (at most {MAX_SIDE}x{MAX_SIDE} pixels and {} MiB): {limit}",
            MAX_ALLOC >> 20
        ),
        ImageError::Decoding(e) => anyhow::anyhow!("{what}: the image data is corrupt ({})", detail(&e)),
        ImageError::Unsupported(e) => {
            anyhow::anyhow!("{what}: a feature this decoder does not support ({e})")
        }
        ImageError::IoError(e) => anyhow::anyhow!("{what}: cannot read the file ({e})"),
        other => anyhow::anyhow!("{what}: {}", detail(&other)),
    }
}

/// How a file passed [`check_complete`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Complete {
    /// Its structure is whole, up to its end marker.
    Whole,
    /// A PNG whose chunks are whole, with image data, that ends without `IEND`: it is resized if
    /// its image data decodes whole.
    PngWithoutIend,
}

/// The `IEND` chunk: no data, and the CRC of its type.
pub const PNG_IEND: &[u8] = b"\0\0\0\0IEND\xAE\x42\x60\x82";

/// Fails unless `bytes` is a whole `format` file: a truncated or structurally corrupt file is
/// refused with the reason (naming truncation when the file ends too early).
pub fn check_complete(bytes: &[u8], format: Format) -> anyhow::Result<Complete> {
    walk(bytes, format).map(|(complete, _)| complete)
}

/// [`check_complete`], with where the structure ends: after the end marker (bytes after it are
/// not read), or at the end of a PNG without `IEND`. For the fuzz targets' properties.
#[doc(hidden)]
pub fn walk(bytes: &[u8], format: Format) -> anyhow::Result<(Complete, usize)> {
    match format {
        Format::Png => png_complete(bytes),
        Format::Jpeg => jpeg_complete(bytes).map(|end| (Complete::Whole, end)),
    }
}

/// A PNG is its signature, then chunks (length, type, data, CRC of type + data) up to `IEND`.
/// One that ends right after a whole chunk, once its image data (`IDAT`) has begun, is a PNG
/// without `IEND` ([`Complete::PngWithoutIend`]). A critical chunk (its type starts with an upper
/// case letter: `IHDR`, `PLTE`, `IDAT`, `IEND`) that fails its CRC check is corrupt; an ancillary
/// one (`tEXt`, `eXIf`, ...) is only skipped, as the `png` decoder and libpng do.
fn png_complete(bytes: &[u8]) -> anyhow::Result<(Complete, usize)> {
    let mut rest = bytes
        .strip_prefix(b"\x89PNG\r\n\x1a\n")
        .context("not a PNG file (no PNG signature)")?;
    let mut image_data = false;
    loop {
        if rest.is_empty() && image_data {
            return Ok((Complete::PngWithoutIend, bytes.len()));
        }
        let Some(header) = rest.get(..8) else {
            let where_ = if rest.is_empty() {
                "before its image data (no IDAT chunk)"
            } else {
                "inside a chunk's header, before its IEND chunk"
            };
            bail!("truncated PNG: the file ends {where_} ({} bytes)", bytes.len());
        };
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let name = String::from_utf8_lossy(&header[4..8]).into_owned();
        let Some(chunk) = rest.get(4..12 + len) else {
            bail!(
                "truncated PNG: the file ends inside its {name} chunk ({} bytes)",
                bytes.len()
            );
        };
        let (body, crc) = chunk.split_at(4 + len);
        let critical = header[4] & 0x20 == 0;
        if critical && crc32fast::hash(body).to_be_bytes() != crc {
            bail!("corrupt PNG: the {name} chunk fails its CRC check");
        }
        rest = &rest[12 + len..];
        match name.as_str() {
            "IEND" => return Ok((Complete::Whole, bytes.len() - rest.len())),
            "IDAT" => image_data = true,
            _ => {}
        }
    }
}

/// A JPEG is SOI, then segments (marker, 2-byte length, data); each scan (SOS) is followed by
/// entropy-coded data that runs until the next marker other than a stuffed `FF 00` or a restart
/// marker; EOI ends the image. Bytes after EOI are allowed (some cameras append data). The
/// entropy-coded data is not decoded, so a scan cut short and followed by EOI passes. Bytes that
/// are not a marker where one should start are skipped up to the next `FF`, and `FF` or `00`
/// bytes between a marker's `FF` and its code, as libjpeg (it warns of "extraneous bytes before
/// marker") and the `image` crate's decoder do. A marker code libjpeg does not know (reserved,
/// `FF 02` to `FF BF`, or an extension's: `FF DE`, `FF DF`, `FF F0` to `FF FD`) is corrupt, as
/// libjpeg says.
fn jpeg_complete(bytes: &[u8]) -> anyhow::Result<usize> {
    let truncated = || {
        anyhow::anyhow!(
            "truncated JPEG: the file ends before its end-of-image marker ({} bytes)",
            bytes.len()
        )
    };
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        bail!("not a JPEG file (no start-of-image marker)");
    }
    let mut i = 2;
    loop {
        // Extraneous bytes before the marker.
        i += bytes[i.min(bytes.len())..]
            .iter()
            .position(|&b| b == 0xFF)
            .ok_or_else(truncated)?;
        i += 1;
        while matches!(bytes.get(i), Some(0xFF | 0x00)) {
            i += 1; // fill bytes before the marker's code
        }
        let code = *bytes.get(i).ok_or_else(truncated)?;
        i += 1;
        match code {
            0xD9 => return Ok(i),           // EOI
            0x01 | 0xD0..=0xD7 => continue, // markers without a length (TEM, RSTn)
            // Reserved codes, and those of the extensions libjpeg does not read (hierarchical
            // DHP and EXP, JPGn): libjpeg refuses them. (The `image` crate's decoder ends the
            // scan there and decodes the rest as grey.)
            0x02..=0xBF | 0xDE | 0xDF | 0xF0..=0xFD => {
                bail!("corrupt JPEG: an unknown marker FF{code:02X} at byte {}", i - 2)
            }
            _ => {}
        }
        let len = bytes.get(i..i + 2).ok_or_else(truncated)?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        if len < 2 {
            bail!("corrupt JPEG: a segment of length {len} at byte {i}");
        }
        i += len;
        if i > bytes.len() {
            return Err(truncated());
        }
        if code == 0xDA {
            // The scan's entropy-coded data, up to the next real marker.
            loop {
                let ff = bytes[i..].iter().position(|&b| b == 0xFF).ok_or_else(truncated)?;
                match bytes.get(i + ff + 1) {
                    None => return Err(truncated()),
                    Some(0x00 | 0xD0..=0xD7) => i += ff + 2,
                    Some(_) => {
                        i += ff;
                        break;
                    }
                }
            }
        }
    }
}

/// What one job will do: the input's header, and the output's format and size (as shown, after
/// the EXIF orientation is applied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub format: Format,
    pub width: u32,
    pub height: u32,
    pub orientation: Orientation,
    pub out_format: Format,
    pub out_width: u32,
    pub out_height: u32,
}

impl Plan {
    /// What a person should know about a file whose name says another format than its contents:
    /// "a PNG image named .jpg: written as JPEG, as its name says".
    pub fn format_note(&self, name: &str) -> Option<String> {
        if self.format == self.out_format {
            return None;
        }
        let ext = Path::new(name)
            .extension()
            .map_or_else(String::new, |e| e.to_string_lossy().into_owned());
        Some(format!(
            "a {} image named .{ext}: written as {}, as its name says",
            self.format.label(),
            self.out_format.label()
        ))
    }

    /// The size to resize the stored pixels to: the output's, turned back when the orientation
    /// turns the image by a quarter (the small result is turned, not the full-size input).
    fn stored_target(&self) -> (u32, u32) {
        if turns_a_quarter(self.orientation) {
            (self.out_height, self.out_width)
        } else {
            (self.out_width, self.out_height)
        }
    }
}

/// Whether `orientation` swaps width and height.
pub fn turns_a_quarter(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// [`probe`]s `input` and works out its output, written as `out_format` (the format its name
/// says), and its size for `fit`, from the image as shown (a photo stored sideways with EXIF
/// orientation 6 is fitted upright).
pub fn plan(input: &Path, out_format: Format, fit: Fit) -> anyhow::Result<Plan> {
    let Probe {
        format,
        width,
        height,
        orientation,
    } = probe(input)?;
    let (shown_width, shown_height) = if turns_a_quarter(orientation) {
        (height, width)
    } else {
        (width, height)
    };
    let (out_width, out_height) = target_size(shown_width, shown_height, fit);
    Ok(Plan {
        format,
        width,
        height,
        orientation,
        out_format,
        out_width,
        out_height,
    })
}

/// Reads `input` (whose header gave `plan`), checks that it is whole, decodes it, resizes it with
/// the worker's own `resizer` (its buffers are reused from job to job), turns the result by the
/// EXIF orientation, encodes it as `plan.out_format` into a temporary file beside `output`, and
/// renames that file to `output`. Returns the bytes written. On any error the temporary file is
/// removed, so a failed job leaves nothing.
pub fn resize_file(input: &Path, plan: &Plan, resizer: &mut Resizer, output: &Path) -> anyhow::Result<u64> {
    let &Plan {
        format,
        width,
        height,
        orientation,
        out_format,
        ..
    } = plan;
    let decoded = decode_checked(read_bounded(input)?, format, limits())?;
    let (pixels, pixel_type, color) = layout(decoded, out_format);
    let (target_width, target_height) = plan.stored_target();
    let resized = if (target_width, target_height) == (width, height) {
        pixels // already the size wanted: nothing to resample
    } else {
        let mut dst = Image::new(target_width, target_height, pixel_type);
        let src = ImageRef::new(width, height, &pixels, pixel_type)
            .context("decoded buffer does not match the header's dimensions")?;
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
        resizer
            .resize(&src, &mut dst, &options)
            .context("cannot resize")?;
        drop(pixels); // the full-size pixels are not needed while encoding
        dst.into_vec()
    };
    let (resized, out_width, out_height) = orient(resized, target_width, target_height, color, orientation)?;

    let dir = output.parent().context("the output has no folder")?;
    let mut temp = temp_builder()
        .tempfile_in(dir)
        .context("cannot create a temporary file in the output folder")?;
    encode(&mut temp, out_format, &resized, out_width, out_height, color)?;
    let written = temp.as_file().metadata().context("cannot stat the output")?.len();
    // The rename is atomic: `output` is the old file or the whole new one, never a part.
    temp.persist(output)
        .map_err(|e| e.error)
        .context("cannot rename the temporary file into place")?;
    Ok(written)
}

/// Checks that `bytes` is a whole `format` file ([`check_complete`]), then decodes it within
/// `limits`. A PNG without `IEND` gets one in memory first, and fails as truncated unless its
/// image data decodes whole.
pub fn decode_checked(mut bytes: Vec<u8>, format: Format, limits: Limits) -> anyhow::Result<DynamicImage> {
    let complete = check_complete(&bytes, format)?;
    if complete == Complete::PngWithoutIend {
        bytes.extend_from_slice(PNG_IEND); // the decoder reads on to the chunk after the data
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    reader.limits(limits);
    reader.decode().map_err(|e| {
        let e = describe(e, "cannot decode");
        match complete {
            Complete::PngWithoutIend => anyhow::anyhow!(
                "truncated PNG: the file ends without its IEND chunk, and its image data does not decode whole ({e})"
            ),
            Complete::Whole => e,
        }
    })
}

/// Turns `pixels` (`width` x `height`, of `color`) by `orientation` (`image`'s
/// `DynamicImage::apply_orientation`); returns them with their new width and height. The
/// outputs carry no EXIF, so they are shown the right way up everywhere.
fn orient(
    pixels: Vec<u8>,
    width: u32,
    height: u32,
    color: ExtendedColorType,
    orientation: Orientation,
) -> anyhow::Result<(Vec<u8>, u32, u32)> {
    if orientation == Orientation::NoTransforms {
        return Ok((pixels, width, height));
    }
    let image = match color {
        ExtendedColorType::L8 => ImageBuffer::from_raw(width, height, pixels).map(DynamicImage::ImageLuma8),
        ExtendedColorType::La8 => ImageBuffer::from_raw(width, height, pixels).map(DynamicImage::ImageLumaA8),
        ExtendedColorType::Rgb8 => ImageBuffer::from_raw(width, height, pixels).map(DynamicImage::ImageRgb8),
        ExtendedColorType::Rgba8 => {
            ImageBuffer::from_raw(width, height, pixels).map(DynamicImage::ImageRgba8)
        }
        other => bail!("cannot turn an image of {other:?} pixels"),
    };
    let mut image = image.context("the resized buffer does not match its dimensions")?;
    image.apply_orientation(orientation);
    let (width, height) = (image.width(), image.height());
    Ok((image.into_bytes(), width, height))
}

/// How the temporary files of the outputs are created: `.image-resize-XXXXXX.tmp`, with the
/// permissions `File::create` gives (tempfile's default, 0600, would follow the file's rename).
pub fn temp_builder() -> tempfile::Builder<'static, 'static> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX).suffix(TEMP_SUFFIX);
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666)); // less the umask
    builder
}

/// The whole file, if it is at most [`MAX_FILE_BYTES`].
fn read_bounded(input: &Path) -> anyhow::Result<Vec<u8>> {
    let file = File::open(input).context("cannot open")?;
    let len = file.metadata().context("cannot stat")?.len();
    if len > MAX_FILE_BYTES {
        bail!(
            "the file is {len} bytes, over the {} MiB limit",
            MAX_FILE_BYTES >> 20
        );
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    std::io::Read::read_to_end(&mut BufReader::new(file), &mut bytes).context("cannot read")?;
    Ok(bytes)
}

/// The decoded pixels as a buffer fast_image_resize understands, with the matching encoder
/// color type, for an output of `format`. JPEG has no alpha channel, so an alpha channel is only
/// kept for PNG outputs; for a JPEG one, transparent pixels are laid on white (whatever colour
/// they hide: often black).
fn layout(decoded: DynamicImage, format: Format) -> (Vec<u8>, PixelType, ExtendedColorType) {
    let has_alpha = decoded.color().has_alpha();
    let keep_alpha = format == Format::Png && has_alpha;
    if has_alpha && !keep_alpha {
        return (on_white(&decoded), PixelType::U8x3, ExtendedColorType::Rgb8);
    }
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

/// `image` as 8-bit RGB laid on a white background: each colour weighted by its alpha.
fn on_white(image: &DynamicImage) -> Vec<u8> {
    let rgba = image.to_rgba8();
    let mut rgb = Vec::with_capacity(rgba.as_raw().len() / 4 * 3);
    for px in rgba.as_raw().chunks_exact(4) {
        let alpha = u32::from(px[3]);
        for &c in &px[..3] {
            // c * alpha + 255 * (255 - alpha) is at most 255 * 255: the result fits in a u8.
            let blended = (u32::from(c) * alpha + 255 * (255 - alpha) + 127) / 255;
            rgb.push(u8::try_from(blended).unwrap_or(u8::MAX));
        }
    }
    rgb
}

/// Encodes `pixels` as `format` into `out`.
fn encode(
    out: &mut impl Write,
    format: Format,
    pixels: &[u8],
    width: u32,
    height: u32,
    color: ExtendedColorType,
) -> anyhow::Result<()> {
    let mut out = BufWriter::new(out);
    let encoded = match format {
        Format::Png => PngEncoder::new(&mut out).write_image(pixels, width, height, color),
        Format::Jpeg => {
            JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY).write_image(pixels, width, height, color)
        }
    };
    encoded.map_err(|e| describe(e, "cannot encode"))?;
    out.flush().context("cannot write the output")?;
    Ok(())
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

    const BOX: Size = Size {
        width: 800,
        height: 600,
    };
    const SHRINK: Fit = Fit {
        size: BOX,
        exact: false,
        enlarge: false,
    };
    const ENLARGE: Fit = Fit {
        enlarge: true,
        ..SHRINK
    };
    const EXACT: Fit = Fit {
        exact: true,
        ..SHRINK
    };

    #[test]
    fn fitting_keeps_the_aspect_ratio_inside_the_box() {
        for fit in [SHRINK, ENLARGE] {
            assert_eq!(target_size(1920, 1080, fit), (800, 450));
            assert_eq!(target_size(1000, 10, fit), (800, 8));
            assert_eq!(target_size(100_000, 1, fit), (800, 1));
            assert_eq!(target_size(800, 700, fit), (686, 600));
        }
        assert_eq!(target_size(300, 200, ENLARGE), (800, 533));
        assert_eq!(target_size(120, 160, ENLARGE), (450, 600));
        assert_eq!(target_size(1920, 1080, EXACT), (800, 600));
        for (w, h) in [(1, 1), (7, 3), (1919, 1081), (16_384, 5), (640, 480)] {
            let (ow, oh) = target_size(w, h, ENLARGE);
            assert!(ow <= 800 && oh <= 600 && ow >= 1 && oh >= 1);
            assert!(ow == 800 || oh == 600, "{w}x{h} -> {ow}x{oh} touches no side");
        }
    }

    #[test]
    fn a_fit_never_enlarges_unless_asked() {
        for (w, h) in [(1, 1), (300, 200), (120, 160), (800, 600), (800, 1), (1, 600)] {
            assert_eq!(target_size(w, h, SHRINK), (w, h), "{w}x{h} kept as it is");
        }
        assert_eq!(target_size(1, 1, ENLARGE), (600, 600));
        assert_eq!(target_size(1, 1, EXACT), (800, 600));
        assert_eq!(target_size(300, 200, EXACT), (800, 600));
        // --exact enlarges whatever --enlarge says.
        assert_eq!(
            target_size(
                300,
                200,
                Fit {
                    enlarge: false,
                    ..EXACT
                }
            ),
            (800, 600)
        );
    }

    fn temp_dir(name: &str) -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix(&format!("image-resize-codec-{name}-"))
            .tempdir()
            .expect("temp dir")
    }

    /// A `w`x`h` image of `format` with some detail (so its data is long enough to cut).
    fn sample(format: Format, w: u32, h: u32) -> Vec<u8> {
        let (color, channels) = match format {
            Format::Png => (ExtendedColorType::Rgba8, 4),
            Format::Jpeg => (ExtendedColorType::Rgb8, 3),
        };
        let pixels: Vec<u8> = (0..w * h * channels).map(|i| ((i * 7) % 251) as u8).collect();
        let mut out = Vec::new();
        encode(&mut out, format, &pixels, w, h, color).expect("encode");
        out
    }

    #[test]
    fn a_png_and_a_jpeg_round_trip_with_the_expected_dimensions() {
        let dir = temp_dir("roundtrip");
        for (name, format) in [("a.png", Format::Png), ("b.jpg", Format::Jpeg)] {
            let input = dir.path().join(name);
            std::fs::write(&input, sample(format, 64, 40)).expect("write input");
            let fit = Fit {
                size: Size {
                    width: 16,
                    height: 16,
                },
                ..SHRINK
            };
            let p = plan(&input, format, fit).expect("plan");
            assert_eq!((p.format, p.width, p.height), (format, 64, 40));
            assert_eq!((p.out_width, p.out_height), (16, 10));
            let out = dir.path().join(format!("out-{name}"));
            let bytes = resize_file(&input, &p, &mut Resizer::new(), &out).expect("resize");
            assert_eq!(bytes, std::fs::metadata(&out).expect("stat").len());
            let back = ImageReader::open(&out)
                .expect("open")
                .with_guessed_format()
                .expect("guess");
            assert_eq!(back.format(), Some(format.image_format()));
            let img = back.decode().expect("decode the output");
            assert_eq!((img.width(), img.height()), (16, 10));
            assert_eq!(img.color().has_alpha(), format == Format::Png);
            #[cfg(unix)]
            {
                // The output has the permissions of a file made by `File::create`, not 0600.
                use std::os::unix::fs::PermissionsExt as _;
                let plain = dir.path().join(format!("plain-{name}"));
                let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode();
                File::create(&plain).expect("create");
                assert_eq!(mode(&out), mode(&plain));
            }
        }
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!names.iter().any(|n| n.ends_with(TEMP_SUFFIX)), "{names:?}");
    }

    #[test]
    fn truncated_files_fail_with_a_reason_and_leave_nothing() {
        let dir = temp_dir("truncated");
        let fit = Fit {
            size: Size {
                width: 32,
                height: 32,
            },
            ..SHRINK
        };
        for format in [Format::Png, Format::Jpeg] {
            let whole = sample(format, 96, 64);
            check_complete(&whole, format).expect("a whole file passes");
            let n = whole.len();
            // Cut at a third, half and two thirds, inside the end marker, and just before it (a
            // PNG without its whole IEND chunk is a case of its own: the next test).
            let before_end = match format {
                Format::Png => n - 13, // inside the CRC of the last IDAT chunk
                Format::Jpeg => n - 12,
            };
            for cut in [n / 3, n / 2, n * 2 / 3, n - 1, n - 2, before_end] {
                let reason = format!("{:#}", check_complete(&whole[..cut], format).expect_err("cut"));
                assert!(
                    reason.contains("truncated"),
                    "{format:?} cut at {cut}/{n}: {reason}"
                );
                let input = dir.path().join(format!("cut-{cut}.{}", format.name()));
                std::fs::write(&input, &whole[..cut]).expect("write");
                let out = dir.path().join(format!("out-{cut}.{}", format.name()));
                let failed = plan(&input, format, fit)
                    .and_then(|p| resize_file(&input, &p, &mut Resizer::new(), &out));
                let reason = format!("{:#}", failed.expect_err("a cut file fails"));
                assert!(
                    reason.contains("truncated"),
                    "{format:?} cut at {cut}/{n}: {reason}"
                );
                assert!(!out.exists());
            }
        }
        // A flipped byte inside a PNG chunk fails its CRC.
        let mut png = sample(Format::Png, 20, 20);
        let last = png.len() - 20;
        png[last] ^= 0x55;
        let reason = format!("{:#}", check_complete(&png, Format::Png).expect_err("crc"));
        assert!(reason.contains("CRC"), "{reason}");
        // Bytes after a JPEG's end-of-image marker are allowed.
        let mut jpeg = sample(Format::Jpeg, 20, 20);
        jpeg.extend_from_slice(b"trailing data");
        check_complete(&jpeg, Format::Jpeg).expect("trailing bytes after EOI");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| n.starts_with("cut-")), "{names:?}");
    }

    #[test]
    fn a_png_without_iend_is_resized_when_its_image_data_is_whole() {
        let dir = temp_dir("no-iend");
        let whole = sample(Format::Png, 96, 64);
        let n = whole.len();
        assert_eq!(check_complete(&whole, Format::Png).ok(), Some(Complete::Whole));
        assert_eq!(
            check_complete(&whole[..n - PNG_IEND.len()], Format::Png).ok(),
            Some(Complete::PngWithoutIend)
        );
        // The signature and IHDR alone: no image data at all.
        let reason = format!(
            "{:#}",
            check_complete(&whole[..33], Format::Png).expect_err("no IDAT")
        );
        assert!(reason.contains("truncated"), "{reason}");
        let fit = Fit {
            size: Size {
                width: 32,
                height: 32,
            },
            ..SHRINK
        };
        let mut outputs = Vec::new();
        for (name, bytes) in [("whole.png", &whole[..]), ("no-iend.png", &whole[..n - 12])] {
            let input = dir.path().join(name);
            std::fs::write(&input, bytes).expect("write");
            let out = dir.path().join(format!("out-{name}"));
            let p = plan(&input, Format::Png, fit).expect("plan");
            resize_file(&input, &p, &mut Resizer::new(), &out).expect("resized");
            outputs.push(std::fs::read(&out).expect("read"));
        }
        assert_eq!(outputs[0], outputs[1], "the same image comes out");
    }

    /// `png` with a chunk `kind` of `data` inserted before its IEND, its CRC flipped if `bad`.
    fn with_chunk(png: &[u8], kind: &[u8; 4], data: &[u8], bad: bool) -> Vec<u8> {
        let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
        chunk.extend_from_slice(kind);
        chunk.extend_from_slice(data);
        let crc = crc32fast::hash(&chunk[4..]) ^ u32::from(bad);
        chunk.extend_from_slice(&crc.to_be_bytes());
        let at = png.len() - PNG_IEND.len();
        [&png[..at], &chunk, &png[at..]].concat()
    }

    #[test]
    fn an_ancillary_chunk_failing_its_crc_is_skipped_a_critical_one_is_corrupt() {
        // The `png` decoder skips an ancillary chunk whose CRC fails (libpng too, by default),
        // and decodes the image: so does the walker. Found by the fuzz target's property on a
        // corrupted seed ("a file that decodes and ends at its end marker is accepted").
        let png = sample(Format::Png, 12, 8);
        let text = with_chunk(&png, b"tEXt", b"Comment\0hello", true);
        assert!(decode(&text).is_ok(), "the decoder reads it");
        assert_eq!(check_complete(&text, Format::Png).ok(), Some(Complete::Whole));
        let critical = with_chunk(&png, b"IDAT", b"", true);
        let reason = format!("{:#}", check_complete(&critical, Format::Png).expect_err("crc"));
        assert!(reason.contains("IDAT chunk fails its CRC"), "{reason}");
    }

    /// What the `image` crate alone makes of `bytes`.
    fn decode(bytes: &[u8]) -> image::ImageResult<DynamicImage> {
        image::load_from_memory(bytes)
    }

    #[test]
    fn extraneous_bytes_and_fill_before_a_jpeg_marker_are_skipped() {
        // libjpeg warns of "extraneous bytes before marker" and decodes, and so does the `image`
        // crate's decoder: the walker skips them. Found by the fuzz target's property on a
        // corrupted seed.
        let jpeg = sample(Format::Jpeg, 16, 16);
        let app0_end = 4 + usize::from(u16::from_be_bytes([jpeg[4], jpeg[5]]));
        for junk in [&b"\0\0"[..], b"junk", b"\xFF\x00\x00", b"\x00\xFF\xFF"] {
            let with = [&jpeg[..app0_end], junk, &jpeg[app0_end..]].concat();
            assert!(decode(&with).is_ok(), "{junk:?}: the decoder reads it");
            assert_eq!(
                check_complete(&with, Format::Jpeg).ok(),
                Some(Complete::Whole),
                "{junk:?}"
            );
        }
        // Truncation is still seen: cut in the skipped bytes, or after them.
        let with = [&jpeg[..app0_end], b"junk", &jpeg[app0_end..]].concat();
        for cut in [app0_end + 2, app0_end + 4, app0_end + 5, with.len() - 1] {
            let reason = format!(
                "{:#}",
                check_complete(&with[..cut], Format::Jpeg).expect_err("cut")
            );
            assert!(reason.contains("truncated"), "cut at {cut}: {reason}");
        }
    }

    #[test]
    fn a_reserved_jpeg_marker_is_corrupt_not_truncated() {
        // Found by the fuzz target `image_walker`: `FF 14` in a scan was read as a segment whose
        // length ran past the end, so a file that ends with EOI (and that the `image` crate
        // decodes, as grey from there) was called truncated. libjpeg refuses the marker.
        let jpeg = sample(Format::Jpeg, 16, 16);
        let n = jpeg.len();
        // Then `FF F8` (JPG8, of the JPEG-LS extension), found the same way.
        for code in [0x14, 0xF8] {
            let with = [&jpeg[..n - 6], &[0xFF, code][..], &jpeg[n - 6..]].concat();
            let reason = format!("{:#}", check_complete(&with, Format::Jpeg).expect_err("marker"));
            assert!(
                reason.contains(&format!("unknown marker FF{code:02X}")),
                "{reason}"
            );
            assert!(!reason.contains("truncated"), "{reason}");
        }
    }

    #[test]
    fn half_a_jpeg_with_an_end_marker_passes_the_walker() {
        // Decided, not detected: only an entropy decoder sees that the scan stops early.
        let whole = sample(Format::Jpeg, 96, 64);
        let mut half = whole[..whole.len() / 2].to_vec();
        half.extend_from_slice(&[0xFF, 0xD9]);
        assert_eq!(check_complete(&half, Format::Jpeg).ok(), Some(Complete::Whole));
    }

    #[test]
    fn faults_fail_with_a_reason() {
        let dir = temp_dir("faults");
        let empty = dir.path().join("empty.png");
        std::fs::write(&empty, b"").expect("write");
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, b"hello, not an image\n").expect("write");
        assert!(format!("{:#}", probe(&empty).expect_err("empty")).contains("empty"));
        assert!(format!("{:#}", probe(&text).expect_err("text")).contains("not a PNG or JPEG"));
        assert!(probe(&dir.path().join("missing.png")).is_err());

        // A real PNG whose header then claims 100000 x 100000 pixels (CRC fixed up).
        let bomb = dir.path().join("bomb.png");
        let mut bytes = sample(Format::Png, 2, 2);
        bytes[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let crc = crc32fast::hash(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        std::fs::write(&bomb, &bytes).expect("write");
        let reason = format!("{:#}", probe(&bomb).expect_err("bomb"));
        assert!(reason.contains("decode limits"), "{reason}");
    }
}
