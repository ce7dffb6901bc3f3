//! USB HID keyboard-wedge barcode scanners (`evdev:///dev/input/eventN`).
//!
//! Such a scanner types its payload as key presses followed by Enter. The kiosk grabs the
//! input device, so the keystrokes never reach the UI, and turns key events back into the
//! bytes a serial scanner would send: [`keymap`] and [`WedgeDecoder`] are pure code (US layout,
//! Shift and Caps Lock, the keypad), and the bytes go through the same [`crate::scanner::LineFramer`]
//! limits as a serial scanner's (length, binary, bursts, duplicates). A key with no character
//! becomes a NUL byte, so the line is rejected as binary rather than passed on altered.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::transport::Transport;

/// Linux input key codes used here (`linux/input-event-codes.h`).
pub mod key {
    pub const ESC: u16 = 1;
    pub const N1: u16 = 2;
    pub const N0: u16 = 11;
    pub const MINUS: u16 = 12;
    pub const EQUAL: u16 = 13;
    pub const BACKSPACE: u16 = 14;
    pub const TAB: u16 = 15;
    pub const Q: u16 = 16;
    pub const LEFTBRACE: u16 = 26;
    pub const RIGHTBRACE: u16 = 27;
    pub const ENTER: u16 = 28;
    pub const LEFTCTRL: u16 = 29;
    pub const A: u16 = 30;
    pub const SEMICOLON: u16 = 39;
    pub const APOSTROPHE: u16 = 40;
    pub const GRAVE: u16 = 41;
    pub const LEFTSHIFT: u16 = 42;
    pub const BACKSLASH: u16 = 43;
    pub const Z: u16 = 44;
    pub const COMMA: u16 = 51;
    pub const DOT: u16 = 52;
    pub const SLASH: u16 = 53;
    pub const RIGHTSHIFT: u16 = 54;
    pub const KPASTERISK: u16 = 55;
    pub const LEFTALT: u16 = 56;
    pub const SPACE: u16 = 57;
    pub const CAPSLOCK: u16 = 58;
    pub const NUMLOCK: u16 = 69;
    pub const KP7: u16 = 71;
    pub const KPMINUS: u16 = 74;
    pub const KPPLUS: u16 = 78;
    pub const KP0: u16 = 82;
    pub const KPDOT: u16 = 83;
    pub const KPENTER: u16 = 96;
    pub const RIGHTCTRL: u16 = 97;
    pub const KPSLASH: u16 = 98;
    pub const RIGHTALT: u16 = 100;
}

const ROW_Q: &[u8; 10] = b"qwertyuiop";
const ROW_A: &[u8; 9] = b"asdfghjkl";
const ROW_Z: &[u8; 7] = b"zxcvbnm";
const DIGITS: &[u8; 10] = b"1234567890";
const SHIFTED_DIGITS: &[u8; 10] = b"!@#$%^&*()";
/// Keypad keys 71..=83: 7 8 9 - 4 5 6 + 1 2 3 0 .
const KEYPAD: &[u8; 13] = b"789-456+1230.";

/// The character a key gives on a US keyboard, with Shift held (`shift`) and Caps Lock on
/// (`caps`, letters only). `None` for keys without a character (Enter is handled apart).
pub fn keymap(code: u16, shift: bool, caps: bool) -> Option<char> {
    let letter = |c: u8| {
        let upper = shift ^ caps;
        Some(char::from(if upper { c.to_ascii_uppercase() } else { c }))
    };
    let pick = |plain: u8, shifted: u8| Some(char::from(if shift { shifted } else { plain }));
    match code {
        key::N1..=key::N0 => {
            let i = usize::from(code - key::N1);
            pick(DIGITS[i], SHIFTED_DIGITS[i])
        }
        key::Q..=25 => letter(ROW_Q[usize::from(code - key::Q)]),
        key::A..=38 => letter(ROW_A[usize::from(code - key::A)]),
        key::Z..=50 => letter(ROW_Z[usize::from(code - key::Z)]),
        key::MINUS => pick(b'-', b'_'),
        key::EQUAL => pick(b'=', b'+'),
        key::LEFTBRACE => pick(b'[', b'{'),
        key::RIGHTBRACE => pick(b']', b'}'),
        key::SEMICOLON => pick(b';', b':'),
        key::APOSTROPHE => pick(b'\'', b'"'),
        key::GRAVE => pick(b'`', b'~'),
        key::BACKSLASH => pick(b'\\', b'|'),
        key::COMMA => pick(b',', b'<'),
        key::DOT => pick(b'.', b'>'),
        key::SLASH => pick(b'/', b'?'),
        key::SPACE => Some(' '),
        key::KPASTERISK => Some('*'),
        key::KPSLASH => Some('/'),
        key::KP7..=key::KPDOT => Some(char::from(KEYPAD[usize::from(code - key::KP7)])),
        _ => None,
    }
}

/// Keys that change no text and are ignored (modifiers, lock keys).
fn is_modifier(code: u16) -> bool {
    matches!(
        code,
        key::LEFTSHIFT
            | key::RIGHTSHIFT
            | key::LEFTCTRL
            | key::RIGHTCTRL
            | key::LEFTALT
            | key::RIGHTALT
            | key::CAPSLOCK
            | key::NUMLOCK
    )
}

/// Turns key events into the bytes a serial scanner would send.
#[derive(Debug, Default, Clone)]
pub struct WedgeDecoder {
    left_shift: bool,
    right_shift: bool,
    caps: bool,
}

/// `value` of a key event: released, pressed, auto-repeated.
pub const KEY_RELEASE: i32 = 0;
pub const KEY_PRESS: i32 = 1;
pub const KEY_REPEAT: i32 = 2;

impl WedgeDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one key event; appends the resulting byte (if any) to `out`. Enter ends a code
    /// (CR); a key without a character is a NUL, so that the framer rejects the line.
    pub fn key(&mut self, code: u16, value: i32, out: &mut Vec<u8>) {
        let pressed = value != KEY_RELEASE;
        match code {
            key::LEFTSHIFT => self.left_shift = pressed,
            key::RIGHTSHIFT => self.right_shift = pressed,
            key::CAPSLOCK if value == KEY_PRESS => self.caps = !self.caps,
            _ if value != KEY_PRESS || is_modifier(code) => {}
            key::ENTER | key::KPENTER => out.push(b'\r'),
            _ => match keymap(code, self.left_shift || self.right_shift, self.caps) {
                Some(c) => {
                    let mut b = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                }
                None => out.push(0),
            },
        }
    }
}

/// What a grabbed input device is (for logs and `diag`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputInfo {
    pub name: String,
    pub vendor: u16,
    pub product: u16,
}

/// A keyboard-wedge scanner: the grabbed input device as a byte source.
pub struct EvdevScanner {
    dev: evdev::Device,
    decoder: WedgeDecoder,
    pending: Vec<u8>,
    path: PathBuf,
}

impl EvdevScanner {
    /// Opens and grabs the device, so that its keystrokes reach only the kiosk.
    pub fn open(path: &Path) -> io::Result<Self> {
        let mut dev = evdev::Device::open(path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot open input device {}: {e}", path.display()),
            )
        })?;
        let has_enter = dev
            .supported_keys()
            .is_some_and(|k| k.contains(evdev::KeyCode::KEY_ENTER));
        if !has_enter {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a keyboard (no Enter key)", path.display()),
            ));
        }
        dev.grab().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot grab {} (another program holds it): {e}",
                    path.display()
                ),
            )
        })?;
        dev.set_nonblocking(true)?;
        Ok(Self {
            dev,
            decoder: WedgeDecoder::new(),
            pending: Vec::new(),
            path: path.to_path_buf(),
        })
    }

    pub fn info(&self) -> InputInfo {
        let id = self.dev.input_id();
        InputInfo {
            name: self.dev.name().unwrap_or("").to_string(),
            vendor: id.vendor(),
            product: id.product(),
        }
    }

    fn fetch(&mut self) -> io::Result<bool> {
        match self.dev.fetch_events() {
            Ok(events) => {
                for ev in events {
                    if ev.event_type() == evdev::EventType::KEY {
                        self.decoder.key(ev.code(), ev.value(), &mut self.pending);
                    }
                }
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            // ENODEV: unplugged.
            Err(e) => Err(e),
        }
    }
}

impl Transport for EvdevScanner {
    fn write(&mut self, _bytes: &[u8]) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "a keyboard-wedge scanner takes no commands",
        ))
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        let deadline = Instant::now() + timeout;
        while self.pending.is_empty() {
            if !self.fetch()? {
                let now = Instant::now();
                if now >= deadline {
                    return Ok(0);
                }
                std::thread::sleep((deadline - now).min(Duration::from_millis(10)));
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }

    fn describe(&self) -> String {
        format!("evdev {}", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scanner::{LineFramer, ScanOutput};

    /// The key events a wedge scanner sends for `text` (press and release each key, Shift
    /// around upper-case letters and symbols), then Enter.
    fn type_line(text: &str) -> Vec<(u16, i32)> {
        let mut ev = Vec::new();
        for c in text.chars() {
            let (code, shift) = (1u16..=100)
                .find_map(|k| {
                    if keymap(k, false, false) == Some(c) {
                        Some((k, false))
                    } else if keymap(k, true, false) == Some(c) {
                        Some((k, true))
                    } else {
                        None
                    }
                })
                .unwrap();
            if shift {
                ev.push((key::LEFTSHIFT, KEY_PRESS));
            }
            ev.push((code, KEY_PRESS));
            ev.push((code, KEY_RELEASE));
            if shift {
                ev.push((key::LEFTSHIFT, KEY_RELEASE));
            }
        }
        ev.push((key::ENTER, KEY_PRESS));
        ev.push((key::ENTER, KEY_RELEASE));
        ev
    }

    fn decode(events: &[(u16, i32)]) -> Vec<u8> {
        let mut d = WedgeDecoder::new();
        let mut out = Vec::new();
        for &(c, v) in events {
            d.key(c, v, &mut out);
        }
        out
    }

    #[test]
    fn keymap_covers_the_us_layout() {
        assert_eq!(keymap(key::N1, false, false), Some('1'));
        assert_eq!(keymap(key::N0, false, false), Some('0'));
        assert_eq!(keymap(key::N1 + 1, true, false), Some('@'));
        assert_eq!(keymap(key::Q, false, false), Some('q'));
        assert_eq!(keymap(key::Q, true, false), Some('Q'));
        assert_eq!(keymap(key::Q, false, true), Some('Q'));
        assert_eq!(keymap(key::Q, true, true), Some('q'));
        assert_eq!(keymap(key::A + 8, false, false), Some('l'));
        assert_eq!(keymap(key::Z + 6, false, false), Some('m'));
        assert_eq!(keymap(key::MINUS, false, false), Some('-'));
        assert_eq!(keymap(key::MINUS, true, false), Some('_'));
        assert_eq!(keymap(key::SLASH, false, false), Some('/'));
        assert_eq!(keymap(key::SEMICOLON, true, false), Some(':'));
        // Caps Lock changes letters only.
        assert_eq!(keymap(key::N1, false, true), Some('1'));
        assert_eq!(keymap(key::KP0, false, false), Some('0'));
        assert_eq!(keymap(key::KP7 + 1, false, false), Some('8'));
        assert_eq!(keymap(key::KPDOT, true, false), Some('.'));
        assert_eq!(keymap(key::ENTER, false, false), None);
        assert_eq!(keymap(key::ESC, false, false), None);
        // Every printable ASCII character can be typed.
        for c in (0x20u8..0x7F).map(char::from) {
            let typed = (1u16..=100)
                .any(|k| keymap(k, false, false) == Some(c) || keymap(k, true, false) == Some(c));
            assert!(typed, "{c:?}");
        }
    }

    #[test]
    fn a_typed_approval_code_and_url_come_out_as_lines() {
        assert_eq!(
            decode(&type_line("2026112200000017")),
            b"2026112200000017\r"
        );
        let url = "https://e.invalid/r?id=A-42&k=Z_9";
        let mut want = url.as_bytes().to_vec();
        want.push(b'\r');
        assert_eq!(decode(&type_line(url)), want);
    }

    #[test]
    fn repeats_modifiers_and_caps_lock() {
        let ev = [
            (key::CAPSLOCK, KEY_PRESS),
            (key::CAPSLOCK, KEY_RELEASE),
            (key::A, KEY_PRESS),
            (key::A, KEY_REPEAT), // auto-repeat is not a second character
            (key::A, KEY_RELEASE),
            (key::RIGHTSHIFT, KEY_PRESS),
            (key::A + 1, KEY_PRESS),
            (key::N1, KEY_PRESS),
            (key::RIGHTSHIFT, KEY_RELEASE),
            (key::N1, KEY_PRESS),
            (key::LEFTCTRL, KEY_PRESS),
            (key::KPENTER, KEY_PRESS),
        ];
        assert_eq!(decode(&ev), b"As!1\r");
    }

    #[test]
    fn unknown_keys_make_the_line_binary_and_it_is_rejected() {
        let mut ev = vec![
            (key::N1, KEY_PRESS),
            (key::ESC, KEY_PRESS),
            (key::TAB, KEY_PRESS),
        ];
        ev.extend(type_line("2"));
        let bytes = decode(&ev);
        assert_eq!(bytes, b"1\x00\x002\r");
        let mut framer = LineFramer::default();
        let out = framer.push(&bytes, Instant::now());
        assert!(matches!(&out[..], [ScanOutput::Rejected(_)]), "{out:?}");
    }

    #[test]
    fn wedge_lines_obey_the_framer_limits() {
        let mut framer = LineFramer::default();
        let t = Instant::now();
        let code = decode(&type_line("2026112200000017"));
        assert_eq!(
            framer.push(&code, t),
            vec![ScanOutput::Payload("2026112200000017".into())]
        );
        // The same code again at once is merged.
        assert!(
            framer
                .push(&code, t + Duration::from_millis(100))
                .is_empty()
        );
        let long = decode(&type_line(&"9".repeat(300)));
        let out = framer.push(&long, t + Duration::from_secs(5));
        assert!(matches!(&out[..], [ScanOutput::Rejected(_)]), "{out:?}");
    }

    #[test]
    fn a_missing_input_device_is_a_clear_error() {
        let e = EvdevScanner::open(Path::new("/dev/input/event-none"))
            .err()
            .unwrap();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().contains("/dev/input/event-none"), "{e}");
        // A file that is not an input device.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("not-input");
        std::fs::write(&p, b"x").unwrap();
        assert!(EvdevScanner::open(&p).is_err());
    }
}
