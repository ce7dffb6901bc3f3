//! A simulated serial barcode scanner: writes what it "reads" as a line ending in CR LF to
//! the device end of a byte link.

use std::io;

use crate::transport::{MemoryLink, Transport};

/// The bytes a serial scanner sends for a payload: the payload and CR LF.
pub fn line_bytes(payload: &str) -> Vec<u8> {
    let mut b = payload.as_bytes().to_vec();
    b.extend_from_slice(b"\r\n");
    b
}

/// The simulated scanner.
pub struct SimScanner {
    link: MemoryLink,
}

impl SimScanner {
    /// A scanner and the host end of its link (what the kiosk reads).
    pub fn pair() -> (SimScanner, MemoryLink) {
        let (host, device) = MemoryLink::pair();
        (SimScanner { link: device }, host)
    }

    /// Sends `payload` as if a barcode had been read.
    pub fn scan(&mut self, payload: &str) -> io::Result<()> {
        self.link.write(&line_bytes(payload))
    }

    /// Sends raw bytes (noise, binary, partial lines).
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.link.write(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scanner::{LineFramer, ScanOutput};
    use std::time::{Duration, Instant};

    #[test]
    fn scans_reach_the_framer_as_lines() {
        let (mut sim, mut host) = SimScanner::pair();
        sim.scan("2026112200000017").unwrap();
        let mut buf = [0u8; 64];
        let n = host.read(&mut buf, Duration::from_millis(10)).unwrap();
        assert_eq!(&buf[..n], b"2026112200000017\r\n");
        let mut f = LineFramer::default();
        assert_eq!(
            f.push(&buf[..n], Instant::now()),
            vec![ScanOutput::Payload("2026112200000017".into())]
        );
    }
}
