//! Every usage error pg-queue prints, read from `tests/bad-input.txt` and checked exactly (I6).

#[test]
fn bad_input() {
    harness::assert_bad_input_file(
        env!("CARGO_BIN_EXE_pg-queue"),
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bad-input.txt"),
    );
}
