//! The corpora of the fuzz targets `queue_reply` and `queue_payload` (`fuzz/corpus/`,
//! docs/fuzzing.md), replayed on stable: each target's property
//! (`queue_consumer::fuzzing`: Redis replies decoded, messages and acknowledgement answers
//! written then read back) over every file of its corpus.

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

fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

#[test]
fn the_queue_reply_corpus_replays() {
    let failures = replay(&corpus("queue_reply"), queue_consumer::fuzzing::queue_reply);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_queue_payload_corpus_replays() {
    let failures = replay(&corpus("queue_payload"), queue_consumer::fuzzing::queue_payload);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
