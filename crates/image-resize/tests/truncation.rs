//! The completeness check's two border cases, as decided (codec.rs documents both):
//!
//! - A PNG that ends right after its image data, without the `IEND` chunk, is accepted when
//!   its image data is whole (Pillow loads it in full too), and resized exactly as the whole
//!   file; one that also lacks image data fails, naming truncation, as does one cut inside a
//!   chunk (its `IEND` included).
//! - Half a JPEG with an end-of-image marker appended is accepted: its structure is whole, and
//!   only an entropy decoder can tell that its scan stops early (libjpeg warns and Pillow loads
//!   it; the decoder here fills the missing blocks the same way).

mod support;

use std::path::Path;

use common::event::OutcomeKind;
use harness::Scenario;
use testbed::images::Format;

use crate::support::{
    DEFAULT_FIT, JPEG_EOI, PNG_IEND, check, expect_files, finished_for, output_rgb, outputs_match, picture,
};

const ACCEPTED: [&str; 5] = [
    "whole.png",
    "split-whole.png",
    "no-iend.png",
    "whole.jpg",
    "half-with-eoi.jpg",
];
const TRUNCATED: [&str; 2] = ["no-iend-data-short.png", "cut-inside-iend.png"];

#[test]
fn truncation_border_cases_are_decided() {
    check(
        Scenario::run(
            "truncation-border-cases",
            &["--input", "{dir}/in", "--output", "{dir}/out", "--workers", "2"],
            1,
        )
        .partial_concurrency()
        .setup(write_border_cases)
        .check(|run| {
            expect_files(run, OutcomeKind::Ok, &ACCEPTED)?;
            expect_files(run, OutcomeKind::Failed, &TRUNCATED)?;
            for file in TRUNCATED {
                let reason = finished_for(run, file)?.reason.clone().unwrap_or_default();
                if !reason.contains("truncated PNG") {
                    return Err(format!("{file} failed without naming truncation: {reason}"));
                }
            }
            // Without IEND, or with its image data in two chunks, the same pixels come out.
            let whole = output_rgb(run, "whole.png")?;
            for file in ["no-iend.png", "split-whole.png"] {
                if output_rgb(run, file)? != whole {
                    return Err(format!("{file} was not resized as whole.png"));
                }
            }
            outputs_match(run, DEFAULT_FIT, ACCEPTED.len() as u64)
        }),
    );
}

/// A PNG's chunks: (type, data), after its signature.
fn chunks(png: &[u8]) -> anyhow::Result<Vec<([u8; 4], Vec<u8>)>> {
    let mut rest = png.get(8..).ok_or_else(|| anyhow::anyhow!("no signature"))?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        anyhow::ensure!(rest.len() >= 12, "a cut chunk");
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let kind = [rest[4], rest[5], rest[6], rest[7]];
        out.push((kind, rest[8..8 + len].to_vec()));
        rest = &rest[12 + len..];
    }
    Ok(out)
}

/// A PNG made of `chunks` (each written with its length and CRC).
fn assemble(chunks: &[([u8; 4], Vec<u8>)]) -> anyhow::Result<Vec<u8>> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in chunks {
        out.extend_from_slice(&u32::try_from(data.len())?.to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32fast::hash(&body).to_be_bytes());
    }
    Ok(out)
}

fn write_border_cases(dir: &Path) -> anyhow::Result<()> {
    let input = dir.join("in");
    std::fs::create_dir_all(&input)?;
    let png = picture(&input.join("whole.png"), Format::Png, 300, 200)?;
    let jpeg = picture(&input.join("whole.jpg"), Format::Jpeg, 300, 200)?;
    anyhow::ensure!(png.ends_with(PNG_IEND) && jpeg.ends_with(JPEG_EOI), "not whole");

    let n = png.len();
    std::fs::write(input.join("no-iend.png"), &png[..n - PNG_IEND.len()])?;
    std::fs::write(input.join("cut-inside-iend.png"), &png[..n - 6])?;

    // The image data in two IDAT chunks: whole, then without its second half and IEND.
    let mut split = Vec::new();
    for (kind, data) in chunks(&png)? {
        if &kind == b"IDAT" {
            let (a, b) = data.split_at(data.len() / 2);
            split.push((kind, a.to_vec()));
            split.push((kind, b.to_vec()));
        } else {
            split.push((kind, data));
        }
    }
    std::fs::write(input.join("split-whole.png"), assemble(&split)?)?;
    let last_idat = split
        .iter()
        .rposition(|(kind, _)| kind == b"IDAT")
        .ok_or_else(|| anyhow::anyhow!("no IDAT"))?;
    std::fs::write(
        input.join("no-iend-data-short.png"),
        assemble(&split[..last_idat])?,
    )?;

    let mut half = jpeg[..jpeg.len() / 2].to_vec();
    half.extend_from_slice(JPEG_EOI);
    std::fs::write(input.join("half-with-eoi.jpg"), half)?;
    Ok(())
}
