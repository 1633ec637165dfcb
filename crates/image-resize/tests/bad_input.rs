//! Every usage error image-resize prints without a folder to set up, read from
//! `tests/bad-input.txt` and checked exactly (I6). Those that need one are in `scenarios.rs`.

#[test]
fn bad_input() {
    harness::assert_bad_input_file(
        env!("CARGO_BIN_EXE_image-resize"),
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bad-input.txt"),
    );
}
