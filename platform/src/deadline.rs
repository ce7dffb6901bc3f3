//! One deadline per request, from its first byte to its whole body read ([`Limits::request_deadline`],
//! 30 s at most). A connection notes when the first byte of a request arrives ([`Counted`]); the
//! request's body then fails once that time plus the deadline has passed, however it trickles in
//! (a body timer that restarts with every chunk would let a byte a second hold the connection
//! forever). A failed body answers 400 and the connection is closed.
//!
//! Responses are never cut: only the request body is bounded.
//!
//! **Opting out, for authenticated large uploads.** Every request carries a [`BodyDeadline`] in its
//! extensions. A handler that takes a large body (a release bundle from an authenticated admin)
//! authenticates first, from the headers, and then lifts the deadline
//! ([`BodyDeadline::lift`]) or sets a longer one of its own ([`BodyDeadline::extend`]) before it
//! reads the body. Nothing else ever lifts it, so an unauthenticated client never gets more than
//! the deadline.
//!
//! [`Limits::request_deadline`]: crate::serve::Limits::request_deadline

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// When the request being read on a connection began (its first byte), if one has.
#[derive(Clone, Default)]
pub(crate) struct Began(Arc<Mutex<Option<Instant>>>);

impl Began {
    fn mark(&self) {
        if let Ok(mut b) = self.0.lock()
            && b.is_none()
        {
            *b = Some(Instant::now());
        }
    }
    pub(crate) fn get(&self) -> Option<Instant> {
        self.0.lock().ok().and_then(|b| *b)
    }
    /// The request was answered: the next byte begins the next request.
    pub(crate) fn clear(&self) {
        if let Ok(mut b) = self.0.lock() {
            *b = None;
        }
    }
}

/// A connection's stream that notes when a request's first byte arrives (after TLS: the first
/// byte of HTTP).
pub(crate) struct Counted<Io> {
    io: Io,
    began: Began,
}

impl<Io> Counted<Io> {
    pub(crate) fn new(io: Io, began: Began) -> Self {
        Counted { io, began }
    }
}

impl<Io: AsyncRead + Unpin> AsyncRead for Counted<Io> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.io).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.began.mark();
        }
        r
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for Counted<Io> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// The deadline of one request's body, in the request's extensions: a handler may lift or
/// extend it once it has authenticated a large upload (see the module's documentation).
#[derive(Clone, Debug)]
pub struct BodyDeadline(Arc<Mutex<Option<Instant>>>);

impl BodyDeadline {
    pub(crate) fn at(at: Instant) -> Self {
        BodyDeadline(Arc::new(Mutex::new(Some(at))))
    }
    /// No deadline for this request's body any more: only for a handler that has authenticated
    /// the request and bounds the upload itself.
    pub fn lift(&self) {
        if let Ok(mut d) = self.0.lock() {
            *d = None;
        }
    }
    /// The body must now be read within `within` from now (longer or shorter than before).
    pub fn extend(&self, within: Duration) {
        if let Ok(mut d) = self.0.lock() {
            *d = Some(Instant::now() + within);
        }
    }
    /// The deadline now in force, if any.
    pub fn current(&self) -> Option<Instant> {
        // A poisoned lock keeps the deadline (nothing lifted it): the request's start.
        match self.0.lock() {
            Ok(d) => *d,
            Err(p) => *p.into_inner(),
        }
    }
}

/// Why a request body ended early.
#[derive(Debug, thiserror::Error)]
#[error("the request was not read within its deadline")]
pub struct BodyTimedOut;

/// A request body that fails once its [`BodyDeadline`] has passed.
pub(crate) struct DeadlineBody<B> {
    inner: B,
    deadline: BodyDeadline,
    sleep: Pin<Box<Sleep>>,
}

impl<B> DeadlineBody<B> {
    pub(crate) fn new(inner: B, deadline: BodyDeadline) -> Self {
        let first = deadline.current().unwrap_or_else(Instant::now);
        DeadlineBody {
            inner,
            deadline,
            sleep: Box::pin(tokio::time::sleep_until(first)),
        }
    }
}

impl<B> Body for DeadlineBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let at = this.deadline.current();
        if at.is_some_and(|at| Instant::now() >= at) {
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut))));
        }
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|r| r.map_err(Into::into)));
        }
        let Some(at) = at else {
            return Poll::Pending;
        };
        if this.sleep.deadline() != at {
            this.sleep.as_mut().reset(at);
        }
        match this.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimedOut)))),
            Poll::Pending => Poll::Pending,
        }
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
