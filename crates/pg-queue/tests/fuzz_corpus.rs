//! The corpus of the fuzz target `pg_payload` (`fuzz/corpus/pg_payload/`, docs/fuzzing.md),
//! replayed on stable: its property (`pg_queue::fuzzing::pg_payload`: a job row's payload
//! decoded to a job number in range, or to a `malformed payload` reason) over every file.

#[test]
fn the_pg_payload_corpus_replays() {
    harness::fuzz_corpus::assert_replays("pg_payload", pg_queue::fuzzing::pg_payload);
}
