use super::Scenario;
use crate::check::OutputRule;

pub fn scenarios() -> Vec<Scenario> {
    let style = |want: &'static str| {
        move |run: &super::Run<'_>| match run.summary("style")?.as_str() {
            Some(s) if s == want => Ok(()),
            other => Err(format!("expected style {want}, got {other:?}")),
        }
    };
    vec![
        Scenario::run("waitgroup-defaults", &[], 0)
            .outputs(OutputRule::Double)
            .check(style("waitgroup")),
        Scenario::run("scope-defaults", &["--style", "scope"], 0)
            .outputs(OutputRule::Double)
            .check(style("scope")),
        Scenario::run(
            "waitgroup-many",
            &[
                "--jobs",
                "300",
                "--workers",
                "8",
                "--work-ms",
                "1",
                "--buffer",
                "4",
            ],
            0,
        )
        .outputs(OutputRule::Double),
        Scenario::run(
            "scope-many",
            &[
                "--style",
                "scope",
                "--jobs",
                "300",
                "--workers",
                "8",
                "--work-ms",
                "1",
                "--buffer",
                "4",
            ],
            0,
        )
        .outputs(OutputRule::Double),
        Scenario::run("zero-jobs", &["--jobs", "0", "--style", "scope"], 0),
        Scenario::run(
            "failures",
            &["--jobs", "9", "--work-ms", "5", "--fail-every", "3"],
            1,
        )
        .outputs(OutputRule::Double),
        Scenario::bad_input("bad-input/style", &["--style", "goroutines"]),
    ]
}
