//! The corpus of the fuzz target `url_list` (`fuzz/corpus/url_list`, docs/fuzzing.md), replayed
//! on stable: the target's property (`http_fetch::fuzzing::url_list`: the URL file's lines, the
//! jobs, the URL check and the resolution of redirects) over every file.

#[test]
fn the_url_list_corpus_replays() {
    harness::fuzz_corpus::assert_replays("url_list", http_fetch::fuzzing::url_list);
}
