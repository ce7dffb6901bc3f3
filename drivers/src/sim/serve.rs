//! Simulators served on real links, so that the real drivers open them by URI as they would
//! open hardware: the ID card reader on a pseudo-terminal (the kiosk opens
//! `serial:///dev/pts/N`, or a stable symlink to it as udev makes `/dev/hall/idcard`), the
//! printer on a TCP port (`tcp://127.0.0.1:PORT`, as a network printer on 9100), the serial
//! scanner on a pseudo-terminal. Used by the tests, the `diag` tests and bench rigs.
//!
//! Each server runs in a thread and stops when its handle is dropped: dropping the pty server
//! closes the master side, which is what the kiosk sees when a USB-serial reader is unplugged.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serialport::{SerialPort, TTYPort};

use super::SimIdCardReader;
use super::SimPrinter;
use crate::hotplug::Stop;
use crate::transport::{SerialTransport, Transport};

/// A running simulator server; stops (and closes its links) when dropped.
pub struct SimServer {
    stop: Arc<Stop>,
    thread: Option<JoinHandle<()>>,
    /// Kept open so that the master side sees no hang-up before the driver opens the slave.
    _slave: Option<TTYPort>,
    path: Option<PathBuf>,
    addr: Option<SocketAddr>,
}

impl SimServer {
    /// The serial device the driver opens (pseudo-terminal servers).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The address the driver connects to (TCP servers).
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// Stops the server and closes its links.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.stop.set();
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::error!("a simulator server thread failed");
        }
        self._slave = None;
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.stop_now();
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name(name.to_string()).spawn(f)
}

/// A pseudo-terminal pair: the master end (the simulated device) and the slave's path (what
/// the driver opens). The slave end stays open in the returned port.
pub fn pty() -> io::Result<(SerialTransport, TTYPort, PathBuf)> {
    let (master, slave) = TTYPort::pair().map_err(io::Error::from)?;
    let path = slave
        .name()
        .map(PathBuf::from)
        .ok_or_else(|| io::Error::other("pseudo-terminal without a name"))?;
    Ok((SerialTransport::from_port(Box::new(master)), slave, path))
}

/// Points `link` at `target` atomically (a stable device name, as udev's symlinks).
pub fn relink(link: &Path, target: &Path) -> io::Result<()> {
    let tmp = link.with_extension("new-link");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    std::fs::rename(&tmp, link)
}

/// Serves the simulated ID card reader on the device end of a byte link.
pub fn serve_idcard(
    link: Box<dyn Transport>,
    reader: Arc<Mutex<SimIdCardReader>>,
) -> io::Result<SimServer> {
    serve_idcard_paced(link, reader, None)
}

/// The time `bytes` bytes take on a UART at `baud` with 8N1 framing (10 bits a byte).
pub fn wire_time(bytes: usize, baud: u32) -> Duration {
    Duration::from_secs_f64(bytes as f64 * 10.0 / f64::from(baud.max(1)))
}

/// Serves the simulated ID card reader, and with `baud` behaves like a reader on a UART at that
/// rate (a pseudo-terminal moves bytes instantly): a request is answered only after its bytes
/// would have arrived, and the reply leaves at the line rate. Benchmarks use this to compare
/// the driver's cycle time with the wire time.
pub fn serve_idcard_paced(
    mut link: Box<dyn Transport>,
    reader: Arc<Mutex<SimIdCardReader>>,
    baud: Option<u32>,
) -> io::Result<SimServer> {
    let stop = Arc::new(Stop::new());
    let s = stop.clone();
    let thread = spawn("sim-idcard-serve", move || {
        let mut buf = [0u8; 512];
        while !s.is_set() {
            let n = match link.read(&mut buf, Duration::from_millis(20)) {
                Ok(0) => continue,
                Ok(n) => n,
                Err(_) => {
                    // No one has the other end open yet (or it was just closed): wait.
                    s.sleep(Duration::from_millis(20));
                    continue;
                }
            };
            if let Some(baud) = baud {
                std::thread::sleep(wire_time(n, baud));
            }
            let reply = match reader.lock() {
                Ok(mut r) => r.handle(&buf[..n]),
                Err(_) => return,
            };
            if reply.is_empty() {
                continue;
            }
            let sent = match baud {
                None => link.write(&reply),
                Some(baud) => write_paced(&mut *link, &reply, baud),
            };
            if sent.is_err() {
                s.sleep(Duration::from_millis(20));
            }
        }
    })?;
    Ok(SimServer {
        stop,
        thread: Some(thread),
        _slave: None,
        path: None,
        addr: None,
    })
}

/// Writes `bytes` no faster than a UART at `baud` would send them.
fn write_paced(link: &mut dyn Transport, bytes: &[u8], baud: u32) -> io::Result<()> {
    const CHUNK: usize = 32;
    let start = std::time::Instant::now();
    let mut sent = 0;
    for chunk in bytes.chunks(CHUNK) {
        sent += chunk.len();
        // A chunk is on the far side once its last bit has been clocked out.
        let due = start + wire_time(sent, baud);
        let now = std::time::Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        link.write(chunk)?;
    }
    Ok(())
}

/// Serves the simulated ID card reader on a new pseudo-terminal: open `server.path()` as
/// `serial://…` to talk to it.
pub fn serve_idcard_pty(reader: Arc<Mutex<SimIdCardReader>>) -> io::Result<SimServer> {
    serve_idcard_pty_paced(reader, None)
}

/// As [`serve_idcard_pty`], at the line rate of a UART at `baud` when given.
pub fn serve_idcard_pty_paced(
    reader: Arc<Mutex<SimIdCardReader>>,
    baud: Option<u32>,
) -> io::Result<SimServer> {
    let (master, slave, path) = pty()?;
    let mut server = serve_idcard_paced(Box::new(master), reader, baud)?;
    server._slave = Some(slave);
    server.path = Some(path);
    Ok(server)
}

/// A serial scanner on a new pseudo-terminal: what is written to the returned link arrives
/// at `server.path()` as a scanner's bytes.
pub fn scanner_pty() -> io::Result<(SerialTransport, TTYPort, PathBuf)> {
    pty()
}

fn serve_printer_conn(mut stream: TcpStream, printer: &mut SimPrinter, stop: &Stop) {
    if stream
        .set_read_timeout(Some(Duration::from_millis(20)))
        .is_err()
    {
        return;
    }
    let _ = stream.set_nodelay(true);
    let mut buf = [0u8; 4096];
    let mut replies = [0u8; 64];
    while !stop.is_set() {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if printer.write(&buf[..n]).is_err() {
                    return;
                }
                if !printer.connected().unwrap_or(false) {
                    continue;
                }
                loop {
                    match printer.read(&mut replies, Duration::ZERO) {
                        Ok(0) | Err(_) => break,
                        Ok(m) => {
                            if stream.write_all(&replies[..m]).is_err() {
                                return;
                            }
                        }
                    }
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
}

/// Serves the simulated printer on a TCP listener (raw printing, as port 9100), one
/// connection at a time.
pub fn serve_printer_tcp(listener: TcpListener, printer: SimPrinter) -> io::Result<SimServer> {
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let stop = Arc::new(Stop::new());
    let s = stop.clone();
    let thread = spawn("sim-printer-serve", move || {
        let mut printer = printer;
        while !s.is_set() {
            match listener.accept() {
                Ok((stream, _)) => {
                    if stream.set_nonblocking(false).is_ok() {
                        serve_printer_conn(stream, &mut printer, &s);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    s.sleep(Duration::from_millis(10));
                }
                Err(_) => {
                    s.sleep(Duration::from_millis(10));
                }
            }
        }
    })?;
    Ok(SimServer {
        stop,
        thread: Some(thread),
        _slave: None,
        path: None,
        addr: Some(addr),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idcard::{Command, FrameParser};
    use crate::printer::Printer;
    use crate::sim::PaperState;

    #[test]
    fn the_reader_answers_on_a_pty() {
        let reader = Arc::new(Mutex::new(SimIdCardReader::new()));
        let server = serve_idcard_pty(reader.clone()).unwrap();
        let mut link = SerialTransport::open(server.path().unwrap(), 115_200).unwrap();
        link.write(&Command::SamStatus.request()).unwrap();
        let mut parser = FrameParser::new();
        let mut buf = [0u8; 64];
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let frame = loop {
            assert!(std::time::Instant::now() < deadline, "no reply");
            let n = link.read(&mut buf, Duration::from_millis(50)).unwrap();
            parser.push(&buf[..n]);
            if let Some(f) = parser.pop() {
                break f.unwrap();
            }
        };
        assert_eq!(frame.as_reply().unwrap().sw3, 0x90);
        assert_eq!(reader.lock().unwrap().requests(), 1);
    }

    #[test]
    fn the_printer_answers_over_tcp() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let sim = SimPrinter::new();
        let server = serve_printer_tcp(listener, sim.clone()).unwrap();
        let addr = server.addr().unwrap();
        let link = crate::transport::TcpTransport::connect(
            &addr.ip().to_string(),
            addr.port(),
            Duration::from_secs(2),
        )
        .unwrap();
        let mut printer = Printer::new(link);
        printer.print(b"hello").unwrap();
        sim.set_paper(PaperState::Out).unwrap();
        assert!(printer.print(b"more").is_err());
        assert_eq!(sim.printed().unwrap(), b"hello");
    }
}
