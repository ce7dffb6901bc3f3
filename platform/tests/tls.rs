//! HTTPS: the platform with a certificate from a private CA answers a client that trusts that
//! CA, refuses a client that does not and plain HTTP on the same port, is not held up by a
//! client that never finishes its handshake, and `serve` will not listen beyond loopback
//! without TLS.

mod common;

use std::process::Command;
use std::time::Duration;

use common::make_certs;
use hall_domain::api;
use hall_platform::{ServerConfig, spawn};

#[tokio::test]
async fn https_with_a_private_ca_and_nothing_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, files) = make_certs(dir.path());
    let mut config =
        ServerConfig::new(dir.path().join("p.sqlite3"), "127.0.0.1:0".parse().unwrap());
    config.tls = Some(files);
    let server = spawn(config).await.unwrap();
    assert!(server.tls);
    let port = server.addr.port();
    let health = format!("https://127.0.0.1:{port}{}", api::HEALTH);

    // A client that trusts the hall's CA, and only it.
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&ca).unwrap()).unwrap();
    let trusting = reqwest::Client::builder()
        .tls_certs_only([ca])
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    // A client that connects and never says a word holds up nobody.
    let _silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();

    let resp = trusting.get(&health).send().await.unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::OK);

    // Without the CA: the certificate is refused (verification is never turned off).
    let stranger = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let err = stranger.get(&health).send().await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");

    // Plain HTTP on the same port gets no answer.
    let plain = stranger
        .get(format!("http://127.0.0.1:{port}{}", api::HEALTH))
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");

    server.shutdown().await;
}

#[tokio::test]
async fn a_missing_or_bad_key_stops_start_up_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut files) = make_certs(dir.path());
    files.key = dir.path().join("ca.pem");
    let mut config =
        ServerConfig::new(dir.path().join("p.sqlite3"), "127.0.0.1:0".parse().unwrap());
    config.tls = Some(files);
    let err = spawn(config).await.err().expect("refused");
    assert!(err.to_string().contains("TLS key"), "{err}");
}

#[test]
fn serve_refuses_to_listen_beyond_loopback_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hall-platform"))
        .args(["serve", "--listen", "0.0.0.0:0", "--db"])
        .arg(format!(
            "sqlite://{}",
            dir.path().join("p.sqlite3").display()
        ))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--tls-cert"), "{err}");
    assert!(
        !dir.path().join("p.sqlite3").exists(),
        "refused before anything was made"
    );
}

/// kioskctl trusts the hall's private CA when told to, and refuses clear text beyond loopback.
#[tokio::test]
async fn kioskctl_over_https_with_the_halls_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, files) = make_certs(dir.path());
    let mut config =
        ServerConfig::new(dir.path().join("p.sqlite3"), "127.0.0.1:0".parse().unwrap());
    config.tls = Some(files);
    let server = spawn(config).await.unwrap();
    let url = format!("https://127.0.0.1:{}", server.addr.port());
    let kioskctl = |args: Vec<String>| async move {
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_kioskctl"))
                .args(&args)
                .env_remove("KIOSKCTL_CA_FILE")
                .env_remove("KIOSKCTL_PLATFORM")
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    };
    let base = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["--platform", &url, "--token", "hft_not_a_token"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v.push("list".into());
        v
    };
    // With the CA the connection is made: the platform itself refuses the made-up token.
    let out = kioskctl(base(&["--ca-file", ca.to_str().unwrap()])).await;
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success());
    assert!(
        err.contains("401") || err.to_lowercase().contains("not authori"),
        "{err}"
    );
    // Without it the certificate is not trusted.
    let out = kioskctl(base(&[])).await;
    let err2 = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success());
    assert!(!err2.contains("401"), "{err2}");
    // Clear text beyond loopback is refused before any request.
    let out = kioskctl(vec![
        "--platform".into(),
        "http://10.255.255.1:8780".into(),
        "--token".into(),
        "x".into(),
        "list".into(),
    ])
    .await;
    let err3 = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success());
    assert!(err3.contains("https://"), "{err3}");
    server.shutdown().await;
}
