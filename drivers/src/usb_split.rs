//! How a USB ID card reader carries SAM frames over its bulk endpoints. Sans-IO.
//!
//! The vendor's protocol document (SAM 通信协议, table 5–8) and the open-source openiDR200
//! driver split every frame: the 7-byte header (`AA AA AA 96 69 LEN_hi LEN_lo`) goes to OUT 0x02
//! and the rest to OUT 0x06; the reply's header comes from IN 0x81 and its body from IN 0x85.
//! Other open code for the same USB id sends whole frames to one OUT endpoint and reads one IN
//! endpoint. [`Framing::Auto`] splits when the interface has all four endpoints; a `usb://`
//! URI's `frames=split|whole` overrides it (see `drivers/PROTOCOLS.md`).

/// The header: 5-byte preamble and the 2-byte big-endian LEN.
pub const HEADER: usize = 7;
const PREAMBLE: [u8; 5] = [0xAA, 0xAA, 0xAA, 0x96, 0x69];

/// The split layout's endpoints: header OUT, body OUT, header IN, body IN.
pub const SPLIT_ENDPOINTS: [u8; 4] = [0x02, 0x06, 0x81, 0x85];

/// How frames travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Framing {
    /// Split when the interface has the four split endpoints, whole otherwise.
    #[default]
    Auto,
    Split,
    Whole,
}

impl Framing {
    pub fn parse(s: &str) -> Option<Framing> {
        match s {
            "auto" => Some(Framing::Auto),
            "split" => Some(Framing::Split),
            "whole" => Some(Framing::Whole),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Framing::Auto => "auto",
            Framing::Split => "split",
            Framing::Whole => "whole",
        }
    }

    /// Whether to split on an interface offering these endpoint addresses.
    pub fn splits(self, outs: &[u8], ins: &[u8]) -> bool {
        let has_all = outs.contains(&SPLIT_ENDPOINTS[0])
            && outs.contains(&SPLIT_ENDPOINTS[1])
            && ins.contains(&SPLIT_ENDPOINTS[2])
            && ins.contains(&SPLIT_ENDPOINTS[3]);
        match self {
            Framing::Auto => has_all,
            Framing::Split => true,
            Framing::Whole => false,
        }
    }
}

/// A request frame as two writes: header to the header endpoint, the rest to the body
/// endpoint. Bytes that are not a frame go whole to the header endpoint.
pub fn split_request(bytes: &[u8]) -> (&[u8], &[u8]) {
    if bytes.len() > HEADER && bytes.starts_with(&PREAMBLE) {
        bytes.split_at(HEADER)
    } else {
        (bytes, &[])
    }
}

/// Which IN endpoint to read next, and how many bytes are expected there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextRead {
    Header,
    /// The body: this many bytes still to come.
    Body(usize),
}

/// Follows a split reply: a header, then LEN body bytes, then the next header.
#[derive(Debug, Clone, Default)]
pub struct SplitReader {
    header: Vec<u8>,
    body_left: usize,
}

impl SplitReader {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn next(&self) -> NextRead {
        if self.body_left > 0 {
            NextRead::Body(self.body_left)
        } else {
            NextRead::Header
        }
    }

    /// Takes what the header endpoint delivered.
    pub fn on_header(&mut self, data: &[u8]) {
        self.header.extend_from_slice(data);
        if self.header.len() < HEADER {
            if !PREAMBLE.starts_with(&self.header[..self.header.len().min(5)]) {
                self.header.clear();
            }
            return;
        }
        if self.header.starts_with(&PREAMBLE) {
            let len = usize::from(self.header[5]) << 8 | usize::from(self.header[6]);
            // Body bytes that came with the header count.
            self.body_left = len.saturating_sub(self.header.len() - HEADER);
        }
        self.header.clear();
    }

    /// Takes what the body endpoint delivered.
    pub fn on_body(&mut self, data: &[u8]) {
        self.body_left = self.body_left.saturating_sub(data.len());
    }

    /// Gives up on a reply (its time ran out): the next read is a header again.
    pub fn reset(&mut self) {
        self.header.clear();
        self.body_left = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_split_after_the_header() {
        let find = [0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x20, 0x01, 0x22];
        let (h, b) = split_request(&find);
        assert_eq!(h, &find[..7]);
        assert_eq!(b, &[0x20, 0x01, 0x22]);
        assert_eq!(split_request(&[1, 2, 3]), (&[1u8, 2, 3][..], &[][..]));
    }

    #[test]
    fn a_reply_is_a_header_then_its_body() {
        let mut r = SplitReader::new();
        assert_eq!(r.next(), NextRead::Header);
        // The 1295-byte read reply: header announces 0x0508 bytes.
        r.on_header(&[0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x05, 0x08]);
        assert_eq!(r.next(), NextRead::Body(0x508));
        r.on_body(&[0; 512]);
        assert_eq!(r.next(), NextRead::Body(0x508 - 512));
        r.on_body(&[0; 0x508 - 512]);
        assert_eq!(r.next(), NextRead::Header);
        // A header in two pieces; noise is dropped.
        r.on_header(&[0x13, 0x37]);
        r.on_header(&[0xAA, 0xAA, 0xAA]);
        r.on_header(&[0x96, 0x69, 0x00, 0x04]);
        assert_eq!(r.next(), NextRead::Body(4));
        r.reset();
        assert_eq!(r.next(), NextRead::Header);
    }

    #[test]
    fn auto_splits_only_with_all_four_endpoints() {
        assert!(Framing::Auto.splits(&[0x02, 0x06], &[0x81, 0x85]));
        assert!(!Framing::Auto.splits(&[0x02], &[0x81]));
        assert!(Framing::Split.splits(&[], &[]));
        assert!(!Framing::Whole.splits(&[0x02, 0x06], &[0x81, 0x85]));
        for f in [Framing::Auto, Framing::Split, Framing::Whole] {
            assert_eq!(Framing::parse(f.as_str()), Some(f));
        }
        assert_eq!(Framing::parse("half"), None);
    }
}
