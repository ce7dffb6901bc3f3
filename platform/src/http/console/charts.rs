//! The dashboard's charts: SVG drawn on the server (no script, no library), each with a text
//! alternative, and its numbers in a table beside it for those who read rather than look.

use maud::{Markup, html};

/// One bar of a bar chart: its label and its values (stacked, in the order of the series).
pub(super) struct Bar {
    pub label: String,
    pub values: Vec<u32>,
}

/// A series: its name and its class (a colour in console.css).
pub(super) struct Series<'a> {
    pub name: &'a str,
    pub class: &'a str,
}

const W: u32 = 960;
const H: u32 = 260;
const PAD_L: u32 = 44;
const PAD_B: u32 = 28;
const PAD_T: u32 = 12;

/// The top of the axis: four equal steps of 1, 2 or 5 times a power of ten.
fn nice_max(max: u32) -> u32 {
    let need = max.div_ceil(4).max(1);
    let mut unit = 1u32;
    loop {
        for m in [1, 2, 5] {
            if unit.saturating_mul(m) >= need {
                return unit.saturating_mul(m).saturating_mul(4);
            }
        }
        unit = unit.saturating_mul(10);
    }
}

/// Stacked vertical bars over time, with a legend.
pub(super) fn stacked(title: &str, series: &[Series<'_>], bars: &[Bar]) -> Markup {
    let max = bars
        .iter()
        .map(|b| b.values.iter().sum::<u32>())
        .max()
        .unwrap_or(0);
    let top = nice_max(max);
    let plot_w = W - PAD_L - 8;
    let plot_h = H - PAD_B - PAD_T;
    let n = u32::try_from(bars.len()).unwrap_or(1).max(1);
    let slot = plot_w / n;
    let bar_w = (slot * 7 / 10).max(2);
    let y = |v: u32| PAD_T + plot_h - v * plot_h / top;
    let every = (bars.len() / 12).max(1);
    // (x, y, height, class, tooltip) of every piece of every bar, bottom up.
    let mut rects = Vec::new();
    let mut labels = Vec::new();
    for (i, b) in bars.iter().enumerate() {
        let x = PAD_L + u32::try_from(i).unwrap_or(0) * slot + (slot - bar_w) / 2;
        let mut base = 0u32;
        for (s, v) in series.iter().zip(&b.values) {
            if *v > 0 {
                let tip = format!("{} · {}: {v}", b.label, s.name);
                rects.push((x, y(base + v), y(base) - y(base + v), s.class, tip));
            }
            base += v;
        }
        if i % every == 0 {
            labels.push((x + bar_w / 2, b.label.as_str()));
        }
    }
    html! {
        figure.chart {
            svg viewBox=(format!("0 0 {W} {H}")) role="img" aria-label=(title) {
                @for i in 0..=4u32 {
                    @let v = top * i / 4;
                    line.grid x1=(PAD_L) x2=(W - 8) y1=(y(v)) y2=(y(v)) {}
                    text.axis x=(PAD_L - 6) y=(y(v) + 4) text-anchor="end" { (v) }
                }
                @for (x, y, h, class, tip) in &rects {
                    rect class=(class) x=(x) y=(y) width=(bar_w) height=(h) { title { (tip) } }
                }
                @for (x, label) in &labels {
                    text.axis x=(x) y=(H - 8) text-anchor="middle" { (label) }
                }
            }
            figcaption {
                (title)
                ul.legend {
                    @for s in series { li { span class=(format!("swatch {}", s.class)) {} (s.name) } }
                }
            }
        }
    }
}

/// Horizontal bars, as given (largest first): `(label, value)`.
pub(super) fn horizontal(title: &str, class: &str, rows: &[(String, u32)]) -> Markup {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    // A label above each bar: long step names never run off the drawing.
    const HW: u32 = 520;
    const ROW: u32 = 44;
    const BAR_W: u32 = 460;
    let h = u32::try_from(rows.len()).unwrap_or(0).max(1) * ROW + 4;
    html! {
        figure.chart {
            @if rows.is_empty() {
                p.none { "—" }
            } @else {
                svg viewBox=(format!("0 0 {HW} {h}")) role="img" aria-label=(title) {
                    @for (i, (label, v)) in rows.iter().enumerate() {
                        @let y = u32::try_from(i).unwrap_or(0) * ROW;
                        text.axis x="0" y=(y + 16) { (label) }
                        rect.track x="0" y=(y + 22) width=(BAR_W) height="16" {}
                        rect class=(class) x="0" y=(y + 22)
                            width=(u64::from(*v) * u64::from(BAR_W) / u64::from(max)) height="16" {
                            title { (label) ": " (v) }
                        }
                        text.axis x=(BAR_W + 8) y=(y + 35) { (v) }
                    }
                }
            }
            figcaption { (title) }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn axes_end_on_four_even_steps() {
        for (max, top) in [
            (0, 4),
            (3, 4),
            (5, 8),
            (9, 20),
            (37, 40),
            (41, 80),
            (400, 400),
            (401, 800),
        ] {
            assert_eq!(super::nice_max(max), top, "{max}");
        }
    }
}
