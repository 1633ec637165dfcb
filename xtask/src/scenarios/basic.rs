use std::time::Duration;

use super::Scenario;
use crate::check::OutputRule;

pub fn scenarios() -> Vec<Scenario> {
    vec![
        // The Go original's numbers: 10 jobs, 3 workers, 500 ms.
        Scenario::run("defaults", &[], 0).outputs(OutputRule::Double),
        Scenario::run(
            "more-workers-than-jobs",
            &["--jobs", "2", "--workers", "8", "--work-ms", "20"],
            0,
        )
        .outputs(OutputRule::Double),
        Scenario::run("zero-jobs", &["--jobs", "0"], 0),
        Scenario::run(
            "failures-are-results",
            &["--jobs", "12", "--work-ms", "10", "--fail-every", "4"],
            1,
        )
        .outputs(OutputRule::Double)
        .check(|run| run.expect_count("failed", 3)),
        Scenario::run(
            "rendezvous-channel",
            &[
                "--jobs",
                "200",
                "--workers",
                "4",
                "--work-ms",
                "1",
                "--buffer",
                "0",
            ],
            0,
        )
        .outputs(OutputRule::Double),
        Scenario::run(
            "cpu-workload",
            &[
                "--jobs",
                "12",
                "--workers",
                "2",
                "--workload",
                "cpu",
                "--seed",
                "7",
            ],
            0,
        )
        .outputs(OutputRule::IsPrime)
        .timeout(Duration::from_secs(120)),
        Scenario::run(
            "dispatch-quiet",
            &[
                "--jobs",
                "200000",
                "--workers",
                "2",
                "--workload",
                "dispatch",
                "--quiet",
            ],
            0,
        )
        .summary_only()
        // Jobs that do nothing finish faster than a second worker wakes up: the peak may be 1.
        .partial_concurrency(),
        Scenario::run(
            "group-by-worker",
            &["--jobs", "9", "--work-ms", "5", "--group-by-worker"],
            0,
        )
        .outputs(OutputRule::Double),
    ]
}
