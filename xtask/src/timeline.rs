//! What the context-cancel scenario of `scenarios/` draws with `cargo xtask timeline`: the real
//! renderer, `bench`'s `timeline` binary (run through cargo, so xtask compiles no charting), and
//! readers of the SVG it writes. `cargo xtask timeline` itself forwards to that binary (`main.rs`).

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::Context as _;

use crate::cargo;

/// What the renderer drew, as it counted it.
#[derive(Debug)]
pub struct Stats {
    /// Bars drawn one per job (0 in density mode).
    pub bars: usize,
}

/// An outcome's colour as the SVG writes it: `bench/src/palette.rs`'s, checked against the
/// picture's legend each time one is drawn.
#[derive(Debug, Clone, Copy)]
pub struct Rgb(pub u8, pub u8, pub u8);

pub const OK: Rgb = Rgb(60, 180, 75);
pub const FAILED: Rgb = Rgb(230, 25, 75);
pub const CANCELLED: Rgb = Rgb(245, 130, 48);

/// Draws `events_text` (a run's `--json` lines) to `out` (an `.svg`) with `bench`'s `timeline`.
pub fn render(events_text: &str, out: &Path, title: Option<&str>) -> anyhow::Result<Stats> {
    let mut command = Command::new(cargo());
    command
        .args([
            "run",
            "--quiet",
            "-p",
            "bench",
            "--bin",
            "timeline",
            "--",
            "--stats-json",
            "-o",
        ])
        .arg(std::path::absolute(out)?)
        .current_dir(crate::workspace_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(title) = title {
        command.args(["--title", title]);
    }
    let mut child = command
        .spawn()
        .context("cannot run cargo run -p bench --bin timeline")?;
    // Written from another thread: the child may fill its stdout pipe before reading all of stdin.
    let mut stdin = child.stdin.take().context("the timeline's stdin")?;
    let text = events_text.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let output = child
        .wait_with_output()
        .context("cargo run -p bench --bin timeline")?;
    let written = writer
        .join()
        .map_err(|_| anyhow::anyhow!("the thread writing the events panicked"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    anyhow::ensure!(
        output.status.success(),
        "timeline exited with {}: {}",
        output.status,
        stderr.trim()
    );
    written.context("cannot write the events to timeline")?;
    let stats: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("timeline --stats-json printed no JSON")?;
    let bars = stats["bars"]
        .as_u64()
        .context("timeline --stats-json has no bars")?;
    if out.extension().is_some_and(|e| e == "svg") {
        let picture =
            std::fs::read_to_string(out).with_context(|| format!("cannot read {}", out.display()))?;
        let legend = svg::texts(&picture);
        for (label, colour) in [("■ ok", OK), ("■ failed", FAILED), ("■ cancelled", CANCELLED)] {
            anyhow::ensure!(
                legend
                    .iter()
                    .any(|(attributes, text)| text == label && attributes.contains(&svg::fill(colour))),
                "the timeline's legend draws {label:?} in another colour than xtask/src/timeline.rs \
                 says: copy it from bench/src/palette.rs"
            );
        }
    }
    Ok(Stats {
        bars: usize::try_from(bars)?,
    })
}

/// Reading a drawn SVG back (they parse the picture, they never compare bytes).
pub mod svg {
    use super::Rgb;

    pub fn fill(colour: Rgb) -> String {
        format!("fill=\"#{:02X}{:02X}{:02X}\"", colour.0, colour.1, colour.2)
    }

    /// Opaque rectangles in the SVG filled with `colour` (the bars; the in-flight strip's steps
    /// are translucent).
    pub fn rects_filled(svg: &str, colour: Rgb) -> usize {
        let fill = fill(colour);
        svg.split("<rect")
            .skip(1)
            .filter_map(|r| r.split("/>").next())
            .filter(|r| r.contains(&fill) && r.contains("opacity=\"1\""))
            .count()
    }

    /// The text of every `<text>` element of the SVG, with its attributes.
    pub fn texts(svg: &str) -> Vec<(String, String)> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                let (attributes, body) = t.split_once('>')?;
                Some((
                    attributes.to_owned(),
                    body.split("</text>").next()?.trim().to_owned(),
                ))
            })
            .collect()
    }
}
