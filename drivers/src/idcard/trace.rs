//! The frames exchanged with a reader, written out for a technician (`hall-kiosk diag idcard
//! --verbose`): hex, with what each frame means, and every byte that could be personal data
//! redacted (the text, photo and fingerprint blocks and the card's chip number).

use super::frame::{Command, FrameError, FrameParser, PREAMBLE, ReaderStatus, checksum};

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
        let mut out = Vec::new();
        while let Some(item) = self.parser.pop() {
            let (hex, meaning) = match item {
                Ok(frame) => self.reply(&frame.body),
                Err(FrameError::Garbage { skipped }) => {
                    (format!("‹{skipped} bytes›"), "noise before a frame".into())
                }
                Err(e) => ("‹frame›".into(), e.to_string()),
            };
            out.push(TracedFrame {
                direction: Direction::Received,
                hex,
                meaning,
            });
        }
        out
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
    fn the_sam_id_is_shown_and_noise_is_counted() {
        let mut sim = SimIdCardReader::new();
        let mut t = FrameTrace::new();
        let req = Command::ReadSamId.request();
        t.sent(&req);
        let mut bytes = vec![0x01, 0x02, 0x03];
        bytes.extend(sim.handle(&req));
        let got = t.received(&bytes);
        assert_eq!(got[0].hex, "‹3 bytes›");
        assert!(
            got[1].hex.contains("05 00 01 00 09 B8 32 01"),
            "{}",
            got[1].hex
        );
    }
}
