//! Crash test: the real kiosk process (`hall-kiosk drill`, a scripted citizen submitting again
//! and again, headless, simulated devices) is killed with SIGKILL at random moments during
//! submissions, at least 100 times, and restarted on the same outbox; the platform runs on
//! loopback with its own SQLite database. At the end the platform must hold every submission the
//! applicant was shown exactly once, and none they were not shown.
//!
//! What the applicant was shown is read from the kiosk's log: "submission shown to the applicant"
//! follows the frame that shows the outcome. "telling the applicant" comes just before the kiosk
//! commits to it (clears or marks its outbox entry); a kill between the two leaves a submission
//! that was on its way to the screen, which may end either way. Every other submission, however
//! far it got, must not stay on the platform.
//!
//! Bounded: 100 kills take about two minutes here. `CRASH_KILLS=N` changes the count.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[path = "support/fleet.rs"]
mod support;

const KIOSK_ID: &str = "crash-01";

/// What one run of the kiosk logged about submissions.
#[derive(Default, Debug)]
struct Seen {
    /// Keys the kiosk was about to tell the applicant about.
    telling: BTreeSet<String>,
    /// Keys whose outcome the screen showed.
    shown: BTreeSet<String>,
    /// Keys sent to the platform.
    sent: BTreeSet<String>,
    /// The same, in the order they were sent.
    order: Vec<String>,
}

/// The value of `key=` in a log line (quoted or not).
fn key_of(line: &str) -> Option<String> {
    let rest = &line[line.find("key=")? + 4..];
    let rest = rest.trim_start_matches('"');
    let end = rest
        .find(|c: char| c == '"' || c.is_whitespace())
        .unwrap_or(rest.len());
    (end > 0).then(|| rest[..end].to_string())
}

fn record(seen: &mut Seen, line: &str) {
    let Some(key) = key_of(line) else { return };
    if line.contains("submission shown to the applicant") {
        seen.shown.insert(key);
    } else if line.contains("telling the applicant") {
        seen.telling.insert(key);
    } else if line.contains("submission sent") && seen.sent.insert(key.clone()) {
        seen.order.push(key);
    }
}

/// The key of the submission this round sent (the first one logged after `before` were known).
fn lines_sent_last(seen: &Seen, before: usize) -> Option<String> {
    (seen.sent.len() > before)
        .then(|| seen.order.get(before).cloned())
        .flatten()
}

fn config(dir: &Path, platform: &str, enrolment_token: &str) -> std::path::PathBuf {
    let path = dir.join("kiosk.toml");
    let text = format!(
        r#"[kiosk]
id = "{KIOSK_ID}"
hall = "崩溃测试大厅"
data_dir = "{data}"

[platform]
url = "{platform}"
timeout_secs = 5

[display]
fullscreen = false
sim_panel = false

[fleet]
enrolment_token = "{enrolment_token}"
reboot_request = "{reboot}"
"#,
        data = dir.join("data").display(),
        reboot = dir.join("reboot-request").display(),
    );
    std::fs::write(&path, text).expect("config written");
    path
}

/// Starts the kiosk drill; its log lines arrive on `lines`.
fn start(cfg: &Path) -> support::Kiosk {
    support::Kiosk::start(cfg, &["drill", "--skip-photos"])
}

/// A small deterministic generator (xorshift), seeded per run and printed, so that a failing
/// run can be repeated with `CRASH_SEED`.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Entries left in the kiosk's outbox (another process may have it open: WAL allows reading).
fn outbox_len(dir: &Path) -> i64 {
    let path = dir.join("data").join("outbox.sqlite");
    if !path.exists() {
        return 0;
    }
    let db = rusqlite::Connection::open(&path).expect("outbox opens");
    db.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))
        .unwrap_or(0)
}

#[test]
fn killed_at_random_the_kiosk_loses_and_duplicates_nothing() {
    let kills: u32 = std::env::var("CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64 | 1)
                .unwrap_or(0x9E37_79B9_7F4A_7C15)
        });
    println!("CRASH_SEED={seed}");
    let mut rng = Rng(seed);

    let dir = tempfile::tempdir().expect("temp dir");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let platform_db = dir.path().join("platform.sqlite");
    let server = rt
        .block_on(hall_platform::spawn(
            hall_platform::ServerConfig::demo_hall(platform_db.clone(), ([127, 0, 0, 1], 0).into()),
        ))
        .expect("platform starts");
    let base = format!("http://{}", server.addr);
    let token = rt
        .block_on(server.enrolment_token(KIOSK_ID, "崩溃测试大厅"))
        .expect("enrolment token");
    let cfg = config(dir.path(), &base, &token);

    let mut seen = Seen::default();
    let mut killed_in_flight = 0;
    let deadline = Instant::now() + Duration::from_secs(600);
    for round in 0..kills {
        assert!(Instant::now() < deadline, "the crash test ran out of time");
        let mut k = start(&cfg);
        // Wait for a submission to go out, then kill within the next moments: while the
        // platform takes it, while the answer comes back, while the screen changes...
        let sends_before = seen.sent.len();
        let wait_for_send = Instant::now() + Duration::from_secs(30);
        let mut sent = false;
        while Instant::now() < wait_for_send {
            match k.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    record(&mut seen, &line);
                    if seen.sent.len() > sends_before {
                        sent = true;
                        break;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        assert!(sent, "round {round}: the kiosk sent no submission");
        // 0–400 ms after sending: the platform's commit, the answer, the outbox, the screen.
        let delay = Duration::from_micros(rng.below(400_000));
        let until = Instant::now() + delay;
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            match k.lines.recv_timeout(left) {
                Ok(line) => record(&mut seen, &line),
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        k.child.kill().expect("SIGKILL");
        let _ = k.child.wait();
        // What it logged before dying.
        while let Ok(line) = k.lines.recv_timeout(Duration::from_millis(50)) {
            record(&mut seen, &line);
        }
        let last_sent = lines_sent_last(&seen, sends_before);
        if last_sent.is_some_and(|k| !seen.shown.contains(&k)) {
            killed_in_flight += 1;
        }
        if std::env::var_os("CRASH_VERBOSE").is_some() {
            println!(
                "round {round}: killed after {delay:?}; outbox {}",
                outbox_len(dir.path())
            );
        }
    }

    // A last run settles the outbox: told entries delivered, the others withdrawn.
    let mut k = start(&cfg);
    let verbose = std::env::var_os("CRASH_VERBOSE").is_some();
    let settle_by = Instant::now() + Duration::from_secs(60);
    loop {
        while let Ok(line) = k.lines.try_recv() {
            if verbose {
                println!("{line}");
            }
            record(&mut seen, &line);
        }
        if outbox_len(dir.path()) == 0 {
            break;
        }
        assert!(
            Instant::now() < settle_by,
            "the outbox was not settled: {} left",
            outbox_len(dir.path())
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    k.child.kill().expect("SIGKILL");
    let _ = k.child.wait();
    while let Ok(line) = k.lines.recv_timeout(Duration::from_millis(50)) {
        record(&mut seen, &line);
    }
    rt.block_on(server.shutdown());

    // The platform's view: the active cases this kiosk submitted, by idempotency key.
    let db = rusqlite::Connection::open(&platform_db).expect("platform db");
    let mut stmt = db
        .prepare(
            "SELECT k.key, c.status FROM cases c JOIN idempotency_keys k
             ON k.approval_code = c.approval_code WHERE c.kiosk_id = ?1",
        )
        .expect("query");
    // Keys are the kiosk's own: stored as `kiosk:key`.
    let scope = format!("{KIOSK_ID}:");
    let rows: Vec<(String, i64)> = stmt
        .query_map([KIOSK_ID], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<Result<Vec<_>, _>>()
        .expect("rows read")
        .into_iter()
        .map(|(key, status)| {
            let key = key.strip_prefix(&scope).map(str::to_string);
            (key.expect("a key scoped by the kiosk"), status)
        })
        .collect();
    if std::env::var_os("CRASH_VERBOSE").is_some() {
        println!("platform rows (key, status): {rows:?}");
    }
    // BLZT 2: withdrawn.
    let mut active: BTreeMap<String, usize> = BTreeMap::new();
    for (key, status) in &rows {
        if *status != 2 {
            *active.entry(key.clone()).or_default() += 1;
        }
    }
    let cases_of_kiosk: i64 = db
        .query_row(
            "SELECT count(*) FROM cases WHERE kiosk_id = ?1 AND status != 2",
            [KIOSK_ID],
            |r| r.get(0),
        )
        .expect("count");

    let ambiguous: BTreeSet<_> = seen.telling.difference(&seen.shown).cloned().collect();
    println!(
        "kills: {kills} (with a submission not yet shown: {killed_in_flight}); sent: {}; shown: {}; \
         killed between committing and showing: {}; active cases: {}",
        seen.sent.len(),
        seen.shown.len(),
        ambiguous.len(),
        active.len()
    );
    assert!(
        seen.shown.len() as u32 >= kills / 10,
        "the drill showed too few outcomes to prove anything"
    );
    assert!(
        killed_in_flight > 0,
        "some kills must land before a submission was shown"
    );
    for key in &seen.shown {
        assert_eq!(
            active.get(key),
            Some(&1),
            "a submission shown to its applicant is not on the platform exactly once: {key}"
        );
    }
    for key in active.keys() {
        assert!(
            seen.shown.contains(key) || ambiguous.contains(key),
            "a submission never shown to its applicant stayed on the platform: {key}"
        );
    }
    assert_eq!(
        cases_of_kiosk as usize,
        active.values().sum::<usize>(),
        "every active case of the kiosk came from a key it sent"
    );
}
