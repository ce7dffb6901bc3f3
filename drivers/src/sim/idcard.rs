//! A simulated SAM module: answers request frames with reply frames, exactly as a reader
//! does, with a card slot and fault injection.

use std::collections::VecDeque;

use crate::idcard::frame::{Command, FrameError, FrameParser, ReaderStatus, encode_reply};
use crate::idcard::text::encode_text;
use crate::idcard::{CardKind, IdCard, ValidTo};

/// The photo block size of a read reply.
pub const PHOTO_LEN: usize = 1024;
/// The fingerprint block size of a read-with-fingerprint reply.
pub const FINGERPRINT_LEN: usize = 1024;

/// Faults the simulated reader can inject into its replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderFault {
    /// The reply's checksum is wrong.
    BadChecksum,
    /// Noise bytes come before the reply.
    Garbage,
    /// Only the first part of the reply is sent.
    Truncated,
    /// The reply carries this SW3 instead of the real one (e.g. 0x41 read failed, 0x60 SAM
    /// self-test failed).
    Status(u8),
    /// No reply at all.
    Silent,
}

/// The demo card: a resident ID card for 张建国.
pub fn demo_card() -> IdCard {
    let first17 = "42060219580312001";
    let check = hall_domain::codes::id_check_char(first17).unwrap_or('X');
    IdCard {
        kind: CardKind::Resident,
        name: "张建国".into(),
        name_en: String::new(),
        sex_code: 1,
        nation: "汉".into(),
        birth: "19580312".into(),
        address: "湖北省襄阳市樊城区人民路18号3栋2单元501室".into(),
        id_number: format!("{first17}{check}"),
        authority: "襄阳市公安局樊城分局".into(),
        valid_from: "20180312".into(),
        valid_to: ValidTo::LongTerm,
        travel_permit: String::new(),
        issue_count: String::new(),
        photo: demo_photo(),
    }
}

/// An opaque stand-in for a WLT photo block.
fn demo_photo() -> Vec<u8> {
    let mut photo = Vec::with_capacity(PHOTO_LEN);
    photo.extend_from_slice(b"WLT\0sim");
    let mut x: u32 = 0x1234_5678;
    while photo.len() < PHOTO_LEN {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        photo.push((x & 0xFF) as u8);
    }
    photo
}

/// The simulated reader.
#[derive(Default)]
pub struct SimIdCardReader {
    card: Option<IdCard>,
    /// The card on the reader has been read (it must leave before "find" finds it again).
    read_done: bool,
    selected: bool,
    /// Answer "found" again for a card already read (some readers do; the kiosk must still
    /// read each card once).
    refind_read_card: bool,
    /// SW3 that every read of the card answers instead of the data (a damaged card).
    read_status: Option<u8>,
    once: VecDeque<ReaderFault>,
    persistent: Option<ReaderFault>,
    requests: usize,
    parser: FrameParser,
}

impl SimIdCardReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts a card on the reader (replacing any).
    pub fn place(&mut self, card: IdCard) {
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

    /// Request frames handled so far.
    pub fn requests(&self) -> usize {
        self.requests
    }

    /// Handles request bytes (one or more whole frames, or pieces: partial frames are kept
    /// for the next call) and returns the reply bytes.
    pub fn handle(&mut self, request: &[u8]) -> Vec<u8> {
        self.parser.push(request);
        let mut out = Vec::new();
        while let Some(item) = self.parser.pop() {
            match item {
                Ok(frame) => {
                    let reply = match frame.as_request() {
                        Some((cmd, para, _)) => self.answer(cmd, para),
                        None => {
                            encode_reply(ReaderStatus::BadLength.sw3(), &[]).unwrap_or_default()
                        }
                    };
                    out.extend(self.apply_fault(reply));
                }
                Err(FrameError::Garbage { .. }) => {}
                Err(FrameError::BadChecksum { .. }) => {
                    let reply =
                        encode_reply(ReaderStatus::BadChecksum.sw3(), &[]).unwrap_or_default();
                    out.extend(self.apply_fault(reply));
                }
                Err(_) => {
                    let reply =
                        encode_reply(ReaderStatus::BadLength.sw3(), &[]).unwrap_or_default();
                    out.extend(self.apply_fault(reply));
                }
            }
        }
        out
    }

    fn apply_fault(&mut self, reply: Vec<u8>) -> Vec<u8> {
        self.requests += 1;
        let fault = self.once.pop_front().or(self.persistent);
        match fault {
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
            Some(ReaderFault::Status(sw3)) => encode_reply(sw3, &[]).unwrap_or_default(),
        }
    }

    fn status(sw3: ReaderStatus) -> Vec<u8> {
        encode_reply(sw3.sw3(), &[]).unwrap_or_default()
    }

    fn answer(&mut self, cmd: u8, para: u8) -> Vec<u8> {
        let Some(command) = Command::from_code(cmd, para) else {
            return Self::status(ReaderStatus::BadCommand);
        };
        match command {
            Command::ResetSam | Command::SamStatus => Self::status(ReaderStatus::Ok),
            Command::ReadSamId => {
                let id: Vec<u8> = (0u8..16).map(|i| 0x50 + i).collect();
                encode_reply(ReaderStatus::Ok.sw3(), &id).unwrap_or_default()
            }
            Command::FindCard => {
                self.selected = false;
                match &self.card {
                    Some(_) if !self.read_done || self.refind_read_card => {
                        Self::status(ReaderStatus::CardFound)
                    }
                    _ => Self::status(ReaderStatus::NoCard),
                }
            }
            Command::SelectCard => {
                if self.card.is_some() && (!self.read_done || self.refind_read_card) {
                    self.selected = true;
                    Self::status(ReaderStatus::Ok)
                } else {
                    Self::status(ReaderStatus::SelectFailed)
                }
            }
            Command::ReadText | Command::ReadTextFingerprint => {
                let fingerprint = command == Command::ReadTextFingerprint;
                let Some(card) = self.card.as_ref().filter(|_| self.selected) else {
                    return Self::status(ReaderStatus::ReadFailed);
                };
                if let Some(sw3) = self.read_status {
                    self.selected = false;
                    return encode_reply(sw3, &[]).unwrap_or_default();
                }
                let Ok(text) = encode_text(card) else {
                    return Self::status(ReaderStatus::ReadFailed);
                };
                let mut photo = card.photo.clone();
                photo.resize(PHOTO_LEN, 0);
                let mut data = Vec::with_capacity(6 + 256 + PHOTO_LEN + FINGERPRINT_LEN);
                data.extend_from_slice(&(text.len() as u16).to_le_bytes());
                data.extend_from_slice(&(PHOTO_LEN as u16).to_le_bytes());
                if fingerprint {
                    data.extend_from_slice(&(FINGERPRINT_LEN as u16).to_le_bytes());
                }
                data.extend_from_slice(&text);
                data.extend_from_slice(&photo);
                if fingerprint {
                    data.extend(std::iter::repeat_n(0u8, FINGERPRINT_LEN));
                }
                self.read_done = true;
                self.selected = false;
                encode_reply(ReaderStatus::Ok.sw3(), &data).unwrap_or_default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idcard::reader::parse_read_data;

    fn reply_of(bytes: &[u8]) -> (u8, Vec<u8>) {
        let mut p = FrameParser::new();
        p.push(bytes);
        let f = p.pop().unwrap().unwrap();
        let r = f.as_reply().unwrap();
        (r.sw3, r.data.to_vec())
    }

    #[test]
    fn demo_card_has_a_valid_id_number() {
        let c = demo_card();
        assert_eq!(c.id_number.len(), 18);
        assert!(c.id_number.starts_with("42060219580312001"));
        hall_domain::codes::validate_id_number(&c.id_number).unwrap();
        assert_eq!(c.photo.len(), PHOTO_LEN);
        assert_eq!(c.sex_name(), "男");
    }

    #[test]
    fn speaks_the_protocol() {
        let mut sim = SimIdCardReader::new();
        assert_eq!(
            sim.handle(&Command::SamStatus.request()),
            [
                0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x04, 0x00, 0x00, 0x90, 0x94
            ]
        );
        assert_eq!(reply_of(&sim.handle(&Command::FindCard.request())).0, 0x80);
        assert_eq!(
            reply_of(&sim.handle(&Command::SelectCard.request())).0,
            0x81
        );
        sim.place(demo_card());
        assert_eq!(reply_of(&sim.handle(&Command::ReadText.request())).0, 0x41);
        assert_eq!(reply_of(&sim.handle(&Command::FindCard.request())).0, 0x9F);
        assert_eq!(
            reply_of(&sim.handle(&Command::SelectCard.request())).0,
            0x90
        );
        let reply = sim.handle(&Command::ReadText.request());
        assert_eq!(reply.len(), 1295);
        assert_eq!(&reply[5..7], &[0x05, 0x08]);
        let (sw3, data) = reply_of(&reply);
        assert_eq!(sw3, 0x90);
        assert_eq!(parse_read_data(&data, false).unwrap(), demo_card());
        // Read: the card must leave before it is found again.
        assert_eq!(reply_of(&sim.handle(&Command::FindCard.request())).0, 0x80);
        sim.remove();
        sim.place(demo_card());
        assert_eq!(reply_of(&sim.handle(&Command::FindCard.request())).0, 0x9F);
        // Unknown commands and bad checksums.
        let mut bad = Command::FindCard.request();
        bad[9] ^= 1;
        assert_eq!(reply_of(&sim.handle(&bad)).0, 0x10);
        assert_eq!(
            reply_of(&sim.handle(&crate::idcard::frame::encode_frame(&[0x77, 0x01]).unwrap())).0,
            0x21
        );
        let (sw3, id) = reply_of(&sim.handle(&Command::ReadSamId.request()));
        assert_eq!((sw3, id.len()), (0x90, 16));
        // A damaged card: found and selected, but every read fails.
        sim.set_read_status(Some(0x31));
        sim.handle(&Command::FindCard.request());
        sim.handle(&Command::SelectCard.request());
        assert_eq!(reply_of(&sim.handle(&Command::ReadText.request())).0, 0x31);
        assert_eq!(reply_of(&sim.handle(&Command::FindCard.request())).0, 0x9F);
    }

    #[test]
    fn reads_with_fingerprint() {
        let mut sim = SimIdCardReader::new();
        sim.place(demo_card());
        sim.handle(&Command::FindCard.request());
        sim.handle(&Command::SelectCard.request());
        let (sw3, data) = reply_of(&sim.handle(&Command::ReadTextFingerprint.request()));
        assert_eq!(sw3, 0x90);
        assert_eq!(data.len(), 6 + 256 + 1024 + 1024);
        assert_eq!(parse_read_data(&data, true).unwrap(), demo_card());
    }

    #[test]
    fn requests_in_pieces_and_several_at_once() {
        let mut sim = SimIdCardReader::new();
        let req = Command::SamStatus.request();
        assert!(sim.handle(&req[..4]).is_empty());
        assert_eq!(reply_of(&sim.handle(&req[4..])).0, 0x90);
        let mut two = Command::SamStatus.request();
        two.extend(Command::FindCard.request());
        let out = sim.handle(&two);
        assert_eq!(out.len(), 22);
    }

    #[test]
    fn injects_faults() {
        let mut sim = SimIdCardReader::new();
        let req = Command::SamStatus.request();
        sim.inject(ReaderFault::BadChecksum);
        sim.inject(ReaderFault::Garbage);
        sim.inject(ReaderFault::Truncated);
        sim.inject(ReaderFault::Status(0x60));
        sim.inject(ReaderFault::Silent);

        let mut p = FrameParser::new();
        p.push(&sim.handle(&req));
        assert!(matches!(p.pop(), Some(Err(FrameError::BadChecksum { .. }))));

        let out = sim.handle(&req);
        assert_eq!(&out[..7], &[0x00, 0xFF, 0xAA, 0x13, 0x96, 0xAA, 0xAA]);
        let mut p = FrameParser::new();
        p.push(&out);
        assert!(matches!(p.pop(), Some(Err(FrameError::Garbage { .. }))));
        assert!(p.pop().unwrap().is_ok());

        assert_eq!(sim.handle(&req).len(), 5);
        assert_eq!(reply_of(&sim.handle(&req)).0, 0x60);
        assert!(sim.handle(&req).is_empty());
        assert_eq!(
            reply_of(&sim.handle(&req)).0,
            0x90,
            "one-shot faults are used up"
        );

        sim.set_fault(Some(ReaderFault::Silent));
        assert!(sim.handle(&req).is_empty());
        assert!(sim.handle(&req).is_empty());
        sim.set_fault(None);
        assert_eq!(reply_of(&sim.handle(&req)).0, 0x90);
        assert_eq!(sim.requests(), 9);
    }
}
