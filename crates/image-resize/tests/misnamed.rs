//! A file whose name says one format and whose contents are the other (a PNG named .jpg) is
//! read by its contents and written in the format its name says, so every output is what its
//! name says; the `finished` event says so (`format` the input's, `out_format` the output's, and
//! a `note`). A PNG's transparent pixels become white in a JPEG, which has no alpha channel.

mod support;

use std::path::Path;

use harness::Scenario;
use image::ExtendedColorType;
use testbed::images::Format;

use crate::support::{Fit, check, encoded, finished_for, output_rgb, outputs_match, text};

/// The inputs: file, the format of its contents, the output's format (its name's), and whether
/// the `finished` event must carry a note.
const CASES: [(&str, &str, &str, bool); 4] = [
    ("png-named.jpg", "png", "jpeg", true),
    ("jpeg-named.png", "jpeg", "png", true),
    ("upper.JPG", "jpeg", "jpeg", false),
    ("plain.png", "png", "png", false),
];

const FIT: Fit = Fit {
    width: 16,
    height: 16,
    exact: false,
    enlarge: false,
};

#[test]
fn a_misnamed_file_is_written_in_the_format_its_name_says() {
    check(
        Scenario::run(
            "misnamed",
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
        .setup(write_misnamed_folder)
        .check(|run| {
            for (file, format, out_format, noted) in CASES {
                let bytes =
                    std::fs::read(run.dir.join("out").join(file)).map_err(|e| format!("{file}: {e}"))?;
                let written = match image::guess_format(&bytes) {
                    Ok(image::ImageFormat::Png) => "png",
                    Ok(image::ImageFormat::Jpeg) => "jpeg",
                    other => return Err(format!("{file}: the output is {other:?}")),
                };
                if written != out_format {
                    return Err(format!(
                        "{file}: written as {written}, its name says {out_format}"
                    ));
                }
                let e = finished_for(run, file)?;
                for (key, want) in [("format", format), ("out_format", out_format)] {
                    let got = text(e, key)?;
                    if got != want {
                        return Err(format!("{file}: {key} {got}, expected {want}"));
                    }
                }
                let note = e.detail.get("note").and_then(|v| v.as_str());
                match (noted, note) {
                    (true, Some(n))
                        if n.contains(&format.to_uppercase()) && n.contains(&out_format.to_uppercase()) => {}
                    (false, None) => {}
                    _ => return Err(format!("{file}: note {note:?}, expected one: {noted}")),
                }
            }
            // The transparent left half of the PNG is white in the JPEG; the right half stays red.
            let img = output_rgb(run, "png-named.jpg")?;
            let (w, h) = img.dimensions();
            for ((x, y), want) in [
                ((w / 4, h / 2), [255, 255, 255]),
                ((w * 3 / 4, h / 2), [255, 0, 0]),
            ] {
                let got = img.get_pixel(x, y).0;
                if got.iter().zip(want).any(|(g, w)| g.abs_diff(w) > 60) {
                    return Err(format!(
                        "png-named.jpg: pixel ({x}, {y}) is {got:?}, expected about {want:?}"
                    ));
                }
            }
            outputs_match(run, FIT, CASES.len() as u64)
        }),
    );
}

fn write_misnamed_folder(dir: &Path) -> anyhow::Result<()> {
    let input = dir.join("in");
    std::fs::create_dir_all(&input)?;
    let (w, h) = (64u32, 32u32);
    // Left half transparent (black underneath), right half opaque red.
    let rgba: Vec<u8> = (0..h)
        .flat_map(|_| (0..w).flat_map(|x| if x < w / 2 { [0, 0, 0, 0] } else { [255, 0, 0, 255] }))
        .collect();
    let rgb: Vec<u8> = support::gradient(w, h);
    let png = encoded(Format::Png, &rgba, w, h, ExtendedColorType::Rgba8)?;
    let jpeg = encoded(Format::Jpeg, &rgb, w, h, ExtendedColorType::Rgb8)?;
    std::fs::write(input.join("png-named.jpg"), &png)?;
    std::fs::write(input.join("jpeg-named.png"), &jpeg)?;
    std::fs::write(input.join("upper.JPG"), &jpeg)?;
    std::fs::write(input.join("plain.png"), &png)?;
    Ok(())
}
