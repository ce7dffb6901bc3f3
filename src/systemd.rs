//! systemd integration over the `sd_notify` protocol: `READY=1` once the first frame is on the
//! screen, `WATCHDOG=1` from the UI event loop (so a hung UI is restarted), and `STATUS=` lines
//! for `systemctl status`. Outside systemd (no `NOTIFY_SOCKET`) every call does nothing.
//!
//! The protocol is one datagram per message on the unix socket named by `NOTIFY_SOCKET` (a path,
//! or `@name` in the abstract namespace); `WATCHDOG_USEC` gives the watchdog period and
//! `WATCHDOG_PID`, when set, the process it is meant for.

use std::ffi::OsStr;
use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::OnceLock;
use std::time::Duration;

/// A connection to the service manager's notification socket.
#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
    addr: SocketAddr,
}

impl Notifier {
    /// The notifier of this process: `None` when not started by systemd with `Type=notify`
    /// (or when `NOTIFY_SOCKET` is unusable, which is logged once).
    pub fn from_env() -> Option<Notifier> {
        let name = std::env::var_os("NOTIFY_SOCKET")?;
        match Notifier::connect(&name) {
            Ok(n) => Some(n),
            Err(e) => {
                tracing::warn!(error = %e, "NOTIFY_SOCKET is set but unusable; no systemd notifications");
                None
            }
        }
    }

    /// A notifier for the socket `name`: a filesystem path, or `@name` for the abstract
    /// namespace.
    pub fn connect(name: &OsStr) -> io::Result<Notifier> {
        use std::os::unix::ffi::OsStrExt;
        let bytes = name.as_bytes();
        let addr = match bytes.split_first() {
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "empty socket name",
                ));
            }
            Some((b'@', abstract_name)) => {
                use std::os::linux::net::SocketAddrExt;
                SocketAddr::from_abstract_name(abstract_name)?
            }
            Some((b'/', _)) => SocketAddr::from_pathname(std::path::Path::new(name))?,
            Some(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the socket name is neither an absolute path nor @abstract",
                ));
            }
        };
        let socket = UnixDatagram::unbound()?;
        Ok(Notifier { socket, addr })
    }

    /// Sends one notification: newline-separated `KEY=value` assignments.
    pub fn send(&self, message: &str) -> io::Result<()> {
        let sent = self.socket.send_to_addr(message.as_bytes(), &self.addr)?;
        if sent != message.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "the notification was cut short",
            ));
        }
        Ok(())
    }
}

fn global() -> Option<&'static Notifier> {
    static NOTIFIER: OnceLock<Option<Notifier>> = OnceLock::new();
    NOTIFIER.get_or_init(Notifier::from_env).as_ref()
}

/// Sends `message` to systemd if the kiosk runs under it. Returns whether it was sent.
pub fn notify(message: &str) -> bool {
    let Some(n) = global() else {
        return false;
    };
    match n.send(message) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "cannot notify systemd");
            false
        }
    }
}

/// The service is up: the first frame is on the screen.
pub fn ready(status: &str) -> bool {
    notify(&format!("READY=1\nSTATUS={}", one_line(status)))
}

/// A status line for `systemctl status`.
pub fn status(status: &str) -> bool {
    notify(&format!("STATUS={}", one_line(status)))
}

/// The service is shutting down on purpose.
pub fn stopping() -> bool {
    notify("STOPPING=1\nSTATUS=stopping")
}

/// The watchdog is alive.
pub fn watchdog() -> bool {
    notify("WATCHDOG=1")
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// How often to ping the watchdog (half its period), from the environment; `None` when there
/// is no watchdog for this process.
pub fn watchdog_interval() -> Option<Duration> {
    let usec = std::env::var("WATCHDOG_USEC").ok();
    let pid = std::env::var("WATCHDOG_PID").ok();
    watchdog_interval_from(usec.as_deref(), pid.as_deref(), std::process::id())
}

/// [`watchdog_interval`] for given values of `WATCHDOG_USEC` and `WATCHDOG_PID`.
pub fn watchdog_interval_from(
    usec: Option<&str>,
    pid: Option<&str>,
    own_pid: u32,
) -> Option<Duration> {
    let usec: u64 = usec?.trim().parse().ok().filter(|&u| u > 0)?;
    if let Some(pid) = pid
        && pid.trim().parse::<u32>().ok() != Some(own_pid)
    {
        return None;
    }
    Some(Duration::from_micros(usec / 2))
}

/// Whether standard error is connected to the journal (`JOURNAL_STREAM` names its device and
/// inode, as systemd sets it for `StandardError=journal`).
pub fn stderr_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Ok(meta) = std::fs::metadata("/proc/self/fd/2") else {
        return false;
    };
    journal_stream_matches(&stream.to_string_lossy(), meta.dev(), meta.ino())
}

/// `JOURNAL_STREAM` (`DEVICE:INODE`) names this device and inode.
pub fn journal_stream_matches(stream: &str, dev: u64, ino: u64) -> bool {
    stream
        .split_once(':')
        .and_then(|(d, i)| Some((d.parse::<u64>().ok()?, i.parse::<u64>().ok()?)))
        .is_some_and(|(d, i)| d == dev && i == ino)
}

/// The syslog priority journald reads from a `<N>` line prefix.
pub fn journal_priority(level: tracing::Level) -> u8 {
    match level {
        tracing::Level::ERROR => 3,
        tracing::Level::WARN => 4,
        tracing::Level::INFO => 6,
        _ => 7,
    }
}

/// Log lines for the journal: the priority prefix, no colours and no timestamp (the journal
/// keeps its own), then the usual fields.
pub struct JournalFormat {
    inner: tracing_subscriber::fmt::format::Format<tracing_subscriber::fmt::format::Full, ()>,
}

impl Default for JournalFormat {
    fn default() -> Self {
        JournalFormat {
            inner: tracing_subscriber::fmt::format()
                .without_time()
                .with_ansi(false)
                .with_level(false),
        }
    }
}

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for JournalFormat
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        write!(writer, "<{}>", journal_priority(*event.metadata().level()))?;
        self.inner.format_event(ctx, writer, event)
    }
}

/// Under systemd with standard error on the journal: sets up `tracing` with [`JournalFormat`]
/// (`RUST_LOG` overrides the default level, info) and returns true; otherwise does nothing and
/// returns false, for the usual set-up.
pub fn init_journal_logging() -> bool {
    if !stderr_is_journal() {
        return false;
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .event_format(JournalFormat::default())
        .with_writer(std::io::stderr)
        .try_init()
        .is_ok()
}

/// The systemd hooks of the UI event loop; dropping it stops the watchdog pings.
pub struct UiHooks {
    _first_frame: slint::Timer,
    _watchdog: Option<slint::Timer>,
}

/// Whether the first frame is on the screen (READY), for the trial boot's health check.
pub fn first_frame_shown() -> bool {
    FIRST_FRAME.load(std::sync::atomic::Ordering::Relaxed)
}

static FIRST_FRAME: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Installs the hooks in the UI event loop (call on the UI thread after the window is shown,
/// before the event loop runs): `READY=1` with `ready_status` once the loop has drawn its first
/// frame, and `WATCHDOG=1` at half the watchdog period from a timer of the same loop, so that
/// a UI that stops turning stops the pings and systemd restarts the kiosk.
pub fn attach_ui(ready_status: String) -> UiHooks {
    // Timers fire at the start of a loop iteration, before it draws: the first one fires in
    // the first iteration, the one it starts in the next, after the first frame was drawn.
    let first_frame = slint::Timer::default();
    first_frame.start(slint::TimerMode::SingleShot, Duration::ZERO, move || {
        let status = ready_status.clone();
        slint::Timer::single_shot(Duration::ZERO, move || {
            FIRST_FRAME.store(true, std::sync::atomic::Ordering::Relaxed);
            if ready(&status) {
                tracing::info!("systemd told: ready, first frame on screen");
            }
        });
    });
    let watchdog_timer = watchdog_interval().map(|every| {
        tracing::info!(every_ms = every.as_millis() as u64, "systemd watchdog on");
        // The watchdog runs from the start of the process: the start-up so far counts.
        watchdog();
        let t = slint::Timer::default();
        t.start(slint::TimerMode::Repeated, every, || {
            watchdog();
        });
        t
    });
    UiHooks {
        _first_frame: first_frame,
        _watchdog: watchdog_timer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound() -> (tempfile::TempDir, std::path::PathBuf, UnixDatagram) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("notify.sock");
        let server = UnixDatagram::bind(&path).expect("bind");
        server
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        (dir, path, server)
    }

    fn recv(server: &UnixDatagram) -> String {
        let mut buf = [0u8; 4096];
        let n = server.recv(&mut buf).expect("a datagram");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[test]
    fn datagrams_reach_a_path_socket() {
        let (_dir, path, server) = bound();
        let n = Notifier::connect(path.as_os_str()).expect("connect");
        n.send("READY=1\nSTATUS=up").expect("send");
        assert_eq!(recv(&server), "READY=1\nSTATUS=up");
    }

    #[test]
    fn datagrams_reach_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("hall-kiosk-test-{}", std::process::id());
        let server = UnixDatagram::bind_addr(
            &SocketAddr::from_abstract_name(name.as_bytes()).expect("addr"),
        )
        .expect("bind");
        server
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let n = Notifier::connect(OsStr::new(&format!("@{name}"))).expect("connect");
        n.send("WATCHDOG=1").expect("send");
        assert_eq!(recv(&server), "WATCHDOG=1");
    }

    #[test]
    fn bad_socket_names_are_refused() {
        assert!(Notifier::connect(OsStr::new("")).is_err());
        assert!(Notifier::connect(OsStr::new("relative/path")).is_err());
        let n = Notifier::connect(OsStr::new("/nonexistent/notify.sock")).expect("addr is fine");
        assert!(n.send("READY=1").is_err(), "nobody listens there");
    }

    /// The units' sandboxes rated by `systemd-analyze security` (the kiosk at 4.0 or lower),
    /// the units verified, the first-boot script and the board profiles checked.
    #[test]
    fn appliance_units_and_scripts_check_out() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = std::process::Command::new("bash")
            .arg(dir.join("scripts/check-units"))
            .current_dir(dir)
            .output()
            .expect("bash runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("SKIP") || text.contains("ok: hall-kiosk.service exposure"),
            "{text}"
        );
    }

    #[test]
    fn journal_lines_carry_the_priority_and_no_colour() {
        #[derive(Clone, Default)]
        struct Buf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                if let Ok(mut v) = self.0.lock() {
                    v.extend_from_slice(b);
                }
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let w = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .event_format(JournalFormat::default())
            .with_writer(move || w.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!(device = "printer", "printer gone");
            tracing::warn!("paper low");
            tracing::info!(screen = "home", "shown");
        });
        let text = String::from_utf8(buf.0.lock().expect("buffer").clone()).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("<3>"), "{text}");
        assert!(lines[0].contains("printer gone") && lines[0].contains("device=\"printer\""));
        assert!(lines[1].starts_with("<4>"), "{text}");
        assert!(lines[2].starts_with("<6>") && lines[2].contains("screen=\"home\""));
        assert!(!text.contains('\u{1b}'), "no colour codes: {text:?}");
        assert!(!text.contains("INFO"), "the level is the prefix: {text}");
    }

    #[test]
    fn journal_stream_is_recognised_by_device_and_inode() {
        assert!(journal_stream_matches("8:12345", 8, 12345));
        assert!(!journal_stream_matches("8:12345", 8, 1));
        assert!(!journal_stream_matches("8", 8, 12345));
        assert!(!journal_stream_matches("x:y", 8, 12345));
        // This test's standard error is no journal.
        if std::env::var_os("JOURNAL_STREAM").is_none() {
            assert!(!stderr_is_journal());
        }
    }

    #[test]
    fn watchdog_interval_is_half_the_period_for_this_process_only() {
        assert_eq!(
            watchdog_interval_from(Some("20000000"), None, 7),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            watchdog_interval_from(Some("20000000"), Some("7"), 7),
            Some(Duration::from_secs(10))
        );
        assert_eq!(watchdog_interval_from(Some("20000000"), Some("8"), 7), None);
        assert_eq!(watchdog_interval_from(Some("0"), None, 7), None);
        assert_eq!(watchdog_interval_from(Some("soon"), None, 7), None);
        assert_eq!(watchdog_interval_from(None, None, 7), None);
    }

    /// Run in a child process by `the_ui_loop_says_ready_then_pings_the_watchdog`, with
    /// NOTIFY_SOCKET and WATCHDOG_USEC set: the real environment path, in a process of its own.
    #[test]
    #[ignore = "run as a child process by another test"]
    fn child_ui_loop_with_systemd_hooks() {
        if std::env::var_os("NOTIFY_SOCKET").is_none() {
            return; // run directly (--include-ignored): nothing to notify
        }
        i_slint_backend_testing::init_integration_test_with_system_time();
        let _hooks = attach_ui("home screen shown".into());
        let quit = slint::Timer::default();
        quit.start(
            slint::TimerMode::SingleShot,
            Duration::from_millis(400),
            || {
                let _ = slint::quit_event_loop();
            },
        );
        slint::run_event_loop_until_quit().expect("event loop");
        assert!(stopping());
    }

    #[test]
    fn the_ui_loop_says_ready_then_pings_the_watchdog() {
        let (_dir, path, server) = bound();
        let exe = std::env::current_exe().expect("test binary");
        let mut child = std::process::Command::new(exe)
            .args([
                "--exact",
                "systemd::tests::child_ui_loop_with_systemd_hooks",
                "--ignored",
                "--test-threads=1",
            ])
            .env("NOTIFY_SOCKET", &path)
            .env("WATCHDOG_USEC", "100000")
            .env_remove("WATCHDOG_PID")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("child");
        let mut got = Vec::new();
        loop {
            let m = recv(&server);
            let stop = m.starts_with("STOPPING=1");
            got.push(m);
            if stop {
                break;
            }
        }
        let status = child.wait().expect("child ends");
        assert!(status.success(), "child failed: {got:?}");
        let ready = got
            .iter()
            .position(|m| m == "READY=1\nSTATUS=home screen shown")
            .unwrap_or_else(|| panic!("no READY in {got:?}"));
        let pings = got.iter().filter(|m| *m == "WATCHDOG=1").count();
        assert!(pings >= 3, "pings every 50 ms for 400 ms: {got:?}");
        assert_eq!(
            got.iter().filter(|m| m.starts_with("READY=1")).count(),
            1,
            "ready once: {got:?}"
        );
        assert!(ready < got.len() - 1);
    }
}
