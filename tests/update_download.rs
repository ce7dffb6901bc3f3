//! The updater's download against a real HTTP server on loopback, serving a bundle with `Range`
//! as the platform does (`GET /api/v1/fleet/releases/{release}/bundle`, 206 + Content-Range):
//! cut off half-way then resumed, the result's SHA-256 right; a server ignoring the range (200)
//! starts it again; a wrong digest is refused and the part deleted.

use std::sync::{Arc, Mutex};

use hall_client::FleetClient;
use hall_domain::api::{UpdateOffer, release_bundle_path};
use hall_kiosk::update::download::{self, DownloadError};
use hall_kiosk::update::state::Files;
use sha2::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How the test server answers.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Honour `Range` (206), but send only half of what it announces, then hang up.
    CutHalfWay,
    /// Honour `Range` (206) in full.
    Full,
    /// Ignore `Range`: the whole bundle, 200.
    IgnoreRange,
}

/// The `Range` header of each request, and whether it carried the credential.
type Seen = Arc<Mutex<Vec<(Option<String>, bool)>>>;

struct Server {
    base: String,
    mode: Arc<Mutex<Mode>>,
    seen: Seen,
}

async fn serve(body: Vec<u8>) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mode = Arc::new(Mutex::new(Mode::CutHalfWay));
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let (m, sn) = (mode.clone(), seen.clone());
    let body = Arc::new(body);
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let (m, sn, body) = (m.clone(), sn.clone(), body.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).to_string();
                let header = |name: &str| {
                    head.lines().find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                    })
                };
                let range = header("range");
                let authorised = header("authorization").as_deref() == Some("Bearer hkc_test");
                sn.lock().unwrap().push((range.clone(), authorised));
                let mode = *m.lock().unwrap();
                let total = body.len();
                let start = range
                    .as_deref()
                    .and_then(|r| r.strip_prefix("bytes="))
                    .and_then(|r| r.strip_suffix('-'))
                    .and_then(|r| r.parse::<usize>().ok())
                    .filter(|_| mode != Mode::IgnoreRange)
                    .unwrap_or(0);
                let rest = &body[start..];
                let head = if range.is_some() && mode != Mode::IgnoreRange {
                    format!(
                        "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {start}-{}/{total}\r\nConnection: close\r\n\r\n",
                        rest.len(),
                        total - 1
                    )
                } else {
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {total}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n"
                    )
                };
                let _ = sock.write_all(head.as_bytes()).await;
                let send = if mode == Mode::CutHalfWay {
                    &rest[..rest.len() / 2]
                } else {
                    rest
                };
                let _ = sock.write_all(send).await;
                let _ = sock.flush().await;
                // Hanging up here, before Content-Length bytes, is a broken transfer.
            });
        }
    });
    Server { base, mode, seen }
}

fn bundle() -> Vec<u8> {
    (0..300_000u32)
        .flat_map(|i| (i.wrapping_mul(2_654_435_761)).to_le_bytes())
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn offer(body: &[u8], sha256: String) -> UpdateOffer {
    UpdateOffer {
        release: "1.5.0+20261210.def5678".into(),
        rollout: "r1".into(),
        compatible: "hall-kiosk-x86".into(),
        bundle_path: release_bundle_path("1.5.0+20261210.def5678"),
        size: body.len() as u64,
        sha256,
        root_sha256: "cd".repeat(32),
    }
}

/// Fast enough for a test: 100 MB/s.
const RATE: u64 = 100_000_000;

#[tokio::test]
async fn interrupted_then_resumed_with_range_and_checked() {
    let body = bundle();
    let server = serve(body.clone()).await;
    let client = FleetClient::new(&server.base, "hkc_test").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = Files::new(dir.path());
    let offer = offer(&body, hex(&body));

    let mut progress = Vec::new();
    let e = download::download(&client, &offer, &files, RATE, |n| progress.push(n))
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e}");
    let part = download::partial_len(&files, &offer.release);
    assert!(part > 0 && part < body.len() as u64, "{part}");
    assert_eq!(progress.last(), Some(&part));

    *server.mode.lock().unwrap() = Mode::Full;
    let path = download::download(&client, &offer, &files, RATE, |_| {})
        .await
        .unwrap();
    assert_eq!(path, files.bundle(&offer.release));
    assert_eq!(std::fs::read(&path).unwrap(), body);
    assert!(!files.partial(&offer.release).exists());
    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].0, None, "the first request asks for everything");
    assert_eq!(
        seen[1].0,
        Some(format!("bytes={part}-")),
        "the second resumes"
    );
    assert!(
        seen.iter().all(|(_, auth)| *auth),
        "the kiosk's credential goes with each"
    );
    // Complete: nothing more is fetched.
    download::download(&client, &offer, &files, RATE, |_| {})
        .await
        .unwrap();
    assert_eq!(server.seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_server_ignoring_the_range_starts_it_again() {
    let body = bundle();
    let server = serve(body.clone()).await;
    let client = FleetClient::new(&server.base, "hkc_test").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = Files::new(dir.path());
    let offer = offer(&body, hex(&body));
    assert!(
        download::download(&client, &offer, &files, RATE, |_| {})
            .await
            .is_err()
    );
    *server.mode.lock().unwrap() = Mode::IgnoreRange;
    let path = download::download(&client, &offer, &files, RATE, |_| {})
        .await
        .unwrap();
    assert_eq!(hex(&std::fs::read(path).unwrap()), offer.sha256);
}

#[tokio::test]
async fn a_wrong_digest_is_refused_and_the_part_deleted() {
    let body = bundle();
    let server = serve(body.clone()).await;
    *server.mode.lock().unwrap() = Mode::Full;
    let client = FleetClient::new(&server.base, "hkc_test").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = Files::new(dir.path());
    let offer = offer(&body, "00".repeat(32));
    let e = download::download(&client, &offer, &files, RATE, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(e, DownloadError::Digest { .. }), "{e}");
    assert!(!e.is_transient());
    assert!(!files.partial(&offer.release).exists());
    assert!(!files.bundle(&offer.release).exists());
}

#[tokio::test]
async fn the_rate_is_capped() {
    let body = vec![7u8; 200_000];
    let server = serve(body.clone()).await;
    *server.mode.lock().unwrap() = Mode::Full;
    let client = FleetClient::new(&server.base, "hkc_test").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = Files::new(dir.path());
    let offer = offer(&body, hex(&body));
    let t0 = std::time::Instant::now();
    // 100 kB/s with a one-second burst: 200 kB take about one second more.
    download::download(&client, &offer, &files, 100_000, |_| {})
        .await
        .unwrap();
    let secs = t0.elapsed().as_secs_f64();
    assert!(secs >= 0.8, "{secs}");
}

#[tokio::test]
async fn an_absurd_size_is_refused_for_room_and_nothing_is_fetched() {
    let body = bundle();
    let server = serve(body.clone()).await;
    let client = FleetClient::new(&server.base, "hkc_test").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = Files::new(dir.path());
    let mut offer = offer(&body, hex(&body));
    offer.size = u64::MAX;
    let e = download::download(&client, &offer, &files, RATE, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(e, DownloadError::Disk(_)), "{e}");
    assert!(server.seen.lock().unwrap().is_empty(), "nothing asked for");
    assert!(!files.partial(&offer.release).exists());
}
