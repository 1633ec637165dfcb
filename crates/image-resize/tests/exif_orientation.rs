//! A photo taken with the camera turned is stored sideways with an EXIF orientation that says
//! how to turn it: image-resize applies it, so the output is the right way up and fitted as it
//! is shown (a 64x32 image stored with orientation 6 is a 32x64 picture). The inputs are built
//! here: JPEGs with an EXIF APP1 segment written by hand, and a PNG with an `eXIf` chunk.

mod support;

use std::path::Path;

use harness::Scenario;
use image::{ExtendedColorType, RgbImage};
use testbed::images::Format;

use crate::support::{Fit, check, finished_for, number, output_rgb, outputs_match};

/// The box of the run: 16x16, so that every input (64x32) is made smaller.
const FIT: Fit = Fit {
    width: 16,
    height: 16,
    exact: false,
    enlarge: false,
};

const RED: [u8; 3] = [255, 0, 0];
const BLUE: [u8; 3] = [0, 0, 255];

/// Where each colour should be in an output: the two halves, top/bottom or left/right.
#[derive(Debug, Clone, Copy)]
enum Halves {
    /// (top, bottom)
    TopBottom([u8; 3], [u8; 3]),
    /// (left, right)
    LeftRight([u8; 3], [u8; 3]),
}

/// The inputs: file, EXIF orientation (0: none), and the output's size and colours. Each is
/// stored as 64x32, its left half red and its right half blue.
const CASES: [(&str, u16, (u32, u32), Halves); 5] = [
    // 6: turn 90° clockwise to show it; the stored left edge is shown at the top.
    ("rotated-6.jpg", 6, (8, 16), Halves::TopBottom(RED, BLUE)),
    // 8: turn 90° counter-clockwise; the stored left edge is shown at the bottom.
    ("rotated-8.jpg", 8, (8, 16), Halves::TopBottom(BLUE, RED)),
    // 3: turn 180°; left and right swap.
    ("rotated-3.jpg", 3, (16, 8), Halves::LeftRight(BLUE, RED)),
    // The same orientation 6 in a PNG's eXIf chunk.
    ("rotated-6.png", 6, (8, 16), Halves::TopBottom(RED, BLUE)),
    // No EXIF at all: as stored.
    ("upright.jpg", 0, (16, 8), Halves::LeftRight(RED, BLUE)),
];

#[test]
fn exif_orientation_is_applied() {
    check(
        Scenario::run(
            "exif-orientation",
            &[
                "--input",
                "{dir}/in",
                "--output",
                "{dir}/out",
                "--size",
                "16x16",
                "--workers",
                "2",
            ],
            0,
        )
        .partial_concurrency()
        .setup(write_rotated_folder)
        .check(|run| {
            for (file, orientation, size, halves) in CASES {
                let img = output_rgb(run, file)?;
                if img.dimensions() != size {
                    return Err(format!(
                        "{file}: the output is {:?}, expected {size:?} (orientation {orientation})",
                        img.dimensions()
                    ));
                }
                check_halves(file, &img, halves)?;
                let reported = number(finished_for(run, file)?, "orientation")?;
                let want = u32::from(orientation.max(1));
                if reported != want {
                    return Err(format!(
                        "{file}: orientation reported {reported}, expected {want}"
                    ));
                }
            }
            outputs_match(run, FIT, CASES.len() as u64)
        }),
    );
}

/// Fails unless the middle of each half of `img` has the colour `halves` says (within what
/// JPEG's compression changes).
fn check_halves(file: &str, img: &RgbImage, halves: Halves) -> Result<(), String> {
    let (w, h) = img.dimensions();
    let (first, second, a, b) = match halves {
        Halves::TopBottom(top, bottom) => (top, bottom, (w / 2, h / 4), (w / 2, h * 3 / 4)),
        Halves::LeftRight(left, right) => (left, right, (w / 4, h / 2), (w * 3 / 4, h / 2)),
    };
    for (want, (x, y)) in [(first, a), (second, b)] {
        let got = img.get_pixel(x, y).0;
        let near = got.iter().zip(want).all(|(g, w)| g.abs_diff(w) < 80);
        if !near {
            return Err(format!(
                "{file}: pixel ({x}, {y}) is {got:?}, expected about {want:?} ({halves:?})"
            ));
        }
    }
    Ok(())
}

/// A big-endian TIFF header with one IFD entry: Orientation (0x0112), a SHORT, `value`.
fn exif_tiff(value: u16) -> Vec<u8> {
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec(); // byte order, 42, first IFD at offset 8
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // one value
    tiff.extend_from_slice(&value.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]); // the value field's padding
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    tiff
}

/// `jpeg` with an APP1 "Exif" segment holding orientation `value`, right after its SOI marker.
fn with_exif_app1(jpeg: &[u8], value: u16) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(jpeg.starts_with(&[0xFF, 0xD8]), "not a JPEG");
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&exif_tiff(value));
    let len = u16::try_from(payload.len() + 2)?;
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    Ok(out)
}

/// `png` with an `eXIf` chunk holding orientation `value`, right after its IHDR chunk.
fn with_exif_chunk(png: &[u8], value: u16) -> anyhow::Result<Vec<u8>> {
    // Signature (8 bytes), then IHDR: length, type, 13 bytes of data, CRC.
    anyhow::ensure!(png.get(12..16) == Some(b"IHDR".as_slice()), "IHDR is not first");
    let after_ihdr = 8 + 12 + 13;
    let data = exif_tiff(value);
    let mut chunk = u32::try_from(data.len())?.to_be_bytes().to_vec();
    let mut body = b"eXIf".to_vec();
    body.extend_from_slice(&data);
    chunk.extend_from_slice(&body);
    chunk.extend_from_slice(&crc32fast::hash(&body).to_be_bytes());
    let mut out = png[..after_ihdr].to_vec();
    out.extend_from_slice(&chunk);
    out.extend_from_slice(&png[after_ihdr..]);
    Ok(out)
}

/// A 64x32 image, its left half red and its right half blue, encoded as `format`.
fn red_blue(format: Format) -> anyhow::Result<Vec<u8>> {
    let (w, h) = (64u32, 32u32);
    let pixels: Vec<u8> = (0..h)
        .flat_map(|_| (0..w).flat_map(|x| if x < w / 2 { RED } else { BLUE }))
        .collect();
    support::encoded(format, &pixels, w, h, ExtendedColorType::Rgb8)
}

fn write_rotated_folder(dir: &Path) -> anyhow::Result<()> {
    let input = dir.join("in");
    std::fs::create_dir_all(&input)?;
    let (jpeg, png) = (red_blue(Format::Jpeg)?, red_blue(Format::Png)?);
    for (file, orientation, _, _) in CASES {
        let bytes = match (file.ends_with(".png"), orientation) {
            (_, 0) => jpeg.clone(),
            (false, value) => with_exif_app1(&jpeg, value)?,
            (true, value) => with_exif_chunk(&png, value)?,
        };
        std::fs::write(input.join(file), bytes)?;
    }
    Ok(())
}
