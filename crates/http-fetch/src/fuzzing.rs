//! The properties the fuzz target `url_list` checks (`fuzz/fuzz_targets/url_list.rs`), and that
//! `tests/fuzz_corpus.rs` checks over every file of its corpus on stable. Each panics when the
//! property does not hold, with what went wrong.

use crate::fetch::{resolve, validate};
use crate::urls::{SERVER, jobs, parse_list};

/// The embedded server's base URL, as `{server}` is replaced.
const BASE: &str = "http://127.0.0.1:8080";

/// The lines of a URL file as the rules in `urls.rs` say, written independently of
/// [`parse_list`]: split at `\n` (a `\r` before it is part of the line ending); a byte-order mark
/// before the first line is not part of it; each line trimmed; blank lines and lines starting
/// with `#` skipped.
fn expected_lines(text: &str) -> Vec<String> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut lines: Vec<&str> = text.split('\n').collect();
    if text.ends_with('\n') {
        lines.pop();
    }
    lines
        .into_iter()
        .map(|l| l.strip_suffix('\r').unwrap_or(l).trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// A URL file's bytes (`--urls FILE`, read as UTF-8: any other file is refused whole), then each
/// URL as a job, then redirects between them: each URL's `Location` the next line of the file.
pub fn url_list(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let list = parse_list(text);
    assert_eq!(list, expected_lines(text), "the URL file's lines");

    // Jobs: ids 1..=n in list order, `{server}` replaced by the base URL when there is one.
    for base in [Some(BASE), None] {
        let jobs = jobs(&list, base);
        assert_eq!(jobs.len(), list.len());
        for ((i, job), url) in jobs.iter().enumerate().zip(&list) {
            assert_eq!(job.id, i as u64 + 1);
            match base {
                Some(base) => assert_eq!(job.url, url.replace(SERVER, base)),
                None => assert_eq!(&job.url, url),
            }
        }
    }

    let urls: Vec<String> = jobs(&list, Some(BASE)).into_iter().map(|j| j.url).collect();
    for (i, url) in urls.iter().enumerate() {
        if validate(url).is_err() {
            continue;
        }
        // A URL the list accepts can be redirected from: a path Location resolves against it.
        if let Err(why) = resolve(url, "/next") {
            panic!("{url:?} passed validation, but a redirect from it fails: {why}");
        }
        // Any Location: what it resolves to is a valid URL, and resolves to itself again.
        let location = list.get(i + 1).map_or("", String::as_str);
        if let Ok(next) = resolve(url, location) {
            assert!(validate(&next).is_ok(), "{url:?} + {location:?} -> {next:?}");
            assert_eq!(
                resolve(&next, &next).as_deref(),
                Ok(next.as_str()),
                "{url:?} + {location:?} -> {next:?} is not a fixed point"
            );
        }
    }
}
