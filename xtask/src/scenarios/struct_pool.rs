use super::Scenario;
use crate::check::OutputRule;

pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::run("defaults", &[], 0).outputs(OutputRule::Double),
        // A panicking job is a failed result with its message; the workers keep serving.
        Scenario::run(
            "panicking-jobs",
            &["--jobs", "12", "--work-ms", "5", "--panic-every", "4"],
            1,
        )
        .outputs(OutputRule::Double)
        .check(|run| run.expect_count("failed", 3))
        .check(|run| {
            let events = run.events()?;
            let reasons = events
                .named("finished")
                .filter(|e| e["outcome"] == "failed")
                .filter(|e| {
                    e["reason"]
                        .as_str()
                        .is_some_and(|r| r.contains("panics on purpose"))
                })
                .count();
            if reasons == 3 {
                Ok(())
            } else {
                Err(format!("expected 3 panic reasons, got {reasons}"))
            }
        }),
        Scenario::run(
            "ordered",
            &["--jobs", "30", "--workers", "4", "--work-ms", "3", "--ordered"],
            0,
        )
        .outputs(OutputRule::Double),
        // A queue of one slot and try_submit: the submitter is refused, retries, and nothing is lost.
        Scenario::run(
            "try-submit-full-queue",
            &["--jobs", "40", "--work-ms", "5", "--buffer", "1", "--try-submit"],
            0,
        )
        .outputs(OutputRule::Double)
        .check(|run| match run.summary("try_submit_refusals")?.as_u64() {
            Some(n) if n > 0 => Ok(()),
            other => Err(format!(
                "expected try_submit to be refused at least once, got {other:?}"
            )),
        }),
        Scenario::run("zero-jobs", &["--jobs", "0"], 0),
        Scenario::run(
            "more-workers-than-jobs",
            &["--jobs", "3", "--workers", "16", "--work-ms", "20"],
            0,
        )
        .outputs(OutputRule::Double),
        Scenario::run(
            "failures-are-results",
            &["--jobs", "10", "--work-ms", "5", "--fail-every", "5"],
            1,
        )
        .check(|run| run.expect_count("failed", 2)),
        // Batched submit: jobs travel in chunks, results too; each job is still reported once,
        // a panic inside a chunk fails only its own job, and --ordered still holds.
        Scenario::run(
            "batched-submit",
            &[
                "--jobs",
                "50",
                "--workers",
                "3",
                "--work-ms",
                "2",
                "--batch",
                "4",
                "--panic-every",
                "7",
                "--ordered",
            ],
            1,
        )
        .outputs(OutputRule::Double)
        .check(|run| run.expect_count("failed", 7))
        .check(|run| run.expect_count("batch", 4)),
        Scenario::run(
            "batched-dispatch-quiet",
            &[
                "--jobs",
                "100000",
                "--workload",
                "dispatch",
                "--batch",
                "256",
                "--quiet",
            ],
            0,
        )
        .summary_only()
        .partial_concurrency(),
        Scenario::bad_input(
            "bad-input/batch-with-try-submit",
            &["--batch", "4", "--try-submit"],
        ),
    ]
}
