use super::Scenario;
use super::basic::{ctrl_c, words};
use crate::check::OutputRule;

/// The same scenarios for both ways of waiting: `--style waitgroup` and `--style scope`.
pub fn scenarios() -> Vec<Scenario> {
    let mut list = Vec::new();
    for style in ["waitgroup", "scope"] {
        let style_is_reported = move |run: &super::Run<'_>| match run
            .events()?
            .summary
            .extra
            .get("style")
            .and_then(|v| v.as_str())
        {
            Some(s) if s == style => Ok(()),
            other => Err(format!("expected style {style}, got {other:?}")),
        };
        let run = |name: &str, args: &str, exit_code: i32| {
            let line = format!("--style {style} {args}");
            Scenario::run(&format!("{style}/{name}"), &words(&line), exit_code).check(style_is_reported)
        };
        list.extend([
            run("defaults", "", 0).outputs(OutputRule::Double),
            run("many", "--jobs 300 --workers 8 --work-ms 1 --buffer 4", 0).outputs(OutputRule::Double),
            run("zero-jobs", "--jobs 0", 0),
            run("failures", "--jobs 9 --work-ms 5 --fail-every 3", 1).outputs(OutputRule::Double),
        ]);
        let long = format!("--style {style} --jobs 40 --work-ms 100");
        list.extend(
            ctrl_c(&format!("{style}/"), &long, 4, true, &long)
                .into_iter()
                .map(|s| match &s.expect {
                    Some(e) if e.summary => s.check(style_is_reported),
                    _ => s, // a double Ctrl-C exits at once, without a summary
                }),
        );
    }
    list.push(Scenario::bad_input("bad-input/style", &["--style", "goroutines"]));
    list
}
