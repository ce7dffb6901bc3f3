//! A simulated ESC/POS receipt printer: answers the real-time status queries `DLE EOT n` and the
//! paper sensor query `GS r n` from its state, and keeps (and optionally appends to a file)
//! everything it prints.
//!
//! Status bytes as Epson's ESC/POS reference gives them (see `drivers/PROTOCOLS.md`), written
//! here independently of the driver. Every `DLE EOT` reply has bit 1 and bit 4 set and bits 0
//! and 7 clear (`0x12` when nothing is wrong):
//!
//! | n | bit 2 | bit 3 | bit 5 | bit 6 |
//! |---|---|---|---|---|
//! | 1 printer | drawer pin | offline | — | feed button |
//! | 2 offline cause | cover open | feed button | stopped at paper end | error |
//! | 3 error cause | recoverable | auto-cutter | unrecoverable | auto-recoverable |
//! | 4 paper | near end (bits 2+3) | near end | out (bits 5+6) | out |
//!
//! `GS r 1` (or 49): bits 0+1 paper near end, bits 2+3 paper out; answered in turn, after what
//! was sent before it has been printed.

use std::collections::VecDeque;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Paper as the kiosk's staff see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaperState {
    Ok,
    NearEnd,
    Out,
}

/// The printer's conditions, as a person at the printer would describe them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Condition {
    pub paper_near_end: bool,
    pub paper_out: bool,
    pub cover_open: bool,
    pub offline: bool,
    /// Powered and plugged in: answers at all.
    pub connected: bool,
}

impl Condition {
    /// Whether it would print now.
    pub fn can_print(&self) -> bool {
        self.connected && !self.paper_out && !self.cover_open && !self.offline
    }

    fn flag(on: bool, bits: u8) -> u8 {
        if on { bits } else { 0 }
    }

    /// The reply to `DLE EOT n`, or `None` for an n the printer does not know.
    pub fn dle_eot_reply(&self, n: u8) -> Option<u8> {
        const FIXED: u8 = 0b0001_0010;
        let stopped = !self.can_print();
        Some(
            FIXED
                | match n {
                    1 => Self::flag(stopped, 0b0000_1000),
                    2 => {
                        Self::flag(self.cover_open, 0b0000_0100)
                            | Self::flag(self.paper_out, 0b0010_0000)
                    }
                    3 => 0,
                    4 => {
                        Self::flag(self.paper_near_end || self.paper_out, 0b0000_1100)
                            | Self::flag(self.paper_out, 0b0110_0000)
                    }
                    _ => return None,
                },
        )
    }

    /// The reply to `GS r 1`.
    pub fn gs_r_reply(&self) -> u8 {
        Self::flag(self.paper_near_end || self.paper_out, 0b0000_0011)
            | Self::flag(self.paper_out, 0b0000_1100)
    }
}

#[derive(Default)]
struct State {
    cond: Condition,
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
    fn print(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if !self.cond.can_print() {
            self.lost += bytes.len();
            return;
        }
        let n = match self.runs_out_after {
            Some(left) if left < bytes.len() => {
                self.runs_out_after = Some(0);
                self.cond.paper_out = true;
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
                eprintln!(
                    "simulated printer: could not append to {}: {e}",
                    path.display()
                );
            }
        }
    }

    /// Takes bytes from the host: queries are answered (after what came before them is
    /// printed), everything else is printed.
    fn feed(&mut self, bytes: &[u8]) {
        if !self.cond.connected {
            return;
        }
        let mut out = Vec::with_capacity(bytes.len());
        for &b in bytes {
            self.pending.push(b);
            match self.pending[..] {
                // DLE, DLE EOT, GS, GS r: wait for the rest.
                [0x10] | [0x10, 0x04] | [0x1D] | [0x1D, 0x72] => {}
                [0x10, 0x04, n] if self.cond.dle_eot_reply(n).is_some() => {
                    self.print(&std::mem::take(&mut out));
                    if let Some(reply) = self.cond.dle_eot_reply(n) {
                        self.replies.push_back(reply);
                    }
                    self.pending.clear();
                }
                [0x1D, 0x72, 1 | 49] => {
                    self.print(&std::mem::take(&mut out));
                    let reply = self.cond.gs_r_reply();
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
        let cond = Condition {
            connected: true,
            ..Condition::default()
        };
        Self {
            state: Arc::new(Mutex::new(State {
                cond,
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
        st.cond.paper_near_end = paper == PaperState::NearEnd;
        st.cond.paper_out = paper == PaperState::Out;
        if paper != PaperState::Out {
            st.runs_out_after = None;
        }
        Ok(())
    }

    pub fn set_cover_open(&self, open: bool) -> io::Result<()> {
        self.lock()?.cond.cover_open = open;
        Ok(())
    }

    pub fn set_offline(&self, offline: bool) -> io::Result<()> {
        self.lock()?.cond.offline = offline;
        Ok(())
    }

    /// Unplugged or switched off: no answers, nothing printed.
    pub fn set_connected(&self, connected: bool) -> io::Result<()> {
        let mut st = self.lock()?;
        st.cond.connected = connected;
        st.pending.clear();
        st.replies.clear();
        Ok(())
    }

    /// The paper runs out after `bytes` more printed bytes (a job cut short).
    pub fn run_out_after(&self, bytes: usize) -> io::Result<()> {
        self.lock()?.runs_out_after = Some(bytes);
        Ok(())
    }

    /// Powered and plugged in.
    pub fn connected(&self) -> io::Result<bool> {
        Ok(self.lock()?.cond.connected)
    }

    /// The printer's conditions now.
    pub fn condition(&self) -> io::Result<Condition> {
        Ok(self.lock()?.cond)
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

    /// Bytes from the host.
    pub fn receive(&self, bytes: &[u8]) -> io::Result<()> {
        self.lock()?.feed(bytes);
        Ok(())
    }

    /// Reply bytes for the host, waiting up to `timeout` (at most 2 s) when there are none.
    pub fn send(&self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
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
        // Replies only follow writes from the host: nothing can arrive while waiting, so wait
        // as a silent device would, without spinning.
        std::thread::sleep(timeout.min(Duration::from_secs(2)));
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replies(p: &SimPrinter, query: &[u8]) -> Vec<u8> {
        p.receive(query).unwrap();
        let mut buf = [0u8; 16];
        let n = p.send(&mut buf, Duration::ZERO).unwrap();
        buf[..n].to_vec()
    }

    #[test]
    fn answers_status_queries_bit_by_bit() {
        let p = SimPrinter::new();
        let all = [
            0x10, 0x04, 1, 0x10, 0x04, 2, 0x10, 0x04, 3, 0x10, 0x04, 4, 0x1D, 0x72, 1,
        ];
        assert_eq!(replies(&p, &all), [0x12, 0x12, 0x12, 0x12, 0x00]);
        p.set_paper(PaperState::NearEnd).unwrap();
        assert_eq!(replies(&p, &all), [0x12, 0x12, 0x12, 0x1E, 0x03]);
        p.set_paper(PaperState::Out).unwrap();
        assert_eq!(replies(&p, &all), [0x1A, 0x32, 0x12, 0x7E, 0x0F]);
        p.set_paper(PaperState::Ok).unwrap();
        p.set_cover_open(true).unwrap();
        assert_eq!(replies(&p, &all), [0x1A, 0x16, 0x12, 0x12, 0x00]);
        p.set_cover_open(false).unwrap();
        p.set_offline(true).unwrap();
        assert_eq!(replies(&p, &all), [0x1A, 0x12, 0x12, 0x12, 0x00]);
        assert_eq!(replies(&p, &[0x1D, 0x72, 49]), [0x00]);
        assert!(p.printed().unwrap().is_empty(), "queries are not printed");
    }

    #[test]
    fn keeps_printed_bytes_and_splits_queries_across_writes() {
        let p = SimPrinter::new();
        p.receive(b"AB").unwrap();
        p.receive(&[0x10]).unwrap();
        p.receive(&[0x04]).unwrap();
        p.receive(&[0x01, b'C', 0x1D, b'V', 66, 0]).unwrap();
        assert_eq!(p.printed().unwrap(), [b'A', b'B', b'C', 0x1D, b'V', 66, 0]);
        let mut buf = [0u8; 4];
        assert_eq!(p.send(&mut buf, Duration::ZERO).unwrap(), 1);
        p.receive(&[b'D', 0x1D]).unwrap();
        assert_eq!(p.printed().unwrap().last(), Some(&0x1D));
    }

    #[test]
    fn paper_runs_out_mid_job_and_unplugged_says_nothing() {
        let p = SimPrinter::new();
        p.run_out_after(2).unwrap();
        p.receive(b"four").unwrap();
        assert_eq!(p.printed().unwrap(), b"fo");
        assert_eq!(p.lost().unwrap(), 2);
        assert!(p.condition().unwrap().paper_out);
        p.set_connected(false).unwrap();
        assert!(replies(&p, &[0x10, 0x04, 1]).is_empty());
    }

    #[test]
    fn appends_to_a_file() {
        let dir = std::env::temp_dir().join(format!("sim-printer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.bin");
        let _ = std::fs::remove_file(&path);
        let p = SimPrinter::new().with_output_file(path.clone()).unwrap();
        p.receive(b"receipt-1").unwrap();
        p.receive(b"receipt-2").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"receipt-1receipt-2");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
