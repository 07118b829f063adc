//! Large fixed answers sent with `sendfile(2)` on plain TCP instead of copied per request.
//!
//! widgets.json is the same tens of kilobytes for every request of a config version. [`share`]
//! keeps such bytes twice: as the `Bytes` hyper is given, and in an in-memory file (memfd).
//! hyper writes a response as a list of slices; [`SendfileStream`] recognises a slice that lies
//! inside shared bytes and sends it from the file with `sendfile`, so the kernel hands the
//! file's pages to the socket instead of copying the bytes out of the process for each answer.
//! The head before it goes out with `MSG_MORE`, so head and body still leave in full segments.
//! Everything else (small answers, TLS, HTTP/2 frames) is written as usual.

use std::collections::BTreeMap;
use std::io::{self, IoSlice, Write};
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use rustix::fs::MemfdFlags;
use rustix::net::{SendAncillaryBuffer, SendFlags};
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

/// Below this, a copy costs less than the bookkeeping.
pub const MIN_SHARED_BYTES: usize = 16 * 1024;

/// A shared answer's file, by the address of its first byte in memory.
static REGIONS: RwLock<BTreeMap<usize, Region>> = RwLock::new(BTreeMap::new());
/// How many regions exist: writes skip the lookup while there are none.
static COUNT: AtomicUsize = AtomicUsize::new(0);

struct Region {
    len: usize,
    file: Arc<OwnedFd>,
}

/// The owner of shared bytes: unregisters them when the last `Bytes` pointing at them drops.
struct Shared {
    data: Vec<u8>,
    _file: Arc<OwnedFd>,
}

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let mut regions = REGIONS.write().unwrap_or_else(|p| p.into_inner());
        if regions.remove(&(self.data.as_ptr() as usize)).is_some() {
            COUNT.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// `data` as `Bytes` that [`SendfileStream`] sends without copying; the plain bytes when they
/// are small or no memfd can be made (the answer is the same either way).
pub fn share(data: Vec<u8>) -> Bytes {
    if data.len() < MIN_SHARED_BYTES {
        return Bytes::from(data);
    }
    match file_of(&data) {
        Ok(file) => {
            let file = Arc::new(file);
            let start = data.as_ptr() as usize;
            let region = Region {
                len: data.len(),
                file: file.clone(),
            };
            // The Vec's heap buffer does not move when the Vec does, so `start` stays true.
            let bytes = Bytes::from_owner(Shared { data, _file: file });
            REGIONS
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(start, region);
            COUNT.fetch_add(1, Ordering::Relaxed);
            bytes
        }
        Err(e) => {
            tracing::debug!(error = %e, "no memfd; large answers are copied");
            Bytes::from(data)
        }
    }
}

fn file_of(data: &[u8]) -> io::Result<OwnedFd> {
    let fd = rustix::fs::memfd_create("widgetgate-answer", MemfdFlags::CLOEXEC)?;
    let mut file = std::fs::File::from(fd);
    file.write_all(data)?;
    Ok(file.into())
}

/// Where `slice` lies in a shared answer: its file and the offset there.
fn locate(slice: &[u8]) -> Option<(Arc<OwnedFd>, u64)> {
    let addr = slice.as_ptr() as usize;
    let regions = REGIONS.read().unwrap_or_else(|p| p.into_inner());
    let (start, region) = regions.range(..=addr).next_back()?;
    (addr + slice.len() <= start + region.len).then(|| (region.file.clone(), (addr - start) as u64))
}

/// A TCP connection whose vectored writes send shared answers with `sendfile`.
pub struct SendfileStream {
    inner: TcpStream,
}

impl SendfileStream {
    /// Wraps an accepted connection.
    pub fn new(inner: TcpStream) -> Self {
        SendfileStream { inner }
    }

    /// Runs the non-blocking `op` on the socket once it is writable.
    fn poll_io(
        &self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&TcpStream) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.inner.poll_write_ready(cx))?;
            match self.inner.try_io(Interest::WRITABLE, || op(&self.inner)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                done => return Poll::Ready(done),
            }
        }
    }
}

impl AsyncRead for SendfileStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for SendfileStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // Only a slice of shared size is looked up: small answers (most of them) take no lock,
        // and the short rest of a shared answer after a partial write is copied.
        let found = if COUNT.load(Ordering::Relaxed) == 0 {
            None
        } else {
            bufs.iter()
                .enumerate()
                .filter(|(_, b)| b.len() >= MIN_SHARED_BYTES)
                .find_map(|(i, b)| locate(b).map(|at| (i, at)))
        };
        let Some((i, (file, offset))) = found else {
            return Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        };
        let body_len = bufs[i].len();
        let head = &bufs[..i];
        let head_len: usize = head.iter().map(|b| b.len()).sum();
        if head_len > 0 {
            let sent = ready!(self.poll_io(cx, |s| {
                rustix::net::sendmsg(
                    s,
                    head,
                    &mut SendAncillaryBuffer::default(),
                    SendFlags::MORE | SendFlags::NOSIGNAL,
                )
                .map_err(io::Error::from)
            }))?;
            if sent < head_len {
                return Poll::Ready(Ok(sent));
            }
            // The body goes now if the socket takes it, else on the next call.
            let mut at = offset;
            return match self.inner.try_io(Interest::WRITABLE, || {
                rustix::fs::sendfile(&self.inner, &*file, Some(&mut at), body_len)
                    .map_err(io::Error::from)
            }) {
                Ok(n) => Poll::Ready(Ok(head_len + n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Poll::Ready(Ok(head_len)),
                Err(e) => Poll::Ready(Err(e)),
            };
        }
        self.poll_io(cx, |s| {
            let mut at = offset;
            rustix::fs::sendfile(s, &*file, Some(&mut at), body_len).map_err(io::Error::from)
        })
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_inside_shared_bytes_are_located_until_the_bytes_drop() {
        let data: Vec<u8> = (0..MIN_SHARED_BYTES * 2).map(|i| (i % 251) as u8).collect();
        let bytes = share(data);
        let (_, offset) = locate(&bytes[100..200]).expect("inside");
        assert_eq!(offset, 100);
        assert!(locate(&bytes[..]).is_some());
        let outside = vec![0u8; 10];
        assert!(locate(&outside).is_none());
        let clone = bytes.slice(5..);
        drop(bytes);
        assert!(locate(&clone).is_some(), "a clone keeps the region");
        let addr = clone.as_ptr() as usize;
        drop(clone);
        assert!(
            !REGIONS.read().expect("lock").contains_key(&(addr - 5)),
            "unregistered with the last reference"
        );
    }

    #[test]
    fn small_answers_are_plain_bytes() {
        let bytes = share(b"{}".to_vec());
        assert!(locate(&bytes).is_none());
    }
}
