//! The corpora of the fuzz targets `queue_reply` and `queue_payload` (`fuzz/corpus/`,
//! docs/fuzzing.md), replayed on stable: each target's property
//! (`queue_consumer::fuzzing`: Redis replies decoded, messages and acknowledgement answers
//! written then read back) over every file of its corpus.

#[test]
fn the_queue_reply_corpus_replays() {
    harness::fuzz_corpus::assert_replays("queue_reply", queue_consumer::fuzzing::queue_reply);
}

#[test]
fn the_queue_payload_corpus_replays() {
    harness::fuzz_corpus::assert_replays("queue_payload", queue_consumer::fuzzing::queue_payload);
}
