use super::basic::{ctrl_c, words};
use super::{Scenario, expect_eq};
use crate::check::OutputRule;
use common::event::OutcomeKind;

pub fn scenarios() -> Vec<Scenario> {
    let run = |name: &str, args: &str, code: i32| Scenario::run(name, &words(args), code);
    let mut list = vec![
        run("defaults", "", 0).outputs(OutputRule::Double),
        // A panicking job is a failed result with its message; the workers keep serving.
        run("panicking-jobs", "--jobs 12 --work-ms 5 --panic-every 4", 1)
            .outputs(OutputRule::Double)
            .check(|run| expect_eq("failed", run.summary()?.failed, 3))
            .check(|run| {
                let reasons = run
                    .events()?
                    .finished()
                    .filter(|e| e.outcome == OutcomeKind::Failed)
                    .filter(|e| {
                        e.reason
                            .as_deref()
                            .is_some_and(|r| r.contains("panics on purpose"))
                    })
                    .count();
                if reasons == 3 {
                    Ok(())
                } else {
                    Err(format!("expected 3 panic reasons, got {reasons}"))
                }
            }),
        run("ordered", "--jobs 30 --workers 4 --work-ms 3 --ordered", 0).outputs(OutputRule::Double),
        // A queue of one slot and try_submit: the submitter is refused, retries, and nothing is lost.
        run(
            "try-submit-full-queue",
            "--jobs 40 --work-ms 5 --buffer 1 --try-submit",
            0,
        )
        .outputs(OutputRule::Double)
        .check(|run| match run.events()?.summary.count("try_submit_refusals") {
            Some(n) if n > 0 => Ok(()),
            other => Err(format!(
                "expected try_submit to be refused at least once, got {other:?}"
            )),
        }),
        run("zero-jobs", "--jobs 0", 0),
        run("more-workers-than-jobs", "--jobs 3 --workers 16 --work-ms 20", 0).outputs(OutputRule::Double),
        run("failures-are-results", "--jobs 10 --work-ms 5 --fail-every 5", 1)
            .check(|run| expect_eq("failed", run.summary()?.failed, 2)),
        // Batched submit: jobs travel in chunks, results too; each job is still reported once,
        // a panic inside a chunk fails only its own job, and --ordered still holds.
        run(
            "batched-submit",
            "--jobs 50 --workers 3 --work-ms 2 --batch 4 --panic-every 7 --ordered",
            1,
        )
        .outputs(OutputRule::Double)
        .check(|run| expect_eq("failed", run.summary()?.failed, 7))
        .check(|run| run.expect_count("batch", 4)),
        run(
            "batched-dispatch-quiet",
            "--jobs 100000 --workload dispatch --batch 256 --quiet",
            0,
        )
        .summary_only()
        .partial_concurrency(),
        Scenario::bad_input(
            "bad-input/batch-with-try-submit",
            &["--batch", "4", "--try-submit"],
        ),
    ];
    // Ctrl-C: the submitter stops, queued jobs are handed back untouched (not_started), and so
    // are the jobs it never submitted; with each way of submitting.
    let long = "--jobs 40 --work-ms 100";
    list.extend(ctrl_c("", long, 4, true, long));
    list.extend(ctrl_c(
        "try-submit/",
        "--jobs 40 --work-ms 100 --buffer 1 --try-submit",
        4,
        true,
        long,
    ));
    list.extend(ctrl_c(
        "batch/",
        "--jobs 40 --work-ms 100 --batch 4 --ordered",
        4,
        true,
        long,
    ));
    list
}
