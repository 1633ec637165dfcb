//! Every usage error http-fetch prints, read from `tests/bad-input.txt` and checked exactly (I6).
//! A missing `--urls` file needs a scratch folder: it is a scenario in `scenarios.rs`.

#[test]
fn bad_input() {
    harness::assert_bad_input_file(
        env!("CARGO_BIN_EXE_http-fetch"),
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bad-input.txt"),
    );
}
