//! A simulated ESC/POS printer: a [`Transport`] that answers `DLE EOT n` and `GS r 1` from its
//! state and keeps (and optionally appends to a file) everything it prints.

use std::collections::VecDeque;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::printer::status::{PrinterStatus, StatusQuery};
use crate::transport::Transport;

/// Paper as the kiosk's staff see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaperState {
    Ok,
    NearEnd,
    Out,
}

#[derive(Default)]
struct State {
    paper_near_end: bool,
    paper_out: bool,
    cover_open: bool,
    offline: bool,
    /// Powered and plugged in: answers at all.
    connected: bool,
    /// Paper runs out after this many more printed bytes.
    runs_out_after: Option<usize>,
    printed: Vec<u8>,
    /// Bytes sent while the printer could not print (lost, as on paper-out).
    lost: usize,
    replies: VecDeque<u8>,
    pending: Vec<u8>,
    file: Option<PathBuf>,
}

impl State {
    fn status(&self) -> PrinterStatus {
        PrinterStatus {
            offline: self.offline,
            cover_open: self.cover_open,
            paper_end_stop: self.paper_out,
            error: false,
            paper_near_end: self.paper_near_end || self.paper_out,
            paper_out: self.paper_out,
        }
    }

    fn print(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if self.status().blocking_reason().is_some() {
            self.lost += bytes.len();
            return;
        }
        let n = match self.runs_out_after {
            Some(left) if left < bytes.len() => {
                self.runs_out_after = Some(0);
                self.paper_out = true;
                self.lost += bytes.len() - left;
                left
            }
            Some(left) => {
                self.runs_out_after = Some(left - bytes.len());
                bytes.len()
            }
            None => bytes.len(),
        };
        self.printed.extend_from_slice(&bytes[..n]);
        if let Some(path) = &self.file {
            let written = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut f| f.write_all(&bytes[..n]));
            if let Err(e) = written {
                tracing::warn!(error = %e, "simulated printer: could not append to its file");
            }
        }
    }

    /// Takes bytes from the host: queries are answered (after what came before them is
    /// printed), everything else is printed.
    fn feed(&mut self, bytes: &[u8]) {
        if !self.connected {
            return;
        }
        let mut out = Vec::with_capacity(bytes.len());
        for &b in bytes {
            self.pending.push(b);
            match self.pending[..] {
                [0x10] | [0x10, 0x04] | [0x1D] | [0x1D, 0x72] => {}
                [0x10, 0x04, n] if StatusQuery::from_n(n).is_some() => {
                    self.print(&std::mem::take(&mut out));
                    if let Some(q) = StatusQuery::from_n(n) {
                        let reply = self.status().reply_byte(q);
                        self.replies.push_back(reply);
                    }
                    self.pending.clear();
                }
                [0x1D, 0x72, 1 | 0x31] => {
                    self.print(&std::mem::take(&mut out));
                    let reply = self.status().sensor_byte();
                    self.replies.push_back(reply);
                    self.pending.clear();
                }
                _ => {
                    // Not a query: print all but a last byte that may start one.
                    let keep = matches!(self.pending.last(), Some(0x10 | 0x1D));
                    let upto = self.pending.len() - usize::from(keep);
                    out.extend(self.pending.drain(..upto));
                }
            }
        }
        // A job ends where the host stops sending: a held DLE or GS is printed after all.
        if self.pending.len() == 1 && bytes.len() > 1 {
            out.append(&mut self.pending);
        }
        self.print(&out);
    }
}

/// The simulated printer. Clones share one printer.
#[derive(Clone)]
pub struct SimPrinter {
    state: Arc<Mutex<State>>,
}

impl Default for SimPrinter {
    fn default() -> Self {
        Self::new()
    }
}

fn poisoned() -> io::Error {
    io::Error::other("simulated printer lock poisoned")
}

impl SimPrinter {
    pub fn new() -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                connected: true,
                ..State::default()
            })),
        }
    }

    fn lock(&self) -> io::Result<MutexGuard<'_, State>> {
        self.state.lock().map_err(|_| poisoned())
    }

    /// Also appends every printed byte to `path` (created if missing).
    pub fn with_output_file(self, path: PathBuf) -> io::Result<Self> {
        self.lock()?.file = Some(path);
        Ok(self)
    }

    pub fn set_paper(&self, paper: PaperState) -> io::Result<()> {
        let mut st = self.lock()?;
        st.paper_near_end = paper == PaperState::NearEnd;
        st.paper_out = paper == PaperState::Out;
        if paper != PaperState::Out {
            st.runs_out_after = None;
        }
        Ok(())
    }

    pub fn set_cover_open(&self, open: bool) -> io::Result<()> {
        self.lock()?.cover_open = open;
        Ok(())
    }

    pub fn set_offline(&self, offline: bool) -> io::Result<()> {
        self.lock()?.offline = offline;
        Ok(())
    }

    /// Unplugged or switched off: no answers, nothing printed.
    pub fn set_connected(&self, connected: bool) -> io::Result<()> {
        let mut st = self.lock()?;
        st.connected = connected;
        st.pending.clear();
        st.replies.clear();
        Ok(())
    }

    /// The paper runs out after `bytes` more printed bytes (a job cut short).
    pub fn run_out_after(&self, bytes: usize) -> io::Result<()> {
        self.lock()?.runs_out_after = Some(bytes);
        Ok(())
    }

    /// What the printer reports now.
    pub fn status(&self) -> io::Result<PrinterStatus> {
        Ok(self.lock()?.status())
    }

    pub fn connected(&self) -> io::Result<bool> {
        Ok(self.lock()?.connected)
    }

    /// Every byte printed so far (status queries are not printed).
    pub fn printed(&self) -> io::Result<Vec<u8>> {
        Ok(self.lock()?.printed.clone())
    }

    /// Bytes received while the printer could not print.
    pub fn lost(&self) -> io::Result<usize> {
        Ok(self.lock()?.lost)
    }

    pub fn clear_printed(&self) -> io::Result<()> {
        self.lock()?.printed.clear();
        Ok(())
    }
}

impl Transport for SimPrinter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.lock()?.feed(bytes);
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        {
            let mut st = self.lock()?;
            if !st.replies.is_empty() {
                let n = buf.len().min(st.replies.len());
                for (slot, b) in buf.iter_mut().zip(st.replies.drain(..n)) {
                    *slot = b;
                }
                return Ok(n);
            }
        }
        // Replies only follow writes from this side: nothing can arrive while waiting, so
        // wait as a silent device would, without spinning.
        std::thread::sleep(timeout.min(Duration::from_secs(2)));
        Ok(0)
    }

    fn describe(&self) -> String {
        "simulated printer".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::printer::{NotReady, PrintError, Printer};

    #[test]
    fn answers_status_queries_from_its_state() {
        let mut p = SimPrinter::new();
        let mut buf = [0u8; 8];
        p.write(&[0x10, 0x04, 0x01, 0x10, 0x04, 0x04]).unwrap();
        assert_eq!(p.read(&mut buf, Duration::ZERO).unwrap(), 2);
        assert_eq!(&buf[..2], &[0x12, 0x12]);
        p.set_paper(PaperState::NearEnd).unwrap();
        p.write(&[0x10, 0x04, 0x04]).unwrap();
        p.read(&mut buf, Duration::ZERO).unwrap();
        assert_eq!(buf[0], 0x1E);
        p.set_paper(PaperState::Out).unwrap();
        p.write(&[0x10, 0x04, 0x01, 0x10, 0x04, 0x02, 0x10, 0x04, 0x04])
            .unwrap();
        assert_eq!(p.read(&mut buf, Duration::ZERO).unwrap(), 3);
        assert_eq!(&buf[..3], &[0x1A, 0x32, 0x7E]);
        p.set_paper(PaperState::Ok).unwrap();
        p.set_cover_open(true).unwrap();
        p.write(&[0x10, 0x04, 0x02]).unwrap();
        p.read(&mut buf, Duration::ZERO).unwrap();
        assert_eq!(buf[0], 0x16);
        p.write(&[0x1D, 0x72, 0x01]).unwrap();
        p.read(&mut buf, Duration::ZERO).unwrap();
        assert_eq!(buf[0], 0x00);
        assert!(p.printed().unwrap().is_empty(), "queries are not printed");
    }

    #[test]
    fn keeps_printed_bytes_and_splits_queries_across_writes() {
        let mut p = SimPrinter::new();
        p.write(b"AB").unwrap();
        p.write(&[0x10]).unwrap();
        p.write(&[0x04]).unwrap();
        p.write(&[0x01, b'C', 0x1D, b'V', 66, 0]).unwrap();
        assert_eq!(p.printed().unwrap(), [b'A', b'B', b'C', 0x1D, b'V', 66, 0]);
        let mut buf = [0u8; 4];
        assert_eq!(p.read(&mut buf, Duration::ZERO).unwrap(), 1);
        // A job that ends in a GS byte still prints it.
        p.write(&[b'D', 0x1D]).unwrap();
        assert_eq!(p.printed().unwrap().last(), Some(&0x1D));
    }

    #[test]
    fn a_silent_printer_times_out() {
        let p = SimPrinter::new();
        p.set_connected(false).unwrap();
        let mut printer = Printer::new(p.clone()).with_reply_timeout(Duration::from_millis(20));
        assert!(matches!(printer.print(b"x"), Err(PrintError::NoReply)));
        assert!(p.printed().unwrap().is_empty());
    }

    #[test]
    fn the_driver_refuses_and_prints_as_it_should() {
        let p = SimPrinter::new();
        let mut printer = Printer::new(p.clone());
        printer.print(b"one").unwrap();
        p.set_offline(true).unwrap();
        assert!(matches!(
            printer.print(b"two"),
            Err(PrintError::NotReady(NotReady::Offline))
        ));
        p.set_offline(false).unwrap();
        p.set_paper(PaperState::NearEnd).unwrap();
        printer.print(b"three").unwrap();
        assert_eq!(p.printed().unwrap(), b"onethree");
        // The paper runs out in the middle of a job: reported, not "success".
        p.run_out_after(2).unwrap();
        let e = printer.print(b"four").unwrap_err();
        assert!(
            matches!(e, PrintError::Interrupted(NotReady::PaperOut)),
            "{e}"
        );
        assert_eq!(p.printed().unwrap(), b"onethreefo");
        assert_eq!(p.lost().unwrap(), 2);
    }

    #[test]
    fn completion_check_sees_the_paper_run_out() {
        let p = SimPrinter::new();
        let mut printer = Printer::new(p.clone()).with_completion_check(Duration::from_millis(100));
        printer.print(b"ok").unwrap();
        assert_eq!(p.printed().unwrap(), b"ok");
    }

    #[test]
    fn appends_to_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sim-printer.bin");
        let p = SimPrinter::new().with_output_file(path.clone()).unwrap();
        let mut printer = Printer::new(p);
        printer.print(b"receipt-1").unwrap();
        printer.print(b"receipt-2").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"receipt-1receipt-2");
    }
}
