//! queue-consumer's decoding of Redis replies (RESP bytes: `XREADGROUP`, `XAUTOCLAIM`,
//! `XPENDING`, the acknowledgement script's answer): `queue_consumer::fuzzing::queue_reply`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| queue_consumer::fuzzing::queue_reply(bytes));
