//! The properties the fuzz targets `queue_reply` and `queue_payload` check
//! (`fuzz/fuzz_targets/`), and that `tests/fuzz_corpus.rs` checks over every file of their
//! corpus on stable. Each panics when the property does not hold, with what went wrong.

use std::collections::HashMap;

use common::Outcome;
use redis::Value;

use crate::payload::{self, Acknowledged, Message};

/// A message's job, run to its outcome (not for `poison=panic`, which panics on purpose): the
/// number doubled, or a failure with a reason; never a panic.
fn check_outcome(message: &Message) {
    if message.poison.as_deref() == Some("panic") {
        return;
    }
    match message.outcome() {
        Outcome::Ok(output) => {
            assert!(message.poison.is_none() && message.job != 0, "{message:?} ran");
            assert_eq!(u128::from(output), u128::from(message.job) * 2, "{message:?}");
        }
        Outcome::Failed(reason) => assert!(!reason.is_empty()),
        other => panic!("{message:?} ended {other:?} without a stop"),
    }
}

/// The fields of `message` as Redis gives them back: bulk strings.
fn as_stored(message: &Message) -> HashMap<String, Value> {
    message
        .fields()
        .into_iter()
        .map(|(field, value)| (field.to_owned(), Value::BulkString(value.into_bytes())))
        .collect()
}

/// Any bytes as a Redis reply (RESP), decoded as each reply the consumer reads: `XREADGROUP`,
/// `XAUTOCLAIM`, `XPENDING`, and the acknowledgement script's answer.
pub fn queue_reply(bytes: &[u8]) {
    let Ok(reply) = redis::parse_redis_value(bytes) else {
        return;
    };
    let read = payload::read_reply(reply.clone());
    let claimed = payload::claim_reply(reply.clone());
    for (_, message) in read.into_iter().chain(claimed).flatten() {
        // Decoding is stable: a message read back, written and read again, is the same.
        assert_eq!(Message::from_fields(&as_stored(&message)), message);
        check_outcome(&message);
    }
    if let Ok(count) = payload::pending_count(&reply) {
        assert!(matches!(&reply, Value::Array(items) if matches!(items.first(), Some(Value::Int(_)))));
        let _ = count;
    }
    let answer = match &reply {
        Value::BulkString(b) => std::str::from_utf8(b).ok(),
        Value::SimpleString(s) => Some(s.as_str()),
        _ => None,
    };
    if let Some(answer) = answer {
        for (entries, dead) in [(0, 0), (1, 0), (1, 1), (3, 2), (4, 4), (2_500, 3)] {
            if let Some(acknowledged) = Acknowledged::from_answer(answer, entries, dead) {
                // Only an answer the script can write for the batch is read: it writes it back
                // the same, and its counts are in the batch's range.
                assert_eq!(acknowledged.answer(), answer, "{acknowledged:?}");
                assert_eq!(acknowledged.dead_lettered.len(), dead);
                let copied = acknowledged.dead_lettered.iter().filter(|&&c| c).count();
                assert!(copied as u64 <= acknowledged.removed, "{answer:?}");
                assert!(acknowledged.removed <= entries as u64, "{answer:?}");
            }
        }
    }
}

/// Appends `bytes` as a RESP bulk string.
fn bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(format!("${}\r\n", bytes.len()).as_bytes());
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

/// An `XREADGROUP` reply in RESP, as Redis writes it: one stream, one entry, its fields.
fn xreadgroup_reply(entry_id: &str, message: &Message) -> Vec<u8> {
    let fields = message.fields();
    let mut out = b"*1\r\n*2\r\n".to_vec();
    bulk(&mut out, b"jobs");
    out.extend_from_slice(b"*1\r\n*2\r\n");
    bulk(&mut out, entry_id.as_bytes());
    out.extend_from_slice(format!("*{}\r\n", 2 * fields.len()).as_bytes());
    for (field, value) in &fields {
        bulk(&mut out, field.as_bytes());
        bulk(&mut out, value.as_bytes());
    }
    out
}

/// Any bytes as a message and an acknowledgement answer, written then read back: the first 8
/// bytes are the number, the 9th says whether it is a poison message, the rest its kind (as
/// text) and the dead letters copied (a bit per byte).
pub fn queue_payload(bytes: &[u8]) {
    let mut number = [0u8; 8];
    let head = bytes.len().min(8);
    number[..head].copy_from_slice(&bytes[..head]);
    let job = u64::from_le_bytes(number);
    let rest = bytes.get(9..).unwrap_or_default();
    let poison =
        (bytes.get(8).is_some_and(|flag| flag & 1 == 1)).then(|| String::from_utf8_lossy(rest).into_owned());
    let message = Message { job, poison };

    // The fields the producer writes, as Redis stores them, read back.
    assert_eq!(Message::from_fields(&as_stored(&message)), message, "the fields");
    // And the whole XREADGROUP reply, through the RESP parser.
    let reply = redis::parse_redis_value(&xreadgroup_reply("1700000000000-7", &message))
        .unwrap_or_else(|e| panic!("the reply of {message:?} does not parse: {e}"));
    let read = payload::read_reply(reply).unwrap_or_else(|e| panic!("{message:?}: {e}"));
    assert_eq!(read, vec![("1700000000000-7".to_owned(), message.clone())]);
    check_outcome(&message);

    // The acknowledgement script's answer, as it writes it for a batch of `entries` entries
    // with a dead letter per byte of the rest (copied or not), read back.
    let dead_lettered: Vec<bool> = rest.iter().take(64).map(|b| b & 1 == 1).collect();
    let copied = dead_lettered.iter().filter(|&&c| c).count() as u64;
    let entries = dead_lettered.len() + usize::from(bytes.first().copied().unwrap_or(0));
    let removed = copied + job % (entries as u64 - copied + 1);
    let acknowledged = Acknowledged {
        removed,
        dead_lettered,
    };
    let answer = acknowledged.answer();
    assert_eq!(
        Acknowledged::from_answer(&answer, entries, acknowledged.dead_lettered.len()),
        Some(acknowledged),
        "{answer:?}"
    );
}
