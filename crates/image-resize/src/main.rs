//! # image-resize — a CPU-bound pool that resizes real images, one worker per core
//!
//! Each PNG or JPEG file in a folder is one job: decode it, resize it to fit inside 800x600
//! (or `--size`, keeping the aspect ratio; `--exact` stretches to the box), encode it in the same
//! format, and write it to the output folder. The work is CPU-bound, so more workers than cores
//! only adds switching: `--workers` defaults to the number of CPUs (`num_cpus::get()`).
//!
//! The mechanics, all in this file:
//! 1. list the input files (sorted by name: job ids 1..=n follow that order);
//! 2. two bounded channels, `jobs` (capacity = workers, so Ctrl-C leaves the rest undispatched)
//!    and `results`;
//! 3. `--workers` threads, each owning one `Resizer` whose buffers are reused from image to
//!    image (per-worker state the pool makes cheap), looping `for job in jobs`;
//! 4. a producer sends the jobs and drops its `Sender` (Go's `close(jobs)`), unless Ctrl-C set
//!    `stop` (`common::signal::ctrl_c()`, installed before anything else), in which case it stops
//!    dispatching at once;
//! 5. main collects results until every worker has dropped its results `Sender`, joins every
//!    thread, reports the jobs that never ran as `not_started`, and prints the summary.
//!
//! What to observe: `cargo run -p image-resize` generates 48 sample images (once) under
//! `target/image-resize/samples-48-seed-42/`, resizes them into `target/image-resize/output/`,
//! and prints "Worker 2 started job 5: sample-005.png (1387x912 png)" lines, then a summary with
//! images per second and megapixels per second. Compare `--workers 1` with `--workers 2`: on a
//! 2-core machine the rate nearly doubles; `--workers 8` does not go faster. Peak memory
//! (`peak_rss_kb`) stays the same for 48 or 480 images: only `workers` images are decoded at
//! once. Put a broken file in a folder and pass `--input DIR`: that image fails alone, with its
//! reason (a JPEG cut short says "truncated JPEG: the file ends before its end-of-image marker"),
//! and the rest are resized (exit code 1). Press Ctrl-C mid-run: the images being
//! resized finish, the rest are reported as never started, exit code 130, and no half-written
//! file is left (each output is written to `.image-resize-*.tmp` and renamed into place).
//!
//! Go originals: 002 "Use Cases: 3. Image Processing" (`imageWorker`, resize to 800x600, a pool
//! of CPU-core workers) and 000 ("resizing thousands of images in parallel while limiting
//! resource usage"). What differs, and why:
//! - Go's `loadImage`/`resize`/`saveImage` are left undefined and errors are ignored; here they
//!   are real (the `image` crate's PNG and JPEG codecs, fast_image_resize's SIMD Lanczos3), and
//!   a corrupt, empty, non-image or oversized file fails its own job with the reason while the
//!   others go on.
//! - Decoding is bounded (at most 16384 pixels per side and 256 MiB of decoder allocations), so
//!   a tiny "decompression bomb" cannot exhaust memory: that is the "limiting resource usage"
//!   of original 000, applied per image as well as per pool.
//! - Go's 800x600 stretches every image; here the default keeps the aspect ratio (fit inside
//!   the box), and `--exact` gives Go's behaviour.
//! - A truncated input fails instead of being resized: the file's structure is walked up to its
//!   end marker before decoding (the JPEG decoder would fill the missing part with grey).
//! - Outputs are written to a temporary file and renamed, and Ctrl-C stops dispatching and lets
//!   in-flight images finish, so an interrupted run never leaves a truncated image. An output
//!   folder that cannot be written is a usage error (exit 2) before any image is decoded.
//! - The jobs are the files: there is no `--jobs`. `--buffer` sets the jobs channel capacity
//!   (default: the number of workers). The sample generator lives in `testbed::images`.
//!
//! Run with: cargo run -p image-resize

mod cli;
mod codec;
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
use codec::Size;
use folders::ImageJob;
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
    size: Size,
    exact: bool,
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
        let plan = codec::plan(&job.input, shared.size, shared.exact);
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
    let list = folders::image_jobs(&input_dir, &output_dir)?; // an unwritable output: exit 2 here
    let submitted = list.len() as u64;

    let shared = Arc::new(Shared {
        report: Reporter::new(&cli.print), // the run's clock starts here, samples generated
        gauge: InFlight::new(),
        bar: common::progress::bar(submitted, cli.print.json, cli.print.quiet),
        stop,
        size: cli.size,
        exact: cli.exact,
    });
    shared.report.note(format!(
        "Resizing {submitted} images from {} into {} ({} {}, {workers} workers)",
        input_dir.display(),
        output_dir.display(),
        if cli.exact { "exactly" } else { "to fit inside" },
        cli.size,
    ));

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
    let mut stats = Stats::new(submitted);
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
    let mut summary = stats.summary(workers, peak, wall, &output_dir, cli.size, cli.exact);
    if panicked > 0 {
        summary = summary
            .line(format!("{panicked} thread(s) panicked"))
            .field("threads_panicked", panicked);
    }
    Ok(shared.report.summary(&summary))
}
