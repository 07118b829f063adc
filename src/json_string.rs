//! Text written as the inside of a JSON string literal, byte for byte as serde_json writes it:
//! `"` and `\` and the control characters below 0x20 escaped (`\b \t \n \f \r`, else `\u00XX`
//! in lowercase hex), every other byte (UTF-8 included) as is.
//!
//! serde_json only writes whole values, quotes included; a markdown answer rendered from a
//! substitution template ([`crate::substitution`]) is written piece by piece into one buffer of
//! the exact size, which this makes possible. The tests compare with serde_json for every byte.

/// The length of `text` once escaped (without quotes).
pub fn escaped_len(text: &str) -> usize {
    text.bytes().map(|b| usize::from(extra(b)) + 1).sum()
}

/// Appends `text`, escaped, to `out` (without quotes).
pub fn escape_into(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let mut plain_from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if extra(b) == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[plain_from..i]);
        plain_from = i + 1;
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0x0f)]);
            }
        }
    }
    out.extend_from_slice(&bytes[plain_from..]);
}

/// The bytes escaping adds to `b`: 1 for a two-byte escape, 5 for `\u00XX`, 0 for none.
fn extra(b: u8) -> u8 {
    match b {
        b'"' | b'\\' | 0x08 | b'\t' | b'\n' | 0x0c | b'\r' => 1,
        0x00..=0x1f => 5,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What serde_json writes for `text`, without the quotes.
    fn serde(text: &str) -> Vec<u8> {
        let whole = serde_json::to_vec(text).unwrap();
        whole[1..whole.len() - 1].to_vec()
    }

    #[test]
    fn every_ascii_byte_is_escaped_as_serde_json_escapes_it() {
        for b in 0u8..0x80 {
            let text = format!("a{}b", char::from(b));
            let mut out = Vec::new();
            escape_into(&mut out, &text);
            assert_eq!(out, serde(&text), "byte {b:#04x}");
            assert_eq!(escaped_len(&text), out.len(), "byte {b:#04x}");
        }
    }

    #[test]
    fn runs_and_utf8_are_kept() {
        for text in [
            "",
            "plain",
            "# MSFT\n\nLast 7 days of data for **MSFT**.",
            "\"quoted\" \\ back\\slash\u{1}\u{1f}\u{7f}",
            "Société Générale — 株式 ✓ 😀",
            "\n\n\n",
        ] {
            let mut out = b"prefix".to_vec();
            escape_into(&mut out, text);
            assert_eq!(&out[6..], &serde(text)[..], "{text:?}");
            assert_eq!(escaped_len(text), out.len() - 6, "{text:?}");
        }
    }
}
