//! The timeline drawn from real runs the examples printed (recorded with `--json` in
//! `tests/runs/`): one bar per started job, coloured by outcome, and a marker per cancel event.
//! The SVG is parsed, never compared byte by byte.

use bench::palette::{CANCELLED, FAILED, OK};
use bench::timeline::{render, svg};
use common::event::{Event, parse_line};

/// `context-cancel --deadline-ms 250 --json`: a deadline cancels the run mid-way.
const DEADLINE_RUN: &str = include_str!("runs/context-cancel-deadline.jsonl");

#[test]
fn a_real_deadline_run_draws_a_bar_per_started_job_and_its_cancel_marker() {
    let events: Vec<Event> = DEADLINE_RUN
        .lines()
        .map(|l| parse_line(l).expect("a recorded event"))
        .collect();
    let started = events.iter().filter(|e| matches!(e, Event::Started(_))).count();
    let cancels = events.iter().filter(|e| matches!(e, Event::Cancel(_))).count();
    assert!(started > 0 && cancels == 1, "the recording is a cancelled run");

    let dir = std::env::temp_dir().join(format!("bench-recorded-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    let out = dir.join("deadline.svg");
    let stats = render(DEADLINE_RUN, &out, None).expect("the run draws");
    let picture = std::fs::read_to_string(&out).expect("the SVG was written");
    let _ = std::fs::remove_dir_all(&dir);

    let bars: usize = [OK, FAILED, CANCELLED]
        .into_iter()
        .map(|colour| svg::rects_filled(&picture, colour))
        .sum();
    assert_eq!((stats.started, stats.bars, bars), (started, started, started));
    let labels = svg::texts(&picture)
        .iter()
        .filter(|(_, text)| text.starts_with("cancel"))
        .count();
    assert_eq!(labels, cancels, "one cancel marker per cancel event");
}
