//! `timeline [RUN.jsonl] -o run.svg|png`: a run's `--json` events drawn as a timeline, workers as
//! lanes and jobs as bars (`bench::timeline` draws). `cargo xtask timeline` runs this.
//!
//! Run with: cargo run -p basic -- --jobs 40 --json | cargo run -p bench --bin timeline -- -o run.svg

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;

/// Draw a run's `--json` events as a timeline (SVG, or PNG when OUT ends in .png).
#[derive(Parser, Debug)]
#[command(name = "timeline", version)]
struct Args {
    /// The events, one JSON object per line (default: stdin).
    input: Option<PathBuf>,
    /// The picture to write: `.svg` or `.png`.
    #[arg(short = 'o', long = "out", value_name = "OUT")]
    out: PathBuf,
    /// The title's first line (default: the pattern and the run's key settings).
    #[arg(long)]
    title: Option<String>,
}

/// Exit 0 on success, 2 with one line on stderr for bad input.
fn main() -> ExitCode {
    let args = Args::parse();
    let text = match &args.input {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
        }
        None => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map(|_| s)
                .context("cannot read stdin")
        }
    };
    let started = std::time::Instant::now();
    match text.and_then(|text| bench::timeline::render(&text, &args.out, args.title.as_deref())) {
        Ok(stats) => {
            eprintln!(
                "timeline: {} events, {} jobs started on {} lanes{}, drawn to {} in {:.0} ms",
                stats.events,
                stats.started,
                stats.lanes,
                if stats.density { " (density)" } else { "" },
                args.out.display(),
                started.elapsed().as_secs_f64() * 1000.0
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            let line = format!("{e:#}").split_whitespace().collect::<Vec<_>>().join(" ");
            eprintln!("error: {line}");
            ExitCode::from(2)
        }
    }
}
