//! Client keys held as SHA-256 digests and compared in constant time.
//!
//! Comparing raw keys would leak their length (subtle short-circuits on a length mismatch) and
//! keep plaintext in memory. Every configured key is hashed once at load; a presented key is
//! hashed and its 32-byte digest compared with every configured digest, without stopping at a
//! match, so timing tells nothing about which key or how much of it matched.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

/// The SHA-256 digest of a client key. `Debug` never shows it. `==` is for load-time checks
/// (duplicate keys); requests are matched with [`find`], in constant time.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct KeyDigest([u8; 32]);

impl KeyDigest {
    /// The digest of `key`.
    pub fn of(key: &[u8]) -> Self {
        KeyDigest(Sha256::digest(key).into())
    }

    /// A digest written as 64 hex digits (the part after `sha256:` in gateway.yaml).
    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(hex.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).ok()?;
            *byte = u8::from_str_radix(pair, 16).ok()?;
        }
        Some(KeyDigest(out))
    }
}

impl KeyDigest {
    /// Whether the two digests are equal, in constant time: compared as four 64-bit words
    /// (each with subtle's constant-time equality) rather than as 32 bytes, which costs a
    /// barrier per byte.
    fn ct_eq(&self, other: &KeyDigest) -> Choice {
        let words = |d: &KeyDigest| {
            let mut out = [0u64; 4];
            for (word, bytes) in out.iter_mut().zip(d.0.chunks_exact(8)) {
                let mut b = [0u8; 8];
                b.copy_from_slice(bytes);
                *word = u64::from_ne_bytes(b);
            }
            out
        };
        let (a, b) = (words(self), words(other));
        a.iter()
            .zip(&b)
            .fold(Choice::from(1), |eq, (x, y)| eq & x.ct_eq(y))
    }
}

impl fmt::Debug for KeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyDigest(<redacted>)")
    }
}

/// The index of the digest in `known` equal to `presented`. Every entry is compared in constant
/// time and the scan never stops early.
pub fn find(known: &[KeyDigest], presented: &KeyDigest) -> Option<usize> {
    let mut index = 0u64;
    let mut found = Choice::from(0);
    for (i, digest) in known.iter().enumerate() {
        let hit = digest.ct_eq(presented);
        index.conditional_assign(&(i as u64), hit);
        found |= hit;
    }
    bool::from(found).then_some(index as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_only_the_exact_key() {
        let known = [
            KeyDigest::of(b"alpha"),
            KeyDigest::of(b"beta"),
            KeyDigest::of(b"gamma"),
        ];
        assert_eq!(find(&known, &KeyDigest::of(b"beta")), Some(1));
        assert_eq!(find(&known, &KeyDigest::of(b"gamma")), Some(2));
        assert_eq!(find(&known, &KeyDigest::of(b"alpha")), Some(0));
        for wrong in [&b"bet"[..], b"betaa", b"BETA", b"", b"alpha\n"] {
            assert_eq!(find(&known, &KeyDigest::of(wrong)), None, "{wrong:?}");
        }
        assert_eq!(find(&[], &KeyDigest::of(b"alpha")), None);
    }

    #[test]
    fn a_digest_differing_in_any_one_byte_is_not_equal() {
        let key = KeyDigest::of(b"alpha");
        assert!(bool::from(key.ct_eq(&key)));
        for i in 0..32 {
            let mut other = key;
            other.0[i] ^= 0x01;
            assert!(!bool::from(key.ct_eq(&other)), "byte {i}");
            assert_eq!(find(&[key], &other), None, "byte {i}");
        }
    }

    #[test]
    fn hex_form_equals_the_hashed_key() {
        // sha256("alpha"), as `printf alpha | sha256sum` prints it.
        let hex = "8ed3f6ad685b959ead7022518e1af76cd816f8e8ec7ccdda1ed4018e8f2223f8";
        assert_eq!(KeyDigest::from_hex(hex), Some(KeyDigest::of(b"alpha")));
        assert_eq!(
            KeyDigest::from_hex(&hex.to_uppercase()),
            Some(KeyDigest::of(b"alpha"))
        );
        assert_eq!(KeyDigest::from_hex(&hex[..63]), None);
        assert_eq!(KeyDigest::from_hex(&format!("{}zz", &hex[..62])), None);
        assert_eq!(KeyDigest::from_hex(&format!("+f{}", &hex[2..])), None);
        assert_eq!(
            format!("{:?}", KeyDigest::of(b"alpha")),
            "KeyDigest(<redacted>)"
        );
    }
}
