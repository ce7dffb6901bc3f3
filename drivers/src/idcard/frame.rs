//! Frames of the SAM protocol: request encoding, a streaming parser that resynchronises, and
//! the SW3 status table.
//!
//! ```text
//! request:  AA AA AA 96 69 | LEN_hi LEN_lo | CMD PARA | data… | CHK
//! response: AA AA AA 96 69 | LEN_hi LEN_lo | SW1 SW2 SW3 | data… | CHK
//! ```
//! LEN counts every byte after itself, CHK included; CHK is the XOR of LEN and everything up to
//! CHK.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// The five bytes every frame starts with.
pub const PREAMBLE: [u8; 5] = [0xAA, 0xAA, 0xAA, 0x96, 0x69];
/// Smallest LEN: a request's CMD PARA CHK.
pub const MIN_LEN: usize = 3;
/// Largest LEN accepted. The largest real reply (text + photo + fingerprint) has LEN 0x090A;
/// anything much larger is noise that happens to follow a preamble.
pub const MAX_LEN: usize = 4096;
/// Bytes the parser holds at most before it drops the oldest (a caller that never pops).
pub const MAX_BUFFER: usize = 64 * 1024;

/// The XOR of `bytes`.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |a, b| a ^ b)
}

/// Why bytes were dropped by the parser or a frame could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("{skipped} bytes of noise before a frame")]
    Garbage { skipped: usize },
    #[error("checksum mismatch: computed {computed:02X}, frame says {found:02X}")]
    BadChecksum { computed: u8, found: u8 },
    #[error("impossible frame length {0}")]
    BadLength(usize),
    #[error("{dropped} bytes dropped: input arrived faster than it was parsed")]
    Overflow { dropped: usize },
    #[error("frame too short to be a reply")]
    NotAReply,
}

/// The commands a kiosk sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    ResetSam,
    SamStatus,
    /// The reply carries the module's 16-byte id.
    ReadSamId,
    FindCard,
    SelectCard,
    /// Text (256 bytes) and photo (1024 bytes).
    ReadText,
    /// Text, photo and fingerprint.
    ReadTextFingerprint,
}

impl Command {
    pub const ALL: [Command; 7] = [
        Command::ResetSam,
        Command::SamStatus,
        Command::ReadSamId,
        Command::FindCard,
        Command::SelectCard,
        Command::ReadText,
        Command::ReadTextFingerprint,
    ];

    /// CMD and PARA bytes.
    pub fn code(self) -> [u8; 2] {
        match self {
            Command::ResetSam => [0x10, 0xFF],
            Command::SamStatus => [0x11, 0xFF],
            Command::ReadSamId => [0x12, 0xFF],
            Command::FindCard => [0x20, 0x01],
            Command::SelectCard => [0x20, 0x02],
            Command::ReadText => [0x30, 0x01],
            Command::ReadTextFingerprint => [0x30, 0x10],
        }
    }

    pub fn from_code(cmd: u8, para: u8) -> Option<Command> {
        Command::ALL.into_iter().find(|c| c.code() == [cmd, para])
    }

    /// The complete request frame.
    pub fn request(self) -> Vec<u8> {
        let [cmd, para] = self.code();
        let len = 3u8;
        let chk = len ^ cmd ^ para;
        let mut out = PREAMBLE.to_vec();
        out.extend_from_slice(&[0x00, len, cmd, para, chk]);
        out
    }
}

/// One frame as parsed: the bytes between LEN and CHK. Wiped when dropped (read replies carry
/// personal data).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Frame {
    pub body: Vec<u8>,
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the body: it may be the text of an ID card.
        write!(f, "Frame({} bytes", self.body.len())?;
        if let [a, b, c, ..] = self.body[..] {
            write!(f, ", {a:02X} {b:02X} {c:02X}")?;
        }
        f.write_str(")")
    }
}

impl Frame {
    /// Read as a request: the command (if known), and the data after CMD PARA.
    pub fn as_request(&self) -> Option<(u8, u8, &[u8])> {
        match &self.body[..] {
            [cmd, para, data @ ..] => Some((*cmd, *para, data)),
            _ => None,
        }
    }

    /// Read as a reply: SW1 SW2 SW3 and data.
    pub fn as_reply(&self) -> Result<Reply<'_>, FrameError> {
        match &self.body[..] {
            [sw1, sw2, sw3, data @ ..] => Ok(Reply {
                sw1: *sw1,
                sw2: *sw2,
                sw3: *sw3,
                data,
            }),
            _ => Err(FrameError::NotAReply),
        }
    }
}

/// A reply's status words and data, borrowed from its [`Frame`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Reply<'a> {
    pub sw1: u8,
    pub sw2: u8,
    pub sw3: u8,
    pub data: &'a [u8],
}

impl Reply<'_> {
    pub fn status(&self) -> ReaderStatus {
        ReaderStatus::from_sw3(self.sw3)
    }
}

impl fmt::Debug for Reply<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Reply({:02X} {:02X} {:02X}, {} data bytes)",
            self.sw1,
            self.sw2,
            self.sw3,
            self.data.len()
        )
    }
}

/// A streaming frame parser: push bytes as they arrive, pop frames. Noise, corrupt frames and
/// impossible lengths are reported and skipped; the parser then looks for the next preamble, so
/// a frame that follows a truncated one is still found.
#[derive(Default)]
pub struct FrameParser {
    buf: Vec<u8>,
    overflowed: usize,
}

impl Drop for FrameParser {
    fn drop(&mut self) {
        self.buf.zeroize();
    }
}

impl FrameParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() > MAX_BUFFER {
            let excess = self.buf.len() - MAX_BUFFER;
            self.buf.drain(..excess);
            self.overflowed += excess;
        }
    }

    /// Bytes held (a partial frame, or a tail that may start one).
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Forgets everything held.
    pub fn reset(&mut self) {
        self.buf.zeroize();
        self.buf.clear();
        self.overflowed = 0;
    }

    /// Gives up on the frame in progress (its reply timed out): later frames already held are
    /// still found by the following pops.
    pub fn discard_partial(&mut self) {
        if self.buf.starts_with(&PREAMBLE) {
            self.buf.drain(..PREAMBLE.len());
        } else {
            // Only a possible preamble prefix can be held here.
            self.buf.clear();
        }
    }

    /// The next frame or error, or `None` when more bytes are needed.
    pub fn pop(&mut self) -> Option<Result<Frame, FrameError>> {
        if self.overflowed > 0 {
            let dropped = std::mem::take(&mut self.overflowed);
            return Some(Err(FrameError::Overflow { dropped }));
        }
        match find(&self.buf, &PREAMBLE) {
            Some(0) => {}
            Some(i) => {
                self.buf.drain(..i);
                return Some(Err(FrameError::Garbage { skipped: i }));
            }
            None => {
                // Keep the longest tail that could be the start of a preamble.
                let keep = (1..PREAMBLE.len())
                    .rev()
                    .find(|&k| k <= self.buf.len() && self.buf.ends_with(&PREAMBLE[..k]))
                    .unwrap_or(0);
                let skipped = self.buf.len() - keep;
                if skipped == 0 {
                    return None;
                }
                self.buf.drain(..skipped);
                return Some(Err(FrameError::Garbage { skipped }));
            }
        }
        let head = PREAMBLE.len() + 2;
        if self.buf.len() < head {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([self.buf[5], self.buf[6]]));
        if !(MIN_LEN..=MAX_LEN).contains(&len) {
            self.buf.drain(..PREAMBLE.len());
            return Some(Err(FrameError::BadLength(len)));
        }
        let total = head + len;
        if self.buf.len() < total {
            return None;
        }
        let computed = checksum(&self.buf[PREAMBLE.len()..total - 1]);
        let found = self.buf[total - 1];
        if computed != found {
            // Skip only the preamble: a frame that follows a truncated one is inside.
            self.buf.drain(..PREAMBLE.len());
            return Some(Err(FrameError::BadChecksum { computed, found }));
        }
        let body = self.buf[head..total - 1].to_vec();
        self.buf[..total].zeroize();
        self.buf.drain(..total);
        Some(Ok(Frame { body }))
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// SW3 of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReaderStatus {
    /// 90
    Ok,
    /// 9F (find card)
    CardFound,
    /// 80 (find card)
    NoCard,
    /// 81
    SelectFailed,
    /// 41
    ReadFailed,
    /// 91: the card holds nothing for this item (e.g. no fingerprint).
    NoContent,
    /// 10
    BadChecksum,
    /// 11
    BadLength,
    /// 21
    BadCommand,
    /// 23
    Unauthorised,
    /// 24
    UnknownError,
    /// 31
    CardAuthFailed,
    /// 32
    SamAuthFailed,
    /// 33
    VerifyFailed,
    /// 40
    UnknownCardType,
    /// 47
    RandomFailed,
    /// 60
    SamSelfTestFailed,
    /// 66
    SamNotAuthorised,
    /// Any other code.
    Other(u8),
}

impl ReaderStatus {
    pub const KNOWN: [ReaderStatus; 18] = [
        ReaderStatus::Ok,
        ReaderStatus::CardFound,
        ReaderStatus::NoCard,
        ReaderStatus::SelectFailed,
        ReaderStatus::ReadFailed,
        ReaderStatus::NoContent,
        ReaderStatus::BadChecksum,
        ReaderStatus::BadLength,
        ReaderStatus::BadCommand,
        ReaderStatus::Unauthorised,
        ReaderStatus::UnknownError,
        ReaderStatus::CardAuthFailed,
        ReaderStatus::SamAuthFailed,
        ReaderStatus::VerifyFailed,
        ReaderStatus::UnknownCardType,
        ReaderStatus::RandomFailed,
        ReaderStatus::SamSelfTestFailed,
        ReaderStatus::SamNotAuthorised,
    ];

    pub fn from_sw3(sw3: u8) -> ReaderStatus {
        ReaderStatus::KNOWN
            .into_iter()
            .find(|s| s.sw3() == sw3)
            .unwrap_or(ReaderStatus::Other(sw3))
    }

    pub fn sw3(self) -> u8 {
        match self {
            ReaderStatus::Ok => 0x90,
            ReaderStatus::CardFound => 0x9F,
            ReaderStatus::NoCard => 0x80,
            ReaderStatus::SelectFailed => 0x81,
            ReaderStatus::ReadFailed => 0x41,
            ReaderStatus::NoContent => 0x91,
            ReaderStatus::BadChecksum => 0x10,
            ReaderStatus::BadLength => 0x11,
            ReaderStatus::BadCommand => 0x21,
            ReaderStatus::Unauthorised => 0x23,
            ReaderStatus::UnknownError => 0x24,
            ReaderStatus::CardAuthFailed => 0x31,
            ReaderStatus::SamAuthFailed => 0x32,
            ReaderStatus::VerifyFailed => 0x33,
            ReaderStatus::UnknownCardType => 0x40,
            ReaderStatus::RandomFailed => 0x47,
            ReaderStatus::SamSelfTestFailed => 0x60,
            ReaderStatus::SamNotAuthorised => 0x66,
            ReaderStatus::Other(c) => c,
        }
    }

    /// Chinese message, as staff and citizens read it.
    pub fn zh(self) -> &'static str {
        match self {
            ReaderStatus::Ok => "操作成功",
            ReaderStatus::CardFound => "已找到身份证",
            ReaderStatus::NoCard => "未找到身份证，请将身份证放在读卡区",
            ReaderStatus::SelectFailed => "选卡失败，请重新放置身份证",
            ReaderStatus::ReadFailed => "读卡失败，请重新放置身份证",
            ReaderStatus::NoContent => "证件中无此项内容",
            ReaderStatus::BadChecksum => "读卡器收到的命令校验和错误",
            ReaderStatus::BadLength => "读卡器收到的命令长度错误",
            ReaderStatus::BadCommand => "读卡器不支持该命令",
            ReaderStatus::Unauthorised => "越权操作",
            ReaderStatus::UnknownError => "读卡器报告无法识别的错误",
            ReaderStatus::CardAuthFailed => "证卡认证读卡器失败，请重新放置身份证",
            ReaderStatus::SamAuthFailed => "读卡器认证证卡失败，证件可能无效",
            ReaderStatus::VerifyFailed => "证件信息验证错误",
            ReaderStatus::UnknownCardType => "无法识别的证件类型",
            ReaderStatus::RandomFailed => "读卡器取随机数失败，请重新放置身份证",
            ReaderStatus::SamSelfTestFailed => "安全模块自检失败，读卡器不可用",
            ReaderStatus::SamNotAuthorised => "安全模块未经授权，读卡器不可用",
            ReaderStatus::Other(_) => "读卡器返回未知状态",
        }
    }

    /// English message, for logs and the English interface.
    pub fn en(self) -> &'static str {
        match self {
            ReaderStatus::Ok => "operation succeeded",
            ReaderStatus::CardFound => "card found",
            ReaderStatus::NoCard => "no card on the reader",
            ReaderStatus::SelectFailed => "selecting the card failed; place the card again",
            ReaderStatus::ReadFailed => "reading the card failed; place the card again",
            ReaderStatus::NoContent => "the card holds no content for this item",
            ReaderStatus::BadChecksum => "the reader received a request with a bad checksum",
            ReaderStatus::BadLength => "the reader received a request with a bad length",
            ReaderStatus::BadCommand => "the reader does not know the command",
            ReaderStatus::Unauthorised => "operation not permitted",
            ReaderStatus::UnknownError => "the reader reports an unrecognised error",
            ReaderStatus::CardAuthFailed => {
                "the card failed to authenticate the reader; place the card again"
            }
            ReaderStatus::SamAuthFailed => {
                "the reader failed to authenticate the card; the card may be invalid"
            }
            ReaderStatus::VerifyFailed => "the card data failed verification",
            ReaderStatus::UnknownCardType => "unknown card type",
            ReaderStatus::RandomFailed => {
                "the reader failed to get a random number; place the card again"
            }
            ReaderStatus::SamSelfTestFailed => "the security module failed its self-test",
            ReaderStatus::SamNotAuthorised => "the security module is not authorised",
            ReaderStatus::Other(_) => "unknown reader status",
        }
    }

    /// Replies that mean success for the command they answer.
    pub fn is_success(self) -> bool {
        matches!(self, ReaderStatus::Ok | ReaderStatus::CardFound)
    }

    /// The security module itself is unusable: the reader cannot work until serviced.
    pub fn is_sam_fault(self) -> bool {
        matches!(
            self,
            ReaderStatus::SamSelfTestFailed | ReaderStatus::SamNotAuthorised
        )
    }

    /// The reader rejected the request itself (our side or the line is at fault).
    pub fn is_request_error(self) -> bool {
        matches!(
            self,
            ReaderStatus::BadChecksum | ReaderStatus::BadLength | ReaderStatus::BadCommand
        )
    }
}

impl fmt::Display for ReaderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}, SW3 {:02X})", self.zh(), self.en(), self.sw3())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_sims::idcard::reply_frame;

    fn tail(frame: &[u8]) -> Vec<u8> {
        assert_eq!(&frame[..5], &PREAMBLE);
        frame[5..].to_vec()
    }

    #[test]
    fn request_frames_match_the_table() {
        let table: [(Command, [u8; 5]); 7] = [
            (Command::ResetSam, [0x00, 0x03, 0x10, 0xFF, 0xEC]),
            (Command::SamStatus, [0x00, 0x03, 0x11, 0xFF, 0xED]),
            (Command::ReadSamId, [0x00, 0x03, 0x12, 0xFF, 0xEE]),
            (Command::FindCard, [0x00, 0x03, 0x20, 0x01, 0x22]),
            (Command::SelectCard, [0x00, 0x03, 0x20, 0x02, 0x21]),
            (Command::ReadText, [0x00, 0x03, 0x30, 0x01, 0x32]),
            (Command::ReadTextFingerprint, [0x00, 0x03, 0x30, 0x10, 0x23]),
        ];
        for (cmd, expected) in table {
            assert_eq!(tail(&cmd.request()), expected, "{cmd:?}");
            assert_eq!(Command::from_code(cmd.code()[0], cmd.code()[1]), Some(cmd));
        }
        assert_eq!(
            Command::FindCard.request(),
            [0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x20, 0x01, 0x22]
        );
        assert_eq!(Command::from_code(0x20, 0x03), None);
    }

    fn collect(p: &mut FrameParser) -> Vec<Result<Vec<u8>, FrameError>> {
        std::iter::from_fn(|| p.pop())
            .map(|r| r.map(|f| f.body.clone()))
            .collect()
    }

    #[test]
    fn parses_byte_by_byte() {
        let mut p = FrameParser::new();
        let frame = reply_frame(0x9F, &[]);
        let mut out = Vec::new();
        for b in &frame {
            p.push(&[*b]);
            out.extend(collect(&mut p));
        }
        assert_eq!(out, vec![Ok(vec![0x00, 0x00, 0x9F])]);
        assert_eq!(p.pending(), 0);
    }

    #[test]
    fn resynchronises_after_garbage() {
        let mut p = FrameParser::new();
        let mut bytes = vec![0x01, 0xAA, 0xAA, 0x13, 0xAA];
        bytes.extend(reply_frame(0x80, &[]));
        bytes.extend([0xAA, 0xAA]);
        p.push(&bytes);
        assert_eq!(
            collect(&mut p),
            vec![
                Err(FrameError::Garbage { skipped: 5 }),
                Ok(vec![0x00, 0x00, 0x80])
            ]
        );
        // A possible preamble start is kept…
        assert_eq!(p.pending(), 2);
        // …and completed by the next push.
        p.push(&reply_frame(0x90, &[])[2..]);
        assert_eq!(collect(&mut p), vec![Ok(vec![0x00, 0x00, 0x90])]);
    }

    #[test]
    fn resynchronises_after_a_bad_checksum() {
        let mut bad = reply_frame(0x90, &[1, 2, 3]);
        let last = bad.len() - 1;
        bad[last] ^= 0xFF;
        let mut p = FrameParser::new();
        p.push(&bad);
        p.push(&reply_frame(0x9F, &[]));
        let out = collect(&mut p);
        assert!(matches!(out[0], Err(FrameError::BadChecksum { .. })));
        assert_eq!(out.last(), Some(&Ok(vec![0x00, 0x00, 0x9F])));
        assert_eq!(p.pending(), 0);
    }

    #[test]
    fn finds_the_frame_after_a_truncated_one() {
        // A read reply cut short, then a complete short reply: the short reply's bytes are
        // taken as the rest of the long one until enough bytes arrive to check it.
        let mut long = vec![0x00, 0x01, 0x00, 0x04];
        long.extend(std::iter::repeat_n(0x41, 40));
        let long = reply_frame(0x90, &long);
        let mut p = FrameParser::new();
        p.push(&long[..30]);
        p.push(&reply_frame(0x80, &[]));
        assert!(
            p.pop().is_none(),
            "waits for the long frame's announced length"
        );
        // The caller's reply timeout gives up on the truncated frame.
        p.discard_partial();
        let out = collect(&mut p);
        assert_eq!(out.last(), Some(&Ok(vec![0x00, 0x00, 0x80])));

        // With enough later bytes the checksum fails and the parser finds the later frames.
        let mut p = FrameParser::new();
        let short = reply_frame(0x9F, &[]);
        let truncated = reply_frame(0x90, &[0x55; 6]);
        p.push(&truncated[..9]);
        for _ in 0..3 {
            p.push(&short);
        }
        let out = collect(&mut p);
        assert!(matches!(out[0], Err(FrameError::BadChecksum { .. })));
        let frames = out.iter().filter(|r| r.is_ok()).count();
        assert!(frames >= 2, "{out:?}");
    }

    #[test]
    fn rejects_absurd_lengths() {
        let mut p = FrameParser::new();
        p.push(&[0xAA, 0xAA, 0xAA, 0x96, 0x69, 0xFF, 0xFF, 0x00]);
        assert_eq!(p.pop(), Some(Err(FrameError::BadLength(0xFFFF))));
        p.push(&[0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x01, 0x01]);
        let out = collect(&mut p);
        assert!(out.contains(&Err(FrameError::BadLength(1))), "{out:?}");
        p.push(&Command::FindCard.request());
        assert_eq!(collect(&mut p), vec![Ok(vec![0x20, 0x01])]);
    }

    #[test]
    fn bounded_memory_when_never_popped() {
        let mut p = FrameParser::new();
        for _ in 0..100 {
            p.push(&[0xAA; 1000]);
        }
        assert!(p.pending() <= MAX_BUFFER);
        assert!(matches!(p.pop(), Some(Err(FrameError::Overflow { .. }))));
    }

    #[test]
    fn frames_read_as_requests_and_replies() {
        let mut p = FrameParser::new();
        p.push(&Command::ReadText.request());
        let f = p.pop().unwrap().unwrap();
        assert_eq!(f.as_request(), Some((0x30, 0x01, &[][..])));
        assert_eq!(f.as_reply(), Err(FrameError::NotAReply));
        p.push(&reply_frame(0x41, &[7]));
        let f = p.pop().unwrap().unwrap();
        let r = f.as_reply().unwrap();
        assert_eq!(r.status(), ReaderStatus::ReadFailed);
        assert_eq!(r.data, &[7]);
        assert_eq!(format!("{f:?}"), "Frame(4 bytes, 00 00 41)");
    }

    #[test]
    fn every_status_code_has_its_words() {
        let codes = [
            0x90, 0x9F, 0x80, 0x81, 0x41, 0x91, 0x10, 0x11, 0x21, 0x23, 0x24, 0x31, 0x32, 0x33,
            0x40, 0x47, 0x60, 0x66,
        ];
        for code in codes {
            let s = ReaderStatus::from_sw3(code);
            assert_ne!(s, ReaderStatus::Other(code), "{code:02X}");
            assert_eq!(s.sw3(), code);
            assert!(!s.zh().is_empty() && !s.en().is_empty());
            assert!(s.to_string().contains(&format!("SW3 {code:02X}")));
        }
        let mut zh: Vec<_> = ReaderStatus::KNOWN.iter().map(|s| s.zh()).collect();
        zh.sort();
        zh.dedup();
        assert_eq!(zh.len(), ReaderStatus::KNOWN.len(), "messages are distinct");
        assert_eq!(ReaderStatus::from_sw3(0x55), ReaderStatus::Other(0x55));
        assert_eq!(
            ReaderStatus::from_sw3(0x80).to_string(),
            "未找到身份证，请将身份证放在读卡区 (no card on the reader, SW3 80)"
        );
        assert!(ReaderStatus::from_sw3(0x66).is_sam_fault());
        assert!(ReaderStatus::from_sw3(0x10).is_request_error());
    }
}
