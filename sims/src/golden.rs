//! The golden byte vectors in `drivers/tests/golden/`: hex files (`#` comments) written from the
//! public sources, against which the drivers and these simulators are tested separately.

use std::path::PathBuf;

/// `drivers/tests/golden/` in this source tree.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../drivers/tests/golden")
}

/// Why a golden file could not be read.
#[derive(Debug)]
pub enum GoldenError {
    Io(PathBuf, std::io::Error),
    NotHex(PathBuf, String),
}

impl std::fmt::Display for GoldenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GoldenError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            GoldenError::NotHex(p, w) => write!(f, "{}: `{w}` is not a hex byte", p.display()),
        }
    }
}

impl std::error::Error for GoldenError {}

/// The bytes of a hex file under [`dir`] (`relative` like `idcard/request-find-card.hex`).
pub fn hex(relative: &str) -> Result<Vec<u8>, GoldenError> {
    let path = dir().join(relative);
    let text = std::fs::read_to_string(&path).map_err(|e| GoldenError::Io(path.clone(), e))?;
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(str::split_whitespace)
        .map(|w| u8::from_str_radix(w, 16).map_err(|_| GoldenError::NotHex(path.clone(), w.into())))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_hex_and_refuses_what_is_not() {
        assert_eq!(
            super::hex("idcard/reply-ok.hex").unwrap(),
            [
                0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x04, 0x00, 0x00, 0x90, 0x94
            ]
        );
        assert!(super::hex("idcard/none.hex").is_err());
    }
}
