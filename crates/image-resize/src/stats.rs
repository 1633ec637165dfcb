//! What the run reports: each image's `started` / `finished` line (with its file and
//! dimensions), and the summary's own fields (images and megapixels per second).

use std::path::Path;
use std::time::Duration;

use common::{Detail, Outcome, Reporter, Summary, Tally};
use image_resize::{SkipKind, Skipped};

use crate::codec::{Fit, Plan};
use crate::folders::{ImageJob, SkippedEntry};

/// The counts main keeps while results come in.
#[derive(Debug)]
pub struct Stats {
    pub tally: Tally,
    /// Pixels decoded by the images resized ok (width × height of the inputs).
    pub pixels: u64,
    /// The entries of the input folder skipped, by kind (in the order of `SkipKind::ALL`).
    skipped: [(SkipKind, u64); 4],
}

impl Stats {
    pub fn new(submitted: u64, skipped: &[SkippedEntry]) -> Self {
        Stats {
            tally: Tally::new(submitted),
            pixels: 0,
            skipped: SkipKind::ALL
                .map(|kind| (kind, skipped.iter().filter(|s| s.kind == kind).count() as u64)),
        }
    }

    /// The summary of a run of `workers` workers that took `wall`, with its images' fields.
    pub fn summary(&self, workers: usize, peak: usize, wall: Duration, output: &Path, fit: Fit) -> Summary {
        let tally = self.tally;
        let secs = wall.as_secs_f64().max(1e-9);
        let images_per_sec = round2(tally.ok as f64 / secs);
        let megapixels_per_sec = round2(self.pixels as f64 / 1e6 / secs);
        let skipped: u64 = self.skipped.iter().map(|(_, n)| n).sum();
        let by_kind: Vec<String> = self
            .skipped
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(kind, n)| format!("{n} {}", kind.name()))
            .collect();
        let mut summary = Summary::new("image-resize", tally, workers, peak, wall)
            .with_interrupted_at(common::signal::interrupted_at())
            .line(format!(
                "{} images resized, {} failed: {images_per_sec} images/s, {megapixels_per_sec} megapixels/s",
                tally.ok, tally.failed
            ));
        if skipped > 0 {
            summary = summary.line(format!(
                "{skipped} other entries skipped ({})",
                by_kind.join(", ")
            ));
        }
        summary = summary
            .line(format!("outputs in {}", output.display()))
            .field("images_ok", tally.ok)
            .field("images_failed", tally.failed)
            .field("skipped", skipped);
        for (kind, n) in self.skipped {
            summary = summary.field(&format!("skipped_{}", kind.name()), n);
        }
        summary
            .field("images_per_sec", images_per_sec)
            .field("megapixels_per_sec", megapixels_per_sec)
            .field("output_dir", output.display().to_string())
            .field("size", fit.size.to_string())
            .field("exact", fit.exact)
            .field("enlarge", fit.enlarge)
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// "Worker 2 started job 5: sample-005.png (1387x912 png)" / a `started` event with the file
/// (", EXIF orientation 6" when the image is stored turned).
pub fn started(report: &Reporter, job: &ImageJob, worker: usize, plan: Option<&Plan>) {
    report.started_detail(&job.job, worker, || {
        let line = match plan {
            Some(p) => format!(
                "Worker {worker} started job {}: {} ({}x{} {}{})",
                job.job.id,
                job.name,
                p.width,
                p.height,
                p.format.name(),
                match p.orientation.to_exif() {
                    1 => String::new(),
                    n => format!(", EXIF orientation {n}"),
                }
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
pub fn finished(report: &Reporter, job: &ImageJob, worker: usize, outcome: &Outcome, plan: Option<&Plan>) {
    let id = job.job.id;
    report.ended(&job.job, worker, outcome, || {
        // A file whose name says another format than its contents (written as its name says).
        let note = plan.and_then(|p| p.format_note(&job.name));
        let line = match (outcome, plan) {
            (Outcome::Ok(bytes), Some(p)) => format!(
                "Worker {worker} finished job {id}: {} -> {}x{} ({bytes} bytes{})",
                job.name,
                p.out_width,
                p.out_height,
                note.as_ref().map_or_else(String::new, |n| format!("; {n}"))
            ),
            (Outcome::Failed(reason), _) => {
                format!("Worker {worker} failed job {id}: {}: {reason}", job.name)
            }
            _ => format!("Worker {worker} finished job {id}: {}", job.name),
        };
        let mut detail = Detail::default().human(line).field("file", job.name.as_str());
        if matches!(outcome, Outcome::Ok(_)) {
            detail = detail.field("out_path", job.output.display().to_string());
            if let Some(note) = note {
                detail = detail.field("note", note);
            }
        }
        dimensions(detail, plan)
    });
}

/// "Skipped notes.txt: not named .png, .jpg or .jpeg…" / a `skipped` event, for each entry of
/// the input folder that is not a job.
pub fn skipped(report: &Reporter, entries: &[SkippedEntry]) {
    for entry in entries {
        report.example_event(
            || format!("Skipped {}: {}", entry.name, entry.reason),
            |t_ms| Skipped {
                file: entry.name.clone(),
                kind: entry.kind,
                reason: entry.reason.clone(),
                t_ms,
            },
        );
    }
}

fn dimensions(detail: Detail, plan: Option<&Plan>) -> Detail {
    match plan {
        Some(p) => detail
            .field("format", p.format.name())
            .field("width", p.width)
            .field("height", p.height)
            .field("orientation", p.orientation.to_exif())
            .field("out_format", p.out_format.name())
            .field("out_width", p.out_width)
            .field("out_height", p.out_height),
        None => detail,
    }
}
