//! Holding or flooding the platform: a request is read whole within one deadline from its first
//! byte, however slowly it trickles (over TLS, as in a hall); a route may lift the deadline for an
//! authenticated large upload, and a streamed response is never cut; a TLS handshake that never
//! comes is dropped; one network address gets a limited rate of requests, whatever credential
//! it sends.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::{get, post};
use common::make_certs;
use hall_domain::api;
use hall_platform::serve::{Limits, RequestBodyDeadline};
use hall_platform::{ServerConfig, spawn};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn short_limits() -> Limits {
    Limits {
        header_read_timeout: Duration::from_secs(3),
        request_deadline: Duration::from_secs(4),
        handshake_timeout: Duration::from_secs(1),
        ..Limits::default()
    }
}

/// A TLS client that trusts the test CA in `ca`.
fn connector(ca: &std::path::Path) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// Sends `head` in two parts (the second after 1.5 s), then drips the body one byte a second
/// until the server closes; how long after the first byte it closed, and what it answered.
async fn drip<S>(stream: S, head: &str) -> (Duration, String)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let (first, rest) = head.split_at(head.find('\n').unwrap() + 1);
    let (first, rest) = (first.to_string(), rest.to_string());
    let started = Instant::now();
    let writer = tokio::spawn(async move {
        wr.write_all(first.as_bytes()).await?;
        wr.flush().await?;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        wr.write_all(rest.as_bytes()).await?;
        wr.flush().await?;
        for _ in 0..60 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            wr.write_all(b" ").await?;
            wr.flush().await?;
        }
        std::io::Result::Ok(())
    });
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), rd.read_to_end(&mut out)).await;
    writer.abort();
    assert!(
        read.is_ok(),
        "a dripped request was kept open: {}",
        String::from_utf8_lossy(&out)
    );
    (
        started.elapsed(),
        String::from_utf8_lossy(&out).into_owned(),
    )
}

/// A body dripped one byte a second (after headers that took 1.5 s) is answered and closed once
/// the request's deadline, counted from its first byte, has passed: not per chunk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dripped_body_is_closed_at_the_requests_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, files) = make_certs(dir.path());
    let mut config = ServerConfig::new(dir.path().join("p.sqlite"), "127.0.0.1:0".parse().unwrap());
    config.tls = Some(files);
    config.limits = short_limits();
    let server = spawn(config).await.unwrap();
    let credential = server.enrol_kiosk("K-DRIP", "测试大厅").await.unwrap();
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let tls = connector(&ca)
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: hall\r\nAuthorization: Bearer {credential}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{",
        api::CASES_BY_APPLICANT
    );
    let (took, answer) = drip(tls, &head).await;
    assert!(!answer.contains(" 200 "), "{answer}");
    assert!(
        took >= Duration::from_millis(3500),
        "closed before its deadline: {took:?}"
    );
    assert!(
        took <= Duration::from_millis(5500),
        "not closed at the deadline from its first byte (4 s): {took:?}"
    );
    server.shutdown().await;
}

/// A TLS handshake that never comes is dropped after the handshake timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_tls_handshake_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (_ca, files) = make_certs(dir.path());
    let mut config = ServerConfig::new(dir.path().join("p.sqlite"), "127.0.0.1:0".parse().unwrap());
    config.tls = Some(files);
    config.limits = short_limits();
    let server = spawn(config).await.unwrap();
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let started = Instant::now();
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(8), tcp.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "a silent handshake was kept");
    let took = started.elapsed();
    assert!(
        (Duration::from_millis(800)..Duration::from_millis(3000)).contains(&took),
        "dropped after {took:?}, the timeout being 1 s"
    );
    server.shutdown().await;
}

/// The opt-out: a route that has authenticated a large upload lifts its body's deadline and
/// takes its time; an ordinary route beside it keeps the deadline; a response streamed for
/// longer than the deadline arrives whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authenticated_upload_may_lift_the_deadline_and_responses_are_never_cut() {
    async fn upload(req: axum::extract::Request) -> Result<String, axum::http::StatusCode> {
        let authorised = req
            .headers()
            .get("authorization")
            .is_some_and(|v| v == "Bearer admin");
        if !authorised {
            return Err(axum::http::StatusCode::UNAUTHORIZED);
        }
        if let Some(d) = req.extensions().get::<RequestBodyDeadline>() {
            d.lift();
        }
        let body = axum::body::to_bytes(req.into_body(), 1 << 20).await;
        let body = body.map_err(|_| axum::http::StatusCode::BAD_REQUEST)?;
        Ok(format!("got {}", body.len()))
    }
    async fn ordinary(body: axum::body::Bytes) -> String {
        format!("got {}", body.len())
    }
    async fn stream() -> axum::body::Body {
        let chunks = futures_util::stream::unfold(0u32, |n| async move {
            if n == 12 {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            Some((
                Ok::<_, std::convert::Infallible>(axum::body::Bytes::from(format!("{n};"))),
                n + 1,
            ))
        });
        axum::body::Body::from_stream(chunks)
    }
    let app = Router::new()
        .route("/upload", post(upload))
        .route("/ordinary", post(ordinary))
        .route("/bundle", get(stream));
    let limits = Limits {
        header_read_timeout: Duration::from_secs(2),
        request_deadline: Duration::from_secs(3),
        ..Limits::default()
    };
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(hall_platform::serve::serve(tcp, None, app, limits, async {
        let _ = stopped.await;
    }));

    let head = |path: &str, auth: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: hall\r\nAuthorization: Bearer {auth}\r\n\
             Content-Length: 6\r\nConnection: close\r\n\r\n"
        )
    };
    // Six bytes a second apart: longer than the deadline.
    let slow_body = |path: &'static str, auth: &'static str| async move {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(head(path, auth).as_bytes()).await.unwrap();
        let (mut rd, mut wr) = s.into_split();
        let writer = tokio::spawn(async move {
            for _ in 0..6 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if wr.write_all(b"x").await.is_err() {
                    return;
                }
            }
            // Not half-closed: a client that shuts its side down is taken to have gone.
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(wr);
        });
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(15), rd.read_to_end(&mut out)).await;
        writer.abort();
        String::from_utf8_lossy(&out).into_owned()
    };
    let (lifted, ordinary, refused) = tokio::join!(
        slow_body("/upload", "admin"),
        slow_body("/ordinary", "admin"),
        slow_body("/upload", "nobody"),
    );
    assert!(
        lifted.contains(" 200 ") && lifted.ends_with("got 6"),
        "{lifted}"
    );
    assert!(
        !ordinary.contains(" 200 ") && !ordinary.contains("got"),
        "{ordinary}"
    );
    assert!(refused.contains(" 401 "), "{refused}");

    // Six seconds of a streamed answer, twice the deadline: whole.
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /bundle HTTP/1.1\r\nHost: hall\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(15), s.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("11;"), "the stream was cut: {text}");

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// Requests with forged credentials are refused, but not without bound: past the address's
/// rate, everything from that address answers 429 with Retry-After before any credential is
/// looked up (a real credential from the same address too), while another address is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_is_limited_whatever_credential_it_sends() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, files) = make_certs(dir.path());
    let mut config = ServerConfig::new(dir.path().join("p.sqlite"), "0.0.0.0:0".parse().unwrap());
    config.tls = Some(files);
    config.peer_rate = hall_platform::Rate {
        per_second: 1,
        burst: 5,
    };
    let server = spawn(config).await.unwrap();
    let credential = server.enrol_kiosk("K-RATE", "测试大厅").await.unwrap();
    let ca = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
    let client = |bind: &str| {
        reqwest::Client::builder()
            .add_root_certificate(ca.clone())
            .local_address(Some(bind.parse().unwrap()))
            .build()
            .unwrap()
    };
    let port = server.addr.port();
    let url = format!(
        "https://127.0.0.1:{port}{}",
        api::fee_notice_path(hall_platform::demo::PAYMENT_CODE)
    );
    let outsider = client("127.0.0.1");
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for n in 0..12 {
        let r = outsider
            .get(&url)
            .bearer_auth(format!("hkc_forged{n}"))
            .send()
            .await
            .unwrap();
        if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
            retry_after = r.headers().get("retry-after").cloned();
        }
        statuses.push(r.status().as_u16());
    }
    assert_eq!(&statuses[..5], &[401; 5], "{statuses:?}");
    assert!(statuses[6..].iter().all(|s| *s == 429), "{statuses:?}");
    assert!(retry_after.is_some(), "429 without Retry-After");
    // The same address with a real credential: still over the address's rate.
    let r = outsider
        .get(&url)
        .bearer_auth(&credential)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::TOO_MANY_REQUESTS);
    // Another address is not affected.
    let other = client("127.0.0.2");
    let r = other
        .get(&url)
        .bearer_auth(&credential)
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), reqwest::StatusCode::TOO_MANY_REQUESTS);
    assert_ne!(r.status(), reqwest::StatusCode::UNAUTHORIZED);
    server.shutdown().await;
}
