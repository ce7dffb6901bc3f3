//! Restart latency: from `kioskctl restart` (an idle kiosk) to the new process's first
//! heartbeat, as the help desk sees it, over several restarts. The kiosk is the real binary,
//! headless; the bench restarts it when it exits, as systemd does (Restart=always).
//!
//! `cargo bench --bench fleet [-- --runs N]`

#[path = "../tests/support/fleet.rs"]
mod support;

use std::time::{Duration, Instant};

use support::{Hall, KIOSK, Kiosk};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(5)
        .max(1);
    let hall = Hall::start();
    let mut kiosk = Kiosk::start(&hall.cfg, &["run", "--headless", "3600"]);
    hall.desk
        .wait("the first heartbeat", Duration::from_secs(60), |s| s.online);
    let mut ms = Vec::new();
    for _ in 0..runs {
        // Idle and reported as such.
        std::thread::sleep(Duration::from_millis(1500));
        let asked = Instant::now();
        hall.desk.run(&["restart", KIOSK]);
        if !kiosk.wait_exit(Duration::from_secs(30)) {
            eprintln!("the kiosk did not restart");
            std::process::exit(1);
        }
        kiosk = Kiosk::start(&hall.cfg, &["run", "--headless", "3600"]);
        let seen = hall
            .desk
            .wait("the new process", Duration::from_secs(30), |s| {
                s.uptime_secs.is_some_and(|u| u <= 2)
                    && s.last_seen_secs_ago.is_some_and(|a| a == 0)
            });
        ms.push(seen.duration_since(asked).as_secs_f64() * 1000.0);
    }
    drop(kiosk);
    let mut sorted = ms.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "Restart latency: `kioskctl restart` → the new process's first heartbeat (idle kiosk)"
    );
    println!("| restarts | median | worst | goal |");
    println!("|---:|---:|---:|---:|");
    println!(
        "| {runs} | {:.0} ms | {:.0} ms | < 5000 ms |",
        sorted[sorted.len() / 2],
        sorted[sorted.len() - 1]
    );
}
