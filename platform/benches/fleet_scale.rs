//! A province's fleet against two platform instances on one PostgreSQL: `HALL_FLEET_KIOSKS`
//! (1000) simulated kiosks, half on each instance, heart-beating every 30 s and long-polling for
//! commands, a console watching instance A. Prints the database's transactions per second while
//! the fleet idles, the delay from a help call (made to B) to the console on A showing it, and
//! from a console click (on A) to the answer of the kiosk's poll (waiting on B).
//!
//! `cargo bench -p hall-platform --bench fleet_scale`; PostgreSQL: `HALL_TEST_POSTGRES` or a cluster
//! started with `platform/scripts/test-postgres`. `HALL_FLEET_IDLE_SECS` (30): how long the idle
//! load is measured.

mod support;

use std::time::{Duration, Instant};

use hall_domain::api;
use hall_platform::console_rules::ConsoleRole;
use hall_platform::{DbUrl, RunningServer, ServerConfig, spawn};
use serde_json::json;
use support::{admin, postgres_url, with_db};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn client(credential: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {credential}").parse().expect("header"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Transactions committed or rolled back on the database so far (every statement outside a
/// transaction counts as one).
fn transactions(url: &str, db: &str) -> i64 {
    let mut c = postgres::Client::connect(url, postgres::NoTls).expect("PostgreSQL");
    let r = c
        .query_one(
            "SELECT (xact_commit + xact_rollback)::bigint FROM pg_stat_database WHERE datname = $1",
            &[&db],
        )
        .expect("pg_stat_database");
    r.get(0)
}

/// A simulated kiosk: a heartbeat every 30 s (starting at a random point of the period) and a
/// long poll always waiting; answers to polls are acknowledged.
fn run_kiosk(http: reqwest::Client, base: String, offset: Duration) {
    let hb = json!({
        "version": "0.1.0", "uptime_secs": 1, "boot_id": "bench", "in_use": false,
        "devices": { "printer": "ok", "reader": "ok", "camera": "ok", "scanner": "ok" },
    });
    let (h, b) = (http.clone(), base.clone());
    tokio::spawn(async move {
        tokio::time::sleep(offset).await;
        let mut every = tokio::time::interval(Duration::from_secs(30));
        loop {
            every.tick().await;
            let _ = h
                .post(format!("{b}{}", api::FLEET_HEARTBEAT))
                .json(&hb)
                .send()
                .await;
        }
    });
    tokio::spawn(async move {
        tokio::time::sleep(offset / 10).await;
        loop {
            match http
                .get(format!("{base}{}", api::fleet_poll_path(25)))
                .send()
                .await
            {
                Ok(r) if r.status() == 200 => {
                    if let Ok(cmd) = r.json::<serde_json::Value>().await
                        && let Some(id) = cmd["id"].as_str()
                    {
                        let _ = http
                            .post(format!("{base}{}", api::fleet_ack_path(id)))
                            .json(&json!({ "ok": true }))
                            .send()
                            .await;
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        }
    });
}

/// Signs in to the console on `base`: (the session's cookie, a form token).
async fn console(base: &str) -> (String, String) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let cookie_of = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{name}=")))
            .and_then(|c| c.split(';').next())
            .map(str::to_string)
            .expect("a cookie")
    };
    let page = http
        .get(format!("{base}/console/login"))
        .send()
        .await
        .expect("login page");
    let login = cookie_of(&page, "hall_console_login");
    let token = login
        .split_once('=')
        .map(|(_, v)| v.to_string())
        .unwrap_or_default();
    let r = http
        .post(format!("{base}/console/login"))
        .header("cookie", &login)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "csrf={token}&name=desk&password=bench-console-password"
        ))
        .send()
        .await
        .expect("sign-in");
    let session = cookie_of(&r, "hall_console");
    let page = http
        .get(format!("{base}/console/"))
        .header("cookie", &session)
        .send()
        .await
        .expect("kiosks")
        .text()
        .await
        .expect("page");
    let at = page.find("name=\"csrf\" value=\"").expect("a form token") + 19;
    let csrf = page[at..].split('"').next().unwrap_or_default().to_string();
    (session, csrf)
}

/// One kiosk's live part of the console, as the page fetches it.
async fn live(http: &reqwest::Client, base: &str, session: &str, id: &str) -> String {
    http.get(format!("{base}/console/kiosks/{id}/live"))
        .header("cookie", session)
        .send()
        .await
        .expect("live")
        .text()
        .await
        .expect("text")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

async fn run(url: String, kiosks: usize, idle_secs: u64) {
    let start = |url: String| async move {
        let mut config =
            ServerConfig::with_database(DbUrl::Postgres(url), "127.0.0.1:0".parse().expect("addr"));
        config.kiosk_rate = hall_platform::Rate {
            per_second: 1000,
            burst: 1000,
        };
        config.peer_rate = hall_platform::Rate {
            per_second: 100_000,
            burst: 100_000,
        };
        config.limits.max_connections = 4096;
        spawn(config).await.expect("the platform starts")
    };
    let a: RunningServer = start(url.clone()).await;
    let b: RunningServer = start(url.clone()).await;
    let (base_a, base_b) = (format!("http://{}", a.addr), format!("http://{}", b.addr));
    a.console_user("desk", ConsoleRole::Helpdesk, "bench-console-password")
        .await
        .expect("a console user");

    eprintln!("enrolling {kiosks} kiosks…");
    let mut fleet = Vec::with_capacity(kiosks);
    for k in 0..kiosks {
        let credential = a
            .enrol_kiosk(
                &format!("K{k:04}"),
                if k % 2 == 0 { "东厅" } else { "西厅" },
            )
            .await
            .expect("a kiosk enrols");
        fleet.push(client(&credential));
    }
    for (k, http) in fleet.iter().enumerate() {
        let base = if k % 2 == 0 {
            base_a.clone()
        } else {
            base_b.clone()
        };
        let offset = Duration::from_millis((k as u64 * 30_000) / kiosks as u64);
        run_kiosk(http.clone(), base, offset);
    }
    let (session, csrf) = console(&base_a).await;
    let watcher = reqwest::Client::new();
    let mut events = watcher
        .get(format!("{base_a}/console/events"))
        .header("cookie", &session)
        .send()
        .await
        .expect("the console's events");
    // Every kiosk has polled and beaten once before the idle load is measured.
    tokio::time::sleep(Duration::from_secs(32)).await;

    let db = url.rsplit('/').next().unwrap_or_default().to_string();
    let (u, d) = (url.clone(), db.clone());
    let before = tokio::task::spawn_blocking(move || transactions(&u, &d))
        .await
        .expect("stats");
    let t0 = Instant::now();
    // The console keeps reading its events meanwhile (as a browser would).
    let drain = tokio::spawn(async move {
        let deadline = Instant::now() + Duration::from_secs(idle_secs);
        let mut n = 0usize;
        while Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_secs(1), events.chunk()).await {
                Ok(Ok(Some(_))) => n += 1,
                Ok(_) => break,
                Err(_) => {}
            }
        }
        (events, n)
    });
    let (mut events, event_chunks) = drain.await.expect("events");
    let (u, d) = (url.clone(), db.clone());
    let after = tokio::task::spawn_blocking(move || transactions(&u, &d))
        .await
        .expect("stats");
    let idle_tps = (after - before) as f64 / t0.elapsed().as_secs_f64();

    // A help call made to B, until the console on A shows it.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut help_ms = Vec::new();
    for k in (1..kiosks).step_by(2).take(5) {
        let asked = Instant::now();
        let r = fleet[k]
            .post(format!("{base_b}{}", api::FLEET_HELP))
            .json(&json!({ "needs_help": true }))
            .send()
            .await
            .expect("help");
        assert!(r.status().is_success());
        let id = format!("K{k:04}");
        loop {
            let _ = tokio::time::timeout(Duration::from_secs(5), events.chunk()).await;
            if live(&http, &base_a, &session, &id)
                .await
                .contains("class=\"help\"")
            {
                break;
            }
            assert!(
                asked.elapsed() < Duration::from_secs(30),
                "the help call never showed"
            );
        }
        help_ms.push(asked.elapsed().as_secs_f64() * 1000.0);
    }

    // A click on the console (A) until the kiosk's poll (waiting on B) is answered: measured at
    // the kiosk's acknowledgement, which follows the poll's answer at once.
    let mut click_ms = Vec::new();
    for k in (1..kiosks).step_by(2).skip(10).take(5) {
        let id = format!("K{k:04}");
        let clicked = Instant::now();
        let r = http
            .post(format!("{base_a}/console/kiosks/{id}/command"))
            .header("cookie", &session)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={csrf}&kind=identify&force=0"))
            .send()
            .await
            .expect("command");
        assert_eq!(r.status(), 303, "the console took the click");
        loop {
            if live(&http, &base_a, &session, &id).await.contains("已完成") {
                break;
            }
            assert!(
                clicked.elapsed() < Duration::from_secs(30),
                "the command never came back"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        click_ms.push(clicked.elapsed().as_secs_f64() * 1000.0);
    }

    println!();
    println!(
        "hall-platform fleet bench: {kiosks} kiosks (heartbeat every 30 s, long poll always \
         waiting), two instances on one PostgreSQL, a console watching"
    );
    println!(
        "idle: {idle_tps:.0} database transactions per second over {idle_secs} s \
         ({:.1} per kiosk per minute; the console got {event_chunks} event chunks)",
        idle_tps * 60.0 / kiosks as f64
    );
    println!(
        "help call on B → shown on the console on A: median {:.0} ms (of {})",
        median(help_ms.clone()),
        help_ms.len()
    );
    println!(
        "console click on A → the kiosk's poll on B answered and acknowledged: median {:.0} ms (of {})",
        median(click_ms.clone()),
        click_ms.len()
    );
}

fn main() {
    let kiosks = env_usize("HALL_FLEET_KIOSKS", 1000);
    let idle_secs = env_usize("HALL_FLEET_IDLE_SECS", 30) as u64;
    let Some(admin_url) = postgres_url() else {
        eprintln!("PostgreSQL not available: the fleet bench needs it");
        return;
    };
    let db = format!("hall_fleet_{}", uuid::Uuid::new_v4().simple());
    admin(&admin_url, &format!("CREATE DATABASE {db}"));
    let url = with_db(&admin_url, &db);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(url, kiosks, idle_secs));
    // The simulated kiosks still hold connections: the database is dropped with them.
    admin(&admin_url, &format!("DROP DATABASE {db} WITH (FORCE)"));
    std::process::exit(0);
}
