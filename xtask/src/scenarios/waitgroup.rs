use super::Scenario;
use crate::check::OutputRule;

/// The same scenarios for both ways of waiting: `--style waitgroup` and `--style scope`.
pub fn scenarios() -> Vec<Scenario> {
    let mut list = Vec::new();
    for style in ["waitgroup", "scope"] {
        let run = |name: &str, args: &[&str], exit_code: i32| {
            let args: Vec<&str> = ["--style", style].iter().chain(args).copied().collect();
            Scenario::run(&format!("{style}/{name}"), &args, exit_code).check(move |run| {
                match run.summary("style")?.as_str() {
                    Some(s) if s == style => Ok(()),
                    other => Err(format!("expected style {style}, got {other:?}")),
                }
            })
        };
        list.extend([
            run("defaults", &[], 0).outputs(OutputRule::Double),
            run(
                "many",
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
            run("zero-jobs", &["--jobs", "0"], 0),
            run(
                "failures",
                &["--jobs", "9", "--work-ms", "5", "--fail-every", "3"],
                1,
            )
            .outputs(OutputRule::Double),
        ]);
    }
    list.push(Scenario::bad_input("bad-input/style", &["--style", "goroutines"]));
    list
}
