//! A simulated SAM module: answers request frames with reply frames as a reader does, with a
//! card slot and fault injection.
//!
//! The frame, as the public descriptions give it (see `drivers/PROTOCOLS.md`):
//! `AA AA AA 96 69 | LEN (2 bytes, big-endian: the bytes after it, CHK included) | body | CHK`,
//! CHK the XOR of LEN and body. A request's body is CMD PARA; a reply's is SW1 SW2 SW3 and data.
//! The read reply's data starts with the text, photo (and fingerprint) lengths, each two bytes
//! big-endian.

mod card;

use std::collections::VecDeque;

pub use card::{DoesNotFit, SimCard, SimCardKind, demo_photo};

/// SW3 codes a reader answers with.
pub mod sw3 {
    pub const OK: u8 = 0x90;
    pub const FOUND: u8 = 0x9F;
    pub const NO_CARD: u8 = 0x80;
    pub const SELECT_FAILED: u8 = 0x81;
    pub const READ_FAILED: u8 = 0x41;
    pub const NO_CONTENT: u8 = 0x91;
    pub const BAD_CHECKSUM: u8 = 0x10;
    pub const BAD_LENGTH: u8 = 0x11;
    pub const BAD_COMMAND: u8 = 0x21;
    pub const SAM_SELF_TEST_FAILED: u8 = 0x60;
}

const SYNC: [u8; 5] = [0xAA, 0xAA, 0xAA, 0x96, 0x69];
/// Text block, photo and fingerprint sizes in a read reply.
pub const TEXT_BYTES: usize = 256;
pub const PHOTO_BYTES: usize = 1024;
pub const FINGERPRINT_BYTES: usize = 1024;
/// A SAM id: u16 LE, u16 LE, three u32 LE (05.01-20101129-0001228293-0296863149).
const SAM_ID: [u8; 16] = [
    0x05, 0x00, 0x01, 0x00, 0x09, 0xB8, 0x32, 0x01, 0x05, 0xBE, 0x12, 0x00, 0xAD, 0xC5, 0xB1, 0x11,
];
/// The longest request a reader takes (LEN); longer is a length error.
const MAX_REQUEST_LEN: usize = 0x0100;

/// A reply frame: SW1 = SW2 = 00, `status`, `data`.
pub fn reply_frame(status: u8, data: &[u8]) -> Vec<u8> {
    let len = 3 + data.len() + 1;
    let mut f = SYNC.to_vec();
    f.push((len / 256) as u8);
    f.push((len % 256) as u8);
    f.extend_from_slice(&[0x00, 0x00, status]);
    f.extend_from_slice(data);
    let chk = f[5..].iter().fold(0u8, |x, b| x ^ b);
    f.push(chk);
    f
}

/// Faults the simulated reader can inject into its replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderFault {
    /// The reply's checksum is wrong.
    BadChecksum,
    /// Noise bytes come before the reply.
    Garbage,
    /// Only the first half of the reply is sent.
    Truncated,
    /// The reply carries this SW3 instead of the real one.
    Status(u8),
    /// No reply at all.
    Silent,
}

/// The simulated reader.
#[derive(Default)]
pub struct SimIdCardReader {
    card: Option<SimCard>,
    /// The card on the reader has been read (it must leave before "find" finds it again).
    read_done: bool,
    selected: bool,
    /// Answer "found" again for a card already read (some readers do).
    refind_read_card: bool,
    /// SW3 that every read of the card answers instead of the data (a damaged card).
    read_status: Option<u8>,
    once: VecDeque<ReaderFault>,
    persistent: Option<ReaderFault>,
    requests: usize,
    inbox: Vec<u8>,
}

impl SimIdCardReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts a card on the reader (replacing any).
    pub fn place(&mut self, card: SimCard) {
        self.card = Some(card);
        self.read_done = false;
        self.selected = false;
    }

    /// Takes the card away.
    pub fn remove(&mut self) {
        self.card = None;
        self.read_done = false;
        self.selected = false;
    }

    pub fn has_card(&self) -> bool {
        self.card.is_some()
    }

    /// Injects a fault into the next reply only (faults queue up).
    pub fn inject(&mut self, fault: ReaderFault) {
        self.once.push_back(fault);
    }

    /// Applies a fault to every reply until cleared with `None`.
    pub fn set_fault(&mut self, fault: Option<ReaderFault>) {
        self.persistent = fault;
    }

    /// Makes every read of the card fail with this SW3 (e.g. 0x41, 0x31), or work again.
    pub fn set_read_status(&mut self, sw3: Option<u8>) {
        self.read_status = sw3;
    }

    pub fn set_refind_read_card(&mut self, on: bool) {
        self.refind_read_card = on;
    }

    /// Request frames answered so far.
    pub fn requests(&self) -> usize {
        self.requests
    }

    /// Takes request bytes (whole frames, several, or pieces: a partial frame waits for the
    /// rest) and returns the reply bytes.
    pub fn handle(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.inbox.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            // Drop everything before a sync header.
            let Some(start) = self.inbox.windows(5).position(|w| w == SYNC) else {
                let keep = self.inbox.len().min(4);
                self.inbox.drain(..self.inbox.len() - keep);
                break;
            };
            self.inbox.drain(..start);
            if self.inbox.len() < 7 {
                break;
            }
            let len = usize::from(self.inbox[5]) * 256 + usize::from(self.inbox[6]);
            if !(3..=MAX_REQUEST_LEN).contains(&len) {
                self.inbox.drain(..5);
                let reply = reply_frame(sw3::BAD_LENGTH, &[]);
                out.extend(self.apply_fault(reply));
                continue;
            }
            if self.inbox.len() < 7 + len {
                break;
            }
            let frame: Vec<u8> = self.inbox.drain(..7 + len).collect();
            let sum = frame[5..frame.len() - 1].iter().fold(0u8, |x, b| x ^ b);
            let reply = if sum != frame[frame.len() - 1] {
                reply_frame(sw3::BAD_CHECKSUM, &[])
            } else {
                self.answer(frame[7], frame[8])
            };
            out.extend(self.apply_fault(reply));
        }
        out
    }

    fn apply_fault(&mut self, reply: Vec<u8>) -> Vec<u8> {
        self.requests += 1;
        match self.once.pop_front().or(self.persistent) {
            None => reply,
            Some(ReaderFault::Silent) => Vec::new(),
            Some(ReaderFault::BadChecksum) => {
                let mut r = reply;
                if let Some(last) = r.last_mut() {
                    *last ^= 0x5A;
                }
                r
            }
            Some(ReaderFault::Garbage) => {
                let mut r = vec![0x00, 0xFF, 0xAA, 0x13, 0x96, 0xAA, 0xAA];
                r.extend(reply);
                r
            }
            Some(ReaderFault::Truncated) => {
                let keep = (reply.len() / 2).max(1);
                reply[..keep].to_vec()
            }
            Some(ReaderFault::Status(s)) => reply_frame(s, &[]),
        }
    }

    fn answer(&mut self, cmd: u8, para: u8) -> Vec<u8> {
        let present = self.card.is_some() && (!self.read_done || self.refind_read_card);
        match (cmd, para) {
            // Reset SAM, SAM status.
            (0x10, 0xFF) | (0x11, 0xFF) => reply_frame(sw3::OK, &[]),
            // SAM id: 16 bytes (the module 05.01-20101129-0001228293-0296863149).
            (0x12, 0xFF) => reply_frame(sw3::OK, &SAM_ID),
            // Find card: found with the 4-byte chip management number, or not.
            (0x20, 0x01) => {
                self.selected = false;
                if present {
                    reply_frame(sw3::FOUND, &[0; 4])
                } else {
                    reply_frame(sw3::NO_CARD, &[])
                }
            }
            // Select card: selected with 8 bytes, or failed.
            (0x20, 0x02) => {
                self.selected = present;
                if present {
                    reply_frame(sw3::OK, &[0; 8])
                } else {
                    reply_frame(sw3::SELECT_FAILED, &[])
                }
            }
            // Read text and photo; with fingerprint.
            (0x30, 0x01) | (0x30, 0x10) => self.read(para == 0x10),
            _ => reply_frame(sw3::BAD_COMMAND, &[]),
        }
    }

    fn read(&mut self, fingerprint: bool) -> Vec<u8> {
        let Some(card) = self.card.as_ref().filter(|_| self.selected) else {
            return reply_frame(sw3::READ_FAILED, &[]);
        };
        if let Some(s) = self.read_status {
            self.selected = false;
            return reply_frame(s, &[]);
        }
        let Ok(text) = card.text_block() else {
            return reply_frame(sw3::READ_FAILED, &[]);
        };
        let mut photo = card.photo.clone();
        photo.resize(PHOTO_BYTES, 0);
        let mut data = Vec::with_capacity(6 + TEXT_BYTES + PHOTO_BYTES + FINGERPRINT_BYTES);
        let mut length = |n: usize| data.extend_from_slice(&[(n >> 8) as u8, n as u8]);
        length(TEXT_BYTES);
        length(PHOTO_BYTES);
        if fingerprint {
            length(FINGERPRINT_BYTES);
        }
        data.extend_from_slice(&text);
        data.extend_from_slice(&photo);
        if fingerprint {
            data.extend(std::iter::repeat_n(0u8, FINGERPRINT_BYTES));
        }
        self.read_done = true;
        self.selected = false;
        reply_frame(sw3::OK, &data)
    }
}

#[cfg(test)]
mod tests;
