//! Kiosk benchmarks: start-up to first frame, memory, and frame render time. Prints a table with
//! each measurement beside its goal.
//!
//! Run with `cargo bench --bench kiosk` (or `./hall bench`).

use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::{Duration, Instant};

use slint::ComponentHandle;

use hall_kiosk::session::Lang;
use hall_kiosk::ui::{AppWindow, Renderer};

/// Runs a command to completion and returns its wall time and peak resident memory (KiB).
fn measure(cmd: &mut Command) -> (Duration, u64) {
    let start = Instant::now();
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => panic!("cannot start {cmd:?}: {e}"),
    };
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for the child we started and reaps it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(r, pid, "wait4 failed");
    let st = std::process::ExitStatus::from_raw(status);
    assert!(st.success(), "{cmd:?} failed: {st}");
    (wall, usage.ru_maxrss as u64)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn main() {
    let bin = env!("CARGO_BIN_EXE_hall-kiosk");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut rows: Vec<(String, String, String)> = Vec::new();

    // 1. The screenshot command: process start → first frame rendered → PNG written.
    let out = dir.path().join("home.png");
    let mut walls = Vec::new();
    let mut rss = 0;
    for _ in 0..15 {
        let (wall, peak) = measure(
            Command::new(bin)
                .args(["screenshot", "--screen", "home", "--out"])
                .arg(&out),
        );
        walls.push(wall);
        rss = rss.max(peak);
    }
    walls.sort();
    rows.push((
        "screenshot --screen home, whole process (median of 15)".into(),
        ms(percentile(&walls, 0.5)),
        "< 60 ms".into(),
    ));
    rows.push((
        "screenshot --screen home, peak RSS".into(),
        mib(rss),
        "< 40 MiB".into(),
    ));

    // 2. The whole kiosk with the demo hall: embedded platform, simulated devices, session,
    //    rendering headlessly for a few seconds.
    let config = dir.path().join("kiosk.toml");
    let db = dir.path().join("platform.sqlite");
    std::fs::write(
        &config,
        format!("[platform]\ndb = {:?}\n", db.display().to_string()),
    )
    .expect("config");
    let (_, peak) = measure(
        Command::new(bin)
            .arg("--config")
            .arg(&config)
            .args(["run", "--headless", "4"])
            .env("RUST_LOG", "warn"),
    );
    rows.push((
        "kiosk with the demo hall (run --headless 4 s), peak RSS".into(),
        mib(peak),
        "< 60 MiB".into(),
    ));

    // 3. Full-frame render of the progress screen, in process.
    let mut screen = hall_kiosk::headless::install(1920, 1080, None).expect("headless");
    let t0 = Instant::now();
    let app = AppWindow::new().expect("window");
    app.show().expect("show");
    let vm = hall_kiosk::screenshot::demo_view("progress", Lang::Zh, false).expect("demo view");
    Renderer::default().render(&app, &vm);
    screen.draw(true);
    let first = t0.elapsed();
    rows.push((
        "progress screen: component created to first frame (in process)".into(),
        ms(first),
        "-".into(),
    ));
    let mut frames = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        screen.draw(true);
        frames.push(t.elapsed());
    }
    frames.sort();
    rows.push((
        "progress screen full frame 1920×1080, median".into(),
        ms(percentile(&frames, 0.5)),
        "< 12 ms".into(),
    ));
    rows.push((
        "progress screen full frame 1920×1080, p99".into(),
        ms(percentile(&frames, 0.99)),
        "-".into(),
    ));

    let w = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(10);
    println!();
    println!("{:<w$}  {:>12}  {:>10}", "measurement", "result", "goal");
    println!("{}", "-".repeat(w + 26));
    for (name, value, goal) in &rows {
        println!("{name:<w$}  {value:>12}  {goal:>10}");
    }
}
