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
//! A copy is found by the cache it came from and the key, and only while its entry's
//! `fresh_until` has not passed and the shared cache still holds that entry (the cache marks
//! an entry it drops or replaces as retired, see [`crate::cache::Entry`]); expired,
//! stale-if-error and missed answers always go to the shared cache, and the answer of a miss
//! replaces the thread's copy of the key. A reload that changes the cache's settings makes a new
//! cache, whose id no copy carries. At most [`ENTRIES`] answers of at most [`MAX_BODY`] bytes
//! are kept per thread (and their keys).

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::Bytes;

use crate::cache::Entry;
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
    /// The shared entry: its lifetime, and whether the shared cache still holds it.
    entry: Arc<Entry>,
    /// The entry's answer, in bytes of this thread's own.
    reply: Reply,
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
        if held.entry.fresh_until <= now || held.entry.retired.load(Ordering::Acquire) {
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

/// Keeps a copy of `entry`, the answer for `key` of cache `cache`, with this thread (replacing
/// its copy of another entry of the key, or the oldest copy when it holds [`ENTRIES`]); a copy
/// of the same entry is kept as it is.
pub fn put(cache: u64, key: &str, entry: &Arc<Entry>) {
    if entry.reply.body.len() > MAX_BODY {
        return;
    }
    COPIES.with(|copies| {
        let mut copies = copies.borrow_mut();
        if let Some(at) = copies
            .iter()
            .position(|c| c.cache == cache && *c.key == *key)
        {
            if Arc::ptr_eq(&copies[at].entry, entry) {
                return;
            }
            copies.remove(at);
        } else if copies.len() >= ENTRIES {
            copies.remove(0);
        }
        copies.push(Held {
            cache,
            key: key.into(),
            entry: entry.clone(),
            reply: Reply {
                body: Bytes::copy_from_slice(&entry.reply.body),
                content_type: entry.reply.content_type,
            },
            hits: 0,
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    fn entry(text: &'static str, fresh_until: Instant) -> Arc<Entry> {
        Arc::new(Entry {
            reply: Reply {
                body: Bytes::from_static(text.as_bytes()),
                content_type: "application/json",
            },
            fresh_until,
            stale_until: fresh_until,
            retired: AtomicBool::new(false),
        })
    }

    #[test]
    fn a_copy_answers_while_fresh_and_only_for_its_cache_and_key() {
        let now = Instant::now();
        let later = now + Duration::from_secs(60);
        put(1, "k", &entry("[1]", later));
        let got = get(1, "k", now).expect("fresh copy");
        assert_eq!(got.body, "[1]");
        assert_eq!(got.content_type, "application/json");
        assert!(get(2, "k", now).is_none(), "another cache");
        assert!(get(1, "k2", now).is_none(), "another key");
        assert!(get(1, "k", later).is_none(), "expired at fresh_until");
        assert!(get(1, "k", now).is_none(), "an expired copy is dropped");
    }

    #[test]
    fn a_copy_ends_when_the_shared_cache_retires_its_entry() {
        let now = Instant::now();
        let shared = entry("[5]", now + Duration::from_secs(60));
        put(1, "k", &shared);
        assert!(get(1, "k", now).is_some());
        shared.retired.store(true, Ordering::Release);
        assert!(
            get(1, "k", now).is_none(),
            "evicted or replaced in the shared cache"
        );
    }

    #[test]
    fn every_sixteenth_request_goes_to_the_shared_cache_and_keeps_the_copy() {
        let now = Instant::now();
        let shared = entry("[4]", now + Duration::from_secs(60));
        put(3, "k", &shared);
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
        // The shared cache's hit gives the same entry again: the copy is not made anew.
        put(3, "k", &shared);
        assert_eq!(get(3, "k", now).expect("copy").body.as_ptr(), first);
    }

    #[test]
    fn a_copy_owns_its_bytes() {
        let now = Instant::now();
        let shared = entry("[2]", now + Duration::from_secs(60));
        put(1, "own", &shared);
        let got = get(1, "own", now).expect("copy");
        assert_eq!(got.body, shared.reply.body);
        assert_ne!(
            got.body.as_ptr(),
            shared.reply.body.as_ptr(),
            "not the shared buffer"
        );
    }

    #[test]
    fn holds_at_most_entries_small_answers_and_the_newest_entry_of_a_key() {
        let now = Instant::now();
        let later = now + Duration::from_secs(60);
        for i in 0..=ENTRIES {
            put(7, &format!("k{i}"), &entry("[]", later));
        }
        assert!(get(7, "k0", now).is_none(), "the oldest made room");
        for i in 1..=ENTRIES {
            assert!(get(7, &format!("k{i}"), now).is_some(), "k{i}");
        }
        // Another entry of a held key (a miss's answer) replaces its copy, same lifetime or not.
        put(7, "k1", &entry("[3]", later));
        assert_eq!(get(7, "k1", now).expect("replaced").body, "[3]");
        let big = Arc::new(Entry {
            reply: Reply {
                body: Bytes::from(vec![b' '; MAX_BODY + 1]),
                content_type: "application/json",
            },
            fresh_until: later,
            stale_until: later,
            retired: AtomicBool::new(false),
        });
        put(7, "big", &big);
        assert!(get(7, "big", now).is_none(), "too large to copy");
        COPIES.with(|c| assert_eq!(c.borrow().len(), ENTRIES));
    }
}
