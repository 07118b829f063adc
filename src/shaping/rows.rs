//! A check that a JSON body is a list of records, without building it: an upstream table that
//! needs no shaping is then served as the upstream sent it (no tree, no re-serialization).

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Whether `body` is a JSON list whose items are all objects (what a table answer must be).
/// Allocates nothing for the records (keys and values are skipped, not kept).
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
        while seq.next_element::<Record>()?.is_some() {}
        Ok(Records)
    }
}

struct Record;

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(RecordVisitor)
    }
}

struct RecordVisitor;

impl<'de> Visitor<'de> for RecordVisitor {
    type Value = Record;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a record")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Record, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Record)
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
        ] {
            assert!(!is_list_of_objects(bad), "{}", String::from_utf8_lossy(bad));
        }
    }
}
