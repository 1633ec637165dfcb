//! `timeline [RUN.jsonl] -o run.svg` (`cargo xtask timeline`): a picture of one run's `--json`
//! events. The command line is `src/bin/timeline.rs`; this is the drawing.
//!
//! One lane per worker (per finder for prime-pipeline, per task lane for async-pool), one bar per
//! job from its `started` to its terminal event, coloured by outcome, with the job id on the bar
//! where it fits; the jobs that never started listed at the right; vertical markers for `cancel`,
//! `abort` and Ctrl-C (`interrupted_at_ms`); underneath, the jobs in flight over time and the
//! bound as a line. Above [`DENSITY_ABOVE`] started jobs (or [`MAX_ROWS`] lanes) the lanes show
//! occupancy density (the share of each time slice a lane was busy) instead of single bars.
//!
//! The events are parsed with `common::event::parse_line`, the same typed contract the examples
//! print and verify checks. Bad input (not JSON, empty, no summary) is one line and exit 2; an
//! interrupted run (it has a summary) draws what it has.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context as _, bail};
use common::event::{CancelCause, Event, OutcomeKind, RunSummary, parse_line};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use rayon::prelude::*;

pub use crate::palette::{CANCELLED, FAILED, MARKER, OK, UNFINISHED};

/// Above this many started jobs, lanes show occupancy density instead of one bar per job.
pub const DENSITY_ABOVE: usize = 2000;
/// Up to this many started jobs the in-flight strip is exact; above, an average per time slice.
pub const SMALL_RUN: usize = 10_000;
/// The most lanes drawn one per worker; more are grouped (density).
pub const MAX_ROWS: usize = 64;

/// What a drawing contained (for tests and verify).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    pub events: usize,
    /// Jobs with a `started` event.
    pub started: usize,
    /// Bars drawn one per job (0 in density mode).
    pub bars: usize,
    pub lanes: usize,
    pub not_started: usize,
    /// The labels of the vertical markers, in time order ("cancel (deadline)", "abort", "Ctrl-C").
    pub markers: Vec<String>,
    pub density: bool,
}

struct Bar {
    lane: usize,
    job: u64,
    start: f64,
    end: Option<f64>,
    outcome: Option<OutcomeKind>,
}

/// A parsed run, ready to draw.
struct RunData {
    summary: RunSummary,
    bars: Vec<Bar>,
    /// Worker ids, one per lane, sorted.
    workers: Vec<usize>,
    not_started: Vec<u64>,
    markers: Vec<(f64, String)>,
    t_max: f64,
    events: usize,
}

fn parse(text: &str) -> anyhow::Result<RunData> {
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .collect();
    if lines.is_empty() {
        bail!("no events: the input is empty (expected the --json output of an example)");
    }
    let events: Vec<Event> = lines
        .par_iter()
        .map(|(i, line)| {
            parse_line(line).map_err(|e| {
                let shown: String = line.chars().take(60).collect();
                anyhow::anyhow!("line {}: not a JSON event ({e}): {shown}", i + 1)
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let Some(Event::Summary(summary)) = events.iter().rev().find(|e| matches!(e, Event::Summary(_))) else {
        bail!(
            "no summary among {} events: the run was killed before it ended (an interrupted run prints one)",
            events.len()
        );
    };
    let summary = summary.clone();

    let mut index: HashMap<u64, usize> = HashMap::new();
    let mut bars: Vec<Bar> = Vec::new();
    let mut not_started = Vec::new();
    let mut markers = Vec::new();
    let mut t_max = summary.wall_ms;
    let mut ctrl_c_marked = false;
    for e in &events {
        t_max = e.t_ms().map_or(t_max, |t| t_max.max(t));
        match e {
            Event::Started(s) => {
                index.insert(s.job, bars.len());
                bars.push(Bar {
                    lane: s.worker,
                    job: s.job,
                    start: s.t_ms,
                    end: None,
                    outcome: None,
                });
            }
            Event::Finished(f) => {
                if let Some(&i) = index.get(&f.job) {
                    bars[i].end = Some(f.t_ms);
                    bars[i].outcome = Some(f.outcome);
                }
            }
            Event::NotStarted(n) => not_started.push(n.job),
            Event::Cancel(c) => {
                ctrl_c_marked |= c.by == CancelCause::CtrlC;
                markers.push((c.t_ms, format!("cancel ({})", c.by.name())));
            }
            Event::Abort(a) => markers.push((a.t_ms, "abort".to_owned())),
            _ => {}
        }
    }
    if let Some(at) = summary.interrupted_at_ms
        && !ctrl_c_marked
    {
        markers.push((at, "Ctrl-C".to_owned()));
    }
    markers.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut workers: Vec<usize> = bars.iter().map(|b| b.lane).collect();
    workers.sort_unstable();
    workers.dedup();
    let lane_of: HashMap<usize, usize> = workers.iter().enumerate().map(|(i, w)| (*w, i)).collect();
    for b in &mut bars {
        b.lane = lane_of[&b.lane];
    }
    Ok(RunData {
        summary,
        bars,
        workers,
        not_started,
        markers,
        t_max: t_max.max(1.0),
        events: events.len(),
    })
}

/// Draws `events_text` (a run's `--json` lines) to `out` (SVG, or PNG if it ends in `.png`).
pub fn render(events_text: &str, out: &Path, title: Option<&str>) -> anyhow::Result<Stats> {
    let run = parse(events_text)?;
    crate::palette::register_font()?;
    let density = run.bars.len() > DENSITY_ABOVE || run.workers.len() > MAX_ROWS;
    let rows = if density {
        run.workers.len().clamp(1, MAX_ROWS)
    } else {
        run.workers.len().max(1)
    };
    let lanes_px = (rows as u32 * 26).clamp(160, 620);
    let size = (1280u32, 110 + lanes_px + 60 + 170);
    let is_png = out.extension().is_some_and(|e| e.eq_ignore_ascii_case("png"));
    let bars = if is_png {
        draw(
            BitMapBackend::new(out, size).into_drawing_area(),
            &run,
            title,
            density,
            rows,
        )
    } else {
        draw(
            SVGBackend::new(out, size).into_drawing_area(),
            &run,
            title,
            density,
            rows,
        )
    }
    .with_context(|| format!("cannot draw {}", out.display()))?;
    Ok(Stats {
        events: run.events,
        started: run.bars.len(),
        bars,
        lanes: run.workers.len(),
        not_started: run.not_started.len(),
        markers: run.markers.iter().map(|(_, l)| l.clone()).collect(),
        density,
    })
}

fn outcome_colour(outcome: Option<OutcomeKind>) -> RGBColor {
    match outcome {
        Some(OutcomeKind::Ok) => OK,
        Some(OutcomeKind::Failed) => FAILED,
        Some(OutcomeKind::Cancelled) => CANCELLED,
        None => UNFINISHED,
    }
}

fn title_lines(run: &RunData, title: Option<&str>) -> (String, String) {
    let s = &run.summary;
    let first = title.map(str::to_owned).unwrap_or_else(|| {
        let mut parts = vec![format!("{} jobs", s.submitted), format!("{} workers", s.workers)];
        for key in [
            "style",
            "concurrency",
            "deadline_ms",
            "grace_ms",
            "rate_per_s",
            "finders",
        ] {
            match s.extra.get(key) {
                Some(serde_json::Value::String(v)) => parts.push(format!("{key} {v}")),
                Some(v) if v.is_number() => parts.push(format!("{key} {v}")),
                _ => {}
            }
        }
        if let Some(b) = s.max_in_flight {
            parts.push(format!("max in flight {b}"));
        }
        format!("{}: {}", s.pattern, parts.join(", "))
    });
    let mut second = format!(
        "ok {} · failed {} · cancelled {} · not started {} · wall {:.0} ms · peak {} of {} in flight",
        s.ok,
        s.failed,
        s.cancelled,
        s.not_started,
        s.wall_ms,
        s.peak_in_flight,
        s.bound()
    );
    if let Some(e) = s.efficiency {
        second.push_str(&format!(" · efficiency {:.1}%", e * 100.0));
    }
    if let Some(at) = s.interrupted_at_ms {
        second.push_str(&format!(" · interrupted at {at:.0} ms"));
    }
    (first, second)
}

/// The jobs in flight over time: exact steps for small runs; for big runs (where sorting a million
/// instants would dominate the drawing) the average number in flight in each time slice.
fn in_flight_series(run: &RunData, slices: usize) -> Vec<(f64, f64)> {
    if run.bars.len() > SMALL_RUN {
        let width = run.t_max / slices as f64;
        let mut busy = vec![0.0f64; slices];
        for b in &run.bars {
            let end = b.end.unwrap_or(run.t_max);
            let first = ((b.start / width) as usize).min(slices - 1);
            let last = ((end / width) as usize).min(slices - 1);
            for (s, cell) in busy.iter_mut().enumerate().take(last + 1).skip(first) {
                let overlap = ((s + 1) as f64 * width).min(end) - (s as f64 * width).max(b.start);
                *cell += overlap.max(0.0);
            }
        }
        let mut pts = Vec::with_capacity(slices * 2);
        for (s, total) in busy.into_iter().enumerate() {
            pts.push((s as f64 * width, total / width));
            pts.push(((s + 1) as f64 * width, total / width));
        }
        return pts;
    }
    let mut deltas: Vec<(f64, i32)> = Vec::with_capacity(run.bars.len() * 2);
    for b in &run.bars {
        deltas.push((b.start, 1));
        deltas.push((b.end.unwrap_or(run.t_max), -1));
    }
    // At equal instants, ends before starts (as the checker's I2 counts them).
    deltas.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut now = 0i64;
    let mut pts = vec![(0.0, 0.0)];
    for (t, d) in deltas {
        pts.push((t, now as f64));
        now += i64::from(d);
        pts.push((t, now as f64));
    }
    pts.push((run.t_max, now as f64));
    pts
}

/// Busy share of each (row, slice) cell, and the outcome that ended most of its busy time.
fn density_cells(run: &RunData, rows: usize, slices: usize) -> Vec<Vec<(f64, [f64; 4])>> {
    let per_row = run.workers.len().div_ceil(rows).max(1);
    let width = run.t_max / slices as f64;
    let mut cells = vec![vec![(0.0f64, [0.0f64; 4]); slices]; rows];
    for b in &run.bars {
        let row = (b.lane / per_row).min(rows - 1);
        let end = b.end.unwrap_or(run.t_max);
        let kind = match b.outcome {
            Some(OutcomeKind::Ok) => 0,
            Some(OutcomeKind::Failed) => 1,
            Some(OutcomeKind::Cancelled) => 2,
            None => 3,
        };
        let first = ((b.start / width) as usize).min(slices - 1);
        let last = ((end / width) as usize).min(slices - 1);
        for (s, cell) in cells[row].iter_mut().enumerate().take(last + 1).skip(first) {
            let lo = (s as f64 * width).max(b.start);
            let hi = ((s + 1) as f64 * width).min(end);
            if hi > lo {
                cell.0 += hi - lo;
                cell.1[kind] += hi - lo;
            }
        }
    }
    let capacity = width * per_row as f64;
    for row in &mut cells {
        for cell in row.iter_mut() {
            cell.0 = (cell.0 / capacity).min(1.0);
        }
    }
    cells
}

fn draw<DB: DrawingBackend>(
    area: DrawingArea<DB, Shift>,
    run: &RunData,
    title: Option<&str>,
    density: bool,
    rows: usize,
) -> anyhow::Result<usize> {
    let err = |e: &dyn std::fmt::Display| anyhow::anyhow!("{e}");
    area.fill(&WHITE).map_err(|e| err(&e))?;
    let (w, h) = area.dim_in_pixel();
    let (first, second) = title_lines(run, title);
    area.draw(&Text::new(first, (16, 10), ("sans-serif", 22).into_font()))
        .map_err(|e| err(&e))?;
    area.draw(&Text::new(
        second,
        (16, 40),
        ("sans-serif", 15).into_font().color(&BLACK.mix(0.75)),
    ))
    .map_err(|e| err(&e))?;
    let legend = [
        ("■ ok", OK),
        ("■ failed", FAILED),
        ("■ cancelled", CANCELLED),
        ("■ unfinished", UNFINISHED),
    ];
    let mut x = 16;
    for (label, colour) in legend {
        area.draw(&Text::new(
            label,
            (x, 66),
            ("sans-serif", 14).into_font().color(&colour),
        ))
        .map_err(|e| err(&e))?;
        x += 110;
    }
    area.draw(&Text::new(
        if density {
            "lanes: share of each time slice busy (darker = busier)"
        } else {
            "one bar per job"
        },
        (x + 20, 66),
        ("sans-serif", 14).into_font().color(&BLACK.mix(0.6)),
    ))
    .map_err(|e| err(&e))?;

    let body = area.margin(86, 8, 8, 8);
    let (main, side) = body.split_horizontally(w.saturating_sub(200));
    let lanes_h = h.saturating_sub(86 + 16 + 190);
    let (lanes_area, strip_area) = main.split_vertically(lanes_h);
    let t_max = run.t_max;

    // The lanes.
    let mut chart = ChartBuilder::on(&lanes_area)
        .margin_right(12)
        .x_label_area_size(28)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..t_max, -0.5f64..(rows as f64 - 0.5))
        .map_err(|e| err(&e))?;
    let per_row = run.workers.len().div_ceil(rows).max(1);
    let workers = run.workers.clone();
    // prime-pipeline's workers are its prime finders.
    let lane_name = if run.summary.extra.contains_key("finders") {
        "finder"
    } else {
        "worker"
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .max_light_lines(0)
        .x_desc("ms since the start")
        .x_label_formatter(&|x: &f64| format!("{x:.0}"))
        .y_labels(rows.min(32))
        .y_label_formatter(&|y: &f64| {
            let i = y.round();
            if (y - i).abs() > 1e-6 || i < 0.0 {
                return String::new();
            }
            // Row 0 is drawn at the top.
            let row = rows - 1 - i as usize;
            match workers.get(row * per_row) {
                Some(first) if per_row == 1 => format!("{lane_name} {first}"),
                Some(first) => format!("w {first}…"),
                None => String::new(),
            }
        })
        .draw()
        .map_err(|e| err(&e))?;
    let y_of = |row: usize| (rows - 1 - row) as f64;
    let px_per_ms = f64::from(chart.plotting_area().dim_in_pixel().0) / t_max;
    let mut drawn = 0;
    if density {
        let slices = 400;
        let width = t_max / slices as f64;
        let cells = density_cells(run, rows, slices);
        let mut rects = Vec::new();
        for (row, cells) in cells.iter().enumerate() {
            for (s, (busy, by_kind)) in cells.iter().enumerate() {
                if *busy <= 0.0 {
                    continue;
                }
                let kind = (0..4)
                    .max_by(|a, b| by_kind[*a].total_cmp(&by_kind[*b]))
                    .unwrap_or(0);
                let colour = [OK, FAILED, CANCELLED, UNFINISHED][kind];
                let y = y_of(row);
                rects.push(Rectangle::new(
                    [(s as f64 * width, y - 0.45), ((s + 1) as f64 * width, y + 0.45)],
                    colour.mix(0.15 + 0.85 * busy).filled(),
                ));
            }
        }
        chart.draw_series(rects).map_err(|e| err(&e))?;
    } else {
        let mut rects = Vec::with_capacity(run.bars.len());
        let mut labels = Vec::new();
        for b in &run.bars {
            let end = b.end.unwrap_or(t_max);
            let y = y_of(b.lane);
            rects.push(Rectangle::new(
                [(b.start, y - 0.38), (end, y + 0.38)],
                outcome_colour(b.outcome).filled(),
            ));
            let id = b.job.to_string();
            if (end - b.start) * px_per_ms >= id.len() as f64 * 8.0 + 6.0 && rows <= 40 {
                labels.push(Text::new(
                    id,
                    ((b.start + end) / 2.0, y),
                    ("sans-serif", 12)
                        .into_font()
                        .color(&WHITE)
                        .pos(Pos::new(HPos::Center, VPos::Center)),
                ));
            }
        }
        drawn = rects.len();
        chart.draw_series(rects).map_err(|e| err(&e))?;
        // A white outline keeps back-to-back jobs of one worker apart.
        let outlines = run.bars.iter().map(|b| {
            let y = y_of(b.lane);
            Rectangle::new(
                [(b.start, y - 0.38), (b.end.unwrap_or(t_max), y + 0.38)],
                WHITE.stroke_width(1),
            )
        });
        chart.draw_series(outlines).map_err(|e| err(&e))?;
        chart.draw_series(labels).map_err(|e| err(&e))?;
    }
    for (i, (t, label)) in run.markers.iter().enumerate() {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(*t, -0.5), (*t, rows as f64 - 0.5)],
                MARKER.stroke_width(2),
            )))
            .map_err(|e| err(&e))?;
        // Labels of markers close in time are staggered so they stay readable.
        let y = rows as f64 - 0.5 - (i % 3) as f64 * (rows as f64 / 14.0).max(0.3);
        chart
            .draw_series(std::iter::once(Text::new(
                format!(" {label} "),
                (*t, y),
                ("sans-serif", 13).into_font().color(&MARKER).pos(Pos::new(
                    if *t > 0.75 * t_max {
                        HPos::Right
                    } else {
                        HPos::Left
                    },
                    VPos::Top,
                )),
            )))
            .map_err(|e| err(&e))?;
    }

    // The jobs in flight, and the bound.
    let series = in_flight_series(run, 800);
    let bound = run.summary.bound() as f64;
    let y_top = series.iter().map(|p| p.1).fold(bound, f64::max) * 1.15 + 0.5;
    let mut strip = ChartBuilder::on(&strip_area)
        .margin_right(12)
        .margin_top(14)
        .x_label_area_size(28)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..t_max, 0f64..y_top)
        .map_err(|e| err(&e))?;
    strip
        .configure_mesh()
        .disable_x_mesh()
        .y_desc(if run.bars.len() > SMALL_RUN {
            "in flight (average per slice)"
        } else {
            "in flight"
        })
        .max_light_lines(0)
        .x_label_formatter(&|x: &f64| format!("{x:.0}"))
        .y_labels(5)
        .y_label_formatter(&|y: &f64| format!("{y:.0}"))
        .draw()
        .map_err(|e| err(&e))?;
    let steps: Vec<_> = series
        .windows(2)
        .filter(|w| w[1].0 > w[0].0 && w[0].1 > 0.0)
        .map(|w| Rectangle::new([(w[0].0, 0.0), (w[1].0, w[0].1)], OK.mix(0.45).filled()))
        .collect();
    strip.draw_series(steps).map_err(|e| err(&e))?;
    strip
        .draw_series(std::iter::once(PathElement::new(
            vec![(0.0, bound), (t_max, bound)],
            FAILED.mix(0.8).stroke_width(1),
        )))
        .map_err(|e| err(&e))?;
    strip
        .draw_series(std::iter::once(Text::new(
            format!("bound {bound}"),
            (0.0, bound),
            ("sans-serif", 12)
                .into_font()
                .color(&FAILED)
                .pos(Pos::new(HPos::Left, VPos::Bottom)),
        )))
        .map_err(|e| err(&e))?;
    for (t, _) in &run.markers {
        strip
            .draw_series(std::iter::once(PathElement::new(
                vec![(*t, 0.0), (*t, y_top)],
                MARKER.stroke_width(1),
            )))
            .map_err(|e| err(&e))?;
    }

    // The jobs that never started.
    let font = ("sans-serif", 13).into_font();
    side.draw(&Text::new(
        format!("not started: {}", run.not_started.len()),
        (8, 4),
        font.clone(),
    ))
    .map_err(|e| err(&e))?;
    let mut ids = run.not_started.clone();
    ids.sort_unstable();
    let per_line = 6;
    let max_lines = (h.saturating_sub(130) / 17) as usize;
    for (line, chunk) in ids.chunks(per_line).enumerate() {
        let text = if line + 1 == max_lines && ids.len() > per_line * max_lines {
            format!("… and {} more", ids.len() - per_line * line)
        } else {
            chunk.iter().map(u64::to_string).collect::<Vec<_>>().join(" ")
        };
        side.draw(&Text::new(
            text,
            (8, 24 + 17 * line as i32),
            font.clone().color(&UNFINISHED),
        ))
        .map_err(|e| err(&e))?;
        if line + 1 == max_lines {
            break;
        }
    }
    area.present().map_err(|e| err(&e))?;
    Ok(drawn)
}

/// Reading a drawn SVG back (for the tests and verify's timeline scenario: they parse the picture,
/// they never compare bytes).
pub mod svg {
    use plotters::style::RGBColor;

    pub fn fill(colour: RGBColor) -> String {
        format!("fill=\"#{:02X}{:02X}{:02X}\"", colour.0, colour.1, colour.2)
    }

    /// Opaque rectangles in the SVG filled with `colour` (the bars; the in-flight strip's steps
    /// are translucent).
    pub fn rects_filled(svg: &str, colour: RGBColor) -> usize {
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

#[cfg(test)]
mod tests {
    use super::svg::{fill, rects_filled, texts};
    use super::*;

    /// A real-shaped run: 3 workers, a deadline cancels jobs 4–6 in flight, 7–10 never start.
    fn deadline_run() -> String {
        let mut lines = Vec::new();
        for (job, worker, start, end, outcome) in [
            (1, 1, 0.1, 500.2, "ok"),
            (2, 2, 0.2, 500.3, "ok"),
            (3, 3, 0.3, 500.4, "ok"),
            (4, 3, 500.5, 700.1, "cancelled"),
            (5, 1, 500.6, 700.2, "cancelled"),
            (6, 2, 500.7, 700.3, "cancelled"),
        ] {
            lines.push(format!(
                r#"{{"event":"started","job":{job},"worker":{worker},"value":{job},"t_ms":{start}}}"#
            ));
            let output = if outcome == "ok" {
                format!(r#","output":{}"#, job * 2)
            } else {
                String::new()
            };
            lines.push(format!(
                r#"{{"event":"finished","job":{job},"worker":{worker},"value":{job},"outcome":"{outcome}"{output},"t_ms":{end}}}"#
            ));
            if job == 3 {
                lines.push(r#"{"event":"cancel","by":"deadline","grace_ms":0,"t_ms":700.0}"#.to_owned());
            }
        }
        for job in 7..=10 {
            lines.push(format!(
                r#"{{"event":"not_started","job":{job},"value":{job},"t_ms":700.5}}"#
            ));
        }
        lines.push(
            r#"{"event":"summary","pattern":"async-pool","submitted":10,"ok":3,"failed":0,"cancelled":3,"not_started":4,"workers":3,"peak_in_flight":3,"wall_ms":701.0,"ideal_ms":null,"efficiency":null,"interrupted":false,"threads_alive_at_exit":0,"peak_rss_kb":4000,"style":"workers","deadline_ms":700}"#
                .to_owned(),
        );
        lines.join("\n")
    }

    const WHITE_TEXT: RGBColor = RGBColor(255, 255, 255);

    #[test]
    fn timeline_draws_one_bar_per_started_job_and_the_cancel_marker() {
        let dir = std::env::temp_dir().join(format!("timeline-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let out = dir.join("run.svg");
        let stats = render(&deadline_run(), &out, None).expect("the run draws");
        let svg = std::fs::read_to_string(&out).expect("the SVG was written");
        assert_eq!(
            (stats.started, stats.bars, stats.lanes, stats.not_started),
            (6, 6, 3, 4)
        );
        assert_eq!(stats.markers, vec!["cancel (deadline)".to_owned()]);
        // One bar per started job, coloured by outcome.
        assert_eq!(rects_filled(&svg, OK), 3, "ok bars");
        assert_eq!(rects_filled(&svg, CANCELLED), 3, "cancelled bars");
        assert_eq!(rects_filled(&svg, FAILED), 0, "failed bars");
        // The cancel marker's label, the job ids on the bars, the not-started strip.
        let texts = texts(&svg);
        let has = |t: &str| texts.iter().filter(|(_, x)| x == t).count();
        assert_eq!(has("cancel (deadline)"), 1, "{texts:?}");
        // Job ids are white, on their bars.
        let mut on_bars: Vec<&str> = texts
            .iter()
            .filter(|(a, _)| a.contains(&fill(WHITE_TEXT)))
            .map(|(_, t)| t.as_str())
            .collect();
        on_bars.sort_unstable();
        assert_eq!(on_bars, ["1", "2", "3", "4", "5", "6"]);
        assert!(has("not started: 4") == 1 && has("7 8 9 10") == 1, "{texts:?}");
        let png = dir.join("run.png");
        render(&deadline_run(), &png, Some("a title")).expect("the run draws as PNG");
        assert!(
            std::fs::read(&png)
                .expect("the PNG was written")
                .starts_with(b"\x89PNG")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn timeline_refuses_bad_input_in_one_line() {
        let out = std::env::temp_dir().join("timeline-never-written.svg");
        for (input, expected) in [
            ("", "no events"),
            ("Worker 1 started job 1\n", "line 1: not a JSON event"),
            (
                r#"{"event":"started","job":1,"worker":1,"t_ms":0.1}"#,
                "no summary",
            ),
        ] {
            let e = render(input, &out, None).expect_err("bad input is refused");
            assert!(format!("{e:#}").contains(expected), "{e:#}");
        }
        // A run interrupted by Ctrl-C (with its summary) still draws, with the Ctrl-C marker.
        let interrupted = deadline_run().replace(
            r#""interrupted":false"#,
            r#""interrupted":true,"interrupted_at_ms":650.0"#,
        );
        let stats = render(&interrupted, &out, None).expect("an interrupted run draws");
        assert_eq!(
            stats.markers,
            vec!["Ctrl-C".to_owned(), "cancel (deadline)".to_owned()]
        );
        let _ = std::fs::remove_file(&out);
    }

    /// Many jobs switch to density; the job count and lanes are still right.
    #[test]
    fn timeline_draws_density_for_many_jobs() {
        let mut lines = Vec::new();
        let n = 5000u64;
        for job in 1..=n {
            let worker = (job % 8) + 1;
            let start = (job / 8) as f64;
            lines.push(format!(
                r#"{{"event":"started","job":{job},"worker":{worker},"t_ms":{start}}}"#
            ));
            lines.push(format!(
                r#"{{"event":"finished","job":{job},"worker":{worker},"outcome":"ok","output":0,"t_ms":{}}}"#,
                start + 0.9
            ));
        }
        lines.push(format!(
            r#"{{"event":"summary","pattern":"basic","submitted":{n},"ok":{n},"failed":0,"cancelled":0,"not_started":0,"workers":8,"peak_in_flight":8,"wall_ms":626.0,"ideal_ms":null,"efficiency":null,"interrupted":false,"threads_alive_at_exit":0,"peak_rss_kb":null}}"#
        ));
        let out = std::env::temp_dir().join(format!("timeline-density-{}.svg", std::process::id()));
        let stats = render(&lines.join("\n"), &out, None).expect("draws");
        assert!(stats.density && stats.bars == 0 && stats.started == 5000 && stats.lanes == 8);
        let _ = std::fs::remove_file(&out);
    }
}
