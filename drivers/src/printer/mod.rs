//! Receipt printers (ESC/POS).
//!
//! `escpos` builds bytes, `receipt` lays out the kiosk's receipts, `status` reads the printer's
//! real-time status. [`Printer`] puts them on a [`Transport`]: it checks the status before a
//! job and refuses to start one the printer cannot finish, so the kiosk never says "take your
//! receipt" when none will come out.

pub mod escpos;
pub mod layout;
pub mod preview;
pub mod raster;
pub mod receipt;
pub mod status;

use std::io;
use std::time::{Duration, Instant};

pub use escpos::{Align, EscPos, Paper};
pub use raster::{FontCharset, GlyphFont, RasterFallback};
pub use status::{NotReady, PrinterStatus, StatusQuery};

pub use crate::transport::Transport;

/// Why a job was not printed (or may not have been).
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    /// The printer reported a state in which it cannot finish a job; nothing was sent.
    #[error("{0}")]
    NotReady(NotReady),
    /// The printer did not answer a status query in time (off, unplugged, wrong port).
    #[error("打印机无应答 (the printer does not answer)")]
    NoReply,
    /// The job was sent but the printer then reported a fault: the receipt may be incomplete.
    #[error("打印中断：{0}")]
    Interrupted(NotReady),
    #[error("打印机连接错误 (printer link error): {0}")]
    Io(#[from] io::Error),
    /// The device is not usable for another reason (e.g. its driver stopped).
    #[error("打印机不可用 (printer unavailable): {0}")]
    Unavailable(String),
}

impl PrintError {
    /// The reason to show a person, when it is a printer condition staff can fix.
    pub fn not_ready(&self) -> Option<NotReady> {
        match self {
            PrintError::NotReady(r) | PrintError::Interrupted(r) => Some(*r),
            _ => None,
        }
    }
}

/// What the kiosk uses to print, whatever the device behind it.
pub trait PrinterDevice: Send {
    /// Prints a complete job (bytes from [`EscPos`] or [`receipt`]).
    fn print(&mut self, job: &[u8]) -> Result<(), PrintError>;
    /// Queries the real-time status.
    fn status(&mut self) -> Result<PrinterStatus, PrintError>;
}

/// An ESC/POS printer on a transport.
pub struct Printer<T: Transport> {
    link: T,
    reply_timeout: Duration,
    completion_timeout: Option<Duration>,
}

impl<T: Transport> Printer<T> {
    pub fn new(link: T) -> Self {
        Self {
            link,
            reply_timeout: Duration::from_millis(500),
            completion_timeout: None,
        }
    }

    /// How long to wait for each status byte.
    pub fn with_reply_timeout(mut self, timeout: Duration) -> Self {
        self.reply_timeout = timeout;
        self
    }

    /// After each job, wait (up to `timeout`) for the printer to answer `GS r 1`, which it
    /// does only once everything before it is printed, and fail if the paper ran out. Only
    /// for printers known to support `GS r`.
    pub fn with_completion_check(mut self, timeout: Duration) -> Self {
        self.completion_timeout = Some(timeout);
        self
    }

    pub fn link(&self) -> &T {
        &self.link
    }

    pub fn into_inner(self) -> T {
        self.link
    }

    /// Drops whatever the printer sent unasked (automatic status back, late replies).
    fn drain(&mut self) -> Result<(), PrintError> {
        let mut buf = [0u8; 64];
        for _ in 0..64 {
            if self.link.read(&mut buf, Duration::ZERO)? == 0 {
                break;
            }
        }
        Ok(())
    }

    /// Waits for one byte accepted by `accept`, skipping others, until `timeout`.
    fn await_byte(&mut self, timeout: Duration, accept: fn(u8) -> bool) -> Result<u8, PrintError> {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 1];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(PrintError::NoReply);
            }
            if self.link.read(&mut buf, left)? == 1 {
                if accept(buf[0]) {
                    return Ok(buf[0]);
                }
                tracing::debug!(byte = buf[0], "printer: unexpected byte skipped");
            }
        }
    }

    /// Queries the status with `DLE EOT` 1, 2 and 4. A transport that cannot answer (a file)
    /// is always ready.
    pub fn status(&mut self) -> Result<PrinterStatus, PrintError> {
        let mut st = PrinterStatus::default();
        if !self.link.can_reply() {
            return Ok(st);
        }
        self.drain()?;
        for q in StatusQuery::BEFORE_PRINT {
            self.link.write(&q.request())?;
            let b = self.await_byte(self.reply_timeout, status::is_status_byte)?;
            // The byte has the right shape: apply cannot fail.
            if st.apply(q, b).is_err() {
                return Err(PrintError::NoReply);
            }
        }
        Ok(st)
    }

    /// Prints a job: refuses with [`PrintError::NotReady`] when the printer cannot finish it,
    /// sends it, then checks the status again (and, when enabled, waits for completion).
    pub fn print(&mut self, job: &[u8]) -> Result<(), PrintError> {
        let before = self.status()?;
        if let Some(reason) = before.blocking_reason() {
            tracing::info!(%reason, "print refused");
            return Err(PrintError::NotReady(reason));
        }
        self.link.write(job)?;
        if !self.link.can_reply() {
            return Ok(());
        }
        let after = self.status()?;
        if let Some(reason) = after.blocking_reason() {
            tracing::warn!(%reason, "printer fault during a job");
            return Err(PrintError::Interrupted(reason));
        }
        if let Some(timeout) = self.completion_timeout {
            self.link.write(&status::PAPER_SENSOR_REQUEST)?;
            let b = self.await_byte(timeout, status::is_sensor_byte)?;
            let mut done = after;
            done.apply_sensor(b);
            if let Some(reason) = done.blocking_reason() {
                return Err(PrintError::Interrupted(reason));
            }
        }
        Ok(())
    }
}

impl<T: Transport> PrinterDevice for Printer<T> {
    fn print(&mut self, job: &[u8]) -> Result<(), PrintError> {
        Printer::print(self, job)
    }
    fn status(&mut self) -> Result<PrinterStatus, PrintError> {
        Printer::status(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{FileTransport, MemoryLink};
    use kiosk_sims::printer::Condition;
    use std::thread;

    /// A ready printer's conditions.
    fn ready() -> Condition {
        Condition {
            connected: true,
            ..Condition::default()
        }
    }

    /// A scripted printer on the far end of a memory link: answers each DLE EOT with the byte
    /// the independent simulator's conditions give, keeps every other byte.
    fn printer_thread(
        mut dev: MemoryLink,
        state: Condition,
        after_job: Option<Condition>,
    ) -> thread::JoinHandle<Vec<u8>> {
        thread::spawn(move || {
            let mut got = Vec::new();
            let mut state = state;
            let mut buf = [0u8; 256];
            let mut i = 0;
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            while std::time::Instant::now() < deadline {
                // Runs until the host end is dropped.
                let n = match dev.read(&mut buf, Duration::from_millis(100)) {
                    Ok(0) => continue,
                    Err(_) => break,
                    Ok(n) => n,
                };
                got.extend_from_slice(&buf[..n]);
                while i + 3 <= got.len() {
                    if got[i] == 0x10
                        && got[i + 1] == 0x04
                        && let Some(reply) = state.dle_eot_reply(got[i + 2])
                    {
                        let _ = dev.write(&[reply]);
                        i += 3;
                        continue;
                    }
                    if got[i] == b'J'
                        && let Some(s) = after_job
                    {
                        state = s;
                    }
                    i += 1;
                }
            }
            got
        })
    }

    #[test]
    fn prints_on_a_ready_printer() {
        let (host, dev) = MemoryLink::pair();
        let t = printer_thread(dev, ready(), None);
        let mut p = Printer::new(host);
        p.print(b"JOB").unwrap();
        drop(p);
        let got = t.join().unwrap();
        // 3 queries, the job, 3 queries again.
        let mut expected = vec![0x10, 4, 1, 0x10, 4, 2, 0x10, 4, 4];
        expected.extend_from_slice(b"JOB");
        expected.extend_from_slice(&[0x10, 4, 1, 0x10, 4, 2, 0x10, 4, 4]);
        assert_eq!(got, expected);
    }

    #[test]
    fn refuses_a_job_the_printer_cannot_finish() {
        for (state, reason) in [
            (
                Condition {
                    paper_out: true,
                    ..ready()
                },
                NotReady::PaperOut,
            ),
            (
                Condition {
                    cover_open: true,
                    ..ready()
                },
                NotReady::CoverOpen,
            ),
            (
                Condition {
                    offline: true,
                    ..ready()
                },
                NotReady::Offline,
            ),
        ] {
            let (host, dev) = MemoryLink::pair();
            let t = printer_thread(dev, state, None);
            let mut p = Printer::new(host);
            let e = p.print(b"JOB").unwrap_err();
            assert!(matches!(e, PrintError::NotReady(r) if r == reason), "{e}");
            drop(p);
            let got = t.join().unwrap();
            assert!(!got.windows(3).any(|w| w == b"JOB"), "nothing printed");
        }
    }

    #[test]
    fn reports_a_fault_during_the_job() {
        let (host, dev) = MemoryLink::pair();
        let out = Condition {
            paper_out: true,
            ..ready()
        };
        let t = printer_thread(dev, ready(), Some(out));
        let mut p = Printer::new(host);
        let e = p.print(b"JOB").unwrap_err();
        assert!(
            matches!(e, PrintError::Interrupted(NotReady::PaperOut)),
            "{e}"
        );
        drop(p);
        t.join().unwrap();
    }

    #[test]
    fn no_reply_is_an_error_and_nothing_is_sent() {
        let (host, mut dev) = MemoryLink::pair();
        let mut p = Printer::new(host).with_reply_timeout(Duration::from_millis(50));
        let e = p.print(b"JOB").unwrap_err();
        assert!(matches!(e, PrintError::NoReply), "{e}");
        let mut buf = [0u8; 64];
        let n = dev.read(&mut buf, Duration::from_millis(10)).unwrap();
        assert_eq!(&buf[..n], &[0x10, 4, 1]);
    }

    #[test]
    fn skips_bytes_that_are_not_status_replies() {
        let (host, mut dev) = MemoryLink::pair();
        // Stale bytes before the query are drained; a wrong-shaped byte is skipped.
        dev.write(&[0xFF, 0x00]).unwrap();
        let t = thread::spawn(move || {
            let mut buf = [0u8; 16];
            for _ in 0..3 {
                let n = dev.read(&mut buf, Duration::from_secs(2)).unwrap();
                assert_eq!(n, 3);
                dev.write(&[0x80, 0x12]).unwrap();
            }
            dev
        });
        let mut p = Printer::new(host);
        assert_eq!(p.status().unwrap(), PrinterStatus::default());
        drop(t.join().unwrap());
    }

    #[test]
    fn file_printer_appends_without_queries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool").with_extension("bin");
        let mut p = Printer::new(FileTransport::open(&path).unwrap());
        p.print(b"first").unwrap();
        p.print(b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"firstsecond");
    }

    #[test]
    fn errors_read_as_sentences() {
        assert_eq!(
            PrintError::NotReady(NotReady::CoverOpen).to_string(),
            "打印机盖未关好 (the printer cover is open)"
        );
        assert_eq!(
            PrintError::NoReply.to_string(),
            "打印机无应答 (the printer does not answer)"
        );
        assert_eq!(
            PrintError::Interrupted(NotReady::PaperOut).not_ready(),
            Some(NotReady::PaperOut)
        );
    }
}
