//! The corpus of the fuzz target `pg_payload` (`fuzz/corpus/pg_payload/`, docs/fuzzing.md),
//! replayed on stable: its property (`pg_queue::fuzzing::pg_payload`: a job row's payload
//! decoded to a job number in range, or to a `malformed payload` reason) over every file.

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
fn the_pg_payload_corpus_replays() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/pg_payload");
    let failures = replay(&dir, pg_queue::fuzzing::pg_payload);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
