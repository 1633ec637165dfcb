//! http-fetch's URL list (`--urls FILE`: `parse_list`, `jobs`), the URL check and the
//! resolution of a redirect's `Location`: `http_fetch::fuzzing::url_list`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| http_fetch::fuzzing::url_list(bytes));
