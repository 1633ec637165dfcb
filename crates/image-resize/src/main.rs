//! # image-resize — a CPU-bound pool that resizes real images, one worker per core
//!
//! ## What it shows
//! Each PNG or JPEG in a folder is one job: decode it, fit it inside 800x600 as shown (EXIF
//! orientation applied; `--size`; a smaller image is not enlarged unless `--enlarge`; `--exact`
//! stretches), encode it, write it to the output folder. The work is CPU-bound, so more workers
//! than cores only adds switching: `--workers` defaults to the number of CPUs. Each worker owns a
//! `Resizer` whose buffers are reused from image to image: per-worker state a pool makes cheap.
//!
//! ## What to watch for
//! - The default run generates 48 sample images once under `target/image-resize/`, resizes them
//!   into `target/image-resize/output/`, and reports images and megapixels per second.
//! - `--workers 1` against `--workers 2` on a 2-core machine: the rate nearly doubles; `--workers
//!   8` is no faster. Peak memory (`peak_rss_kb`) is the same for 48 or 480 images: only `workers`
//!   images are decoded at once.
//! - A broken file in `--input DIR` fails alone, with its reason (a JPEG cut short says
//!   "truncated JPEG"), and the rest are resized (exit code 1).
//! - Ctrl-C: the images in flight finish, the rest never start (exit 130), and no half-written file
//!   is left: each output is written to a `.tmp` file and renamed into place.
//!
//! ## Go original and what differs
//! 002 "Use Cases: 3. Image Processing" (resize to 800x600 on CPU-count workers) and 000
//! ("resizing thousands of images in parallel while limiting resource usage").
//! - Go's `loadImage`/`resize`/`saveImage` are undefined and errors ignored; here they are real
//!   (`image`'s codecs, fast_image_resize's Lanczos3), and a corrupt or oversized file fails alone.
//! - Decoding is bounded (16384 pixels a side, 256 MiB of allocations), so a tiny "decompression
//!   bomb" cannot exhaust memory: 000's "limiting resource usage", per image as well as per pool.
//! - Go's 800x600 stretches every image; here the aspect ratio is kept unless `--exact`.
//!
//! ## How to run
//! ```sh
//! cargo run -p image-resize
//! cargo run -p image-resize -- --workers 1
//! ```

mod cli;
mod folders;
mod stats;

use std::process::ExitCode;
use std::sync::Arc;
use std::thread;

use anyhow::Context as _;
use common::progress::ProgressBar;
use common::{Defaults, InFlight, Outcome, Reporter, Stop, Summary, Tally};
use crossbeam::channel::{self, Receiver, Sender};
use fast_image_resize::Resizer;

use cli::Cli;
use folders::ImageJob;
use image_resize::codec::{self, Fit};
use stats::Stats;

/// What a worker sends back for one image.
#[derive(Debug)]
struct Done {
    id: u64,
    outcome: Outcome,
    /// Pixels decoded (width × height of the input), for megapixels per second.
    pixels: u64,
}

/// What every worker shares (read-only).
struct Shared {
    report: Reporter,
    gauge: InFlight,
    bar: ProgressBar,
    /// Set by Ctrl-C.
    stop: Stop,
    fit: Fit,
}

fn main() -> ExitCode {
    common::main(run)
}

/// One worker: take images until the channel is closed and drained (Go: `for job := range jobs`).
fn worker(id: usize, jobs: Receiver<ImageJob>, results: Sender<Done>, shared: &Shared) {
    let mut resizer = Resizer::new(); // this worker's own buffers, reused for every image
    for job in jobs {
        if shared.stop.is_set() {
            continue; // Ctrl-C: do not start it; main reports it as not started
        }
        let in_flight = shared.gauge.enter();
        // Read the header first, so the `started` event can say what is being resized.
        let plan = codec::plan(&job.input, job.out_format, shared.fit);
        let header = plan.as_ref().ok().copied();
        let report = &shared.report;
        shared
            .bar
            .suspend(|| stats::started(report, &job, id, header.as_ref()));
        let outcome = plan
            .and_then(|p| codec::resize_file(&job.input, &p, &mut resizer, &job.output))
            .map_or_else(|e| Outcome::Failed(common::error_chain(&e)), Outcome::Ok);
        let pixels = match (&outcome, header) {
            (Outcome::Ok(_), Some(p)) => u64::from(p.width) * u64::from(p.height),
            _ => 0,
        };
        shared
            .bar
            .suspend(|| stats::finished(report, &job, id, &outcome, header.as_ref()));
        drop(in_flight);
        let done = Done {
            id: job.job.id,
            outcome,
            pixels,
        };
        if results.send(done).is_err() {
            break; // the collector is gone, so there is nobody left to report to
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    // Ctrl-C first, before any file is written: the first one sets `stop` (no new image is
    // dispatched, the images in flight finish), a second one exits at once.
    let stop = common::signal::ctrl_c()?;
    let cli: Cli = common::parse_args(&Defaults {
        workers: num_cpus::get(),
        ..Defaults::default()
    });
    let workers = cli.workers;

    // The inputs: the given folder, or the samples (generated once, then reused).
    let root = testbed::images::target_dir().join("image-resize");
    let samples = root.join(format!("samples-{}-seed-{}", cli.generate, cli.seed));
    let Some(input_dir) = folders::input_dir(cli.input.as_deref(), &samples, &cli, &stop)? else {
        let report = Reporter::new(&cli.print);
        let summary = Summary::new("image-resize", Tally::default(), workers, 0, report.elapsed())
            .with_interrupted_at(common::signal::interrupted_at())
            .line("interrupted while generating the sample images: nothing was submitted");
        return Ok(report.summary(&summary));
    };
    let output_dir = cli.output.clone().unwrap_or_else(|| root.join("output"));
    // Every entry of the folder: a job, or skipped with its reason (a hidden file, a folder…).
    let listing = folders::list(&input_dir, &output_dir)?; // an unwritable output: exit 2 here
    let list = listing.jobs;
    let submitted = list.len() as u64;

    let shared = Arc::new(Shared {
        report: Reporter::new(&cli.print), // the run's clock starts here, samples generated
        gauge: InFlight::new(),
        bar: common::progress::bar(submitted, cli.print.json, cli.print.quiet),
        stop,
        fit: cli.fit(),
    });
    shared.report.note(format!(
        "Resizing {submitted} images from {} into {} ({}, {workers} workers)",
        input_dir.display(),
        output_dir.display(),
        shared.fit,
    ));
    stats::skipped(&shared.report, &listing.skipped);

    // 1. The two channels. A jobs queue as small as the pool: what is queued is dispatched.
    let capacity = cli
        .buffer
        .map_or(workers, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let (jobs_tx, jobs_rx) = channel::bounded::<ImageJob>(capacity);
    let (results_tx, results_rx) = channel::bounded::<Done>(workers);

    // 2. Start the workers.
    let mut handles = Vec::with_capacity(workers + 1);
    for id in 1..=workers {
        let (jobs_rx, results_tx, shared) = (jobs_rx.clone(), results_tx.clone(), Arc::clone(&shared));
        let handle = thread::Builder::new()
            .name(format!("worker-{id}"))
            .spawn(move || worker(id, jobs_rx, results_tx, &shared))
            .context("cannot start a worker thread")?;
        handles.push(handle);
    }
    drop(results_tx); // main keeps only the receiving end: the loop below ends with the workers
    drop(jobs_rx);

    // 3. Submit the jobs, until Ctrl-C; dropping `jobs_tx` at the end closes the channel.
    let producer_list = list.clone();
    let producer_stop = shared.stop.clone();
    let producer = thread::Builder::new()
        .name("producer".into())
        .spawn(move || {
            for job in producer_list {
                if producer_stop.is_set() || jobs_tx.send(job).is_err() {
                    break; // Ctrl-C, or every worker is gone
                }
            }
        })
        .context("cannot start the producer thread")?;
    handles.push(producer);

    // 4. Collect until every worker has exited (the results channel is then closed).
    let mut stats = Stats::new(submitted, &listing.skipped);
    let mut ended = vec![false; list.len()];
    for done in &results_rx {
        stats.tally.record(&done.outcome);
        stats.pixels += done.pixels;
        if let Some(slot) = usize::try_from(done.id - 1).ok().and_then(|i| ended.get_mut(i)) {
            *slot = true;
        }
        shared.bar.inc(1);
    }
    let panicked = common::join_all(handles);
    shared.bar.finish_and_clear();

    // 5. Every job that no worker ran (Ctrl-C, or a worker that died) is reported as not started.
    for (job, _) in list.iter().zip(&ended).filter(|(_, ended)| !**ended) {
        shared.report.not_started(&job.job);
        stats.tally.record(&Outcome::NotStarted);
    }

    let wall = shared.report.elapsed();
    let peak = shared.gauge.peak();
    let mut summary = stats.summary(workers, peak, wall, &output_dir, shared.fit);
    if panicked > 0 {
        summary = summary
            .line(format!("{panicked} thread(s) panicked"))
            .field("threads_panicked", panicked);
    }
    Ok(shared.report.summary(&summary))
}
