//! The connection loop: plain TCP on loopback or TLS, at most [`Limits::max_connections`] open at
//! once (beyond that the kernel's backlog waits, nobody is refused), each connection served by
//! hyper's HTTP/1.1 with a header-read timeout, and every request read whole, from its first byte
//! to the end of its body, within one deadline (`crate::deadline`; a route may lift it for an
//! authenticated large upload, responses are never cut); a stop lets requests in flight finish
//! (at most [`DRAIN`]).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;

use crate::deadline::{Began, BodyDeadline, Counted, DeadlineBody};
pub use crate::deadline::{BodyDeadline as RequestBodyDeadline, BodyTimedOut};
use crate::tls::HANDSHAKE_TIMEOUT;

/// How long requests in flight may take to finish once the server is told to stop.
pub const DRAIN: Duration = Duration::from_secs(10);

/// What one client may hold of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Open connections at most; the next waits in the kernel's backlog.
    pub max_connections: usize,
    /// A request's headers must arrive within this, or the connection is closed (also the
    /// longest a kept-alive connection may sit idle between requests).
    pub header_read_timeout: Duration,
    /// A request must be read whole, headers and body, within this from its first byte (then:
    /// 400, the connection closed), however slowly it trickles. A route may lift it for an
    /// authenticated large upload ([`RequestBodyDeadline`]).
    pub request_deadline: Duration,
    /// A TLS handshake must finish within this, or the connection is dropped.
    pub handshake_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(20),
            request_deadline: Duration::from_secs(30),
            handshake_timeout: HANDSHAKE_TIMEOUT,
        }
    }
}

/// Accepts on `tcp` (shaking hands first when `tls` is given) and serves `app` until `stop`
/// completes.
pub async fn serve(
    tcp: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    limits: Limits,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    match tls {
        Some(acceptor) => {
            let (tx, rx) = mpsc::channel(64);
            tokio::spawn(accept_tls(
                tcp,
                acceptor,
                limits.handshake_timeout,
                slots,
                tx,
            ));
            run(rx, app, limits, stop).await
        }
        None => {
            let (tx, rx) = mpsc::channel(64);
            tokio::spawn(accept_plain(tcp, slots, tx));
            run(rx, app, limits, stop).await
        }
    }
}

type Ready<Io> = (Io, SocketAddr, OwnedSemaphorePermit);

async fn next_slot(slots: &Arc<Semaphore>) -> Option<OwnedSemaphorePermit> {
    slots.clone().acquire_owned().await.ok()
}

async fn accept(tcp: &TcpListener) -> (TcpStream, SocketAddr) {
    loop {
        match tcp.accept().await {
            Ok(c) => return c,
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn accept_plain(tcp: TcpListener, slots: Arc<Semaphore>, tx: mpsc::Sender<Ready<TcpStream>>) {
    loop {
        let Some(permit) = next_slot(&slots).await else {
            return;
        };
        let (stream, peer) = tokio::select! {
            c = accept(&tcp) => c,
            () = tx.closed() => return,
        };
        if tx.send((stream, peer, permit)).await.is_err() {
            return;
        }
    }
}

/// Handshakes run in tasks of their own, each bounded by [`Limits::handshake_timeout`], so that a
/// client that connects and says nothing holds up nobody else; plain HTTP fails its handshake.
async fn accept_tls(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshake_timeout: Duration,
    slots: Arc<Semaphore>,
    tx: mpsc::Sender<Ready<tokio_rustls::server::TlsStream<TcpStream>>>,
) {
    loop {
        let Some(permit) = next_slot(&slots).await else {
            return;
        };
        let (stream, peer) = tokio::select! {
            c = accept(&tcp) => c,
            () = tx.closed() => return,
        };
        let (acceptor, tx) = (acceptor.clone(), tx.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = tx.send((tls, peer, permit)).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

async fn run<Io>(
    mut ready: mpsc::Receiver<Ready<Io>>,
    app: Router,
    limits: Limits,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let (io, peer, permit) = tokio::select! {
            c = ready.recv() => match c {
                Some(c) => c,
                None => break,
            },
            () = &mut stop => break,
        };
        let began = Began::default();
        let service = TowerToHyperService::new(deadlined(app.clone(), began.clone(), peer, limits));
        let io = Counted::new(io, began);
        let conn = graceful.watch(http.serve_connection(TokioIo::new(io), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    // No new connections; those open finish what they are doing.
    drop(ready);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN) => {
            tracing::warn!("requests still running when the platform stopped");
        }
    }
    Ok(())
}

/// The app behind one connection: each request's body bounded by the request's deadline, counted
/// from its first byte on the connection.
fn deadlined(
    app: Router,
    began: Began,
    peer: SocketAddr,
    limits: Limits,
) -> impl tower_service::Service<
    hyper::Request<hyper::body::Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<axum::response::Response, std::convert::Infallible>> + Send,
> + Clone {
    let total = limits.request_deadline.min(MAX_REQUEST_DEADLINE);
    tower::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let mut app = app.clone();
        let began = began.clone();
        async move {
            let start = began.get().unwrap_or_else(tokio::time::Instant::now);
            let deadline = BodyDeadline::at(start + total);
            let (mut parts, body) = req.into_parts();
            parts.extensions.insert(deadline.clone());
            parts.extensions.insert(axum::extract::ConnectInfo(peer));
            let body = axum::body::Body::new(DeadlineBody::new(body, deadline));
            let answer =
                tower_service::Service::call(&mut app, hyper::Request::from_parts(parts, body))
                    .await;
            // Answered: the next byte on the connection begins the next request.
            began.clear();
            answer
        }
    })
}

/// The longest [`Limits::request_deadline`] honoured: an unfinished request is closed within 30 s.
pub const MAX_REQUEST_DEADLINE: Duration = Duration::from_secs(30);
