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
//!    `stop`, in which case it stops dispatching at once;
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
//! reason, and the rest are resized (exit code 1). Press Ctrl-C mid-run: the images being
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
//! - Outputs are written to a temporary file and renamed, and Ctrl-C stops dispatching and lets
//!   in-flight images finish, so an interrupted run never leaves a truncated image.
//! - `--jobs`, `--work-ms`, `--workload` and `--fail-every` do not apply: the jobs are the
//!   files. `--buffer` sets the jobs channel capacity (default: the number of workers).
//!
//! Run with: cargo run -p image-resize

mod codec;
mod samples;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::Parser;
use common::progress::ProgressBar;
use common::{Defaults, Detail, InFlight, Job, JobResult, Outcome, PoolArgs, Reporter, Summary, Tally};
use crossbeam::channel::{self, Receiver, Sender};
use fast_image_resize::Resizer;

use codec::Size;
use samples::Samples;

/// Resize a folder of PNG/JPEG images on a pool of CPU-bound workers.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "The jobs are the input files: --jobs, --work-ms, --workload and --fail-every do not \
                  apply. --buffer defaults to the number of workers here. Without --input, the \
                  samples are generated once into <target>/image-resize/samples-N-seed-S/ \
                  (<target> = $CARGO_TARGET_DIR, else the target folder of the executable)."
)]
struct Cli {
    #[command(flatten)]
    pool: PoolArgs,

    /// Folder of PNG/JPEG files to resize (default: generated samples under target/).
    #[arg(long, value_name = "DIR")]
    input: Option<PathBuf>,

    /// Folder to write the resized images to (default: target/image-resize/output).
    #[arg(long, value_name = "DIR")]
    output: Option<PathBuf>,

    /// The box to fit each image into, WIDTHxHEIGHT.
    #[arg(long, default_value = "800x600", value_parser = codec::parse_size)]
    size: Size,

    /// Resize to exactly --size (stretching, as the Go original) instead of fitting inside it.
    #[arg(long)]
    exact: bool,

    /// Without --input: how many sample images to generate (sizes up to 1920x1080, from --seed).
    #[arg(long, value_name = "N", default_value_t = 48, conflicts_with = "input",
          value_parser = clap::value_parser!(u32).range(0..=10_000))]
    generate: u32,
}

/// One image to resize: the pool's job (id, and the input's size in bytes as its value).
#[derive(Debug, Clone)]
struct ImageJob {
    job: Job,
    name: String,
    input: PathBuf,
    output: PathBuf,
}

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
    stop: Arc<AtomicBool>,
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
        if shared.stop.load(Ordering::SeqCst) {
            continue; // Ctrl-C: do not start it; main reports it as not started
        }
        let in_flight = shared.gauge.enter();
        // Read the header first, so the `started` event can say what is being resized.
        let plan = codec::plan(&job.input, shared.size, shared.exact);
        let header = plan.as_ref().ok().copied();
        shared
            .bar
            .suspend(|| started(&shared.report, &job, id, header.as_ref()));
        let temp =
            job.output
                .with_file_name(format!(".image-resize-{}-{}.tmp", std::process::id(), job.job.id));
        let outcome = plan
            .and_then(|p| codec::resize_file(&job.input, &p, &mut resizer, &temp, &job.output))
            .map_or_else(|e| Outcome::Failed(format!("{e:#}")), Outcome::Ok);
        let pixels = match (&outcome, header) {
            (Outcome::Ok(_), Some(p)) => u64::from(p.width) * u64::from(p.height),
            _ => 0,
        };
        shared
            .bar
            .suspend(|| finished(&shared.report, &job, id, &outcome, header.as_ref()));
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
    let cli: Cli = common::parse_args(&Defaults {
        workers: num_cpus::get(),
        ..Defaults::default()
    });
    let workers = cli.pool.workers;

    // Ctrl-C sets `stop`: no new image is dispatched, the images in flight finish (a second
    // Ctrl-C exits at once). Installed first, so it also stops the sample generation.
    let stop = Arc::new(AtomicBool::new(false));
    let on_stop = Arc::clone(&stop);
    common::signal::on_ctrlc(move || on_stop.store(true, Ordering::SeqCst))?;

    // The inputs: the given folder, or the samples (generated once, then reused).
    let root = samples::target_dir().join("image-resize");
    let input_dir = match &cli.input {
        Some(dir) => dir.clone(),
        None => {
            let dir = root.join(format!("samples-{}-seed-{}", cli.generate, cli.pool.seed));
            match samples::ensure(&dir, cli.generate, cli.pool.seed, workers, &stop)? {
                Samples::Reused => {}
                Samples::Generated if !cli.pool.json => {
                    eprintln!("generated {} sample images in {}", cli.generate, dir.display());
                }
                Samples::Generated => {}
                Samples::Interrupted => {
                    let report = Reporter::new(&cli.pool.output);
                    let summary =
                        Summary::new("image-resize", Tally::default(), workers, 0, report.elapsed())
                            .with_interrupted(true)
                            .line("interrupted while generating the sample images: nothing was submitted");
                    return Ok(report.summary(&summary));
                }
            }
            dir
        }
    };
    let output_dir = cli.output.clone().unwrap_or_else(|| root.join("output"));
    let list = image_jobs(&input_dir, &output_dir)?;
    let submitted = list.len() as u64;

    let shared = Arc::new(Shared {
        report: Reporter::new(&cli.pool.output),
        gauge: InFlight::new(),
        bar: common::progress::bar(submitted, cli.pool.json, cli.pool.quiet),
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
    let capacity = cli.pool.buffer.unwrap_or(workers);
    let (jobs_tx, jobs_rx) = channel::bounded::<ImageJob>(capacity);
    let (results_tx, results_rx) = channel::bounded::<Done>(capacity);

    // 2. Start the workers.
    let mut handles = Vec::with_capacity(workers + 1);
    for id in 1..=workers {
        let (jobs_rx, results_tx, shared) = (jobs_rx.clone(), results_tx.clone(), Arc::clone(&shared));
        let handle = thread::Builder::new()
            .name(format!("worker-{id}"))
            .spawn(move || worker(id, jobs_rx, results_tx, &shared))?;
        handles.push(handle);
    }
    drop(results_tx); // main keeps only the receiving end: the loop below ends with the workers
    drop(jobs_rx);

    // 3. Submit the jobs, until Ctrl-C; dropping `jobs_tx` at the end closes the channel.
    let producer_list = list.clone();
    let producer_shared = Arc::clone(&shared);
    let producer = thread::Builder::new().name("producer".into()).spawn(move || {
        for job in producer_list {
            if producer_shared.stop.load(Ordering::SeqCst) || jobs_tx.send(job).is_err() {
                break; // Ctrl-C, or every worker is gone
            }
        }
    })?;
    handles.push(producer);

    // 4. Collect until every worker has exited (the results channel is then closed).
    let mut tally = Tally {
        submitted,
        ..Tally::default()
    };
    let mut ended = vec![false; list.len()];
    let mut pixels = 0u64;
    for done in &results_rx {
        tally.record(&done.outcome);
        pixels += done.pixels;
        if let Some(slot) = usize::try_from(done.id - 1).ok().and_then(|i| ended.get_mut(i)) {
            *slot = true;
        }
        shared.bar.inc(1);
    }

    let mut panicked = 0;
    for handle in handles {
        if handle.join().is_err() {
            panicked += 1;
        }
    }
    shared.bar.finish_and_clear();

    // 5. Every job that no worker ran (Ctrl-C, or a worker that died) is reported as not started.
    for (job, _) in list.iter().zip(&ended).filter(|(_, ended)| !**ended) {
        shared.report.not_started(&job.job);
        tally.not_started += 1;
    }

    let wall = shared.report.elapsed();
    let secs = wall.as_secs_f64().max(1e-9);
    let images_per_sec = round2(tally.ok as f64 / secs);
    let megapixels_per_sec = round2(pixels as f64 / 1e6 / secs);
    let mut summary = Summary::new("image-resize", tally, workers, shared.gauge.peak(), wall)
        .with_interrupted(shared.stop.load(Ordering::SeqCst))
        .line(format!(
            "{} images resized, {} failed: {images_per_sec} images/s, {megapixels_per_sec} megapixels/s",
            tally.ok, tally.failed
        ))
        .line(format!("outputs in {}", output_dir.display()))
        .field("images_ok", tally.ok)
        .field("images_failed", tally.failed)
        .field("images_per_sec", images_per_sec)
        .field("megapixels_per_sec", megapixels_per_sec)
        .field("output_dir", output_dir.display().to_string())
        .field("size", cli.size.to_string())
        .field("exact", cli.exact);
    if panicked > 0 {
        summary = summary
            .line(format!("{panicked} thread(s) panicked"))
            .field("threads_panicked", panicked);
    }
    Ok(shared.report.summary(&summary))
}

/// The regular files of `input` (hidden ones excepted), sorted by name, as jobs with ids 1..=n.
/// Creates `output`, refuses `output` = `input`, and removes temporary files a killed run left.
fn image_jobs(input: &Path, output: &Path) -> anyhow::Result<Vec<ImageJob>> {
    if !input.is_dir() {
        bail!(
            "input folder {} does not exist or is not a folder",
            input.display()
        );
    }
    std::fs::create_dir_all(output)
        .with_context(|| format!("cannot create the output folder {}", output.display()))?;
    if input.canonicalize()? == output.canonicalize()? {
        bail!(
            "the output folder must differ from the input folder ({})",
            input.display()
        );
    }
    for entry in std::fs::read_dir(output).with_context(|| format!("cannot read {}", output.display()))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.starts_with(".image-resize-") && name.ends_with(".tmp") {
            let _ = std::fs::remove_file(output.join(&name)); // best effort: a leftover
        }
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(input).with_context(|| format!("cannot read {}", input.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let meta = entry.metadata()?;
        if meta.is_file() && !name.starts_with('.') {
            files.push((name, entry.path(), meta.len()));
        }
    }
    files.sort();
    Ok(files
        .into_iter()
        .zip(1u64..)
        .map(|((name, path, bytes), id)| ImageJob {
            job: Job { id, value: bytes },
            output: output.join(&name),
            name,
            input: path,
        })
        .collect())
}

/// "Worker 2 started job 5: sample-005.png (1387x912 png)" / a `started` event with the file.
fn started(report: &Reporter, job: &ImageJob, worker: usize, plan: Option<&codec::Plan>) {
    report.started_detail(&job.job, worker, Instant::now(), || {
        let line = match plan {
            Some(p) => format!(
                "Worker {worker} started job {}: {} ({}x{} {})",
                job.job.id,
                job.name,
                p.width,
                p.height,
                p.format.name()
            ),
            None => format!("Worker {worker} started job {}: {}", job.job.id, job.name),
        };
        dimensions(
            Detail::default().human(line).field("file", job.name.as_str()),
            plan,
        )
    });
}

/// "Worker 2 finished job 5: sample-005.png -> 800x526" / a `finished` event whose `output` is
/// the bytes written and `out_path` the file.
fn finished(report: &Reporter, job: &ImageJob, worker: usize, outcome: &Outcome, plan: Option<&codec::Plan>) {
    let id = job.job.id;
    let result = JobResult {
        job: job.job,
        worker,
        outcome: outcome.clone(),
    };
    report.finished_detail(&result, Instant::now(), || {
        let line = match (outcome, plan) {
            (Outcome::Ok(bytes), Some(p)) => format!(
                "Worker {worker} finished job {id}: {} -> {}x{} ({bytes} bytes)",
                job.name, p.out_width, p.out_height
            ),
            (Outcome::Failed(reason), _) => {
                format!("Worker {worker} failed job {id}: {}: {reason}", job.name)
            }
            _ => format!("Worker {worker} finished job {id}: {}", job.name),
        };
        let mut detail = Detail::default().human(line).field("file", job.name.as_str());
        if matches!(outcome, Outcome::Ok(_)) {
            detail = detail.field("out_path", job.output.display().to_string());
        }
        dimensions(detail, plan)
    });
}

fn dimensions(detail: Detail, plan: Option<&codec::Plan>) -> Detail {
    match plan {
        Some(p) => detail
            .field("format", p.format.name())
            .field("width", p.width)
            .field("height", p.height)
            .field("out_width", p.out_width)
            .field("out_height", p.out_height),
        None => detail,
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
