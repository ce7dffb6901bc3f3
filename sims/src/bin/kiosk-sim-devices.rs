//! The project's device simulators as standalone processes, for a kiosk on real hardware links:
//! the ID card reader on a serial line (a pty, e.g. the host end of qemu's `usb-serial`) and the
//! receipt printer on TCP (raw printing, port 9100 style).
//!
//! ```text
//! kiosk-sim-devices idcard --tty /dev/pts/7
//! kiosk-sim-devices printer --listen 127.0.0.1:9100 --capture printed.bin
//! ```
//!
//! Each reads commands on standard input, one per line, and answers `ok …` or `error …`:
//! idcard: `place` (the demo card), `remove`, `status`; printer: `paper ok|near-end|out`,
//! `cover open|closed`, `status`. `quit` (or the end of input) stops it.
//!
//! Only `kiosk-sims` is used: nothing of the drivers (see the crate's documentation).

use std::io::{self, BufRead, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kiosk_sims::{PaperState, SimCard, SimIdCardReader, SimPrinter};

fn usage() -> ! {
    eprintln!(
        "usage: kiosk-sim-devices idcard --tty PATH\n       kiosk-sim-devices printer --listen ADDR [--capture FILE]"
    );
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(what) = args.first() else { usage() };
    let opt = |name: &str| -> Option<String> {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let result = match what.as_str() {
        "idcard" => match opt("--tty") {
            Some(tty) => idcard(PathBuf::from(tty)),
            None => usage(),
        },
        "printer" => match opt("--listen") {
            Some(addr) => printer(&addr, opt("--capture").map(PathBuf::from)),
            None => usage(),
        },
        _ => usage(),
    };
    if let Err(e) = result {
        eprintln!("kiosk-sim-devices {what}: {e}");
        std::process::exit(1);
    }
}

fn say(line: &str) {
    let mut out = io::stdout().lock();
    // The controller may have gone: nothing to tell then.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The reader on a serial line: request frames in, reply frames out, card placed by command.
fn idcard(tty: PathBuf) -> io::Result<()> {
    let mut line_in = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&tty)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", tty.display())))?;
    let mut line_out = line_in.try_clone()?;
    let reader = Arc::new(Mutex::new(SimIdCardReader::new()));
    let stop = Arc::new(AtomicBool::new(false));

    let serial = {
        let reader = Arc::clone(&reader);
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || -> io::Result<()> {
            let mut buf = [0u8; 512];
            let mut requests = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let n = match line_in.read(&mut buf) {
                    Ok(0) => {
                        // The other end is not open (qemu's device unplugged): wait for it.
                        std::thread::sleep(Duration::from_millis(50));
                        continue;
                    }
                    Ok(n) => n,
                    Err(e) if e.raw_os_error() == Some(5) => {
                        // EIO: no one holds the pty's other end at the moment.
                        std::thread::sleep(Duration::from_millis(50));
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                let reply = {
                    let mut r = reader
                        .lock()
                        .map_err(|_| io::Error::other("reader lock poisoned"))?;
                    r.handle(&buf[..n])
                };
                if !reply.is_empty() {
                    requests += 1;
                    line_out.write_all(&reply)?;
                    line_out.flush()?;
                    if requests == 1 {
                        say("event first-reply");
                    }
                }
            }
            Ok(())
        })
    };
    say(&format!("ready idcard {}", tty.display()));

    for line in io::stdin().lock().lines() {
        let line = line?;
        let reply = {
            let mut r = reader
                .lock()
                .map_err(|_| io::Error::other("reader lock poisoned"))?;
            match line.trim() {
                "place" => {
                    r.place(SimCard::demo());
                    "ok placed".to_string()
                }
                "remove" => {
                    r.remove();
                    "ok removed".to_string()
                }
                "status" => format!("ok card={} requests={}", r.has_card(), r.requests()),
                "quit" => break,
                "" => continue,
                other => format!("error unknown command {other}"),
            }
        };
        say(&reply);
        if serial.is_finished() {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    if serial.is_finished() {
        return serial
            .join()
            .map_err(|_| io::Error::other("serial thread panicked"))?;
    }
    Ok(())
}

/// The printer on TCP: every connection is the host's link to the one printer.
fn printer(addr: &str, capture: Option<PathBuf>) -> io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    let mut printer = SimPrinter::new();
    if let Some(path) = capture {
        printer = printer.with_output_file(path)?;
    }
    {
        let printer = printer.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                match conn {
                    Ok(stream) => {
                        let printer = printer.clone();
                        std::thread::spawn(move || serve_printer(stream, printer));
                    }
                    Err(e) => say(&format!("event accept-error {e}")),
                }
            }
        });
    }
    say(&format!("ready printer {addr}"));
    for line in io::stdin().lock().lines() {
        let line = line?;
        let words: Vec<&str> = line.split_whitespace().collect();
        let done = match words.as_slice() {
            ["paper", "ok"] => printer.set_paper(PaperState::Ok).map(|_| "ok paper ok"),
            ["paper", "near-end"] => printer
                .set_paper(PaperState::NearEnd)
                .map(|_| "ok paper near-end"),
            ["paper", "out"] => printer.set_paper(PaperState::Out).map(|_| "ok paper out"),
            ["cover", "open"] => printer.set_cover_open(true).map(|_| "ok cover open"),
            ["cover", "closed"] => printer.set_cover_open(false).map(|_| "ok cover closed"),
            ["status"] => {
                let printed = printer.printed()?.len();
                say(&format!("ok printed={printed} {:?}", printer.condition()?));
                continue;
            }
            ["quit"] => break,
            [] => continue,
            _ => Ok("error unknown command"),
        };
        say(done?);
    }
    Ok(())
}

fn serve_printer(stream: TcpStream, printer: SimPrinter) {
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    say(&format!("event connected {peer}"));
    let Ok(mut to_host) = stream.try_clone() else {
        return;
    };
    let open = Arc::new(AtomicBool::new(true));
    let replies = {
        let printer = printer.clone();
        let open = Arc::clone(&open);
        std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            while open.load(Ordering::Relaxed) {
                match printer.send(&mut buf, Duration::from_millis(20)) {
                    Ok(0) => {}
                    Ok(n) => {
                        if to_host.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        })
    };
    let mut from_host = stream;
    let mut buf = [0u8; 4096];
    loop {
        match from_host.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if printer.receive(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    open.store(false, Ordering::Relaxed);
    let _ = from_host.shutdown(Shutdown::Both);
    let _ = replies.join();
    say(&format!("event disconnected {peer}"));
}
