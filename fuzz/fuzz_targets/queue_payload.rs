//! queue-consumer's messages and acknowledgement answers, written then read back:
//! `queue_consumer::fuzzing::queue_payload`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| queue_consumer::fuzzing::queue_payload(bytes));
