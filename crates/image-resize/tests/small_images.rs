//! Fitting never enlarges by default: an image already inside the box keeps its size (as
//! ImageMagick's `-resize 800x600>` and Pillow's `thumbnail` do), a bigger one is made smaller.
//! `--enlarge` makes small images fill the box as well, and `--exact` always gives the box.

mod support;

use std::path::Path;

use harness::{Run, Scenario};
use testbed::images::Format;

use crate::support::{DEFAULT_FIT, Fit, check, output_rgb, outputs_match, picture};

/// The inputs: file, format and size.
const INPUTS: [(&str, Format, (u32, u32)); 3] = [
    ("tiny.png", Format::Png, (1, 1)),
    ("small.jpg", Format::Jpeg, (300, 200)),
    ("big.png", Format::Png, (1000, 500)),
];

fn write_inputs(dir: &Path) -> anyhow::Result<()> {
    let input = dir.join("in");
    std::fs::create_dir_all(&input)?;
    for (file, format, (w, h)) in INPUTS {
        picture(&input.join(file), format, w, h)?;
    }
    Ok(())
}

/// Fails unless each output has the size `sizes` gives, in the order of [`INPUTS`].
fn sizes_are(run: &Run<'_>, sizes: [(u32, u32); 3]) -> Result<(), String> {
    for ((file, _, input), want) in INPUTS.iter().zip(sizes) {
        let got = output_rgb(run, file)?.dimensions();
        if got != want {
            return Err(format!("{file} ({input:?}) became {got:?}, expected {want:?}"));
        }
    }
    Ok(())
}

fn run(name: &str, extra: &[&str]) -> Scenario {
    let mut args = vec!["--input", "{dir}/in", "--output", "{dir}/out", "--workers", "2"];
    args.extend_from_slice(extra);
    Scenario::run(name, &args, 0)
        .partial_concurrency()
        .setup(write_inputs)
}

#[test]
fn small_images_are_not_enlarged_by_default() {
    check(run("small-images-default", &[]).check(|run| {
        sizes_are(run, [(1, 1), (300, 200), (800, 400)])?;
        run.expect_count("images_ok", 3)?;
        if run.summary()?.extra.get("enlarge").and_then(|v| v.as_bool()) != Some(false) {
            return Err("the summary does not say enlarge: false".into());
        }
        outputs_match(run, DEFAULT_FIT, 3)
    }));
}

#[test]
fn enlarge_fills_the_box() {
    check(run("small-images-enlarge", &["--enlarge"]).check(|run| {
        sizes_are(run, [(600, 600), (800, 533), (800, 400)])?;
        if run.summary()?.extra.get("enlarge").and_then(|v| v.as_bool()) != Some(true) {
            return Err("the summary does not say enlarge: true".into());
        }
        let fit = Fit {
            enlarge: true,
            ..DEFAULT_FIT
        };
        outputs_match(run, fit, 3)
    }));
}

#[test]
fn exact_gives_the_box_even_to_small_images() {
    check(
        run("small-images-exact", &["--size", "400x300", "--exact"]).check(|run| {
            sizes_are(run, [(400, 300); 3])?;
            let fit = Fit {
                width: 400,
                height: 300,
                exact: true,
                enlarge: false,
            };
            outputs_match(run, fit, 3)
        }),
    );
}
