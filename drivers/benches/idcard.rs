//! ID card reader cycle time: from the "find card" request to a parsed identity, over a real
//! pseudo-terminal pair, against the simulated reader answering at the pace of a 115200-baud
//! UART. The goal is at most 1.3× the wire time of the bytes exchanged (find → select → read:
//! about 1.4 kB, about 0.12 s).
//!
//! `cargo bench -p kiosk-drivers --bench idcard [-- --runs N] [--baud B]`

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kiosk_drivers::idcard::{self, Reader, ReaderConfig, ReaderOutput};
use kiosk_drivers::sim::serve::{serve_idcard_pty_paced, wire_time};
use kiosk_drivers::sim::{SimCard, SimIdCardReader};
use kiosk_drivers::transport::{SerialTransport, Transport};

/// Counts the bytes of one cycle, starting at the last "find card" request.
struct Metered<T> {
    inner: T,
    find_at: Option<Instant>,
    bytes: usize,
}

/// Command and parameter bytes of "find card" (20 01), after the 7-byte header.
fn is_find(frame: &[u8]) -> bool {
    frame.len() >= 9 && frame[7] == 0x20 && frame[8] == 0x01
}

impl<T: Transport> Transport for Metered<T> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if is_find(bytes) {
            self.find_at = Some(Instant::now());
            self.bytes = 0;
        }
        self.bytes += bytes.len();
        self.inner.write(bytes)
    }
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        let n = self.inner.read(buf, timeout)?;
        self.bytes += n;
        Ok(n)
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

struct Run {
    elapsed: Duration,
    bytes: usize,
}

fn one(baud: u32) -> Result<Run, String> {
    let sim = Arc::new(Mutex::new(SimIdCardReader::new()));
    sim.lock()
        .map_err(|_| "simulator lock".to_string())?
        .place(SimCard::demo());
    let server = serve_idcard_pty_paced(sim, Some(baud)).map_err(|e| e.to_string())?;
    let path = server.path().ok_or("no pty path")?.to_path_buf();
    let port = SerialTransport::open(&path, baud).map_err(|e| e.to_string())?;
    let mut link = Metered {
        inner: port,
        find_at: None,
        bytes: 0,
    };
    let mut reader = Reader::new(ReaderConfig::default());
    let stop = AtomicBool::new(false);
    let mut read_at = None;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut emit = |out: ReaderOutput| match out {
        ReaderOutput::CardRead(_) => {
            read_at = Some(Instant::now());
            stop.store(true, Ordering::Relaxed);
        }
        ReaderOutput::CardError(e) => {
            eprintln!("card error: {e}");
            stop.store(true, Ordering::Relaxed);
        }
        ReaderOutput::Health(_) | ReaderOutput::CardStays | ReaderOutput::CardRemoved => {
            if Instant::now() > deadline {
                stop.store(true, Ordering::Relaxed);
            }
        }
    };
    idcard::run(&mut link, &mut reader, &stop, &mut emit).map_err(|e| e.to_string())?;
    let (Some(found), Some(read)) = (link.find_at, read_at) else {
        return Err("no identity was read".into());
    };
    Ok(Run {
        elapsed: read - found,
        bytes: link.bytes,
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u32>().ok())
    };
    let runs = arg("--runs").unwrap_or(20).max(1);
    let baud = arg("--baud").unwrap_or(115_200);

    let mut ratios = Vec::new();
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..runs {
        match one(baud) {
            Ok(r) => {
                let wire = wire_time(r.bytes, baud);
                ratios.push(r.elapsed.as_secs_f64() / wire.as_secs_f64());
                times.push(r.elapsed.as_secs_f64() * 1000.0);
                bytes = r.bytes;
            }
            Err(e) => {
                eprintln!("run failed: {e}");
                std::process::exit(1);
            }
        }
    }
    ratios.sort_by(f64::total_cmp);
    times.sort_by(f64::total_cmp);
    let wire_ms = wire_time(bytes, baud).as_secs_f64() * 1000.0;
    let median = |v: &[f64]| v[v.len() / 2];
    let worst = |v: &[f64]| v[v.len() - 1];
    println!("ID card reader: find card → parsed identity over a pseudo-terminal at {baud} baud");
    println!(
        "| runs | bytes exchanged | wire time | median | worst | median ratio | worst ratio | goal |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {runs} | {bytes} | {wire_ms:.1} ms | {:.1} ms | {:.1} ms | {:.2}× | {:.2}× | ≤ 1.30× |",
        median(&times),
        worst(&times),
        median(&ratios),
        worst(&ratios),
    );
    if median(&ratios) > 1.3 {
        println!("goal missed: the median cycle exceeds 1.3× the wire time");
    }
}
