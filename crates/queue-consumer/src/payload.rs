//! What travels through Redis, written and read back: a message's fields (`XADD ... job N
//! [poison KIND]`), the replies the consumer decodes into messages (`XREADGROUP`, `XAUTOCLAIM`,
//! `XPENDING`), and the answer of the acknowledgement script. Here in the library so that the
//! fuzz targets (`fuzz/`) and the replay of their corpus (`tests/fuzz_corpus.rs`) decode with the
//! code the binary runs; the commands themselves are in `broker.rs`.

use std::collections::HashMap;

use common::Outcome;
use redis::Value;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadReply};

/// One message of the stream: the producer's number, and what makes it a poison message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Field `job`: the producer's message number, 1..=N; 0 if the entry has no numeric one.
    pub job: u64,
    /// Field `poison`: `fail` (its job always fails) or `panic` (it always panics).
    pub poison: Option<String>,
}

impl Message {
    /// Its fields in the order `XADD` writes them: `job`, then `poison` if it has one.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![("job", self.job.to_string())];
        if let Some(kind) = &self.poison {
            fields.push(("poison", kind.clone()));
        }
        fields
    }

    /// A stream entry's fields read back. A `job` that is not a number gives 0 (its job fails as
    /// malformed, so the entry is not lost); a `poison` that is not text is ignored.
    pub fn from_fields(map: &HashMap<String, Value>) -> Message {
        let id = StreamId {
            map: map.clone(),
            ..StreamId::default()
        };
        Message::of(&id)
    }

    fn of(id: &StreamId) -> Message {
        Message {
            job: id.get::<u64>("job").unwrap_or(0),
            poison: id.get::<String>("poison"),
        }
    }

    /// What its job gives once its work is done: the number doubled; a failure for a poison or
    /// a malformed message, or one whose double does not fit in 64 bits (anyone can write to the
    /// stream). Panics for `poison=panic`, as that job is meant to.
    pub fn outcome(&self) -> Outcome {
        let message = self.job;
        match self.poison.as_deref() {
            Some("panic") => panic!("poison message {message}: this job always panics"),
            Some(kind) => Outcome::Failed(format!(
                "poison message {message}: this job always fails ({kind})"
            )),
            None if message == 0 => Outcome::Failed("malformed entry: no numeric `job` field".into()),
            None => match message.checked_mul(2) {
                Some(output) => Outcome::Ok(output),
                None => Outcome::Failed(format!(
                    "malformed entry: job {message} is too large (its double does not fit in 64 bits)"
                )),
            },
        }
    }
}

/// The entries of an `XREADGROUP` reply (`nil` when the read timed out), as (entry id, message).
pub fn read_reply(reply: Value) -> Result<Vec<(String, Message)>, redis::ParsingError> {
    let reply: Option<StreamReadReply> = redis::from_redis_value(reply)?;
    Ok(reply
        .into_iter()
        .flat_map(|r| r.keys)
        .flat_map(|k| k.ids)
        .map(|id| {
            let message = Message::of(&id);
            (id.id, message)
        })
        .collect())
}

/// The entries an `XAUTOCLAIM` reply says were taken over, as (entry id, message).
pub fn claim_reply(reply: Value) -> Result<Vec<(String, Message)>, redis::ParsingError> {
    let reply: StreamAutoClaimReply = redis::from_redis_value(reply)?;
    Ok(reply
        .claimed
        .into_iter()
        .map(|id| {
            let message = Message::of(&id);
            (id.id, message)
        })
        .collect())
}

/// The count of the summary form of `XPENDING stream group`: `[count, first, last, consumers]`.
pub fn pending_count(reply: &Value) -> Result<u64, String> {
    match reply {
        Value::Array(items) => match items.first() {
            Some(Value::Int(n)) => Ok(u64::try_from(*n).unwrap_or(0)),
            other => Err(format!("unexpected XPENDING reply: {other:?}")),
        },
        other => Err(format!("unexpected XPENDING reply: {other:?}")),
    }
}

/// What an acknowledgement batch did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Acknowledged {
    /// Entries the group removed from its pending list, dead ones included.
    pub removed: u64,
    /// For each dead entry of the batch, in order: removed here, and so copied to the dead-letter
    /// stream.
    pub dead_lettered: Vec<bool>,
}

impl Acknowledged {
    /// As the acknowledgement script answers it: `<removed> <1 or 0 per dead entry>`, such as
    /// `"12 10"` for twelve entries removed, two of them dead, the first copied.
    pub fn answer(&self) -> String {
        let copied: String = self
            .dead_lettered
            .iter()
            .map(|&c| if c { '1' } else { '0' })
            .collect();
        format!("{} {copied}", self.removed)
    }

    /// The script's answer for a batch of `entries` entries, `dead` of them dead, read back;
    /// `None` unless it is one the script can write for that batch: a number in decimal (no sign,
    /// no leading zero), a space, a `1` or `0` per dead entry, and no more removed than the batch
    /// holds, nor fewer than the dead letters it copied.
    pub fn from_answer(answer: &str, entries: usize, dead: usize) -> Option<Acknowledged> {
        let (removed, copied) = answer.split_once(' ')?;
        let canonical = removed == "0" || !removed.starts_with('0');
        if removed.is_empty() || !canonical || !removed.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if copied.len() != dead || !copied.bytes().all(|b| b == b'0' || b == b'1') {
            return None;
        }
        let removed = removed.parse::<u64>().ok()?;
        let ones = copied.bytes().filter(|&b| b == b'1').count() as u64;
        (ones <= removed && removed <= entries as u64).then(|| Acknowledged {
            removed,
            dead_lettered: copied.bytes().map(|b| b == b'1').collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_whose_double_overflows_fails_instead_of_panicking() {
        // Found by the fuzz target `queue_payload`: `job * 2` overflowed (a panic in a debug
        // build, a wrong output in a release one) for a job of 2^63 or more.
        let big = Message {
            job: 1 << 63,
            poison: None,
        };
        assert!(matches!(big.outcome(), Outcome::Failed(r) if r.contains("too large")));
        let largest = Message {
            job: u64::MAX / 2,
            poison: None,
        };
        assert_eq!(largest.outcome(), Outcome::Ok(u64::MAX - 1));
    }

    #[test]
    fn only_an_answer_the_script_can_write_is_read() {
        // Found by the fuzz target `queue_reply`: any byte but `1` was read as "not copied", and
        // a count out of the batch's range was taken as it came.
        let ok = |removed, copied: &[bool]| {
            Some(Acknowledged {
                removed,
                dead_lettered: copied.to_vec(),
            })
        };
        assert_eq!(Acknowledged::from_answer("3 10", 3, 2), ok(3, &[true, false]));
        assert_eq!(Acknowledged::from_answer("0 ", 5, 0), ok(0, &[]));
        for (answer, entries, dead) in [
            ("0 0%", 3, 2), // not a 0 or 1
            ("05 1", 9, 1), // a leading zero
            ("+5 1", 9, 1), // a sign
            (" 1", 9, 1),   // no count
            ("4 1", 3, 1),  // more removed than the batch holds
            ("1 11", 3, 2), // more copied than removed
            ("3 10", 3, 1), // another batch's (one dead entry)
            ("3", 3, 0),    // no space
        ] {
            assert_eq!(
                Acknowledged::from_answer(answer, entries, dead),
                None,
                "{answer:?}"
            );
        }
    }
}
