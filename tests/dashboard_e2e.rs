//! The hall manager's dashboard fed by the real kiosk: the platform on loopback, the kiosk binary
//! enrolled from its configuration, the console signed in over HTTP. The kiosk shows in the
//! console's kiosk list within 5 s of its first heartbeat; a scripted day (`hall-kiosk drill`:
//! six journeys, every third given up on the form, ratings in turn, one skipped) reaches the
//! dashboard through the kiosk's outbox, and the page and its CSV show it exactly.

#[path = "support/fleet.rs"]
mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hall_platform::console_rules::ConsoleRole;
use support::{Hall, KIOSK, Kiosk};

/// A console session over plain HTTP on loopback: the cookies kept by hand.
struct Console {
    http: reqwest::Client,
    base: String,
    cookies: HashMap<String, String>,
}

impl Console {
    async fn send(&mut self, req: reqwest::RequestBuilder) -> (reqwest::StatusCode, String) {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let r = req
            .header("cookie", cookie)
            .send()
            .await
            .expect("the console answers");
        for c in r.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap_or_default();
            let kv = c.split(';').next().unwrap_or_default();
            if let Some((k, v)) = kv.split_once('=') {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        let status = r.status();
        (status, r.text().await.unwrap_or_default())
    }

    async fn get(&mut self, path: &str) -> (reqwest::StatusCode, String) {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    async fn sign_in(base: &str, name: &str, password: &str) -> Console {
        let mut c = Console {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: base.to_string(),
            cookies: HashMap::from([("hall_lang".to_string(), "en".to_string())]),
        };
        let (_, page) = c.get("/console/login").await;
        let at = page.find("name=\"csrf\" value=\"").expect("a form token") + 19;
        let token = page[at..].split('"').next().unwrap_or_default().to_string();
        let req = c
            .http
            .post(format!("{base}/console/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={token}&name={name}&password={password}"));
        let (status, _) = c.send(req).await;
        assert_eq!(status, reqwest::StatusCode::SEE_OTHER, "signed in");
        c
    }
}

/// The CSV's cell `name` in the row of `kiosk` (the byte-order mark dropped).
fn cell(csv: &str, name: &str, kiosk: &str) -> Option<String> {
    let mut lines = csv.trim_start_matches('\u{feff}').lines();
    let head: Vec<&str> = lines.next()?.split(',').collect();
    let i = head.iter().position(|h| *h == name)?;
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|r| r.get(3) == Some(&kiosk))
        .and_then(|r| r.get(i).map(|s| s.to_string()))
}

#[test]
fn a_drilled_day_reaches_the_dashboard_exactly() {
    let hall = Hall::start();
    let base = hall.desk.base.clone();
    let server = hall.server.as_ref().expect("platform");
    hall.rt
        .block_on(server.console_user("hall.boss", ConsoleRole::Manager, "manager-password-1"))
        .expect("a manager");
    let mut console = hall
        .rt
        .block_on(Console::sign_in(&base, "hall.boss", "manager-password-1"));

    // The kiosk's first heartbeat: in the console's list within 5 s.
    let mut kiosk = Kiosk::start(
        &hall.cfg,
        &[
            "drill",
            "--skip-photos",
            "--journeys",
            "6",
            "--abandon-every",
            "3",
            "--abandon-at",
            "form",
            "--ratings",
            "very_satisfied,dissatisfied:too_slow,skip",
        ],
    );
    let online = hall
        .desk
        .wait("the first heartbeat", Duration::from_secs(30), |s| s.online);
    let listed = loop {
        let (_, page) = hall.rt.block_on(console.get("/console/kiosks/live"));
        if page.contains(KIOSK) {
            break Instant::now();
        }
        assert!(
            online.elapsed() < Duration::from_secs(5),
            "not listed 5 s after its heartbeat"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    println!("listed {:?} after the first heartbeat", listed - online);

    assert!(
        kiosk.wait_exit(Duration::from_secs(300)),
        "the drill ends its six journeys"
    );
    // What the drill did reaches the platform through the outbox: the kiosk, started again,
    // delivers whatever the drill left.
    let _run = Kiosk::start(&hall.cfg, &["run", "--headless", "60"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let csv = loop {
        let (status, csv) = hall
            .rt
            .block_on(console.get("/console/dashboard.csv?period=today"));
        assert_eq!(status, reqwest::StatusCode::OK);
        if cell(&csv, "sessions", KIOSK).as_deref() == Some("6")
            && cell(&csv, "ratings", KIOSK).as_deref() == Some("3")
        {
            break csv;
        }
        assert!(
            Instant::now() < deadline,
            "the day's journeys never arrived: {csv}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    for (name, value) in [
        ("sessions", "6"),
        ("submissions", "4"),
        ("lookups", "0"),
        ("abandoned", "2"),
        ("timed_out", "0"),
        ("ratings", "3"),
        ("Very satisfied", "2"),
        ("Dissatisfied", "1"),
        ("satisfaction_pct", "66.7"),
        ("abandoned at: Application · Form", "2"),
    ] {
        assert_eq!(
            cell(&csv, name, KIOSK).as_deref(),
            Some(value),
            "{name}: {csv}"
        );
    }
    // The page says the same.
    let (_, page) = hall
        .rt
        .block_on(console.get("/console/dashboard?period=today"));
    let tile = |figure: &str| {
        let at = page
            .find(&format!("data-figure=\"{figure}\""))
            .expect("tile");
        let v = page[at..].find("class=\"tvalue\">").expect("value") + at + 15;
        page[v..].split('<').next().unwrap_or_default().to_string()
    };
    assert_eq!(tile("sessions"), "6");
    assert_eq!(tile("submissions"), "4");
    assert_eq!(tile("abandoned"), "2");
    assert_eq!(tile("satisfaction"), "66.7%");
}
