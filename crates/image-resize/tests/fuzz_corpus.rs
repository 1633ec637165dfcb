//! The corpus of the fuzz target `image_walker` (`fuzz/corpus/image_walker`, docs/fuzzing.md),
//! replayed on stable: the target's property (`image_resize::fuzzing::image_walker`: the
//! structure walker, the header probe and the plan against the truncation rules) over every
//! file. `write_seeds` (ignored) writes the seed files the corpus was grown from, into it.

mod support;

use std::path::PathBuf;

use image::ExtendedColorType;
use testbed::images::Format;

use crate::support::{encoded, gradient};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/image_walker")
}

#[test]
fn the_image_walker_corpus_replays() {
    harness::fuzz_corpus::assert_replays("image_walker", image_resize::fuzzing::image_walker);
}

/// A PNG chunk: length, type, data, CRC of type and data.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32fast::hash(&out[4..]).to_be_bytes());
    out
}

/// A big-endian EXIF block (TIFF header, one IFD entry) with orientation `o`.
fn exif(o: u8) -> Vec<u8> {
    let mut out = b"MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0".to_vec();
    out.extend_from_slice(&[o, 0, 0, 0, 0, 0, 0]);
    out
}

/// `png` with `extra` inserted after its first chunk (IHDR), or before its last (IEND).
fn png_with(png: &[u8], extra: &[u8], after_ihdr: bool) -> Vec<u8> {
    let at = if after_ihdr { 33 } else { png.len() - 12 };
    [&png[..at], extra, &png[at..]].concat()
}

#[test]
#[ignore = "writes the seed files of fuzz/corpus/image_walker; run by hand, then `cargo fuzz cmin`"]
fn write_seeds() {
    let seeds = corpus();
    std::fs::create_dir_all(&seeds).expect("the corpus folder");
    let write = |name: &str, bytes: &[u8]| std::fs::write(seeds.join(name), bytes).expect("write a seed");
    let png = |w, h| encoded(Format::Png, &gradient(w, h), w, h, ExtendedColorType::Rgb8).expect("png");
    let jpeg = |w, h| encoded(Format::Jpeg, &gradient(w, h), w, h, ExtendedColorType::Rgb8).expect("jpeg");

    // Whole files, as the sample generator's encoders write them.
    let rgb = png(12, 8);
    write("rgb-12x8.png", &rgb);
    write("rgb-1x1.png", &png(1, 1));
    let rgba: Vec<u8> = (0..9 * 7 * 4).map(|i| (i * 37 % 251) as u8).collect();
    let rgba = encoded(Format::Png, &rgba, 9, 7, ExtendedColorType::Rgba8).expect("png");
    write("rgba-9x7.png", &rgba);
    let gray: Vec<u8> = (0..5 * 5).map(|i| (i * 10) as u8).collect();
    write(
        "gray-5x5.png",
        &encoded(Format::Png, &gray, 5, 5, ExtendedColorType::L8).expect("png"),
    );
    let photo = jpeg(16, 16);
    write("rgb-16x16.jpg", &photo);
    write("rgb-17x9.jpg", &jpeg(17, 9));
    let gray: Vec<u8> = (0..9 * 7).map(|i| (i * 4) as u8).collect();
    write(
        "gray-9x7.jpg",
        &encoded(Format::Jpeg, &gray, 9, 7, ExtendedColorType::L8).expect("jpeg"),
    );

    // EXIF orientation: a PNG's eXIf chunk, a JPEG's APP1 segment.
    write("exif-6.png", &png_with(&rgb, &chunk(b"eXIf", &exif(6)), true));
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&exif(6));
    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    segment.extend_from_slice(&app1);
    write("exif-6.jpg", &[&photo[..2], &segment, &photo[2..]].concat());
    // An ancillary chunk after the image data.
    let text = png_with(&rgb, &chunk(b"tEXt", b"Comment\0a sample"), false);
    write("text-after-idat.png", &text);

    // Truncated variants.
    let n = rgb.len();
    write("no-iend.png", &rgb[..n - 12]);
    write("cut-in-idat.png", &rgb[..n - 20]);
    write("cut-in-iend.png", &rgb[..n - 5]);
    write("ihdr-only.png", &rgb[..33]);
    let n = photo.len();
    write("half.jpg", &photo[..n / 2]);
    write("half-with-eoi.jpg", &[&photo[..n / 2], &[0xFF, 0xD9]].concat());
    write("no-eoi.jpg", &photo[..n - 2]);

    // Corrupted variants.
    let mut flipped = rgb.clone();
    flipped[45] ^= 0x10; // inside IDAT's data
    write("flipped-idat.png", &flipped);
    let mut bad_text = text.clone();
    let at = bad_text.len() - 12 - 8; // inside the tEXt chunk's data
    bad_text[at] ^= 0x01;
    write("bad-crc-text.png", &bad_text);
    write("trailing-data.jpg", &[&photo[..], b"trailing data"].concat());
    write("trailing-data.png", &[&rgb[..], b"trailing data"].concat());
    // Two bytes that are not a marker between the APP0 segment and the next one (libjpeg
    // warns of "extraneous bytes before marker" and decodes).
    let app0_end = 4 + usize::from(u16::from_be_bytes([photo[4], photo[5]]));
    write(
        "extraneous-bytes.jpg",
        &[&photo[..app0_end], b"\x00\x00", &photo[app0_end..]].concat(),
    );
    let mut bomb = png(2, 2);
    bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32fast::hash(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    write("bomb.png", &bomb);
}
