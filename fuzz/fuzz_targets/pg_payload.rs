//! pg-queue's job row payloads, decoded to a job number or a `malformed payload` reason:
//! `pg_queue::fuzzing::pg_payload`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| pg_queue::fuzzing::pg_payload(bytes));
