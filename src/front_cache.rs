//! Each serving thread's own copies of the cached answers it served last.
//!
//! A hit in the shared answer cache ([`crate::cache`]) writes to memory that every serving
//! thread writes: the cache's record of reads, the entry's reference count, the answer's
//! reference count when it is cloned and again when it is dropped. On two cores answering the
//! same popular key, those cache lines move between the cores on every request. So a fresh hit
//! also leaves a copy of the answer (its own bytes, when they are small) with the thread that
//! served it, and that thread's next request for the key is answered from the copy while it is
//! fresh: the same bytes, for the same lifetime, as the shared entry it was copied from.
//! Every [`SHARED_EVERY`]th request for a held key still goes to the shared cache, so that the
//! cache's eviction keeps seeing which keys are in use.
//!
//! A copy is found by the cache it came from and the key, and only while `fresh_until` has not
//! passed; expired, stale-if-error and missed answers always go to the shared cache. A reload
//! that changes the cache's settings makes a new cache, whose id no copy carries. At most
//! [`ENTRIES`] answers of at most [`MAX_BODY`] bytes are kept per thread.

use std::cell::RefCell;
use std::time::Instant;

use bytes::Bytes;

use crate::source::Reply;

/// How many answers a thread keeps.
pub const ENTRIES: usize = 8;

/// One in how many requests for a held key is answered by the shared cache instead.
pub const SHARED_EVERY: u32 = 16;

/// The largest answer a thread keeps a copy of; a larger one costs more to copy than the
/// shared cache's bookkeeping does.
pub const MAX_BODY: usize = 32 * 1024;

struct Held {
    cache: u64,
    key: Box<str>,
    reply: Reply,
    fresh_until: Instant,
    /// Requests it answered.
    hits: u32,
}

thread_local! {
    /// The copies, most recently stored last.
    static COPIES: RefCell<Vec<Held>> = const { RefCell::new(Vec::new()) };
}

/// The answer for `key` of cache `cache` this thread holds, if it is fresh at `now` (and this
/// is not a request the shared cache should see).
pub fn get(cache: u64, key: &str, now: Instant) -> Option<Reply> {
    COPIES.with(|copies| {
        let mut copies = copies.borrow_mut();
        let at = copies
            .iter()
            .position(|c| c.cache == cache && *c.key == *key)?;
        let held = &mut copies[at];
        if held.fresh_until <= now {
            copies.remove(at);
            return None;
        }
        held.hits = held.hits.wrapping_add(1);
        if held.hits % SHARED_EVERY == 0 {
            return None;
        }
        Some(held.reply.clone())
    })
}

/// Keeps a copy of `reply`, the answer for `key` of cache `cache` until `fresh_until`, with
/// this thread (replacing an older copy of the key, or the oldest one when it holds
/// [`ENTRIES`]); a copy of the same entry is kept as it is.
pub fn put(cache: u64, key: &str, reply: &Reply, fresh_until: Instant) {
    if reply.body.len() > MAX_BODY {
        return;
    }
    COPIES.with(|copies| {
        let mut copies = copies.borrow_mut();
        if let Some(at) = copies
            .iter()
            .position(|c| c.cache == cache && *c.key == *key)
        {
            if copies[at].fresh_until == fresh_until {
                return;
            }
            copies.remove(at);
        } else if copies.len() >= ENTRIES {
            copies.remove(0);
        }
        copies.push(Held {
            cache,
            key: key.into(),
            reply: Reply {
                body: Bytes::copy_from_slice(&reply.body),
                content_type: reply.content_type,
            },
            fresh_until,
            hits: 0,
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn reply(text: &'static str) -> Reply {
        Reply {
            body: Bytes::from_static(text.as_bytes()),
            content_type: "application/json",
        }
    }

    #[test]
    fn a_copy_answers_while_fresh_and_only_for_its_cache_and_key() {
        let now = Instant::now();
        let later = now + Duration::from_secs(60);
        put(1, "k", &reply("[1]"), later);
        let got = get(1, "k", now).expect("fresh copy");
        assert_eq!(got.body, "[1]");
        assert_eq!(got.content_type, "application/json");
        assert!(get(2, "k", now).is_none(), "another cache");
        assert!(get(1, "k2", now).is_none(), "another key");
        assert!(get(1, "k", later).is_none(), "expired at fresh_until");
        assert!(get(1, "k", now).is_none(), "an expired copy is dropped");
    }

    #[test]
    fn every_sixteenth_request_goes_to_the_shared_cache_and_keeps_the_copy() {
        let now = Instant::now();
        let later = now + Duration::from_secs(60);
        put(3, "k", &reply("[4]"), later);
        let first = get(3, "k", now).expect("copy").body.as_ptr();
        let answered: Vec<bool> = (2..=2 * SHARED_EVERY)
            .map(|_| get(3, "k", now).is_some())
            .collect();
        let passed: Vec<usize> = (2..=2 * SHARED_EVERY as usize)
            .zip(&answered)
            .filter(|(_, a)| !**a)
            .map(|(n, _)| n)
            .collect();
        assert_eq!(passed, [SHARED_EVERY as usize, 2 * SHARED_EVERY as usize]);
        // The shared cache's hit stores the same entry again: the copy is not made anew.
        put(3, "k", &reply("[4]"), later);
        assert_eq!(get(3, "k", now).expect("copy").body.as_ptr(), first);
    }

    #[test]
    fn a_copy_owns_its_bytes() {
        let now = Instant::now();
        let shared = Bytes::from(b"[2]".to_vec());
        let original = Reply {
            body: shared.clone(),
            content_type: "application/json",
        };
        put(1, "own", &original, now + Duration::from_secs(60));
        let got = get(1, "own", now).expect("copy");
        assert_eq!(got.body, shared);
        assert_ne!(got.body.as_ptr(), shared.as_ptr(), "not the shared buffer");
    }

    #[test]
    fn holds_at_most_entries_small_answers_and_the_newest_of_a_key() {
        let now = Instant::now();
        let later = now + Duration::from_secs(60);
        for i in 0..=ENTRIES {
            put(7, &format!("k{i}"), &reply("[]"), later);
        }
        assert!(get(7, "k0", now).is_none(), "the oldest made room");
        for i in 1..=ENTRIES {
            assert!(get(7, &format!("k{i}"), now).is_some(), "k{i}");
        }
        // A newer entry of a held key replaces its copy.
        put(7, "k1", &reply("[3]"), later + Duration::from_secs(1));
        assert_eq!(get(7, "k1", now).expect("replaced").body, "[3]");
        let big = Reply {
            body: Bytes::from(vec![b' '; MAX_BODY + 1]),
            content_type: "application/json",
        };
        put(7, "big", &big, later);
        assert!(get(7, "big", now).is_none(), "too large to copy");
        COPIES.with(|c| assert_eq!(c.borrow().len(), ENTRIES));
    }
}
