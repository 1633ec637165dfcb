//! image-resize's structure walker (`check_complete`), header probe and plan on any bytes,
//! against the truncation rules: `image_resize::fuzzing::image_walker`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| image_resize::fuzzing::image_walker(bytes));
