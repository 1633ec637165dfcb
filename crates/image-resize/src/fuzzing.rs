//! The properties the fuzz target `image_walker` checks (`fuzz/fuzz_targets/image_walker.rs`),
//! and that `tests/fuzz_corpus.rs` checks over every file of its corpus on stable. Each panics
//! when the property does not hold, with what went wrong.
//!
//! The rules they hold [`codec::check_complete`] to are those in `codec.rs`'s header: a PNG
//! whose chunks run whole to `IEND` and that the `image` crate decodes is accepted (unless a
//! critical chunk fails its CRC check: refused, as libpng does);
//! a file cut anywhere before its end marker is refused as truncated, except a PNG cut right
//! after a whole chunk once its image data began (a PNG without `IEND`); bytes after the end
//! marker change nothing; a flipped bit in a critical PNG chunk's data or CRC fails its CRC.

use image::{DynamicImage, ImageReader, Limits};

use crate::codec::{self, Complete, Fit, Format, PNG_IEND, Size};

/// The decode limits of the properties: smaller than the real ones ([`codec::limits`]), so that
/// one input decodes in milliseconds. A smaller limit only makes more decodes fail, and no
/// property below needs a decode to succeed.
fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(1024);
    limits.max_image_height = Some(1024);
    limits.max_alloc = Some(16 << 20);
    limits
}

/// The format the first bytes say, as the example reads it (`probe`).
fn format_of(bytes: &[u8]) -> Option<Format> {
    match image::guess_format(bytes).ok()? {
        image::ImageFormat::Png => Some(Format::Png),
        image::ImageFormat::Jpeg => Some(Format::Jpeg),
        _ => None,
    }
}

/// What the `image` crate alone makes of `bytes` (no walker).
fn decode(bytes: &[u8], format: Format) -> image::ImageResult<DynamicImage> {
    let mut reader = ImageReader::with_format(std::io::Cursor::new(bytes), format.image_format());
    reader.limits(limits());
    reader.decode()
}

/// The PNG's chunks as (start, end, critical), read by their lengths alone (no CRC), from the
/// signature to `IEND`; `None` unless they run whole to an `IEND` that ends the file.
fn png_chunks(bytes: &[u8]) -> Option<Vec<(usize, usize, bool)>> {
    let mut at = 8;
    let mut chunks = Vec::new();
    loop {
        let header = bytes.get(at..at + 8)?;
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let end = at.checked_add(12)?.checked_add(len)?;
        if end > bytes.len() {
            return None;
        }
        // A chunk is critical when the first letter of its type is upper case (bit 5 clear).
        chunks.push((at, end, header[4] & 0x20 == 0));
        if &header[4..8] == b"IEND" {
            return (end == bytes.len()).then_some(chunks);
        }
        at = end;
    }
}

/// Whether a critical chunk of the PNG `bytes` (whose chunks run whole to `IEND`) fails its CRC.
fn bad_critical_crc(bytes: &[u8]) -> bool {
    png_chunks(bytes).is_some_and(|chunks| {
        chunks.iter().any(|&(start, end, critical)| {
            critical && crc32fast::hash(&bytes[start + 4..end - 4]).to_be_bytes() != bytes[end - 4..end]
        })
    })
}

/// Whether `bytes` is a PNG whose chunks run whole to a closing `IEND` (by their lengths alone).
fn ends_at_its_end_marker(bytes: &[u8], format: Format) -> bool {
    format == Format::Png && bytes.starts_with(b"\x89PNG\r\n\x1a\n") && png_chunks(bytes).is_some()
}

/// A cheap hash of `bytes`, to pick positions that vary with the input but repeat on replay.
fn hash(bytes: &[u8]) -> usize {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    }) as usize
}

/// Where to cut a whole file whose structure ends at `end`: every position of a small file, else
/// the first and last bytes, the ones near the end marker, and some spread between.
fn cuts(end: usize, seed: usize) -> Vec<usize> {
    if end <= 600 {
        return (0..end).collect();
    }
    let mut at: Vec<usize> = (0..16).chain(end - 16..end).collect();
    at.extend((1..32).map(|i| (end * i / 32 + seed % 7) % end));
    at
}

/// The walker, the probe and the decoder on any bytes, as the example reads an input.
pub fn image_walker(bytes: &[u8]) {
    // No panic, whatever the bytes and whichever format is asked for.
    for format in [Format::Png, Format::Jpeg] {
        let _ = codec::walk(bytes, format);
    }
    let probe = codec::probe_bytes(bytes);
    let Some(format) = format_of(bytes) else {
        assert!(probe.is_err(), "probe accepted bytes of no known format");
        return;
    };
    let verdict = codec::walk(bytes, format);
    let decoded = decode(bytes, format);

    // A PNG whose chunks run whole to a closing IEND, which the decoder reads, is accepted;
    // unless a critical chunk fails its CRC, refused as libpng refuses it (the `png` decoder
    // does not read the CRC of the chunk its image data ends in, nor the chunks after it).
    // A JPEG has no such property: the decoder reads nothing after the scan it needs and fills
    // what is missing with grey, so "it decodes" says nothing of the rest of the file.
    if let (Ok(_), true, Err(e)) = (&decoded, ends_at_its_end_marker(bytes, format), &verdict) {
        let reason = format!("{e:#}");
        assert!(
            bad_critical_crc(bytes) && reason.contains("fails its CRC check"),
            "{format:?} that decodes and ends at its end marker refused: {reason}"
        );
    }

    match verdict {
        Ok((Complete::Whole, end)) => whole(bytes, format, end),
        Ok((Complete::PngWithoutIend, end)) => {
            assert_eq!(format, Format::Png);
            assert_eq!(end, bytes.len(), "a PNG without IEND ends where the file does");
            let mut closed = bytes.to_vec();
            closed.extend_from_slice(PNG_IEND);
            assert_eq!(
                codec::walk(&closed, format).ok(),
                Some((Complete::Whole, closed.len())),
                "a PNG without IEND is whole once IEND is added"
            );
            // It is resized exactly when its image data decodes whole.
            let checked = codec::decode_checked(bytes.to_vec(), format, limits());
            assert_eq!(
                checked.is_ok(),
                decode(&closed, format).is_ok(),
                "decode_checked disagrees with the decoder on the PNG closed with IEND"
            );
            if let Err(e) = checked {
                assert!(format!("{e:#}").contains("truncated"), "{e:#}");
            }
        }
        Err(e) => {
            let reason = format!("{e:#}");
            assert!(!reason.is_empty());
            assert!(
                codec::decode_checked(bytes.to_vec(), format, limits()).is_err(),
                "decode_checked accepted what the walker refused ({reason})"
            );
        }
    }

    // The header: what the probe says of a file the decoder reads is what the decoder reads.
    if let (Ok(p), Ok(image)) = (&probe, &decoded) {
        assert_eq!(p.format, format);
        assert_eq!(
            (p.width, p.height),
            (image.width(), image.height()),
            "the probe and the decoder disagree on the dimensions"
        );
    }
    // And the plan made from it fits its box.
    if let Ok(p) = probe {
        let size = Size {
            width: 320,
            height: 200,
        };
        for (exact, enlarge) in [(false, false), (false, true), (true, false)] {
            let (w, h) = codec::target_size(p.width, p.height, Fit { size, exact, enlarge });
            assert!((1..=320).contains(&w) && (1..=200).contains(&h), "{w}x{h}");
        }
    }
}

/// The properties of a file the walker found whole, its structure ending at `end`.
fn whole(bytes: &[u8], format: Format, end: usize) {
    assert!(end <= bytes.len());
    let structure = &bytes[..end];
    if format == Format::Jpeg {
        // EOI: `FF`, any fill (`FF` or `00`), `D9`: an `FF` in the run of those before `D9`.
        let fill = structure
            .iter()
            .rev()
            .skip(1)
            .take_while(|&&b| b == 0 || b == 0xFF)
            .count();
        assert!(
            structure.ends_with(&[0xD9]) && structure[end - 1 - fill..end - 1].contains(&0xFF),
            "a whole JPEG ends with EOI"
        );
    }
    // Bytes after the end marker change nothing, and neither does dropping them.
    assert_eq!(codec::walk(structure, format).ok(), Some((Complete::Whole, end)));
    let mut trailing = structure.to_vec();
    trailing.extend_from_slice(b"\xFF\xD8 trailing data \x89PNG");
    assert_eq!(
        codec::walk(&trailing, format).ok(),
        Some((Complete::Whole, end)),
        "bytes after the end marker changed the verdict"
    );
    // Cut anywhere before its end, it is truncated; a PNG cut right after a whole chunk, once
    // its image data began, is a PNG without IEND, whole once IEND is added.
    let seed = hash(bytes);
    for cut in cuts(end, seed) {
        match codec::walk(&structure[..cut], format) {
            Err(e) => {
                let reason = format!("{e:#}");
                let expected = if cut < 2 || (format == Format::Png && cut < 8) {
                    reason.contains("not a") || reason.contains("truncated")
                } else {
                    reason.contains("truncated")
                };
                assert!(expected, "{format:?} cut at {cut} of {end}: {reason}");
            }
            Ok((Complete::PngWithoutIend, at)) if format == Format::Png => {
                assert_eq!(at, cut);
                let mut closed = structure[..cut].to_vec();
                closed.extend_from_slice(PNG_IEND);
                assert!(codec::walk(&closed, format).is_ok());
            }
            Ok(verdict) => panic!("{format:?} cut at {cut} of {end} accepted: {verdict:?}"),
        }
    }
    // A flipped bit in a critical PNG chunk's data or CRC fails its CRC check.
    if format == Format::Png
        && let Some(chunks) = png_chunks(structure)
    {
        let critical: Vec<_> = chunks.iter().filter(|c| c.2).collect();
        if let Some(&&(start, end, _)) = critical.get(seed % critical.len().max(1)) {
            let at = start + 8 + (seed >> 8) % (end - start - 8);
            let mut flipped = structure.to_vec();
            flipped[at] ^= 1 << (seed % 8);
            assert!(
                codec::walk(&flipped, format).is_err(),
                "a flipped bit at byte {at}, in a critical chunk, passed"
            );
        }
    }
}
