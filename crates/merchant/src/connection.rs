//! One accepted connection. Its first request head is read here, into a small buffer; an event
//! stream request (`GET /checkout/sessions/{id}/events`) is then answered here, without hyper,
//! and anything else is handed to hyper together with the bytes already read.
//!
//! Why: tens of thousands of streams stay open at once, and hyper's HTTP/1 connection keeps an
//! 8 KiB read buffer and an 8 KiB buffer for response heads for as long as it lives (neither
//! configurable lower) — more than everything else an idle stream holds. A stream answered
//! here holds its socket and its response body only.
//!
//! The answer is the router's own — the same handler, middleware (CORS, request id, security
//! headers, tracing), status codes and SSE body with its heartbeat — only written to the socket
//! here: the head as HTTP/1.1, the stream chunked, then the connection is closed (`connection:
//! close`), so no second request is ever read here. A stream ends, as under hyper, when its
//! body ends (final status, expiry, shutdown) or when the client hangs up.
//!
//! Must not: take over a request it cannot answer exactly as hyper would (a body, an upgrade,
//! HTTP/1.0, pipelined bytes, an unreadable head: all go to hyper), or hold the first head's
//! buffer while a stream waits.

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode, header};
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// The first read's room: a browser's event stream request is well under it.
const HEAD_START: usize = 1024;
/// A first head larger than this goes to hyper, which has the limits and answers for it.
const HEAD_MOST: usize = 8 * 1024;
/// The most headers a request read here may have (more: hyper's).
const MOST_HEADERS: usize = 48;
/// As hyper's `header_read_timeout` in `serve`.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// A non-streaming answer to an events request is a small JSON error, or nothing.
const MOST_BODY: usize = 64 * 1024;

/// Serves `socket` from `peer`: reads its first request head, answers an event stream request
/// itself, and hands everything else to `hyper` (called with the socket, replaying what was
/// read). `stopping` turns true at shutdown: a connection still sending its head is dropped.
pub async fn serve<H, F>(
    mut socket: TcpStream,
    peer: SocketAddr,
    router: axum::Router,
    mut stopping: tokio::sync::watch::Receiver<bool>,
    hyper: H,
) where
    H: FnOnce(Replay) -> F,
    F: std::future::Future<Output = ()>,
{
    let head = tokio::select! {
        head = tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut socket)) => head,
        _ = stopping.wait_for(|stopping| *stopping) => return,
    };
    let head = match head {
        Ok(Ok(Some(head))) => head,
        // Hung up, failed, or too slow to send a head: nothing to answer.
        Ok(Ok(None) | Err(_)) | Err(_) => return,
    };
    match stream_request(&head, peer) {
        Some(request) => {
            drop(head);
            answer(socket, router, request).await;
        }
        None => {
            hyper(Replay {
                read: Bytes::from(head),
                socket,
            })
            .await
        }
    }
}

/// The connection's bytes up to the end of its first request head (or more, if they came in
/// the same read); everything once it holds [`HEAD_MOST`] bytes without one. `None` if the
/// client hung up first.
async fn read_head(socket: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut head = Vec::with_capacity(HEAD_START);
    loop {
        if head.len() == head.capacity() {
            if head.len() >= HEAD_MOST {
                return Ok(Some(head));
            }
            head.reserve(head.len());
        }
        if socket.read_buf(&mut head).await? == 0 {
            return Ok(None);
        }
        let mut headers = [httparse::EMPTY_HEADER; MOST_HEADERS];
        match httparse::Request::new(&mut headers).parse(&head) {
            Ok(httparse::Status::Partial) => {}
            // Complete, or something hyper should answer (400, 431…).
            Ok(httparse::Status::Complete(_)) | Err(_) => return Ok(Some(head)),
        }
    }
}

/// `head` as a request to answer here: an event stream request, alone in `head`, that hyper
/// would read the same way. `None` for anything else.
fn stream_request(head: &[u8], peer: SocketAddr) -> Option<Request<Body>> {
    let mut headers = [httparse::EMPTY_HEADER; MOST_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(length) = parsed.parse(head).ok()? else {
        return None;
    };
    if length != head.len() || parsed.method? != "GET" || parsed.version? != 1 {
        return None;
    }
    let target = parsed.path?;
    if !is_events_path(target.split_once('?').map_or(target, |(path, _)| path)) {
        return None;
    }
    let mut map = HeaderMap::with_capacity(parsed.headers.len());
    for h in parsed.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes()).ok()?;
        let value = HeaderValue::from_bytes(h.value).ok()?;
        map.append(name, value);
    }
    let plain = [
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::CONNECTION,
        header::UPGRADE,
        header::EXPECT,
    ]
    .iter()
    .all(|name| !map.contains_key(name));
    if !plain || !map.contains_key(header::HOST) {
        return None;
    }
    let mut request = Request::get(target).body(Body::empty()).ok()?;
    *request.headers_mut() = map;
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(peer));
    Some(request)
}

/// `/checkout/sessions/{id}/events`, as the router matches it.
fn is_events_path(path: &str) -> bool {
    path.strip_prefix("/checkout/sessions/")
        .and_then(|rest| rest.strip_suffix("/events"))
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// The router's answer to `request`, written to `socket`; the connection closes after it.
async fn answer(mut socket: TcpStream, mut router: axum::Router, request: Request<Body>) {
    // Boxed: the router's future is large, and it lives only until the answer's head is known.
    let Ok(response) = Box::pin(tower_service::Service::call(&mut router, request)).await;
    drop(router);
    let (parts, body) = response.into_parts();
    let streaming = parts
        .headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"));
    let no_body = parts.status == StatusCode::NO_CONTENT
        || parts.status == StatusCode::NOT_MODIFIED
        || parts.status.is_informational();
    if streaming && !no_body {
        let head = head(&parts, Framing::Chunked);
        if socket.write_all(&head).await.is_ok() {
            drop(head);
            stream(&mut socket, body).await;
        }
    } else {
        let bytes = if no_body {
            Bytes::new()
        } else {
            match axum::body::to_bytes(body, MOST_BODY).await {
                Ok(bytes) => bytes,
                Err(error) => {
                    tracing::warn!(%error, "an events answer's body was not read");
                    return;
                }
            }
        };
        let framing = if no_body {
            Framing::None
        } else {
            Framing::Length(bytes.len())
        };
        let mut out = head(&parts, framing);
        out.extend_from_slice(&bytes);
        let _ = socket.write_all(&out).await;
    }
    let _ = socket.shutdown().await;
}

enum Framing {
    None,
    Length(usize),
    Chunked,
}

/// The response head as hyper writes it (lower-case names, a `date`), saying that the
/// connection closes after this answer.
fn head(parts: &axum::http::response::Parts, framing: Framing) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(parts.status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(
        parts
            .status
            .canonical_reason()
            .unwrap_or("Unknown")
            .as_bytes(),
    );
    out.extend_from_slice(b"\r\n");
    for (name, value) in &parts.headers {
        if name == header::CONTENT_LENGTH
            || name == header::TRANSFER_ENCODING
            || name == header::CONNECTION
        {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !parts.headers.contains_key(header::DATE) {
        out.extend_from_slice(b"date: ");
        out.extend_from_slice(http_date().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"connection: close\r\n");
    match framing {
        Framing::None => {}
        Framing::Length(n) => out.extend_from_slice(format!("content-length: {n}\r\n").as_bytes()),
        Framing::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Writes `body` chunked until it ends (then the last chunk) or the client hangs up.
async fn stream(socket: &mut TcpStream, body: Body) {
    let (mut reader, mut writer) = socket.split();
    let mut frames = body.into_data_stream();
    loop {
        // A client that sends more (it should not) is read and ignored; one that hangs up ends
        // the stream at once rather than at the next heartbeat.
        let mut ignored = [0u8; 64];
        let frame = tokio::select! {
            frame = frames.next() => frame,
            read = reader.read(&mut ignored) => match read {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            },
        };
        match frame {
            Some(Ok(data)) if data.is_empty() => {}
            Some(Ok(data)) => {
                let mut chunk = Vec::with_capacity(data.len() + 12);
                chunk.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
                chunk.extend_from_slice(&data);
                chunk.extend_from_slice(b"\r\n");
                if writer.write_all(&chunk).await.is_err() {
                    return;
                }
            }
            Some(Err(error)) => {
                // Ended without the last chunk: the client sees a broken stream and
                // reconnects, as when hyper meets a body error.
                tracing::debug!(%error, "event stream body failed");
                return;
            }
            None => {
                let _ = writer.write_all(b"0\r\n\r\n").await;
                return;
            }
        }
    }
}

/// Now as an HTTP date (`Tue, 01 Dec 2026 16:00:00 GMT`).
fn http_date() -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::now_utc()
        .format(FORMAT)
        .unwrap_or_default()
}

/// A connection handed to hyper: the bytes already read, then the socket.
#[derive(Debug)]
pub struct Replay {
    read: Bytes,
    socket: TcpStream,
}

impl AsyncRead for Replay {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.read.is_empty() {
            let n = self.read.len().min(buf.remaining());
            let replayed = self.read.split_to(n);
            buf.put_slice(&replayed);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.socket).poll_read(cx, buf)
    }
}

impl AsyncWrite for Replay {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.socket).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.socket).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.socket.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.socket).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.socket).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_event_stream_path_is_answered_without_hyper() {
        assert!(is_events_path("/checkout/sessions/cs_123/events"));
        for other in [
            "/checkout/sessions//events",
            "/checkout/sessions/cs_1/status",
            "/checkout/sessions/a/b/events",
            "/checkout/sessions/events",
            "/v1/checkouts",
        ] {
            assert!(!is_events_path(other), "{other}");
        }
    }

    fn peer() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 4000))
    }

    #[test]
    fn a_plain_event_stream_request_is_taken_with_its_headers_and_query() {
        let head = b"GET /checkout/sessions/cs_1/events?token=t HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 2\r\n\r\n";
        let request = stream_request(head, peer()).expect("taken");
        assert_eq!(request.uri(), "/checkout/sessions/cs_1/events?token=t");
        assert_eq!(request.headers()["last-event-id"], "2");
    }

    #[test]
    fn requests_hyper_must_read_are_left_to_it() {
        for head in [
            // A body, an upgrade, a close, HTTP/1.0, no Host, another method, pipelined bytes.
            &b"GET /checkout/sessions/cs_1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab"[..],
            b"GET /checkout/sessions/cs_1/events HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\n\r\n",
            b"GET /checkout/sessions/cs_1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            b"GET /checkout/sessions/cs_1/events HTTP/1.0\r\nHost: x\r\n\r\n",
            b"GET /checkout/sessions/cs_1/events HTTP/1.1\r\n\r\n",
            b"POST /checkout/sessions/cs_1/events HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /checkout/sessions/cs_1/events HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n",
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        ] {
            assert!(
                stream_request(head, peer()).is_none(),
                "{}",
                String::from_utf8_lossy(head)
            );
        }
    }

    #[test]
    fn an_http_date_reads_as_one() {
        let date = http_date();
        assert!(date.ends_with(" GMT") && date.len() == 29, "{date}");
    }
}
