//! What a serial barcode scanner sends for a code it reads: the code's characters, then its
//! suffix. Scanners ship with CR as the suffix (Honeywell, Zebra, Newland manuals); many are
//! set to CR LF at installation, and some send LF only.

/// A scanner's configured suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Suffix {
    /// CR (0x0D), the usual factory setting.
    Cr,
    /// CR LF (0x0D 0x0A).
    #[default]
    CrLf,
    /// LF (0x0A).
    Lf,
}

impl Suffix {
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Suffix::Cr => b"\r",
            Suffix::CrLf => b"\r\n",
            Suffix::Lf => b"\n",
        }
    }
}

/// The bytes a scanner sends for `payload` with `suffix`.
pub fn scan_bytes(payload: &str, suffix: Suffix) -> Vec<u8> {
    let mut b = payload.as_bytes().to_vec();
    b.extend_from_slice(suffix.bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_and_its_suffix() {
        assert_eq!(scan_bytes("AB1", Suffix::Cr), b"AB1\x0D");
        assert_eq!(scan_bytes("AB1", Suffix::CrLf), b"AB1\x0D\x0A");
        assert_eq!(scan_bytes("", Suffix::Lf), b"\x0A");
    }
}
