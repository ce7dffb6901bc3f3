//! Device addresses as URIs, as they appear in the kiosk's configuration.
//!
//! | form | meaning |
//! |---|---|
//! | `serial:///dev/ttyUSB0?baud=115200` | a serial port (baud optional: the driver's default) |
//! | `usb://0400:c35a` | a USB device by vendor:product (hex) |
//! | `tcp://10.0.0.5:9100` | a network device (port optional: 9100, raw printing) |
//! | `v4l2:///dev/video0` | a camera |
//! | `evdev:///dev/input/event3` | an input device (keyboard-wedge scanner, buttons) |
//! | `gpio://gpiochip0/17` | one GPIO line |
//! | `file:///var/spool/kiosk/receipts.bin` | a file (printers: bytes appended) |
//! | `sim:` or `sim:?fault=paper-out,camera-missing` | the built-in simulator, with faults |
//!
//! Paths may use `%XX` escapes (a space is `%20`). Parsing is strict: an unknown query key, a
//! missing path or an authority where none belongs is an error that says which.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Default TCP port of raw network printers (JetDirect).
pub const DEFAULT_TCP_PORT: u16 = 9100;

/// A parsed device address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DeviceUri {
    /// A serial port; `baud` is `None` when the URI gives none (the driver's default applies).
    Serial {
        path: PathBuf,
        baud: Option<u32>,
    },
    /// A USB device; `frames` says how an ID card reader's frames travel (`?frames=`).
    Usb {
        vendor: u16,
        product: u16,
        frames: crate::usb_split::Framing,
    },
    Tcp {
        host: String,
        port: u16,
    },
    V4l2 {
        path: PathBuf,
    },
    Evdev {
        path: PathBuf,
    },
    Gpio {
        chip: String,
        line: u32,
    },
    File {
        path: PathBuf,
    },
    /// The simulator, with named faults (`fault=a,b`) for the simulated device to start with.
    Sim {
        faults: Vec<String>,
    },
}

/// What is wrong with a device URI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    #[error("empty device address")]
    Empty,
    #[error("`{0}` has no scheme (expected e.g. serial:///dev/ttyUSB0 or sim:)")]
    NoScheme(String),
    #[error("unknown scheme `{0}` (expected serial, usb, tcp, v4l2, evdev, gpio, file or sim)")]
    UnknownScheme(String),
    #[error("{scheme}: expected `{scheme}://` followed by {what}")]
    MissingSlashes {
        scheme: &'static str,
        what: &'static str,
    },
    #[error("{scheme}: the path must be absolute, e.g. {example}")]
    BadPath {
        scheme: &'static str,
        example: &'static str,
    },
    #[error("{scheme}: no host belongs here; write {scheme}:///absolute/path")]
    UnexpectedHost { scheme: &'static str },
    #[error("{scheme}: unknown option `{key}`")]
    UnknownOption { scheme: &'static str, key: String },
    #[error("{scheme}: option `{key}` is given twice")]
    DuplicateOption { scheme: &'static str, key: String },
    #[error("{scheme}: bad value `{value}` for `{key}`: {why}")]
    BadOption {
        scheme: &'static str,
        key: String,
        value: String,
        why: &'static str,
    },
    #[error("usb: expected vendor:product as two 4-digit hex numbers, e.g. usb://0400:c35a")]
    BadUsbId,
    #[error("tcp: expected host:port, e.g. tcp://10.0.0.5:9100")]
    BadHost,
    #[error("tcp: the port must be a number from 1 to 65535")]
    BadPort,
    #[error("gpio: expected chip/line, e.g. gpio://gpiochip0/17")]
    BadGpio,
    #[error("bad %-escape in `{0}`")]
    BadEscape(String),
    #[error("{scheme}: a fragment (#…) is not allowed")]
    Fragment { scheme: &'static str },
}

impl FromStr for DeviceUri {
    type Err = UriError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

impl DeviceUri {
    /// Parses a device address (same as `str::parse`).
    pub fn parse(s: &str) -> Result<Self, UriError> {
        parse(s)
    }

    /// The scheme word, as written in the URI.
    pub fn scheme(&self) -> &'static str {
        match self {
            DeviceUri::Serial { .. } => "serial",
            DeviceUri::Usb { .. } => "usb",
            DeviceUri::Tcp { .. } => "tcp",
            DeviceUri::V4l2 { .. } => "v4l2",
            DeviceUri::Evdev { .. } => "evdev",
            DeviceUri::Gpio { .. } => "gpio",
            DeviceUri::File { .. } => "file",
            DeviceUri::Sim { .. } => "sim",
        }
    }

    pub fn is_sim(&self) -> bool {
        matches!(self, DeviceUri::Sim { .. })
    }
}

fn parse(input: &str) -> Result<DeviceUri, UriError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(UriError::Empty);
    }
    let Some((scheme, rest)) = s.split_once(':') else {
        return Err(UriError::NoScheme(s.to_string()));
    };
    let scheme_lc = scheme.to_ascii_lowercase();
    let scheme: &'static str = match scheme_lc.as_str() {
        "serial" => "serial",
        "usb" => "usb",
        "tcp" => "tcp",
        "v4l2" => "v4l2",
        "evdev" => "evdev",
        "gpio" => "gpio",
        "file" => "file",
        "sim" => "sim",
        "" => return Err(UriError::NoScheme(s.to_string())),
        _ => return Err(UriError::UnknownScheme(scheme.to_string())),
    };
    if rest.contains('#') {
        return Err(UriError::Fragment { scheme });
    }
    let (body, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let options = parse_query(scheme, query)?;

    if scheme == "sim" {
        // `sim:`, `sim:?fault=x` and `sim://` are all accepted.
        if !(body.is_empty() || body == "//") {
            return Err(UriError::MissingSlashes {
                scheme,
                what: "nothing (write sim: or sim:?fault=name)",
            });
        }
        let mut faults = Vec::new();
        for (key, value) in options {
            if key != "fault" {
                return Err(UriError::UnknownOption { scheme, key });
            }
            for f in value.split(',') {
                let f = f.trim();
                if f.is_empty() {
                    continue;
                }
                if !f
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                {
                    return Err(UriError::BadOption {
                        scheme,
                        key: "fault".into(),
                        value: f.to_string(),
                        why: "fault names are lower-case words joined by -",
                    });
                }
                faults.push(f.to_string());
            }
        }
        return Ok(DeviceUri::Sim { faults });
    }

    let Some(after) = body.strip_prefix("//") else {
        return Err(UriError::MissingSlashes {
            scheme,
            what: what_follows(scheme),
        });
    };

    match scheme {
        "serial" | "v4l2" | "evdev" | "file" => {
            let example = match scheme {
                "serial" => "serial:///dev/ttyUSB0",
                "v4l2" => "v4l2:///dev/video0",
                "evdev" => "evdev:///dev/input/event3",
                _ => "file:///var/spool/kiosk/receipts.bin",
            };
            if after.is_empty() {
                return Err(UriError::BadPath { scheme, example });
            }
            if !after.starts_with('/') {
                return Err(UriError::UnexpectedHost { scheme });
            }
            let path = percent_decode(after)?;
            if path.len() < 2 || path.contains('\0') {
                return Err(UriError::BadPath { scheme, example });
            }
            let path = PathBuf::from(path);
            match scheme {
                "serial" => {
                    let mut baud = None;
                    for (key, value) in options {
                        if key != "baud" {
                            return Err(UriError::UnknownOption { scheme, key });
                        }
                        let b = value
                            .parse::<u32>()
                            .ok()
                            .filter(|b| (50..=4_000_000).contains(b));
                        match b {
                            Some(b) => baud = Some(b),
                            None => {
                                return Err(UriError::BadOption {
                                    scheme,
                                    key,
                                    value,
                                    why: "a rate from 50 to 4000000",
                                });
                            }
                        }
                    }
                    Ok(DeviceUri::Serial { path, baud })
                }
                _ => {
                    no_options(scheme, options)?;
                    Ok(match scheme {
                        "v4l2" => DeviceUri::V4l2 { path },
                        "evdev" => DeviceUri::Evdev { path },
                        _ => DeviceUri::File { path },
                    })
                }
            }
        }
        "usb" => {
            let mut frames = crate::usb_split::Framing::Auto;
            for (key, value) in options {
                if key != "frames" {
                    return Err(UriError::UnknownOption { scheme, key });
                }
                frames = crate::usb_split::Framing::parse(&value).ok_or(UriError::BadOption {
                    scheme,
                    key,
                    value,
                    why: "auto, split or whole",
                })?;
            }
            let (v, p) = after.split_once(':').ok_or(UriError::BadUsbId)?;
            Ok(DeviceUri::Usb {
                vendor: hex16(v)?,
                product: hex16(p.trim_end_matches('/'))?,
                frames,
            })
        }
        "tcp" => {
            no_options(scheme, options)?;
            let after = after.trim_end_matches('/');
            let (host, port) = split_host_port(after)?;
            Ok(DeviceUri::Tcp { host, port })
        }
        "gpio" => {
            no_options(scheme, options)?;
            let (chip, line) = after
                .trim_end_matches('/')
                .split_once('/')
                .ok_or(UriError::BadGpio)?;
            let chip_ok = !chip.is_empty()
                && chip
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
            if !chip_ok || line.is_empty() || !line.bytes().all(|b| b.is_ascii_digit()) {
                return Err(UriError::BadGpio);
            }
            let line = line.parse::<u32>().map_err(|_| UriError::BadGpio)?;
            Ok(DeviceUri::Gpio {
                chip: chip.to_string(),
                line,
            })
        }
        _ => Err(UriError::UnknownScheme(scheme.to_string())),
    }
}

fn what_follows(scheme: &str) -> &'static str {
    match scheme {
        "serial" => "an absolute path, e.g. serial:///dev/ttyUSB0?baud=115200",
        "usb" => "vendor:product, e.g. usb://0400:c35a",
        "tcp" => "host:port, e.g. tcp://10.0.0.5:9100",
        "v4l2" => "an absolute path, e.g. v4l2:///dev/video0",
        "evdev" => "an absolute path, e.g. evdev:///dev/input/event3",
        "gpio" => "chip/line, e.g. gpio://gpiochip0/17",
        _ => "an absolute path, e.g. file:///tmp/receipts.bin",
    }
}

fn parse_query(scheme: &'static str, q: Option<&str>) -> Result<Vec<(String, String)>, UriError> {
    let mut out: Vec<(String, String)> = Vec::new();
    let Some(q) = q else { return Ok(out) };
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = percent_decode(k)?;
        let v = percent_decode(v)?;
        if out.iter().any(|(ek, _)| *ek == k) {
            return Err(UriError::DuplicateOption { scheme, key: k });
        }
        out.push((k, v));
    }
    Ok(out)
}

fn no_options(scheme: &'static str, options: Vec<(String, String)>) -> Result<(), UriError> {
    match options.into_iter().next() {
        Some((key, _)) => Err(UriError::UnknownOption { scheme, key }),
        None => Ok(()),
    }
}

fn hex16(s: &str) -> Result<u16, UriError> {
    if s.len() != 4 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(UriError::BadUsbId);
    }
    u16::from_str_radix(s, 16).map_err(|_| UriError::BadUsbId)
}

fn split_host_port(s: &str) -> Result<(String, u16), UriError> {
    if s.is_empty() {
        return Err(UriError::BadHost);
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        // [IPv6]:port
        let (h, after) = rest.split_once(']').ok_or(UriError::BadHost)?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or(UriError::BadHost)?),
        };
        if h.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(UriError::BadHost);
        }
        (h.to_string(), port)
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (s.to_string(), None),
        }
    };
    let host_ok = !host.is_empty()
        && (host.contains(':')
            || host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_'));
    if !host_ok {
        return Err(UriError::BadHost);
    }
    let port = match port {
        None => DEFAULT_TCP_PORT,
        Some(p) => {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(UriError::BadPort);
            }
            match p.parse::<u16>() {
                Ok(0) | Err(_) => return Err(UriError::BadPort),
                Ok(n) => n,
            }
        }
    };
    Ok((host, port))
}

fn percent_decode(s: &str) -> Result<String, UriError> {
    if !s.contains('%') {
        return Ok(s.to_string());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(v) => out.push(v),
                None => return Err(UriError::BadEscape(s.to_string())),
            }
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| UriError::BadEscape(s.to_string()))
}

fn percent_encode(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || keep.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl fmt::Display for DeviceUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = |p: &PathBuf| percent_encode(&p.to_string_lossy(), b"/");
        match self {
            DeviceUri::Serial { path: p, baud } => {
                write!(f, "serial://{}", path(p))?;
                if let Some(b) = baud {
                    write!(f, "?baud={b}")?;
                }
                Ok(())
            }
            DeviceUri::Usb {
                vendor,
                product,
                frames,
            } => {
                write!(f, "usb://{vendor:04x}:{product:04x}")?;
                if *frames != crate::usb_split::Framing::Auto {
                    write!(f, "?frames={}", frames.as_str())?;
                }
                Ok(())
            }
            DeviceUri::Tcp { host, port } if host.contains(':') => {
                write!(f, "tcp://[{host}]:{port}")
            }
            DeviceUri::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            DeviceUri::V4l2 { path: p } => write!(f, "v4l2://{}", path(p)),
            DeviceUri::Evdev { path: p } => write!(f, "evdev://{}", path(p)),
            DeviceUri::Gpio { chip, line } => write!(f, "gpio://{chip}/{line}"),
            DeviceUri::File { path: p } => write!(f, "file://{}", path(p)),
            DeviceUri::Sim { faults } if faults.is_empty() => f.write_str("sim:"),
            DeviceUri::Sim { faults } => write!(f, "sim:?fault={}", faults.join(",")),
        }
    }
}

impl serde::Serialize for DeviceUri {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for DeviceUri {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<DeviceUri, UriError> {
        s.parse()
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(
            p("serial:///dev/ttyUSB0?baud=115200").unwrap(),
            DeviceUri::Serial {
                path: "/dev/ttyUSB0".into(),
                baud: Some(115_200)
            }
        );
        assert_eq!(
            p("serial:///dev/ttyS1").unwrap(),
            DeviceUri::Serial {
                path: "/dev/ttyS1".into(),
                baud: None
            }
        );
        assert_eq!(
            p("usb://0400:c35a").unwrap(),
            DeviceUri::Usb {
                vendor: 0x0400,
                product: 0xc35a,
                frames: crate::usb_split::Framing::Auto,
            }
        );
        let whole = p("usb://0400:c35a?frames=whole").unwrap();
        assert_eq!(whole.to_string(), "usb://0400:c35a?frames=whole");
        assert!(p("usb://0400:c35a?frames=half").is_err());
        assert_eq!(
            p("USB://0400:C35A").unwrap(),
            DeviceUri::Usb {
                vendor: 0x0400,
                product: 0xc35a,
                frames: crate::usb_split::Framing::Auto,
            }
        );
        assert_eq!(
            p("tcp://10.0.0.5:9100").unwrap(),
            DeviceUri::Tcp {
                host: "10.0.0.5".into(),
                port: 9100
            }
        );
        assert_eq!(
            p("tcp://printer.local").unwrap(),
            DeviceUri::Tcp {
                host: "printer.local".into(),
                port: 9100
            }
        );
        assert_eq!(
            p("tcp://[::1]:9101").unwrap(),
            DeviceUri::Tcp {
                host: "::1".into(),
                port: 9101
            }
        );
        assert_eq!(
            p("v4l2:///dev/video0").unwrap(),
            DeviceUri::V4l2 {
                path: "/dev/video0".into()
            }
        );
        assert_eq!(
            p("evdev:///dev/input/event3").unwrap(),
            DeviceUri::Evdev {
                path: "/dev/input/event3".into()
            }
        );
        assert_eq!(
            p("gpio://gpiochip0/17").unwrap(),
            DeviceUri::Gpio {
                chip: "gpiochip0".into(),
                line: 17
            }
        );
        assert_eq!(
            p("file:///tmp/receipts%20today.bin").unwrap(),
            DeviceUri::File {
                path: "/tmp/receipts today.bin".into()
            }
        );
        assert_eq!(p("sim:").unwrap(), DeviceUri::Sim { faults: vec![] });
        assert_eq!(p("sim://").unwrap(), DeviceUri::Sim { faults: vec![] });
        assert_eq!(
            p("sim:?fault=paper-out").unwrap(),
            DeviceUri::Sim {
                faults: vec!["paper-out".into()]
            }
        );
        assert_eq!(
            p(" sim:?fault=paper-out,camera-missing ").unwrap(),
            DeviceUri::Sim {
                faults: vec!["paper-out".into(), "camera-missing".into()]
            }
        );
    }

    #[test]
    fn rejects_bad_addresses_with_the_reason() {
        assert_eq!(p(""), Err(UriError::Empty));
        assert_eq!(
            p("/dev/ttyUSB0"),
            Err(UriError::NoScheme("/dev/ttyUSB0".into()))
        );
        assert_eq!(p("com1:"), Err(UriError::UnknownScheme("com1".into())));
        assert!(matches!(
            p("serial:/dev/ttyUSB0"),
            Err(UriError::MissingSlashes {
                scheme: "serial",
                ..
            })
        ));
        assert_eq!(
            p("serial://dev/ttyUSB0"),
            Err(UriError::UnexpectedHost { scheme: "serial" })
        );
        assert!(matches!(p("serial://"), Err(UriError::BadPath { .. })));
        assert!(matches!(p("file:///"), Err(UriError::BadPath { .. })));
        assert!(matches!(
            p("serial:///dev/ttyUSB0?baud=fast"),
            Err(UriError::BadOption { .. })
        ));
        assert!(matches!(
            p("serial:///dev/ttyUSB0?baud=0"),
            Err(UriError::BadOption { .. })
        ));
        assert_eq!(
            p("serial:///dev/ttyUSB0?parity=odd"),
            Err(UriError::UnknownOption {
                scheme: "serial",
                key: "parity".into()
            })
        );
        assert!(matches!(
            p("serial:///dev/ttyUSB0?baud=9600&baud=115200"),
            Err(UriError::DuplicateOption { .. })
        ));
        assert_eq!(p("usb://400:c35a"), Err(UriError::BadUsbId));
        assert_eq!(p("usb://0400c35a"), Err(UriError::BadUsbId));
        assert_eq!(p("usb://04g0:c35a"), Err(UriError::BadUsbId));
        assert_eq!(p("tcp://10.0.0.5:0"), Err(UriError::BadPort));
        assert_eq!(p("tcp://10.0.0.5:70000"), Err(UriError::BadPort));
        assert_eq!(p("tcp://10.0.0.5:"), Err(UriError::BadPort));
        assert_eq!(p("tcp://:9100"), Err(UriError::BadHost));
        assert_eq!(p("tcp://bad host:9100"), Err(UriError::BadHost));
        assert_eq!(p("tcp://[zz]:9100"), Err(UriError::BadHost));
        assert_eq!(p("gpio://gpiochip0"), Err(UriError::BadGpio));
        assert_eq!(p("gpio://gpiochip0/x"), Err(UriError::BadGpio));
        assert_eq!(p("gpio:///17"), Err(UriError::BadGpio));
        assert!(matches!(p("file:///tmp/a%zz"), Err(UriError::BadEscape(_))));
        assert!(matches!(
            p("sim:?fault=Paper Out"),
            Err(UriError::BadOption { .. })
        ));
        assert!(matches!(
            p("sim:?mode=x"),
            Err(UriError::UnknownOption { .. })
        ));
        assert!(matches!(p("sim:x"), Err(UriError::MissingSlashes { .. })));
        assert!(matches!(p("tcp://h:1#x"), Err(UriError::Fragment { .. })));
    }

    #[test]
    fn errors_read_as_sentences() {
        let e = p("usb://0400").unwrap_err().to_string();
        assert!(e.contains("usb://0400:c35a"), "{e}");
        let e = p("serial:///dev/ttyUSB0?baud=fast")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "serial: bad value `fast` for `baud`: a rate from 50 to 4000000"
        );
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "serial:///dev/ttyUSB0?baud=115200",
            "serial:///dev/ttyS1",
            "usb://0400:c35a",
            "tcp://10.0.0.5:9100",
            "tcp://[::1]:9100",
            "v4l2:///dev/video0",
            "evdev:///dev/input/event3",
            "gpio://gpiochip0/17",
            "file:///tmp/receipts%20today.bin",
            "sim:",
            "sim:?fault=paper-out,cover-open",
        ] {
            let u = p(s).unwrap();
            assert_eq!(u.to_string(), s);
            assert_eq!(p(&u.to_string()).unwrap(), u);
        }
    }
}
