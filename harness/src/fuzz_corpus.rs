//! The corpora of the fuzz targets in `fuzz/` (docs/fuzzing.md), replayed on stable as ordinary
//! tests: a target's property, which the crate's lib exposes for the fuzzer and these tests
//! alike, over every file the fuzzer kept.

use crate::workspace::workspace_root;

/// Runs `property` over every file of `fuzz/corpus/<target>`; fails naming each file it panics
/// on, with its message (and if the folder holds no file).
pub fn assert_replays(target: &str, property: fn(&[u8])) {
    let dir = workspace_root().join("fuzz/corpus").join(target);
    let mut files = 0;
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("the corpus folder") {
        let path = entry.expect("a corpus entry").path();
        let bytes = std::fs::read(&path).expect("a corpus file");
        if let Err(panic) = std::panic::catch_unwind(|| property(&bytes)) {
            failures.push(format!("{}: {}", path.display(), common::panic_message(&*panic)));
        }
        files += 1;
    }
    assert!(files > 0, "no file in {}", dir.display());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[cfg(test)]
mod tests {
    #[test]
    #[should_panic(expected = "fuzz/corpus/url_list/")]
    fn a_property_that_fails_on_a_file_names_it() {
        super::assert_replays("url_list", |_| panic!("refused"));
    }
}
