// SPDX-License-Identifier: BUSL-1.1
//! What the zone does at the level of HTTP connections rather than requests.
//!
//! Two things a client can see there, and which the router alone cannot fix:
//!
//! - **Refusals before the body is read.** A request refused early (401 from the auth layer,
//!   415, 404, 413, a bad path parameter) leaves its body unread. hyper then closes the
//!   connection after the answer without saying so, and a client that meanwhile reused the
//!   connection for its next request sees "connection closed without response".
//!   [`settle_request_body`] reads the rest of such a body when it is small (so the
//!   connection stays usable) and otherwise answers with `Connection: close` (so the client
//!   knows not to reuse it).
//! - **hyper's own answers.** A request line or header block hyper cannot accept (a URI over
//!   65,534 bytes, headers over its buffer, a malformed request line) is answered by hyper
//!   itself, before any of our code runs, with an empty body. [`ZoneListener`] wraps every
//!   accepted connection in [`JsonParseErrors`], which rewrites exactly those answers into
//!   the zone's one JSON error shape, so no input gets a non-JSON answer.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::CONNECTION;
use axum::middleware::Next;
use axum::response::Response;
use axum::serve::Listener;
use http_body::{Frame, SizeHint};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The largest unread request body [`settle_request_body`] reads to keep a connection open;
/// a larger (or unbounded, chunked) one gets `Connection: close` instead.
const DRAIN_LIMIT: u64 = 64 * 1024;

/// How long [`settle_request_body`] waits for the rest of a small unread body.
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Middleware, outermost: after the answer is made, settles a request body nobody read.
///
/// A body that was read to its end, or that was empty, needs nothing. A body left unread
/// with at most [`DRAIN_LIMIT`] bytes declared is read (within [`DRAIN_TIME`]) and dropped,
/// so hyper can keep the connection alive; anything else (larger, chunked, too slow, broken)
/// makes the answer carry `Connection: close`, which hyper honours by closing the connection
/// after it and which tells the client not to send another request on it.
pub async fn settle_request_body(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    if body.is_end_stream() {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let shared = Arc::new(Mutex::new(Tracked {
        body,
        finished: false,
    }));
    let body = Body::new(SharedBody(shared.clone()));
    let mut response = next.run(Request::from_parts(parts, body)).await;
    let leftover = {
        let mut tracked = lock(&shared);
        if tracked.finished || tracked.body.is_end_stream() {
            return response;
        }
        std::mem::replace(&mut tracked.body, Body::empty())
    };
    if !drain(leftover).await {
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Reads and drops the rest of a body; whether it ended within the bounds.
async fn drain(mut body: Body) -> bool {
    if body.size_hint().upper().is_none_or(|n| n > DRAIN_LIMIT) {
        return false;
    }
    let read_to_end = async {
        let mut seen: u64 = 0;
        loop {
            match poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
                None => return true,
                Some(Err(_)) => return false,
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        seen = seen.saturating_add(data.len() as u64);
                        if seen > DRAIN_LIMIT {
                            return false;
                        }
                    }
                }
            }
        }
    };
    tokio::time::timeout(DRAIN_TIME, read_to_end)
        .await
        .unwrap_or(false)
}

/// A request body and whether it has been read to its end.
struct Tracked {
    body: Body,
    finished: bool,
}

fn lock(shared: &Mutex<Tracked>) -> MutexGuard<'_, Tracked> {
    // The guarded data stays consistent across a panic elsewhere (a body and a flag), so a
    // poisoned lock is still usable.
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The body the inner service reads: the same body, held where [`settle_request_body`] can
/// still reach it after the inner service has dropped its handle.
struct SharedBody(Arc<Mutex<Tracked>>);

impl HttpBody for SharedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let mut tracked = lock(&self.0);
        let polled = Pin::new(&mut tracked.body).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            tracked.finished = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        let tracked = lock(&self.0);
        tracked.finished || tracked.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        lock(&self.0).body.size_hint()
    }
}

/// The TCP listener the zone serves on: axum's, with every connection wrapped in
/// [`JsonParseErrors`].
pub struct ZoneListener(TcpListener);

impl ZoneListener {
    pub fn new(listener: TcpListener) -> Self {
        Self(listener)
    }
}

impl Listener for ZoneListener {
    type Io = JsonParseErrors<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = Listener::accept(&mut self.0).await;
        (JsonParseErrors::new(stream), addr)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// The answers hyper writes by itself when it cannot parse a request (`Server::on_error` in
/// hyper's HTTP/1 code): status line, and the JSON error code and message that replace the
/// empty body. After one of them hyper closes the connection.
const AUTOMATIC_ANSWERS: [(&[u8], &str, &str); 3] = [
    (
        b"HTTP/1.1 400 Bad Request\r\n",
        "BAD_REQUEST",
        "the request is not well-formed HTTP/1.1",
    ),
    (
        b"HTTP/1.1 414 URI Too Long\r\n",
        "URI_TOO_LONG",
        "the request URI is longer than 65534 bytes",
    ),
    (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
        "HEADERS_TOO_LARGE",
        "the request's header section is too large",
    ),
];

/// A connection whose outgoing bytes are passed through unchanged, except hyper's automatic
/// error answers (see [`AUTOMATIC_ANSWERS`]), which get the zone's JSON error body.
///
/// Such an answer is recognised by its status line together with an empty body and no
/// content type: every answer the zone's own code makes is JSON with a content type, and a
/// JSON body never holds a raw line break, so no other bytes can look like one.
pub struct JsonParseErrors<T> {
    inner: T,
    /// The rewritten answer still to be written, and how much of it has been.
    pending: Vec<u8>,
    written: usize,
}

impl<T> JsonParseErrors<T> {
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            pending: Vec::new(),
            written: 0,
        }
    }
}

impl<T: AsyncWrite + Unpin> JsonParseErrors<T> {
    /// Writes out a rewritten answer, if one is waiting, before anything else.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n =
                ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

/// Where an automatic answer's head starts in `buf`, how long it is, and its rewrite.
fn find_automatic_answer(buf: &[u8]) -> Option<(usize, usize, Vec<u8>)> {
    let mut from = 0;
    while let Some(offset) = find(&buf[from..], b"HTTP/1.1 4") {
        let start = from + offset;
        for (status_line, code, message) in AUTOMATIC_ANSWERS {
            if !buf[start..].starts_with(status_line) {
                continue;
            }
            let headers_start = start + status_line.len();
            let Some(end) = find(&buf[headers_start..], b"\r\n\r\n") else {
                continue;
            };
            let headers: Vec<&[u8]> = buf[headers_start..headers_start + end + 2]
                .split(|&b| b == b'\n')
                .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
                .filter(|line| !line.is_empty())
                .collect();
            let empty = headers.iter().any(|line| {
                header_value(line, b"content-length").is_some_and(|value| value == b"0")
            });
            let typed = headers
                .iter()
                .any(|line| header_value(line, b"content-type").is_some());
            if !empty || typed {
                continue;
            }
            let body = json!({ "error": { "code": code, "message": message } }).to_string();
            let mut rewritten = status_line.to_vec();
            rewritten.extend_from_slice(b"content-type: application/json\r\n");
            rewritten.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
            for line in headers
                .iter()
                .filter(|line| header_value(line, b"content-length").is_none())
            {
                rewritten.extend_from_slice(line);
                rewritten.extend_from_slice(b"\r\n");
            }
            rewritten.extend_from_slice(b"\r\n");
            rewritten.extend_from_slice(body.as_bytes());
            let head_len = status_line.len() + end + 4;
            return Some((start, head_len, rewritten));
        }
        from = start + 1;
    }
    None
}

/// The value of a header line (`name: value`) if the line is header `name`.
fn header_value<'a>(line: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let (line_name, rest) = line.split_at_checked(name.len())?;
    let value = rest.strip_prefix(b":")?;
    line_name
        .eq_ignore_ascii_case(name)
        .then_some(value.trim_ascii())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

impl<T: AsyncRead + Unpin> AsyncRead for JsonParseErrors<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for JsonParseErrors<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        match find_automatic_answer(buf) {
            None => Pin::new(&mut self.inner).poll_write(cx, buf),
            // Whatever precedes the answer goes out first; the caller then offers the rest.
            Some((start, _, _)) if start > 0 => {
                Pin::new(&mut self.inner).poll_write(cx, &buf[..start])
            }
            Some((_, head_len, rewritten)) => {
                // The original head counts as written; its rewrite goes out before any
                // later byte, and at the latest on the next flush.
                self.pending = rewritten;
                self.written = 0;
                // A failure here is reported by the next write or flush, which retries it.
                let _ = self.poll_pending(cx);
                Poll::Ready(Ok(head_len))
            }
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if bufs.iter().any(|buf| find_automatic_answer(buf).is_some()) {
            // Rare (only just before hyper closes a connection): one slice at a time, through
            // the rewriting path.
            let first = bufs.iter().find(|buf| !buf.is_empty());
            return match first {
                Some(buf) => self.poll_write(cx, buf),
                None => Poll::Ready(Ok(0)),
            };
        }
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypers_empty_414_becomes_the_json_error() {
        let head = b"HTTP/1.1 414 URI Too Long\r\nconnection: close\r\ncontent-length: 0\r\n\
                     date: Sun, 29 Nov 2026 19:03:18 GMT\r\n\r\n";
        let mut buf = b"tail of an earlier answer".to_vec();
        buf.extend_from_slice(head);
        let (start, len, rewritten) = find_automatic_answer(&buf).expect("recognised");
        assert_eq!((start, len), (25, head.len()));
        let text = String::from_utf8(rewritten).expect("text");
        let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\n"));
        assert!(head.contains("\r\ncontent-type: application/json"));
        assert!(head.contains("\r\nconnection: close"));
        assert!(head.contains("\r\ndate: Sun, 29 Nov 2026 19:03:18 GMT"));
        assert!(head.contains(&format!("\r\ncontent-length: {}", body.len())));
        let body: serde_json::Value = serde_json::from_str(body).expect("JSON");
        assert_eq!(body["error"]["code"], "URI_TOO_LONG");
    }

    #[test]
    fn the_zones_own_answers_pass_unchanged() {
        for buf in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n{\"error\":{}}",
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\n",
        ] {
            assert!(find_automatic_answer(buf).is_none(), "{buf:?}");
        }
    }
}
