//! The bottom layer: exit codes, the one error line, and the error chain. Every other module may
//! use this one; it uses none of them.

use std::process::ExitCode;

/// Every job ended ok.
pub const EXIT_OK: u8 = 0;
/// The run finished, but some job failed, was cancelled or never started.
pub const EXIT_INCOMPLETE: u8 = 1;
/// Bad usage or configuration, or an error that stopped the run (one line on stderr).
pub const EXIT_USAGE: u8 = 2;
/// A watchdog ended the run because no job made progress for too long.
pub const EXIT_NO_PROGRESS: u8 = 3;
/// Stopped by Ctrl-C (SIGINT or SIGTERM).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Runs an example's real `main`, turning any error into one line on stderr and exit code 2.
/// (Once a Ctrl-C has arrived, an error still exits 2: the run could not report its jobs.)
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     common::main(|| {
///         // ... parse, run, report ...
///         Ok(std::process::ExitCode::SUCCESS)
///     })
/// }
/// ```
pub fn main(run: impl FnOnce() -> anyhow::Result<ExitCode>) -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) => {
            print_error_line(&error_chain(&err));
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// Prints `error: <message>` as exactly one line on stderr.
pub fn print_error_line(message: &str) {
    let one_line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    eprintln!("error: {one_line}");
}

/// An error and its causes on one line, `what: why: root cause`, as anyhow's `{:#}` prints them,
/// but without a cause whose text the line already holds: some libraries' errors print their
/// source in their own message as well (redis's I/O errors did: "Connection reset by peer (os
/// error 104): Connection reset by peer (os error 104)").
pub fn error_chain(err: &anyhow::Error) -> String {
    let mut line = String::new();
    let mut previous = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if text.is_empty() || previous.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
        previous = text;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::error_chain;
    use anyhow::Context as _;

    /// An error whose message already ends with its source's, as redis's I/O errors do.
    #[derive(Debug)]
    struct Wrapped(std::io::Error);

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            self.0.fmt(f)
        }
    }

    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_cause_already_in_the_line_is_not_repeated() {
        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "Connection reset by peer");
        let err = Err::<(), _>(Wrapped(reset))
            .context("cannot read the stream")
            .expect_err("an error");
        assert_eq!(
            format!("{err:#}"),
            "cannot read the stream: Connection reset by peer: Connection reset by peer"
        );
        assert_eq!(
            error_chain(&err),
            "cannot read the stream: Connection reset by peer"
        );
    }

    #[test]
    fn distinct_causes_all_stay_in_order() {
        let err = Err::<(), _>(std::io::Error::other("disk full"))
            .context("cannot write orders.sqlite")
            .context("batch 3 failed")
            .expect_err("an error");
        assert_eq!(error_chain(&err), format!("{err:#}"));
        assert_eq!(
            error_chain(&err),
            "batch 3 failed: cannot write orders.sqlite: disk full"
        );
    }
}
