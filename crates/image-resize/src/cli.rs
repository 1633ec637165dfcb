//! The command line: image-resize's own flags (the jobs are the files, so there is no `--jobs`,
//! `--work-ms` or `--workload`), plus `--json` / `--quiet`.

use std::path::PathBuf;

use clap::Parser;
use common::OutputArgs;

use crate::codec::{self, Fit, Size};

/// Resize a folder of PNG/JPEG images on a pool of CPU-bound workers.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Without --input, the samples are generated once into \
                  <target>/image-resize/samples-N-seed-S/ (<target> = $CARGO_TARGET_DIR, else the \
                  target folder of the executable)."
)]
pub struct Cli {
    /// Number of worker threads (1..=4096; default: the number of CPUs).
    #[arg(long, default_value = "1", allow_negative_numbers = true,
          value_parser = common::cli::parse_workers)]
    pub workers: usize,

    /// Capacity of the jobs channel (default: the number of workers).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = common::cli::parse_count)]
    pub buffer: Option<u64>,

    /// Folder of PNG/JPEG files to resize (default: generated samples under target/).
    #[arg(long, value_name = "DIR")]
    pub input: Option<PathBuf>,

    /// Folder to write the resized images to (default: target/image-resize/output).
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,

    /// The box to fit each image into, WIDTHxHEIGHT.
    #[arg(long, default_value = "800x600", value_parser = codec::parse_size)]
    pub size: Size,

    /// Resize to exactly --size (stretching, as the Go original) instead of fitting inside it.
    #[arg(long)]
    pub exact: bool,

    /// Enlarge images smaller than --size to fill it (by default a fit only makes images
    /// smaller: one already inside the box keeps its size).
    #[arg(long)]
    pub enlarge: bool,

    /// Without --input: how many sample images to generate (sizes up to 1920x1080, from --seed).
    #[arg(long, value_name = "N", default_value_t = 48, conflicts_with = "input",
          value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub generate: u32,

    /// Without --input: the seed the sample images are drawn from.
    #[arg(long, default_value = "42", conflicts_with = "input", allow_negative_numbers = true,
          value_parser = common::cli::parse_seed)]
    pub seed: u64,

    #[command(flatten)]
    pub print: OutputArgs,
}

impl Cli {
    /// How images are fitted: `--size`, `--exact`, `--enlarge`.
    pub fn fit(&self) -> Fit {
        Fit {
            size: self.size,
            exact: self.exact,
            enlarge: self.enlarge,
        }
    }
}
