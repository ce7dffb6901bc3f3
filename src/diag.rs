//! `hall-kiosk diag …`: field diagnostics for technicians (over ssh) and for outside tools.
//!
//! Every command talks to one device by URI, prints JSON on stdout (one object, or one object
//! per line for streams) and exits 0; any failure exits non-zero with one line on stderr.
//! Nothing here logs personal data: the card's fields go to stdout only, where the technician
//! asked for them.
//!
//! | command | prints |
//! |---|---|
//! | `diag idcard --device URI [--timeout S] [--verbose] --json` | the card: `card_type`, `name`, `sex`, … (`--verbose`: each frame first, personal data redacted) |
//! | `diag scan --device URI [--count N] [--timeout S]` | `{"code": …}` per scan (`{"rejected": …}` for refused ones) |
//! | `diag decode-qr FILE…` | `{"file", "text"}` or `{"file", "error"}` per file |
//! | `diag print-sample --kind K --device URI [--paper 58\|80]` | `{"printed": K, "bytes": N, …}` |
//! | `diag printer-status --device URI` | the `DLE EOT` status |
//! | `diag camera --device URI --frames N` | a line per frame, then a summary |
//! | `diag gpio --board NAME [--watch S] [--light P --seconds S]` | the pins and their levels |

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};

use kiosk_drivers::board::BoardProfile;
use kiosk_drivers::camera::decode_qr;
use kiosk_drivers::devices::{open_camera, open_device, open_scanner};
use kiosk_drivers::gpio::{CdevLines, GpioLines, LightPattern, Pin, find_chip};
use kiosk_drivers::idcard::trace::{Direction, FrameTrace, TracedFrame};
use kiosk_drivers::idcard::{CardKind, IdCard, Reader, ReaderConfig, ReaderOutput, ValidTo};
use kiosk_drivers::image::decode_image;
use kiosk_drivers::printer::receipt::demo;
use kiosk_drivers::printer::{
    FontCharset, GlyphFont, Paper, Printer, PrinterStatus, RasterFallback,
};
use kiosk_drivers::scanner::{LineFramer, ScanOutput, ScannerConfig};
#[cfg(feature = "demo")]
use kiosk_drivers::sim::{SimCamera, SimCard, SimIdCardReader, SimPrinter};
use kiosk_drivers::transport::Transport;
use kiosk_drivers::uri::DeviceUri;
use kiosk_drivers::{DeviceKind, Health};

// `sim:` is offered only by a build with the simulators: the appliance refuses it.
#[cfg(feature = "demo")]
const IDCARD_DEVICES: &str = "serial:///dev/ttyUSB0, usb://0400:c35a, or sim: (the demo card)";
#[cfg(not(feature = "demo"))]
const IDCARD_DEVICES: &str = "serial:///dev/ttyUSB0 or usb://0400:c35a";
#[cfg(feature = "demo")]
const PRINTER_DEVICES: &str = "usb://0416:5011, tcp://10.0.0.5:9100, serial://…, file://… or sim:";
#[cfg(not(feature = "demo"))]
const PRINTER_DEVICES: &str = "usb://0416:5011, tcp://10.0.0.5:9100, serial://… or file://…";
#[cfg(feature = "demo")]
const CAMERA_DEVICES: &str = "v4l2:///dev/video0, file:///path (image files) or sim:";
#[cfg(not(feature = "demo"))]
const CAMERA_DEVICES: &str = "v4l2:///dev/video0 or file:///path (image files)";

#[derive(Args, Debug, Clone)]
pub struct DiagArgs {
    #[command(subcommand)]
    pub command: DiagCommand,
}

#[derive(Subcommand, Debug, Clone)]
pub enum DiagCommand {
    /// Wait for one ID card and print what it says.
    Idcard {
        #[arg(long, help = IDCARD_DEVICES)]
        device: String,
        /// Seconds to wait for a card.
        #[arg(long, default_value_t = 30)]
        timeout: u64,
        /// Print JSON (the only output format; accepted for scripts that pass it).
        #[arg(long)]
        json: bool,
        /// Also print every frame exchanged (hex, personal data redacted), one JSON line each,
        /// before the card: for a reader model the kiosk does not know yet.
        #[arg(long)]
        verbose: bool,
    },
    /// Print each scanned code as a JSON line.
    Scan {
        /// serial:///dev/ttyACM0 or evdev:///dev/input/eventN.
        #[arg(long)]
        device: String,
        /// Stop after this many codes.
        #[arg(long)]
        count: Option<usize>,
        /// Stop after this many seconds.
        #[arg(long)]
        timeout: Option<u64>,
    },
    /// Decode QR codes in image files (PNG or JPEG).
    DecodeQr {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print a receipt with demo data.
    PrintSample {
        #[arg(long, value_enum)]
        kind: SampleKind,
        #[arg(long, help = PRINTER_DEVICES)]
        device: String,
        /// Paper width in mm: 58 or 80.
        #[arg(long, default_value_t = 80)]
        paper: u16,
    },
    /// Query the printer's real-time status (DLE EOT).
    PrinterStatus {
        #[arg(long, help = PRINTER_DEVICES)]
        device: String,
    },
    /// Grab frames and look for QR codes in them.
    Camera {
        #[arg(long, help = CAMERA_DEVICES)]
        device: String,
        #[arg(long, default_value_t = 10)]
        frames: usize,
    },
    /// Show a board's GPIO pins and their levels; optionally watch them or show a light pattern.
    Gpio {
        /// rpi4, rpi5, rk3568, x86-kiosk, or a profile file.
        #[arg(long)]
        board: String,
        /// Print help-button and presence changes for this many seconds.
        #[arg(long)]
        watch: Option<u64>,
        /// Show this light pattern (off, idle, busy, fault, identify)…
        #[arg(long)]
        light: Option<String>,
        /// …for this many seconds.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleKind {
    Submission,
    Progress,
    Payment,
}

/// Runs a diagnostics command. A failure is printed as one line on stderr and the process
/// exits with status 1 (whatever `RUST_BACKTRACE` says: outside tools read that line); the
/// `Result` is for the binary's edge.
pub fn run(args: &DiagArgs) -> anyhow::Result<()> {
    if let Err(e) = run_command(args) {
        let line = format!("{e:#}").replace('\n', " ");
        eprintln!("hall-kiosk diag: {line}");
        std::process::exit(1);
    }
    Ok(())
}

/// Runs a diagnostics command, returning its failure.
pub fn run_command(args: &DiagArgs) -> anyhow::Result<()> {
    match &args.command {
        DiagCommand::Idcard {
            device,
            timeout,
            verbose,
            ..
        } => idcard(device, Duration::from_secs(*timeout), *verbose),
        DiagCommand::Scan {
            device,
            count,
            timeout,
        } => scan(device, *count, timeout.map(Duration::from_secs)),
        DiagCommand::DecodeQr { files } => decode_files(files),
        DiagCommand::PrintSample {
            kind,
            device,
            paper,
        } => print_sample(*kind, device, *paper),
        DiagCommand::PrinterStatus { device } => printer_status(device),
        DiagCommand::Camera { device, frames } => camera(device, *frames),
        DiagCommand::Gpio {
            board,
            watch,
            light,
            seconds,
        } => gpio(board, *watch, light.as_deref(), *seconds),
    }
}

fn emit(v: &Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, v)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

fn parse_uri(device: &str) -> anyhow::Result<DeviceUri> {
    device
        .parse::<DeviceUri>()
        .map_err(|e| anyhow!("device {device:?}: {e}"))
}

// --- ID card ----------------------------------------------------------------------------

/// `YYYYMMDD` as `YYYY-MM-DD` (other text as it is).
pub fn iso_date(d: &str) -> String {
    if d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..])
    } else {
        d.to_string()
    }
}

/// The card as the diagnostics JSON shows it.
pub fn card_json(card: &IdCard) -> Value {
    let card_type = match card.kind {
        CardKind::Resident => "resident",
        CardKind::HkMoTwPermit => "hmt_permit",
        CardKind::ForeignPermanent2017 | CardKind::ForeignPermanent2023 => "foreign_permanent",
    };
    let valid_to = match &card.valid_to {
        ValidTo::LongTerm => "长期".to_string(),
        ValidTo::Date(d) => iso_date(d),
    };
    let mut v = json!({
        "card_type": card_type,
        "name": card.name,
        "sex": card.sex_name(),
        "birth": iso_date(&card.birth),
        "address": card.address,
        "id_number": card.id_number,
        "authority": card.authority,
        "valid_from": iso_date(&card.valid_from),
        "valid_to": valid_to,
    });
    match card.kind {
        CardKind::Resident => {
            v["nation"] = json!(card.nation);
        }
        CardKind::HkMoTwPermit => {
            v["pass_number"] = json!(card.travel_permit);
            v["issue_count"] = json!(card.issue_count);
        }
        CardKind::ForeignPermanent2017 | CardKind::ForeignPermanent2023 => {
            v["english_name"] = json!(card.name_en);
            v["nationality"] = json!(card.nation);
        }
    }
    v
}

/// The reader's link, and the simulator thread behind it for `sim:`.
type ReaderLink = (Box<dyn Transport>, Option<std::thread::JoinHandle<()>>);

fn idcard_link(uri: &DeviceUri) -> anyhow::Result<ReaderLink> {
    refuse_sim(DeviceKind::IdCard, uri)?;
    #[cfg(feature = "demo")]
    if let DeviceUri::Sim { .. } = uri {
        // The simulated reader with the demo card on it, over an in-memory link.
        let (host, mut dev) = kiosk_drivers::transport::MemoryLink::pair();
        let t = std::thread::spawn(move || {
            let mut sim = SimIdCardReader::new();
            sim.place(SimCard::demo());
            let mut buf = [0u8; 512];
            while let Ok(n) = dev.read(&mut buf, Duration::from_millis(50)) {
                let reply = sim.handle(&buf[..n]);
                if !reply.is_empty() && dev.write(&reply).is_err() {
                    break;
                }
            }
        });
        return Ok((Box::new(host), Some(t)));
    }
    let link = open_device(uri, DeviceKind::IdCard)
        .map_err(|e| anyhow!("cannot open the ID card reader {uri}: {e}"))?;
    Ok((link, None))
}

/// One traced frame as a JSON line.
fn emit_frame(f: &TracedFrame) -> anyhow::Result<()> {
    let dir = match f.direction {
        Direction::Sent => "sent",
        Direction::Received => "received",
    };
    emit(&json!({ "frame": dir, "hex": f.hex, "meaning": f.meaning }))
}

fn idcard(device: &str, timeout: Duration, verbose: bool) -> anyhow::Result<()> {
    let uri = parse_uri(device)?;
    let (mut link, sim) = idcard_link(&uri)?;
    let mut trace = verbose.then(FrameTrace::new);
    let deadline = Instant::now() + timeout;
    let mut reader = Reader::new(ReaderConfig::default());
    let mut buf = vec![0u8; 2048];
    let mut last_health: Option<Health> = None;
    let outcome: anyhow::Result<IdCard> = 'outer: loop {
        let now = Instant::now();
        if now >= deadline {
            break Err(match &last_health {
                Some(Health::Absent(why)) => anyhow!("{why}"),
                None => anyhow!("the reader did not answer within {} s", timeout.as_secs()),
                _ => anyhow!("no card was placed within {} s", timeout.as_secs()),
            });
        }
        if let Some(req) = reader.poll(now) {
            if let Some(t) = trace.as_mut() {
                emit_frame(&t.sent(&req))?;
            }
            if let Err(e) = link.write(&req) {
                break Err(anyhow!("reader link failed: {e}"));
            }
        }
        let mut outs = reader.take_outputs();
        let wait = reader
            .next_wakeup()
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_millis(50))
            .min(Duration::from_millis(50))
            .min(deadline.saturating_duration_since(Instant::now()));
        match link.read(&mut buf, wait) {
            Ok(0) => {}
            Ok(n) => {
                if let Some(t) = trace.as_mut() {
                    for f in t.received(&buf[..n]) {
                        emit_frame(&f)?;
                    }
                }
                outs.extend(reader.on_bytes(&buf[..n]));
            }
            Err(e) => break Err(anyhow!("reader link failed: {e}")),
        }
        for o in outs {
            match o {
                ReaderOutput::CardRead(card) => break 'outer Ok(card),
                ReaderOutput::CardError(m) => break 'outer Err(anyhow!("{m}")),
                ReaderOutput::Health(h) => last_health = Some(h),
                ReaderOutput::CardStays | ReaderOutput::CardRemoved => {}
            }
        }
    };
    drop(link);
    if let Some(t) = sim {
        let _ = t.join();
    }
    let card = outcome?;
    emit(&card_json(&card))
}

// --- Scanner ----------------------------------------------------------------------------

fn scan(device: &str, count: Option<usize>, timeout: Option<Duration>) -> anyhow::Result<()> {
    let uri = parse_uri(device)?;
    if let DeviceUri::Sim { .. } = uri {
        bail!("diag scan needs a real scanner (serial:// or evdev://)");
    }
    let mut link = open_scanner(&uri).map_err(|e| anyhow!("cannot open the scanner {uri}: {e}"))?;
    let mut framer = LineFramer::new(ScannerConfig::default());
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut seen = 0usize;
    let mut buf = [0u8; 256];
    loop {
        if count.is_some_and(|c| seen >= c) || deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(());
        }
        let n = link
            .read(&mut buf, Duration::from_millis(50))
            .map_err(|e| anyhow!("scanner link failed: {e}"))?;
        for out in framer.push(&buf[..n], Instant::now()) {
            match out {
                ScanOutput::Payload(code) => {
                    emit(&json!({ "code": code }))?;
                    seen += 1;
                }
                ScanOutput::Rejected(why) => emit(&json!({ "rejected": why }))?,
            }
        }
    }
}

// --- QR files ---------------------------------------------------------------------------

fn decode_files(files: &[PathBuf]) -> anyhow::Result<()> {
    let mut failed = 0;
    for f in files {
        let name = f.display().to_string();
        let result = std::fs::read(f)
            .map_err(|e| e.to_string())
            .and_then(|bytes| decode_image(&bytes).map_err(|e| e.to_string()))
            .and_then(|img| {
                decode_qr(&img.to_grey()).ok_or_else(|| "no QR code found".to_string())
            });
        match result {
            Ok(text) => emit(&json!({ "file": name, "text": text }))?,
            Err(error) => {
                failed += 1;
                emit(&json!({ "file": name, "error": error }))?;
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} files had no readable QR code", files.len());
    }
    Ok(())
}

// --- Printer ----------------------------------------------------------------------------

/// A printer driver (the simulated printer for `sim:`, in a build with the demo).
fn printer_for(uri: &DeviceUri) -> anyhow::Result<Printer<Box<dyn Transport>>> {
    refuse_sim(DeviceKind::Printer, uri)?;
    #[cfg(feature = "demo")]
    if let DeviceUri::Sim { .. } = uri {
        return Ok(Printer::new(Box::new(SimPrinter::new())));
    }
    let link = open_device(uri, DeviceKind::Printer)
        .map_err(|e| anyhow!("cannot open the printer {uri}: {e}"))?;
    Ok(Printer::new(link).with_reply_timeout(Duration::from_secs(1)))
}

/// `sim:` names a simulator: refused in words by a build without them (the appliance).
fn refuse_sim(kind: DeviceKind, uri: &DeviceUri) -> anyhow::Result<()> {
    if matches!(uri, DeviceUri::Sim { .. }) {
        kiosk_drivers::devices::check(kind, uri)?;
    }
    Ok(())
}

fn print_sample(kind: SampleKind, device: &str, paper_mm: u16) -> anyhow::Result<()> {
    let paper = match paper_mm {
        58 => Paper::Mm58,
        80 => Paper::Mm80,
        other => bail!("paper {other} mm: 58 or 80"),
    };
    let uri = parse_uri(device)?;
    // As the kiosk prints: lines with characters outside a GBK font drawn as images.
    let fallback = GlyphFont::system().ok().map(|font| RasterFallback {
        charset: FontCharset::Gbk,
        font: std::sync::Arc::new(font),
    });
    let fb = fallback.as_ref();
    let bytes = match kind {
        SampleKind::Submission => demo::submission().render_with(paper, fb),
        SampleKind::Progress => demo::progress().render_with(paper, fb),
        SampleKind::Payment => demo::payment().render_with(paper, fb),
    };
    let mut printer = printer_for(&uri)?;
    printer.print(&bytes).map_err(|e| anyhow!("{e}"))?;
    let name = match kind {
        SampleKind::Submission => "submission",
        SampleKind::Progress => "progress",
        SampleKind::Payment => "payment",
    };
    emit(
        &json!({ "printed": name, "bytes": bytes.len(), "paper_mm": paper_mm, "device": uri.to_string() }),
    )
}

/// The status as the diagnostics JSON shows it.
pub fn status_json(st: &PrinterStatus, can_reply: bool) -> Value {
    let reason = st.blocking_reason().map(|r| r.to_string());
    json!({
        "ready": reason.is_none(),
        "reason": reason,
        "offline": st.offline,
        "cover_open": st.cover_open,
        "paper_near_end": st.paper_near_end,
        "paper_out": st.paper_out,
        "error": st.error,
        "answers": can_reply,
    })
}

fn printer_status(device: &str) -> anyhow::Result<()> {
    let uri = parse_uri(device)?;
    let mut printer = printer_for(&uri)?;
    let can_reply = printer.link().can_reply();
    let st = printer.status().map_err(|e| anyhow!("{e}"))?;
    emit(&status_json(&st, can_reply))
}

// --- Camera -----------------------------------------------------------------------------

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}

fn camera(device: &str, frames: usize) -> anyhow::Result<()> {
    let uri = parse_uri(device)?;
    refuse_sim(DeviceKind::Camera, &uri)?;
    let mut cam: Box<dyn kiosk_drivers::camera::Camera> = match &uri {
        #[cfg(feature = "demo")]
        DeviceUri::Sim { .. } => {
            let mut sim = SimCamera::new();
            sim.show(Some("2026110200000118"));
            Box::new(sim)
        }
        other => open_camera(other).map_err(|e| anyhow!("{e}"))?,
    };
    let (mut grab_ms, mut decode_ms) = (Vec::new(), Vec::new());
    let mut decoded = 0;
    for i in 0..frames {
        let t = Instant::now();
        let frame = cam.grab().map_err(|e| anyhow!("frame {i}: {e}"))?;
        let grabbed = t.elapsed();
        let t = Instant::now();
        let qr = decode_qr(&frame);
        let decode = t.elapsed();
        decoded += usize::from(qr.is_some());
        grab_ms.push(ms(grabbed));
        decode_ms.push(ms(decode));
        emit(&json!({
            "frame": i, "width": frame.width, "height": frame.height,
            "grab_ms": ms(grabbed), "decode_ms": ms(decode), "qr": qr,
        }))?;
    }
    emit(&json!({
        "frames": frames, "decoded": decoded,
        "median_grab_ms": median(&mut grab_ms), "median_decode_ms": median(&mut decode_ms),
    }))
}

// --- GPIO -------------------------------------------------------------------------------

fn gpio(board: &str, watch: Option<u64>, light: Option<&str>, seconds: u64) -> anyhow::Result<()> {
    let profile = BoardProfile::find(board).map_err(|e| anyhow!("{e}"))?;
    let Some(pins) = profile.gpio.clone() else {
        return emit(&json!({ "board": profile.name, "gpio": Value::Null }));
    };
    let pattern = match light {
        Some(name) => Some(LightPattern::from_name(name).ok_or_else(|| {
            anyhow!("light pattern {name:?}: off, idle, busy, fault or identify")
        })?),
        None => None,
    };
    let chip = find_chip(&pins.chip).map_err(|e| anyhow!("{e}"))?;
    let mut lines = CdevLines::open(&pins)
        .map_err(|e| anyhow!("cannot request the board's GPIO lines: {e}"))
        .context("(another program may hold them: is the kiosk running?)")
        .map_err(|e| anyhow!("{e:#}"))?;
    let help = lines.read(Pin::HelpButton).map_err(|e| anyhow!("{e}"))?;
    let presence = lines.read(Pin::Presence).map_err(|e| anyhow!("{e}"))?;
    emit(&json!({
        "board": profile.name,
        "chip": chip.display().to_string(),
        "help_button": pins.help_button.map(|p| json!({ "line": p.line, "active": help })),
        "presence": pins.presence.map(|p| json!({ "line": p.line, "active": presence })),
        "status_light": pins.status_light.map(|p| json!({ "line": p.line })),
    }))?;
    if let Some(p) = pattern {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(seconds) {
            lines
                .write(Pin::StatusLight, p.level_at(start.elapsed()))
                .map_err(|e| anyhow!("{e}"))?;
            std::thread::sleep(Duration::from_millis(10));
        }
        lines
            .write(Pin::StatusLight, false)
            .map_err(|e| anyhow!("{e}"))?;
    }
    if let Some(secs) = watch {
        let (mut h, mut pr) = (help, presence);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(secs) {
            let nh = lines.read(Pin::HelpButton).map_err(|e| anyhow!("{e}"))?;
            let np = lines.read(Pin::Presence).map_err(|e| anyhow!("{e}"))?;
            if nh != h {
                emit(&json!({ "help_button": nh, "ms": start.elapsed().as_millis() as u64 }))?;
                h = nh;
            }
            if np != pr {
                emit(&json!({ "presence": np, "ms": start.elapsed().as_millis() as u64 }))?;
                pr = np;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    Ok(())
}

#[cfg(all(test, feature = "demo"))]
mod tests {
    use super::*;
    use kiosk_drivers::sim::demo_card;

    #[test]
    fn dates_and_the_demo_card_as_json() {
        assert_eq!(iso_date("19580312"), "1958-03-12");
        assert_eq!(iso_date("长期"), "长期");
        let v = card_json(&demo_card());
        assert_eq!(v["card_type"], "resident");
        assert_eq!(v["sex"], "男");
        assert_eq!(v["nation"], "汉");
        assert_eq!(v["valid_to"], "长期");
        assert_eq!(v["birth"], "1958-03-12");
        assert!(v.get("pass_number").is_none());
    }
}
