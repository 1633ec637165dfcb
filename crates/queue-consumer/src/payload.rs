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
    /// a malformed message. Panics for `poison=panic`, as that job is meant to.
    pub fn outcome(&self) -> Outcome {
        let message = self.job;
        match self.poison.as_deref() {
            Some("panic") => panic!("poison message {message}: this job always panics"),
            Some(kind) => Outcome::Failed(format!(
                "poison message {message}: this job always fails ({kind})"
            )),
            None if message == 0 => Outcome::Failed("malformed entry: no numeric `job` field".into()),
            None => Outcome::Ok(message * 2),
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

    /// The script's answer for a batch with `dead` dead entries read back; `None` if it is not
    /// one (another batch's, or not an answer at all).
    pub fn from_answer(answer: &str, dead: usize) -> Option<Acknowledged> {
        let (removed, copied) = answer.split_once(' ')?;
        let removed = removed.parse::<u64>().ok()?;
        (copied.len() == dead).then(|| Acknowledged {
            removed,
            dead_lettered: copied.bytes().map(|b| b == b'1').collect(),
        })
    }
}
