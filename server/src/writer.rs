//! The body of a stream. Every byte a stream writes goes through a [`BodyWriter`], which applies
//! the adversarial chunkings that `?chunking=bytes|crlf|utf8` and `?bom=1` ask for (so that
//! client parsers can be tested against splits a real network produces only rarely). Without
//! them a frame is one body chunk, exactly as before.

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::sync::mpsc;

/// Pause between the two halves of a split frame (`crlf`, `utf8`, the BOM), long enough for the
/// halves to reach the client as separate reads, even when a busy machine slows the
/// browser down (5 ms was not, with the CPU saturated).
pub const SPLIT_PAUSE: Duration = Duration::from_millis(20);

/// The UTF-8 byte order mark.
pub const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// How a stream cuts its body into HTTP body frames (chunks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunking {
    /// One byte per body frame.
    Bytes,
    /// Line endings written as `\r\n`; each event frame split between the `\r` and the `\n` of
    /// its first line.
    Crlf,
    /// Each event frame split after the first byte of its first multi-byte UTF-8 character
    /// (in the middle of the frame when it has none).
    Utf8,
}

impl Chunking {
    /// Parses the `chunking` query value.
    pub fn parse(s: &str) -> Option<Chunking> {
        match s {
            "bytes" => Some(Chunking::Bytes),
            "crlf" => Some(Chunking::Crlf),
            "utf8" => Some(Chunking::Utf8),
            _ => None,
        }
    }
}

/// Something a stream writes.
#[derive(Debug, Clone)]
pub enum Frame {
    /// The UTF-8 BOM, written as two body frames (`EF`, then `BB BF`).
    Bom,
    /// The `retry:` line (server framing, not counted as an event).
    Retry(Bytes),
    /// One or more events built by this server's framing (`\n` line endings only).
    Event(Bytes),
    /// Bytes injected verbatim (`raw`, `raw_base64`): split like events, never rewritten.
    Raw(Bytes),
    /// An injected frame written slowly (`trickle_secs`): [`TRICKLE_PIECES`] equal pieces spread
    /// over `over`, whatever the chunking. The stream writes nothing else meanwhile, heartbeats
    /// included, as when one large event crosses a slow link.
    Trickle {
        /// The frame's bytes.
        bytes: Bytes,
        /// From the first piece to the last.
        over: Duration,
    },
}

/// The number of pieces a [`Frame::Trickle`] is written in.
pub const TRICKLE_PIECES: usize = 10;

impl Frame {
    /// `true` for what `events_sent` counts.
    pub fn is_event(&self) -> bool {
        matches!(
            self,
            Frame::Event(_) | Frame::Raw(_) | Frame::Trickle { .. }
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pause {
    None,
    Yield,
    Sleep,
    /// Wait this long before the piece; becomes `Until` when the wait starts, so that a flush
    /// cancelled and restarted (the stream's `select!` does) does not start it over.
    For(Duration),
    Until(tokio::time::Instant),
}

/// One queued body frame (or, `bytewise`, a run of one-byte frames).
#[derive(Debug)]
struct Piece {
    bytes: Bytes,
    pause: Pause,
    bytewise: bool,
}

/// Feeds a stream's body channel, applying the chunking. [`BodyWriter::flush`] is
/// cancellation-safe: a flush interrupted by `select!` resumes where it stopped.
#[derive(Debug)]
pub struct BodyWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    chunking: Option<Chunking>,
    queue: VecDeque<Piece>,
}

impl BodyWriter {
    /// A writer feeding `tx`.
    pub fn new(tx: mpsc::Sender<io::Result<Bytes>>, chunking: Option<Chunking>) -> Self {
        BodyWriter {
            tx,
            chunking,
            queue: VecDeque::new(),
        }
    }

    /// The body channel (to watch for the client going away, or to abort the body).
    pub fn tx(&self) -> &mpsc::Sender<io::Result<Bytes>> {
        &self.tx
    }

    /// Queues `frame`, cut as the chunking asks; [`BodyWriter::flush`] writes it.
    pub fn push(&mut self, frame: Frame) {
        let (bytes, framed) = match frame {
            Frame::Bom => {
                self.piece(Bytes::from_static(&BOM[..1]), Pause::None, false);
                self.piece(Bytes::from_static(&BOM[1..]), Pause::Sleep, false);
                return;
            }
            Frame::Retry(b) | Frame::Event(b) => (b, true),
            Frame::Raw(b) => (b, false),
            Frame::Trickle { bytes, over } => {
                let size = bytes.len().div_ceil(TRICKLE_PIECES).max(1);
                let gap = over / (TRICKLE_PIECES as u32 - 1);
                let mut rest = bytes;
                let mut pause = Pause::None;
                while !rest.is_empty() {
                    let piece = rest.split_to(size.min(rest.len()));
                    self.piece(piece, pause, false);
                    pause = Pause::For(gap);
                }
                return;
            }
        };
        match self.chunking {
            None => self.piece(bytes, Pause::None, false),
            Some(Chunking::Bytes) => self.piece(bytes, Pause::Yield, true),
            Some(Chunking::Crlf) => {
                let bytes = if framed { to_crlf(&bytes) } else { bytes };
                let at = bytes
                    .windows(2)
                    .position(|w| w == b"\r\n")
                    .map_or(bytes.len() / 2, |i| i + 1);
                self.split(bytes, at);
            }
            Some(Chunking::Utf8) => {
                let at = bytes
                    .iter()
                    .position(|b| *b >= 0xC0)
                    .map_or(bytes.len() / 2, |i| i + 1);
                self.split(bytes, at);
            }
        }
    }

    fn split(&mut self, bytes: Bytes, at: usize) {
        let mut first = bytes;
        let second = first.split_off(at.min(first.len()));
        self.piece(first, Pause::None, false);
        self.piece(second, Pause::Sleep, false);
    }

    fn piece(&mut self, bytes: Bytes, pause: Pause, bytewise: bool) {
        if !bytes.is_empty() {
            self.queue.push_back(Piece {
                bytes,
                pause,
                bytewise,
            });
        }
    }

    /// Writes everything queued; `false` if the client went away.
    pub async fn flush(&mut self) -> bool {
        while let Some(piece) = self.queue.front_mut() {
            match piece.pause {
                Pause::None => {}
                Pause::Yield => tokio::task::yield_now().await,
                Pause::Sleep => tokio::time::sleep(SPLIT_PAUSE).await,
                Pause::For(d) => {
                    let until = tokio::time::Instant::now() + d;
                    piece.pause = Pause::Until(until);
                    tokio::time::sleep_until(until).await;
                }
                Pause::Until(until) => tokio::time::sleep_until(until).await,
            }
            piece.pause = Pause::None;
            let chunk = if piece.bytewise {
                piece.bytes.slice(..1)
            } else {
                piece.bytes.clone()
            };
            if self.tx.send(Ok(chunk)).await.is_err() {
                return false;
            }
            // Only now, with no await in between, is the piece consumed: cancellation-safe.
            if piece.bytewise && piece.bytes.len() > 1 {
                piece.bytes.advance(1);
                piece.pause = Pause::Yield;
            } else {
                self.queue.pop_front();
            }
        }
        true
    }
}

/// `\n` → `\r\n` (the server's own framing never contains `\r`).
fn to_crlf(bytes: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 16 + 4);
    for &b in bytes {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn chunks(chunking: Option<Chunking>, frames: Vec<Frame>) -> Vec<Vec<u8>> {
        let (tx, mut rx) = mpsc::channel(1024);
        let mut w = BodyWriter::new(tx, chunking);
        for f in frames {
            w.push(f);
        }
        assert!(w.flush().await);
        drop(w);
        let mut out = Vec::new();
        while let Some(Ok(c)) = rx.recv().await {
            out.push(c.to_vec());
        }
        out
    }

    #[tokio::test]
    async fn plain_writes_one_chunk_per_frame() {
        let got = chunks(None, vec![Frame::Event(Bytes::from_static(b"data: x\n\n"))]).await;
        assert_eq!(got, vec![b"data: x\n\n".to_vec()]);
    }

    #[tokio::test]
    async fn bytes_writes_one_byte_per_chunk() {
        let got = chunks(
            Some(Chunking::Bytes),
            vec![Frame::Event(Bytes::from_static(b"data: x\n\n"))],
        )
        .await;
        assert_eq!(got.len(), 9);
        assert!(got.iter().all(|c| c.len() == 1));
    }

    #[tokio::test]
    async fn crlf_rewrites_and_splits_inside_the_first_line_ending() {
        let got = chunks(
            Some(Chunking::Crlf),
            vec![
                Frame::Event(Bytes::from_static(b"event: a\ndata: x\n\n")),
                Frame::Raw(Bytes::from_static(b"data: y\n\n")),
            ],
        )
        .await;
        assert_eq!(
            got,
            vec![
                b"event: a\r".to_vec(),
                b"\ndata: x\r\n\r\n".to_vec(),
                b"data".to_vec(),
                b": y\n\n".to_vec()
            ]
        );
    }

    #[tokio::test]
    async fn utf8_splits_inside_the_first_multibyte_character() {
        let got = chunks(
            Some(Chunking::Utf8),
            vec![
                Frame::Event(Bytes::from("data: é\n\n")),
                Frame::Event(Bytes::from_static(b"data: ab\n\n")),
            ],
        )
        .await;
        assert_eq!(
            got,
            vec![
                b"data: \xC3".to_vec(),
                b"\xA9\n\n".to_vec(),
                b"data:".to_vec(),
                b" ab\n\n".to_vec()
            ]
        );
    }

    #[tokio::test]
    async fn bom_is_two_chunks() {
        let got = chunks(Some(Chunking::Bytes), vec![Frame::Bom]).await;
        assert_eq!(got, vec![vec![0xEF], vec![0xBB, 0xBF]]);
    }
}
