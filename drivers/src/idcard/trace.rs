//! The frames exchanged with a reader, written out for a technician (`hall-kiosk diag idcard
//! --verbose`): hex, with what each frame means, and every byte that could be personal data
//! redacted (the text, photo and fingerprint blocks and the card's chip number). Bytes that do
//! not parse as a frame (noise, another preamble, a bad checksum or length) are shown in hex too,
//! the first [`UNPARSED_HEX_MAX`] of them, since they are what a technician needs to recognise
//! another protocol; except while a card is being read, when anything received may be a piece
//! of the card's data and only its size is shown (a read reply with a bad checksum is shown
//! redacted as a read reply).

use zeroize::Zeroize;

use super::frame::{Command, FrameError, FrameParser, PREAMBLE, ReaderStatus, checksum};

/// Unparsed bytes shown in hex at most; the rest counted.
pub const UNPARSED_HEX_MAX: usize = 64;

/// Which way a frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Sent,
    Received,
}

/// One frame as shown: hex (with redactions) and its meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracedFrame {
    pub direction: Direction,
    pub hex: String,
    pub meaning: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn command_name(cmd: u8, para: u8) -> String {
    match Command::from_code(cmd, para) {
        Some(Command::ResetSam) => "reset SAM".into(),
        Some(Command::SamStatus) => "SAM status".into(),
        Some(Command::ReadSamId) => "read SAM id".into(),
        Some(Command::FindCard) => "find card".into(),
        Some(Command::SelectCard) => "select card".into(),
        Some(Command::ReadText) => "read text and photo".into(),
        Some(Command::ReadTextFingerprint) => "read text, photo and fingerprint".into(),
        None => format!("command {cmd:02X} {para:02X}"),
    }
}

/// Follows both directions of a reader link.
#[derive(Default)]
pub struct FrameTrace {
    parser: FrameParser,
    last_command: Option<Command>,
    /// The bytes the parser holds, mirrored, to show those it cannot parse.
    held: Vec<u8>,
    /// Bytes still to come of a frame already shown whole (one with a bad checksum, whose
    /// body the parser then skips as noise).
    shown_ahead: usize,
}

impl Drop for FrameTrace {
    fn drop(&mut self) {
        self.held.zeroize();
    }
}

impl FrameTrace {
    pub fn new() -> Self {
        Self::default()
    }

    /// A request the kiosk sent (requests carry no personal data).
    pub fn sent(&mut self, bytes: &[u8]) -> TracedFrame {
        let meaning = match bytes {
            [_, _, _, _, _, _, _, cmd, para, ..] if bytes.starts_with(&PREAMBLE) => {
                self.last_command = Command::from_code(*cmd, *para);
                command_name(*cmd, *para)
            }
            _ => "not a frame".into(),
        };
        TracedFrame {
            direction: Direction::Sent,
            hex: hex(bytes),
            meaning,
        }
    }

    /// Bytes received: the frames they complete.
    pub fn received(&mut self, bytes: &[u8]) -> Vec<TracedFrame> {
        self.parser.push(bytes);
        self.held.extend_from_slice(bytes);
        // The parser drops the oldest bytes when flooded: so does the mirror.
        let excess = self.held.len().saturating_sub(self.parser.pending());
        self.held[..excess].zeroize();
        self.held.drain(..excess);
        let mut out = Vec::new();
        loop {
            let before = self.parser.pending();
            let Some(item) = self.parser.pop() else {
                break;
            };
            let consumed = before
                .saturating_sub(self.parser.pending())
                .min(self.held.len());
            let (hex, meaning) = match item {
                Ok(frame) => {
                    self.shown_ahead = 0;
                    self.reply(&frame.body)
                }
                Err(FrameError::Garbage { skipped }) if self.shown_ahead >= skipped => {
                    self.shown_ahead -= skipped;
                    (
                        format!("‹{skipped} bytes›"),
                        "the rest of the frame above".into(),
                    )
                }
                Err(FrameError::Garbage { .. }) => {
                    self.shown_ahead = 0;
                    (
                        self.unparsed(&self.held[..consumed]),
                        "noise before a frame".into(),
                    )
                }
                Err(e @ FrameError::BadChecksum { .. }) => self.bad_checksum(&e),
                Err(e @ FrameError::BadLength(_)) => (
                    self.unparsed(&self.held[..(PREAMBLE.len() + 2).min(self.held.len())]),
                    e.to_string(),
                ),
                Err(e) => ("‹frame›".into(), e.to_string()),
            };
            self.held[..consumed].zeroize();
            self.held.drain(..consumed);
            out.push(TracedFrame {
                direction: Direction::Received,
                hex,
                meaning,
            });
        }
        out
    }

    fn reading(&self) -> bool {
        matches!(
            self.last_command,
            Some(Command::ReadText | Command::ReadTextFingerprint)
        )
    }

    /// Bytes that did not parse: hex (the first [`UNPARSED_HEX_MAX`]), or only their count while
    /// a card is being read.
    fn unparsed(&self, bytes: &[u8]) -> String {
        if self.reading() {
            return format!("‹{} bytes›", bytes.len());
        }
        let shown = &bytes[..bytes.len().min(UNPARSED_HEX_MAX)];
        match bytes.len() - shown.len() {
            0 => hex(shown),
            more => format!("{} ‹{more} more bytes›", hex(shown)),
        }
    }

    /// A frame whose checksum does not match: shown whole (a read reply redacted as one).
    fn bad_checksum(&mut self, e: &FrameError) -> (String, String) {
        let head = PREAMBLE.len() + 2;
        let Some(len) = self
            .held
            .get(PREAMBLE.len()..head)
            .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
        else {
            return ("‹frame›".into(), e.to_string());
        };
        let total = (head + len).min(self.held.len());
        self.shown_ahead = total.saturating_sub(PREAMBLE.len());
        let shown = if self.reading() && total > head {
            let body = self.held[head..total - 1].to_vec();
            let (mut shown, _) = self.reply(&body);
            // The checksum as received, not as it should have been.
            if let (Some(i), Some(found)) = (shown.rfind(' '), self.held.get(total - 1)) {
                shown.truncate(i);
                shown.push_str(&format!(" {found:02X}"));
            }
            shown
        } else {
            self.unparsed(&self.held[..total])
        };
        (shown, e.to_string())
    }

    fn reply(&self, body: &[u8]) -> (String, String) {
        let len = body.len() + 1;
        let mut head = PREAMBLE.to_vec();
        head.extend_from_slice(&[(len >> 8) as u8, (len & 0xFF) as u8]);
        let chk = checksum(&head[PREAMBLE.len()..]) ^ checksum(body);
        let Some((sw, data)) = body.split_at_checked(3) else {
            return (hex(&head), "too short for a reply".into());
        };
        head.extend_from_slice(sw);
        let status = ReaderStatus::from_sw3(sw[2]);
        let mut parts = vec![hex(&head)];
        let reading = matches!(
            self.last_command,
            Some(Command::ReadText | Command::ReadTextFingerprint)
        );
        if reading && status == ReaderStatus::Ok && data.len() >= 4 {
            // The block lengths are shown; the blocks themselves are personal data.
            let heads = if self.last_command == Some(Command::ReadTextFingerprint) {
                3
            } else {
                2
            };
            let lens = &data[..(heads * 2).min(data.len())];
            parts.push(hex(lens));
            let names = ["text", "photo", "fingerprint"];
            let mut rest = data.len() - lens.len();
            for (i, pair) in lens.chunks_exact(2).enumerate() {
                let n = usize::from(u16::from_be_bytes([pair[0], pair[1]])).min(rest);
                rest -= n;
                parts.push(format!("‹{} {n} bytes›", names[i]));
            }
            if rest > 0 {
                parts.push(format!("‹{rest} more bytes›"));
            }
        } else if !data.is_empty() {
            if self.last_command == Some(Command::ReadSamId) {
                parts.push(hex(data));
            } else {
                parts.push(format!("‹{} data bytes›", data.len()));
            }
        }
        parts.push(format!("{chk:02X}"));
        (parts.join(" "), status.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_sims::{SimCard, SimIdCardReader};

    #[test]
    fn a_read_shows_its_header_and_hides_the_card() {
        let mut sim = SimIdCardReader::new();
        sim.place(SimCard::demo());
        let mut t = FrameTrace::new();
        let mut lines = Vec::new();
        for cmd in [
            Command::SamStatus,
            Command::FindCard,
            Command::SelectCard,
            Command::ReadText,
        ] {
            let req = cmd.request();
            lines.push(t.sent(&req));
            lines.extend(t.received(&sim.handle(&req)));
        }
        assert_eq!(lines[0].hex, "AA AA AA 96 69 00 03 11 FF ED");
        assert_eq!(lines[0].meaning, "SAM status");
        assert_eq!(lines[1].hex, "AA AA AA 96 69 00 04 00 00 90 94");
        assert_eq!(
            lines[3].hex,
            "AA AA AA 96 69 00 08 00 00 9F ‹4 data bytes› 97"
        );
        let read = &lines[7];
        assert_eq!(read.direction, Direction::Received);
        assert!(
            read.hex.starts_with(
                "AA AA AA 96 69 05 08 00 00 90 01 00 04 00 ‹text 256 bytes› ‹photo 1024 bytes› "
            ),
            "{}",
            read.hex
        );
        // Nothing of the card's text: 张 is 20 5F in UCS-2.
        assert!(!lines.iter().any(|l| l.hex.contains("20 5F")));
    }

    #[test]
    fn the_sam_id_and_noise_are_shown_in_hex() {
        let mut sim = SimIdCardReader::new();
        let mut t = FrameTrace::new();
        let req = Command::ReadSamId.request();
        t.sent(&req);
        let mut bytes = vec![0x01, 0x02, 0x03];
        bytes.extend(sim.handle(&req));
        let got = t.received(&bytes);
        assert_eq!(got[0].hex, "01 02 03");
        assert!(
            got[1].hex.contains("05 00 01 00 09 B8 32 01"),
            "{}",
            got[1].hex
        );
    }

    #[test]
    fn unparsed_bytes_are_shown_in_hex_but_never_a_cards_data() {
        let mut sim = SimIdCardReader::new();
        sim.place(SimCard::demo());
        let mut t = FrameTrace::new();
        // A SAM status reply with a bad checksum: shown whole, the rest not shown twice.
        let req = Command::SamStatus.request();
        t.sent(&req);
        let mut bad = sim.handle(&req);
        if let Some(last) = bad.last_mut() {
            *last ^= 0x5A;
        }
        let got = t.received(&bad);
        assert_eq!(got[0].hex, "AA AA AA 96 69 00 04 00 00 90 CE", "{got:?}");
        assert!(got[0].meaning.contains("checksum"), "{got:?}");
        assert!(
            got[1..]
                .iter()
                .all(|f| f.meaning == "the rest of the frame above")
        );
        // Another protocol's bytes: hex, the first 64 only.
        let other: Vec<u8> = (0..100u8).collect();
        let got = t.received(&other);
        assert!(got[0].hex.starts_with("00 01 02 03"), "{got:?}");
        assert!(got[0].hex.ends_with("3F ‹36 more bytes›"), "{got:?}");
        // A read reply with a bad checksum: redacted as a read reply; its body never in hex.
        for cmd in [Command::FindCard, Command::SelectCard, Command::ReadText] {
            let req = cmd.request();
            t.sent(&req);
            let mut reply = sim.handle(&req);
            if cmd == Command::ReadText
                && let Some(last) = reply.last_mut()
            {
                *last ^= 0x5A;
            }
            let got = t.received(&reply);
            if cmd == Command::ReadText {
                assert!(
                    got[0]
                        .hex
                        .starts_with("AA AA AA 96 69 05 08 00 00 90 01 00 04 00 ‹text 256 bytes›"),
                    "{got:?}"
                );
                // Nothing of the card's text: 张 is 20 5F in UCS-2.
                assert!(!got.iter().any(|l| l.hex.contains("20 5F")), "{got:?}");
                // Noise while reading: counted, not shown.
                let noise = t.received(&[0x20, 0x5F, 0x3A, 0x5E]);
                assert_eq!(noise.len(), 1);
                assert_eq!(noise[0].hex, "‹4 bytes›");
            }
        }
    }
}
