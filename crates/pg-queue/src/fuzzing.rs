//! The property the fuzz target `pg_payload` checks (`fuzz/fuzz_targets/`), and that
//! `tests/fuzz_corpus.rs` checks over every file of its corpus on stable. It panics when the
//! property does not hold, with what went wrong.

use crate::{MAX_JOB_NUMBER, PayloadError, QUOTE_CHARS, job_number};

/// JSON's whitespace (RFC 8259): what may surround a value.
const JSON_SPACE: [char; 4] = [' ', '\t', '\n', '\r'];

/// Any bytes as a payload, and as the value of `n` in one: never a panic; a job number is in
/// `1..=MAX_JOB_NUMBER` (so its output, × 2, fits a `u64`); an error says `malformed payload`
/// and quotes at most [`QUOTE_CHARS`] characters; and `n` given as a JSON integer literal is
/// that number exactly when it is in range, and a bad number otherwise.
pub fn pg_payload(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let _ = check(&text); // checked inside: any result is right for the text alone
    let n = check(&format!(r#"{{"n": {text}}}"#));
    let literal = text.trim_matches(JSON_SPACE);
    if is_integer_literal(literal) {
        let expected = literal
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=MAX_JOB_NUMBER).contains(n));
        match (expected, n.clone()) {
            (Some(want), got) => assert_eq!(got, Ok(want), "n = {literal}"),
            (None, got) => {
                assert!(
                    matches!(got, Err(PayloadError::BadNumber(_))),
                    "n = {literal}: {got:?}"
                )
            }
        }
    }
    // A well-formed payload stays well-formed beside other keys, in either order.
    if let Ok(n) = n {
        let around = format!(r#"{{"order": 3, "n": {n}, "kind": [{{"n": 0}}]}}"#);
        assert_eq!(job_number(&around), Ok(n), "{around}");
    }
}

/// One payload: a job number in range, or a `malformed payload` error with a short quote.
fn check(payload: &str) -> Result<u64, PayloadError> {
    let result = job_number(payload);
    match &result {
        Ok(n) => {
            assert!((1..=MAX_JOB_NUMBER).contains(n), "{payload:?} gave {n}");
            assert!(n.checked_mul(2).is_some(), "{payload:?}: {n} × 2 overflows");
        }
        Err(e) => {
            assert!(e.to_string().starts_with("malformed payload: "), "{e}");
            if let PayloadError::NotAnObject(quoted) | PayloadError::BadNumber(quoted) = e {
                assert!(quoted.chars().count() <= QUOTE_CHARS + 1, "{quoted:?} is not cut");
            }
        }
    }
    result
}

/// `-?(0|[1-9][0-9]*)`: a JSON number with neither fraction nor exponent.
fn is_integer_literal(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_property_holds_on_hand_picked_inputs() {
        for input in [
            "7",
            " 42\n",
            "-3",
            "0",
            "00",
            "1.5",
            "1e3",
            "\"abc\"",
            "9223372036854775807",
            "9223372036854775808",
            "18446744073709551616",
            "null",
            "{",
            "",
            "[1]",
            "é",
            "1, \"n\": 2",
            "\u{feff}5",
        ] {
            pg_payload(input.as_bytes());
        }
        pg_payload(&[0xff, 0xfe, b'7']);
    }

    #[test]
    fn integer_literals_are_json_s() {
        assert!(is_integer_literal("0") && is_integer_literal("-12") && is_integer_literal("7"));
        assert!(!is_integer_literal("07") && !is_integer_literal("-") && !is_integer_literal("+1"));
        assert!(!is_integer_literal("1.0") && !is_integer_literal("1e3") && !is_integer_literal(""));
    }
}
