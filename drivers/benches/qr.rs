//! QR benchmark on the generated hall-camera corpus: per condition, how many frames each
//! decoder reads and the median time per 640×480 frame. Our decoder (`camera::decode_qr`) and
//! rqrr alone run here; zxing-cpp and zbar run side by side on the same PNG files through
//! `benches/qr_compare.py` (Debian `python3-zxing-cpp`, `python3-pyzbar`, `python3-pil`,
//! `python3-numpy`, which `./hall bench` installs; `QR_COMPARE_PYTHON` names another python).
//!
//! `cargo bench -p kiosk-drivers --bench qr [-- --per N] [--out DIR] [--no-compare]`

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use kiosk_drivers::camera::{decode_qr, decode_qr_rqrr};
use kiosk_drivers::image::encode_png_grey;
use kiosk_drivers::sim::corpus::{Condition, corpus};

#[derive(Default, Clone)]
struct Tally {
    ok: usize,
    n: usize,
    ms: Vec<f64>,
}

impl Tally {
    fn add(&mut self, ok: bool, ms: f64) {
        self.n += 1;
        self.ok += usize::from(ok);
        self.ms.push(ms);
    }
    fn pct(&self) -> f64 {
        if self.n == 0 {
            return f64::NAN;
        }
        100.0 * self.ok as f64 / self.n as f64
    }
    fn median(&self) -> f64 {
        let mut v = self.ms.clone();
        if v.is_empty() {
            return f64::NAN;
        }
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }
}

type Results = BTreeMap<String, BTreeMap<&'static str, Tally>>;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let per: usize = arg("--per").and_then(|v| v.parse().ok()).unwrap_or(25);
    let out = arg("--out")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("qr-corpus"));
    let compare = !args.iter().any(|a| a == "--no-compare");
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("cannot create {}: {e}", out.display());
        std::process::exit(1);
    }

    let mut results: Results = BTreeMap::new();
    let mut manifest = String::new();
    let t0 = Instant::now();
    let samples: Vec<_> = corpus(per).collect();
    eprintln!(
        "corpus: {} frames of {}x{} in {:.1} s → {}",
        samples.len(),
        640,
        480,
        t0.elapsed().as_secs_f64(),
        out.display()
    );
    for s in &samples {
        let cond = s.condition.name();
        let png = encode_png_grey(&s.frame).expect("encode corpus frame");
        std::fs::write(out.join(s.file_name()), png).expect("write corpus frame");
        manifest.push_str(&format!("{}\t{}\t{}\n", s.file_name(), cond, s.text));
        // Warm up once, then time.
        let _ = decode_qr(&s.frame);
        let t = Instant::now();
        let got = decode_qr(&s.frame);
        let ms = t.elapsed().as_secs_f64() * 1e3;
        results
            .entry("ours".into())
            .or_default()
            .entry(cond)
            .or_default()
            .add(got.as_deref() == Some(s.text.as_str()), ms);
        let t = Instant::now();
        let got = decode_qr_rqrr(&s.frame);
        let ms = t.elapsed().as_secs_f64() * 1e3;
        results
            .entry("rqrr".into())
            .or_default()
            .entry(cond)
            .or_default()
            .add(got.as_deref() == Some(s.text.as_str()), ms);
    }
    std::fs::write(out.join("manifest.tsv"), manifest).expect("write manifest");

    if compare {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/qr_compare.py");
        // Debian's python3, where `./hall bench` installs the decoders (python3-zxing-cpp,
        // python3-pyzbar), not whichever python3 comes first on PATH.
        let python =
            std::env::var("QR_COMPARE_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into());
        match Command::new(&python).arg(&script).arg(&out).output() {
            Ok(o) if o.status.success() => {
                let cond_of: BTreeMap<String, &'static str> = samples
                    .iter()
                    .map(|s| (s.file_name(), s.condition.name()))
                    .collect();
                for line in String::from_utf8_lossy(&o.stdout).lines() {
                    let Ok(v) = serde_json_lite(line) else {
                        continue;
                    };
                    if let Some(missing) = v.get("missing") {
                        eprintln!("{}: not available ({missing})", v["decoder"]);
                        continue;
                    }
                    let Some(cond) = cond_of.get(&v["file"]) else {
                        continue;
                    };
                    let ok = v["ok"] == "true";
                    let ms: f64 = v["ms"].parse().unwrap_or(f64::NAN);
                    results
                        .entry(v["decoder"].clone())
                        .or_default()
                        .entry(cond)
                        .or_default()
                        .add(ok, ms);
                }
            }
            Ok(o) => eprintln!(
                "qr_compare.py failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ),
            Err(e) => eprintln!("{python} not available: {e}"),
        }
    }
    print_table(&results);
}

/// A tiny reader for the flat JSON objects the script prints (no dependency for one bench).
fn serde_json_lite(line: &str) -> Result<BTreeMap<String, String>, ()> {
    let body = line
        .trim()
        .strip_prefix('{')
        .and_then(|l| l.strip_suffix('}'))
        .ok_or(())?;
    let mut out = BTreeMap::new();
    let mut rest = body;
    while !rest.trim().is_empty() {
        let r = rest.trim_start().strip_prefix('"').ok_or(())?;
        let (key, r) = r.split_once('"').ok_or(())?;
        let r = r.trim_start().strip_prefix(':').ok_or(())?.trim_start();
        let (value, r) = if let Some(r) = r.strip_prefix('"') {
            let mut end = 0;
            let bytes = r.as_bytes();
            while end < bytes.len()
                && !(bytes[end] == b'"' && (end == 0 || bytes[end - 1] != b'\\'))
            {
                end += 1;
            }
            (r[..end].to_string(), &r[(end + 1).min(r.len())..])
        } else {
            let end = r.find(',').unwrap_or(r.len());
            (r[..end].trim().to_string(), &r[end..])
        };
        out.insert(key.to_string(), value);
        rest = r.trim_start().strip_prefix(',').unwrap_or(r);
    }
    Ok(out)
}

fn print_table(results: &Results) {
    let order = ["ours", "zxing-cpp", "zbar", "rqrr"];
    let decoders: Vec<&str> = order
        .iter()
        .copied()
        .filter(|d| results.contains_key(*d))
        .collect();
    let mut o = std::io::stdout().lock();
    let _ = write!(o, "{:<14}", "condition");
    for d in &decoders {
        let _ = write!(o, " | {:>10} {:>7}", d, "ms");
    }
    let _ = writeln!(o);
    let rows: Vec<&str> = Condition::ALL
        .iter()
        .map(|c| c.name())
        .chain(["ALL"])
        .collect();
    for cond in rows {
        let _ = write!(o, "{cond:<14}");
        for d in &decoders {
            let t = if cond == "ALL" {
                let mut all = Tally::default();
                for t in results[*d].values() {
                    all.ok += t.ok;
                    all.n += t.n;
                    all.ms.extend(&t.ms);
                }
                all
            } else {
                results[*d].get(cond).cloned().unwrap_or_default()
            };
            let _ = write!(o, " | {:>9.1}% {:>7.2}", t.pct(), t.median());
        }
        let _ = writeln!(o);
    }
}
