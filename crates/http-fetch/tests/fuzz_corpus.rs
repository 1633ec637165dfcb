//! The corpus of the fuzz target `url_list` (`fuzz/corpus/url_list`, docs/fuzzing.md), replayed
//! on stable: the target's property (`http_fetch::fuzzing::url_list`: the URL file's lines, the
//! jobs, the URL check and the resolution of redirects) over every file.

use std::path::{Path, PathBuf};

/// Runs `property` over every file in `dir`: the files it fails on, with its message.
fn replay(dir: &Path, property: fn(&[u8])) -> Vec<String> {
    let mut files = 0;
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(dir).expect("the corpus folder") {
        let path = entry.expect("a corpus entry").path();
        let bytes = std::fs::read(&path).expect("a corpus file");
        if let Err(panic) = std::panic::catch_unwind(|| property(&bytes)) {
            failures.push(format!("{}: {}", path.display(), common::panic_message(&*panic)));
        }
        files += 1;
    }
    assert!(files > 0, "no file in {}", dir.display());
    failures
}

#[test]
fn the_url_list_corpus_replays() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/url_list");
    let failures = replay(&dir, http_fetch::fuzzing::url_list);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
