//! The `--json` event-line parser the tools read (`common::event::parse_line`), printed and
//! parsed again: `common::event::fuzz_event_line`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| common::event::fuzz_event_line(bytes));
