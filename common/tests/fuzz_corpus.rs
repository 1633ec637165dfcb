//! The corpus of the fuzz target `event_line` (`fuzz/corpus/event_line`, docs/fuzzing.md),
//! replayed on stable: the target's property (`common::event::fuzz_event_line`: a line that
//! parses as an event prints back as a line that parses to the same event) over every file.

#[test]
fn the_event_line_corpus_replays() {
    harness::fuzz_corpus::assert_replays("event_line", common::event::fuzz_event_line);
}
