//! Receipt bytes generation: the time from a receipt's data to its ESC/POS job, per layout and
//! paper width, and for a receipt with a rare name character drawn as a raster line. Goal:
//! under 1 ms per receipt.
//!
//! `cargo bench -p kiosk-drivers --bench receipt [-- --runs N]`

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use kiosk_drivers::printer::receipt::demo;
use kiosk_drivers::printer::{FontCharset, GlyphFont, Paper, RasterFallback};

/// Lays out one receipt.
type Job<'a> = Box<dyn Fn() -> Vec<u8> + 'a>;

fn measure(runs: usize, mut f: impl FnMut() -> Vec<u8>) -> (f64, f64, usize) {
    let mut us = Vec::with_capacity(runs);
    let mut len = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let bytes = black_box(f());
        us.push(t.elapsed().as_secs_f64() * 1e6);
        len = bytes.len();
    }
    us.sort_by(f64::total_cmp);
    (us[us.len() / 2], us[us.len() * 99 / 100], len)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(2000)
        .max(1);
    let fallback = match GlyphFont::system() {
        Ok(font) => RasterFallback {
            charset: FontCharset::Gbk,
            font: Arc::new(font),
        },
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let fb = Some(&fallback);
    let submission = demo::submission();
    let progress = demo::progress();
    let payment = demo::payment();
    let mut rare = demo::submission();
    rare.applicant_masked = "䶮**".into();

    println!("Receipt bytes generation ({runs} runs each; goal < 1000 µs)");
    println!("| receipt | paper | bytes | median µs | p99 µs |");
    println!("|---|---|---:|---:|---:|");
    let mut worst: f64 = 0.0;
    for paper in [Paper::Mm58, Paper::Mm80] {
        let mm = if paper == Paper::Mm58 { 58 } else { 80 };
        let rows: [(&str, Job); 4] = [
            ("submission", Box::new(|| submission.render_with(paper, fb))),
            ("progress", Box::new(|| progress.render_with(paper, fb))),
            ("payment", Box::new(|| payment.render_with(paper, fb))),
            (
                "submission, rare character as image",
                Box::new(|| rare.render_with(paper, fb)),
            ),
        ];
        for (name, f) in rows {
            let (median, p99, len) = measure(runs, f);
            worst = worst.max(p99);
            println!("| {name} | {mm} mm | {len} | {median:.0} | {p99:.0} |");
        }
    }
    if worst >= 1000.0 {
        println!("goal missed: a receipt took {worst:.0} µs at p99");
    }
}
