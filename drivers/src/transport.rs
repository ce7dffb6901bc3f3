//! Thin byte transports: they move bytes and know nothing of any protocol.
//!
//! Every device link (printer, ID card reader, serial scanner) is a [`Transport`]. The protocol
//! code stays sans-IO; a small loop moves bytes between it and a transport.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::uri::DeviceUri;

/// A two-way byte link to a device.
pub trait Transport: Send {
    /// Writes all of `bytes`.
    fn write(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Reads what has arrived, waiting at most `timeout` for the first byte. `Ok(0)` means that
    /// nothing came in time; a closed link is an error.
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize>;
    /// Whether the device can answer at all (a file cannot: status queries are skipped).
    fn can_reply(&self) -> bool {
        true
    }
    /// Where the bytes go, for logs (never contains personal data).
    fn describe(&self) -> String;
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        (**self).write(bytes)
    }
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        (**self).read(buf, timeout)
    }
    fn can_reply(&self) -> bool {
        (**self).can_reply()
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}

/// Opens the transport a URI names: `file://`, `tcp://` or `serial://` (`default_baud` when the
/// URI gives none). Other schemes have their own drivers and are refused here (USB bulk links
/// are opened by `devices::open_device`, which knows the kind of device).
pub fn open(uri: &DeviceUri, default_baud: u32) -> io::Result<Box<dyn Transport>> {
    match uri {
        DeviceUri::File { path } => Ok(Box::new(FileTransport::open(path)?)),
        DeviceUri::Tcp { host, port } => Ok(Box::new(TcpTransport::connect(
            host,
            *port,
            Duration::from_secs(3),
        )?)),
        DeviceUri::Serial { path, baud } => Ok(Box::new(SerialTransport::open(
            path,
            baud.unwrap_or(default_baud),
        )?)),
        other => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("{} devices are not byte links", other.scheme()),
        )),
    }
}

// ---------------------------------------------------------------------------------------------

/// Bytes appended to a file (created if missing). Nothing ever answers.
pub struct FileTransport {
    file: File,
    path: PathBuf,
}

impl FileTransport {
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
        })
    }
}

impl Transport for FileTransport {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)?;
        self.file.flush()
    }
    fn read(&mut self, _buf: &mut [u8], _timeout: Duration) -> io::Result<usize> {
        Ok(0)
    }
    fn can_reply(&self) -> bool {
        false
    }
    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }
}

// ---------------------------------------------------------------------------------------------

/// A TCP connection (raw network printers listen on port 9100).
pub struct TcpTransport {
    stream: TcpStream,
    peer: String,
}

impl TcpTransport {
    pub fn connect(host: &str, port: u16, timeout: Duration) -> io::Result<Self> {
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address for host");
        for addr in (host, port).to_socket_addrs()? {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
                    return Ok(Self {
                        stream,
                        peer: format!("tcp {addr}"),
                    });
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

impl Transport for TcpTransport {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        // A zero timeout means "block forever" to std: never pass it.
        self.stream
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))?;
        match self.stream.read(buf) {
            Ok(0) if !buf.is_empty() => Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the device closed the connection",
            )),
            Ok(n) => Ok(n),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }
    fn describe(&self) -> String {
        self.peer.clone()
    }
}

// ---------------------------------------------------------------------------------------------

/// A serial port, 8N1, no flow control.
pub struct SerialTransport {
    port: Box<dyn serialport::SerialPort>,
    name: String,
}

impl SerialTransport {
    pub fn open(path: &Path, baud: u32) -> io::Result<Self> {
        let name = path.to_string_lossy().into_owned();
        let port = serialport::new(name.clone(), baud)
            .data_bits(serialport::DataBits::Eight)
            .parity(serialport::Parity::None)
            .stop_bits(serialport::StopBits::One)
            .flow_control(serialport::FlowControl::None)
            .timeout(Duration::from_millis(100))
            .open()
            .map_err(io::Error::from)?;
        Ok(Self { port, name })
    }

    /// Wraps an already open port (e.g. one end of a pseudo-terminal pair).
    pub fn from_port(port: Box<dyn serialport::SerialPort>) -> Self {
        let name = port.name().unwrap_or_else(|| "serial".to_string());
        Self { port, name }
    }
}

impl Transport for SerialTransport {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.port.write_all(bytes)?;
        self.port.flush()
    }
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        self.port
            .set_timeout(timeout.max(Duration::from_millis(1)))
            .map_err(io::Error::from)?;
        match self.port.read(buf) {
            Ok(n) => Ok(n),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }
    fn describe(&self) -> String {
        format!("serial {}", self.name)
    }
}

// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Pipe {
    state: Mutex<PipeState>,
    ready: Condvar,
}

#[derive(Default)]
struct PipeState {
    bytes: VecDeque<u8>,
    closed: bool,
}

fn poisoned() -> io::Error {
    io::Error::other("in-memory link lock poisoned")
}

impl Pipe {
    fn push(&self, bytes: &[u8]) -> io::Result<()> {
        let mut st = self.state.lock().map_err(|_| poisoned())?;
        if st.closed {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "link closed"));
        }
        st.bytes.extend(bytes);
        self.ready.notify_all();
        Ok(())
    }

    fn pop(&self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        let deadline = Instant::now() + timeout;
        let mut st = self.state.lock().map_err(|_| poisoned())?;
        loop {
            if !st.bytes.is_empty() {
                let n = buf.len().min(st.bytes.len());
                for (slot, b) in buf.iter_mut().zip(st.bytes.drain(..n)) {
                    *slot = b;
                }
                return Ok(n);
            }
            if st.closed {
                return Err(io::Error::new(io::ErrorKind::BrokenPipe, "link closed"));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(0);
            }
            let (guard, _) = self
                .ready
                .wait_timeout(st, deadline - now)
                .map_err(|_| poisoned())?;
            st = guard;
        }
    }

    fn close(&self) {
        if let Ok(mut st) = self.state.lock() {
            st.closed = true;
        }
        self.ready.notify_all();
    }
}

/// One end of an in-memory byte link (simulators and tests). Dropping either end closes both
/// directions.
pub struct MemoryLink {
    rx: Arc<Pipe>,
    tx: Arc<Pipe>,
    name: &'static str,
}

impl MemoryLink {
    /// Two connected ends: what one writes, the other reads.
    pub fn pair() -> (MemoryLink, MemoryLink) {
        let a = Arc::new(Pipe::default());
        let b = Arc::new(Pipe::default());
        (
            MemoryLink {
                rx: a.clone(),
                tx: b.clone(),
                name: "memory link (host end)",
            },
            MemoryLink {
                rx: b,
                tx: a,
                name: "memory link (device end)",
            },
        )
    }
}

impl Drop for MemoryLink {
    fn drop(&mut self) {
        self.rx.close();
        self.tx.close();
    }
}

impl Transport for MemoryLink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.tx.push(bytes)
    }
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        self.rx.pop(buf, timeout)
    }
    fn describe(&self) -> String {
        self.name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_link_moves_bytes_both_ways_and_times_out() {
        let (mut a, mut b) = MemoryLink::pair();
        a.write(b"abc").unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(b.read(&mut buf, Duration::from_millis(10)).unwrap(), 3);
        assert_eq!(&buf[..3], b"abc");
        let t = Instant::now();
        assert_eq!(b.read(&mut buf, Duration::from_millis(30)).unwrap(), 0);
        assert!(t.elapsed() >= Duration::from_millis(25));
        b.write(&[1, 2]).unwrap();
        assert_eq!(a.read(&mut buf[..1], Duration::ZERO).unwrap(), 1);
        assert_eq!(a.read(&mut buf, Duration::ZERO).unwrap(), 1);
        assert_eq!(buf[0], 2);
        drop(b);
        assert_eq!(
            a.read(&mut buf, Duration::from_millis(5))
                .unwrap_err()
                .kind(),
            io::ErrorKind::BrokenPipe
        );
        assert!(a.write(b"x").is_err());
    }

    #[test]
    fn file_transport_appends_and_creates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        let mut t = FileTransport::open(&path).unwrap();
        t.write(b"one").unwrap();
        drop(t);
        let mut t = FileTransport::open(&path).unwrap();
        t.write(b"two").unwrap();
        assert!(!t.can_reply());
        assert_eq!(t.read(&mut [0; 4], Duration::from_secs(5)).unwrap(), 0);
        assert_eq!(std::fs::read(&path).unwrap(), b"onetwo");
    }

    #[test]
    fn open_refuses_non_byte_links() {
        let e = open(&"usb://0400:c35a".parse().unwrap(), 9600)
            .err()
            .unwrap();
        assert_eq!(e.kind(), io::ErrorKind::Unsupported);
    }
}
