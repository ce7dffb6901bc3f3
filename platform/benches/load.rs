//! Load bench of the platform on loopback: throughput and p50/p99 latency of case lookups and of
//! submissions, on SQLite and on PostgreSQL, beside pgbench's select-only and simple-update runs
//! on the same PostgreSQL, all at the same number of concurrent clients.
//!
//! `cargo bench -p hall-platform --bench load`. Bounded in requests and in time per phase:
//! `HALL_BENCH_CLIENTS` (64), `HALL_BENCH_LOOKUPS` (40000), `HALL_BENCH_SUBMISSIONS` (6000),
//! `HALL_BENCH_SECONDS` (10, per phase), `HALL_BENCH_ONLY` (`sqlite` or `postgres`). PostgreSQL: `HALL_TEST_POSTGRES`, or a cluster started
//! with `platform/scripts/test-postgres`. Every request goes to 127.0.0.1, over TLS with a private
//! CA as in a hall (`HALL_BENCH_TLS=0`: in clear); the cost of a TLS handshake is measured apart,
//! beside a kiosk that keeps its connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[path = "../tests/common/certs.rs"]
mod certs;
mod support;

use support::{admin, postgres_url, with_db};

use hall_domain::api;
use hall_platform::{DbUrl, ServerConfig, demo, spawn};
use serde_json::{Value, json};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Phase {
    name: String,
    ok: usize,
    errors: usize,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.seconds
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

/// Runs `clients` loops of `one` until `total` requests were made or `limit` passed.
async fn drive<F, Fut>(name: String, clients: usize, total: usize, limit: Duration, one: F) -> Phase
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let one = Arc::new(one);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + limit;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (one, next) = (Arc::clone(&one), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total || Instant::now() >= deadline {
                    break;
                }
                let t = Instant::now();
                if one(n).await {
                    lat.push(t.elapsed().as_micros() as u64);
                } else {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await.expect("client task");
        all.extend(lat);
        errors += e;
    }
    let seconds = start.elapsed().as_secs_f64();
    all.sort_unstable();
    Phase {
        name,
        ok: all.len(),
        errors,
        seconds,
        p50_ms: percentile(&all, 0.50),
        p99_ms: percentile(&all, 0.99),
    }
}

fn application(n: usize) -> Value {
    json!({
        "item_id": "engineering-planning-permit",
        "applicant": {
            "name": demo::APPLICANT_NAME,
            "id_number": demo::APPLICANT_ID,
            "phone": demo::APPLICANT_PHONE
        },
        "organization": { "name": "", "credit_code": demo::CREDIT_CODE },
        "project": { "code": demo::PROJECT_CODE, "name": "" },
        "materials": [
            { "material_id": "application-form", "status": "provided", "pages": 1 + n % 5 },
            { "material_id": "land-rights", "status": "committed", "pages": 0 },
            { "material_id": "engineering-drawings", "status": "provided", "pages": 14 },
            { "material_id": "civil-defence-plan", "status": "tolerated", "pages": 0 }
        ],
        "identified_by": "typed"
    })
}

/// TLS as a hall has it: the server's certificate and the private CA the kiosks trust.
struct Tls {
    ca: reqwest::Certificate,
    files: hall_platform::tls::TlsFiles,
}

fn tls(dir: &std::path::Path) -> Option<Tls> {
    if std::env::var("HALL_BENCH_TLS").is_ok_and(|v| v == "0") {
        return None;
    }
    let (ca, files) = certs::make_certs(dir);
    let pem = std::fs::read(ca).expect("the CA certificate");
    Some(Tls {
        ca: reqwest::Certificate::from_pem(&pem).expect("a PEM certificate"),
        files,
    })
}

fn client(tls: Option<&Tls>) -> reqwest::ClientBuilder {
    let b = reqwest::Client::builder();
    match tls {
        Some(t) => b.tls_certs_only([t.ca.clone()]),
        None => b,
    }
}

/// A kiosk's request on a connection it keeps, beside the same request on a new connection
/// each time (TCP and, with TLS, the handshake): medians over `n` sequential requests.
async fn handshake(base: &str, tls: Option<&Tls>, n: usize) -> (f64, f64) {
    let url = format!("{base}{}", api::HEALTH);
    let median = |mut v: Vec<u64>| {
        v.sort_unstable();
        percentile(&v, 0.5)
    };
    let kept = client(tls).build().expect("client");
    let mut warm = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        if kept.get(&url).send().await.is_ok_and(|r| r.status() == 200) {
            warm.push(t.elapsed().as_micros() as u64);
        }
    }
    let mut cold = Vec::new();
    for _ in 0..n {
        let fresh = client(tls)
            .pool_max_idle_per_host(0)
            .build()
            .expect("client");
        let t = Instant::now();
        if fresh
            .get(&url)
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            cold.push(t.elapsed().as_micros() as u64);
        }
    }
    (median(warm), median(cold))
}

async fn bench_backend(
    label: &str,
    url: DbUrl,
    clients: usize,
    tls: Option<&Tls>,
) -> (Vec<Phase>, (f64, f64)) {
    let mut config = ServerConfig::with_database(url, "127.0.0.1:0".parse().expect("addr"));
    config.demo = true;
    config.tls = tls.map(|t| t.files.clone());
    // The clients stand for a whole hall's kiosks at once: no per-kiosk rate in the way.
    config.kiosk_rate = hall_platform::Rate {
        per_second: 1_000_000,
        burst: 1_000_000,
    };
    config.peer_rate = hall_platform::Rate {
        per_second: 100_000,
        burst: 100_000,
    };
    let server = spawn(config).await.expect("the platform starts");
    let base = match tls {
        Some(_) => format!("https://localhost:{}", server.addr.port()),
        None => format!("http://{}", server.addr),
    };
    // Eight enrolled kiosks share the clients; every request carries one's credential.
    let mut kiosks = Vec::new();
    for k in 0..8 {
        let credential = server
            .enrol_kiosk(&format!("K{k:02}"), "压力测试大厅")
            .await
            .expect("a kiosk enrols");
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {credential}").parse().expect("header"),
        );
        kiosks.push(
            client(tls)
                .pool_max_idle_per_host(clients)
                .default_headers(headers)
                .build()
                .expect("client"),
        );
    }
    let kiosks = Arc::new(kiosks);
    let limit = Duration::from_secs(env_usize("HALL_BENCH_SECONDS", 10) as u64);

    let submissions = env_usize("HALL_BENCH_SUBMISSIONS", 6000);
    let run = uuid::Uuid::new_v4().simple().to_string();
    let codes = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (h, b, c2, r) = (
        Arc::clone(&kiosks),
        base.clone(),
        Arc::clone(&codes),
        run.clone(),
    );
    let submit = drive(
        format!("{label}: submissions"),
        clients,
        submissions,
        limit,
        move |n| {
            let (h, b, c2, r) = (
                h[n % h.len()].clone(),
                b.clone(),
                Arc::clone(&c2),
                r.clone(),
            );
            async move {
                let resp = h
                    .post(format!("{b}{}", api::APPLICATIONS))
                    .header(api::IDEMPOTENCY_HEADER, format!("bench-{r}-{n}"))
                    .json(&application(n))
                    .send()
                    .await;
                match resp {
                    Ok(resp) if resp.status() == 201 => {
                        let v: Value = resp.json().await.unwrap_or(Value::Null);
                        if let (Some(code), Ok(mut c)) = (v["approval_code"].as_str(), c2.lock()) {
                            c.push(code.to_string());
                        }
                        true
                    }
                    _ => false,
                }
            }
        },
    )
    .await;

    let mut known: Vec<String> = codes.lock().map(|c| c.clone()).unwrap_or_default();
    known.extend(
        [
            demo::CASE_LATE,
            demo::CASE_APPROVED,
            demo::CASE_CORRECTIONS,
            demo::CASE_UNPAID,
        ]
        .map(String::from),
    );
    let known = Arc::new(known);
    let lookups = env_usize("HALL_BENCH_LOOKUPS", 40000);
    let (h, b) = (Arc::clone(&kiosks), base.clone());
    let lookup = drive(
        format!("{label}: case lookups"),
        clients,
        lookups,
        limit,
        move |n| {
            let (h, b, k) = (h[n % h.len()].clone(), b.clone(), Arc::clone(&known));
            async move {
                let code = &k[(n * 7919) % k.len()];
                match h.get(format!("{b}{}", api::case_path(code))).send().await {
                    Ok(resp) if resp.status() == 200 => resp.bytes().await.is_ok(),
                    _ => false,
                }
            }
        },
    )
    .await;
    let connections = handshake(&base, tls, 200).await;
    server.shutdown().await;
    (vec![lookup, submit], connections)
}

/// pgbench on the same server: tps and mean latency.
fn pgbench(url: &str, mode: &str, clients: usize, seconds: u64) -> Option<(f64, f64)> {
    let out = std::process::Command::new("pgbench")
        .args([
            mode,
            "-c",
            &clients.to_string(),
            "-j",
            "2",
            "-T",
            &seconds.to_string(),
            "-n",
            url,
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let tps = text
        .lines()
        .find(|l| l.starts_with("tps ="))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|v| v.parse().ok())?;
    let lat = text
        .lines()
        .find(|l| l.starts_with("latency average"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    Some((tps, lat))
}

fn main() {
    let clients = env_usize("HALL_BENCH_CLIENTS", 64);
    let seconds = env_usize("HALL_BENCH_SECONDS", 10) as u64;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut phases = Vec::new();

    // HALL_BENCH_ONLY=sqlite or postgres measures one backend.
    let only = std::env::var("HALL_BENCH_ONLY").unwrap_or_default();
    let dir = tempfile::tempdir().expect("temp dir");
    let tls = tls(dir.path());
    let mut connections = Vec::new();
    if only != "postgres" {
        let sqlite = DbUrl::Sqlite(dir.path().join("bench.sqlite3"));
        let (p, c) = rt.block_on(bench_backend("SQLite", sqlite, clients, tls.as_ref()));
        phases.extend(p);
        connections.push(("SQLite", c));
    }

    let mut pg_rows = Vec::new();
    match postgres_url().filter(|_| only != "sqlite") {
        Some(admin_url) => {
            let db = format!("hall_bench_{}", uuid::Uuid::new_v4().simple());
            let pb = format!("hall_pgbench_{}", uuid::Uuid::new_v4().simple());
            admin(&admin_url, &format!("CREATE DATABASE {db}"));
            admin(&admin_url, &format!("CREATE DATABASE {pb}"));
            let url = DbUrl::Postgres(with_db(&admin_url, &db));
            let (p, c) = rt.block_on(bench_backend("PostgreSQL", url, clients, tls.as_ref()));
            phases.extend(p);
            connections.push(("PostgreSQL", c));
            let pb_url = with_db(&admin_url, &pb);
            let init = std::process::Command::new("pgbench")
                .args(["-i", "-s", "10", "-q", &pb_url])
                .output();
            if init.is_ok_and(|o| o.status.success()) {
                for (mode, name) in [("-S", "select-only"), ("-N", "simple-update")] {
                    if let Some(r) = pgbench(&pb_url, mode, clients, seconds) {
                        pg_rows.push((name, r));
                    }
                }
            } else {
                eprintln!("pgbench -i failed; is pgbench installed?");
            }
            admin(&admin_url, &format!("DROP DATABASE {db}"));
            admin(&admin_url, &format!("DROP DATABASE {pb}"));
        }
        None => eprintln!("PostgreSQL not available: only SQLite was measured"),
    }

    println!();
    println!(
        "hall-platform load bench: {clients} concurrent clients, loopback, {}, at most {seconds} s per phase",
        if tls.is_some() {
            "TLS (rustls, P-256, private CA)"
        } else {
            "in clear"
        }
    );
    println!();
    println!(
        "| {:<28} | {:>8} | {:>6} | {:>10} | {:>8} | {:>8} |",
        "phase", "requests", "errors", "per second", "p50 ms", "p99 ms"
    );
    println!(
        "|{:-<30}|{:->10}|{:->8}|{:->12}|{:->10}|{:->10}|",
        "", "", "", "", "", ""
    );
    for p in &phases {
        println!(
            "| {:<28} | {:>8} | {:>6} | {:>10.0} | {:>8.2} | {:>8.2} |",
            p.name,
            p.ok,
            p.errors,
            p.rate(),
            p.p50_ms,
            p.p99_ms
        );
    }
    for (name, (tps, lat)) in &pg_rows {
        println!(
            "| {:<28} | {:>8} | {:>6} | {:>10.0} | {:>8} | {:>8} |",
            format!("pgbench {name}"),
            "",
            "",
            tps,
            format!("{lat:.2} avg"),
            ""
        );
    }
    println!();
    for (label, (kept, fresh)) in &connections {
        println!(
            "{label}: one request on a kept connection {kept:.2} ms, on a new connection {fresh:.2} ms \
             (median of 200): a {} costs {:.2} ms, paid once by a kiosk that keeps its connection",
            if tls.is_some() {
                "TLS handshake"
            } else {
                "TCP connection"
            },
            fresh - kept
        );
    }
    let rate = |n: &str| phases.iter().find(|p| p.name == n).map(Phase::rate);
    let pg = |n: &str| pg_rows.iter().find(|(x, _)| *x == n).map(|(_, r)| r.0);
    if let (Some(l), Some(s)) = (rate("PostgreSQL: case lookups"), pg("select-only")) {
        println!();
        println!(
            "PostgreSQL lookups: {:.0}% of pgbench select-only",
            100.0 * l / s
        );
    }
    if let (Some(l), Some(s)) = (rate("PostgreSQL: submissions"), pg("simple-update")) {
        println!(
            "PostgreSQL submissions: {:.0}% of pgbench simple-update",
            100.0 * l / s
        );
    }
}
