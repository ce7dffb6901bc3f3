//! Fleet control end to end: the platform on loopback, the real kiosk binary headless (enrolled
//! with a one-time token from its configuration), and the help desk's `kioskctl`. A restart
//! while the kiosk is idle brings a new process's heartbeat within 5 s; an unforced restart
//! while a citizen is using the kiosk waits for the session to end; a forced one does not.
//! Here the test plays systemd (Restart=always): when the kiosk exits, it starts it again.

#[path = "support/fleet.rs"]
mod support;

use std::time::{Duration, Instant};

use support::{Hall, KIOSK, Kiosk};

#[test]
fn help_desk_restarts_a_kiosk_idle_waiting_and_forced() {
    let hall = Hall::start();
    let (cfg, desk, enrol) = (&hall.cfg, &hall.desk, &hall.enrol);
    // First start: enrols, erases the token, reports in.
    let mut kiosk = Kiosk::start(cfg, &["run", "--headless", "600"]);
    desk.wait("the first heartbeat", Duration::from_secs(30), |s| s.online);
    let text = std::fs::read_to_string(cfg).expect("config");
    assert!(
        !text.contains(enrol.as_str()),
        "the enrolment token is erased once used"
    );
    assert!(desk.run(&["list"]).contains(KIOSK));

    // Idle: restart → the process exits, systemd (here: the test) starts it, new heartbeat.
    let first_boot = desk.show().boot_id;
    let asked = Instant::now();
    desk.run(&["restart", KIOSK]);
    assert!(
        kiosk.wait_exit(Duration::from_secs(10)),
        "the idle kiosk restarts at once"
    );
    drop(kiosk);
    let kiosk = Kiosk::start(cfg, &["run", "--headless", "600"]);
    let restarted = desk.wait("a new process", Duration::from_secs(15), |s| {
        s.uptime_secs.is_some_and(|u| u <= 2) && s.last_seen_secs_ago.is_some_and(|a| a <= 1)
    });
    let latency = restarted.duration_since(asked);
    println!("restart to the new process's first heartbeat: {latency:?}");
    assert!(latency < Duration::from_secs(5), "{latency:?}");
    assert_eq!(
        desk.show().boot_id,
        first_boot,
        "the app restarted, not the machine"
    );
    drop(kiosk);

    // In use: a citizen (the drill) is at the kiosk. An unforced restart waits for the end of
    // the session; the log shows the session ended right before the restart.
    // The citizen holds on the review screen for 5 s: the command arrives mid-session.
    let mut kiosk = Kiosk::start(cfg, &["drill", "--skip-photos", "--hold-secs", "5"]);
    assert!(
        kiosk.wait_line("holding on the review screen", Duration::from_secs(30)),
        "the citizen reaches the review screen"
    );
    desk.wait("a citizen at the kiosk", Duration::from_secs(5), |s| {
        s.in_use
    });
    desk.run(&["restart", KIOSK]);
    assert!(
        kiosk.wait_exit(Duration::from_secs(30)),
        "restarts after the session"
    );
    let restart_at = kiosk
        .log
        .iter()
        .position(|l| l.contains("restarting at the help desk's request"))
        .expect("restart logged");
    let before = &kiosk.log[..restart_at];
    let last_end = before
        .iter()
        .rposition(|l| l.contains("session ended"))
        .expect("a session ended before the restart");
    let received = before
        .iter()
        .position(|l| l.contains("fleet command received"))
        .expect("command logged");
    assert!(
        before[received..]
            .iter()
            .any(|l| l.contains("waiting for the citizen to finish")),
        "the command waited: {:?}",
        &before[received..]
    );
    assert!(
        !before[last_end..]
            .iter()
            .any(|l| l.contains("submission sent")),
        "nothing was under way when it restarted"
    );
    drop(kiosk);

    // Forced: restarts in the middle of the session.
    let mut kiosk = Kiosk::start(cfg, &["drill", "--skip-photos"]);
    desk.wait("a citizen at the kiosk", Duration::from_secs(30), |s| {
        s.in_use
    });
    let asked = Instant::now();
    desk.run(&["restart", KIOSK, "--now"]);
    assert!(
        kiosk.wait_exit(Duration::from_secs(10)),
        "a forced restart is at once"
    );
    assert!(asked.elapsed() < Duration::from_secs(5));
    assert!(
        !kiosk
            .log
            .iter()
            .any(|l| l.contains("waiting for the citizen to finish")),
        "a forced restart does not wait"
    );
    assert!(kiosk.log.iter().any(|l| l.contains("forced=true")));
    drop(kiosk);
}
