//! `hall-kiosk screenshot`: one screen with demo data, rendered headlessly by the software
//! renderer into a PNG. The demo data is produced by walking the real session state machine,
//! so a screenshot shows exactly what the kiosk would show.

mod demo;
#[cfg(test)]
mod layout;

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use slint::ComponentHandle;

use crate::session::Lang;
use crate::ui::{AppWindow, Renderer};
pub use demo::{Modes, demo_view, demo_view_with};

/// Every screen the command can render.
pub const SCREENS: &[&str] = &[
    "home",
    "identify",
    "identify-invalid-card",
    "identify-name",
    "identify-name-composing",
    "items",
    "materials",
    "capture",
    "form",
    "form-project-name",
    "review",
    "submitted",
    "lookup",
    "progress",
    "pay-entry",
    "payment",
    "paying",
    "paying-warning",
    "paying-scan",
    "paid",
    "pay-failed",
    "timeout",
    "printer-error",
    "offline",
    "camera-error",
    "submitted-offline",
    "help",
    "pin",
    "maintenance",
    "kiosk-id",
    "home-speaking",
    "progress-details",
    "progress-refused",
    "take-card",
    "lookup-mine",
    "rating",
    "rating-reason",
    "thanks",
    "thanks-skipped",
];

#[derive(Args, Debug, Clone)]
pub struct ScreenshotArgs {
    /// One of: home, identify, identify-name (typing the ID number, the name on the pinyin
    /// keyboard), identify-name-composing (letters typed, candidates shown), items, materials,
    /// capture, form, form-project-name (a code the registry does not know: the project name
    /// on the pinyin keyboard), review, submitted, lookup, progress, pay-entry, payment, paying,
    /// paying-warning (the payer's time nearly up, the prompt sounding), paying-scan (waiting for
    /// the payer to confirm a scanned payment code), paid, pay-failed, timeout, printer-error,
    /// offline,
    /// camera-error, submitted-offline (a provisional receipt while the platform is down), help,
    /// pin (the staff PIN pad), maintenance, kiosk-id (a help-desk identify), home-speaking (the
    /// home screen while its prompt sounds: the stop button), progress-details (the applicant's
    /// card matched), progress-refused (another card), take-card (the reminder to take the ID
    /// card and receipt at the end), lookup-mine (one's own cases listed for the ID card),
    /// rating (好差评 after a payment), rating-reason (the reasons after 不满意), thanks (the
    /// thanks for the rating, and the receipt to take), thanks-skipped (the rating skipped after
    /// a lookup: nothing to take).
    #[arg(long)]
    pub screen: String,
    /// zh or en.
    #[arg(long, default_value = "zh")]
    pub lang: String,
    /// Large-text mode.
    #[arg(long)]
    pub large: bool,
    /// High-contrast mode (light text on black).
    #[arg(long)]
    pub high_contrast: bool,
    /// Window size, WxH (1920x1080 landscape, 1080x1920 portrait).
    #[arg(long, default_value = "1920x1080")]
    pub size: String,
    #[arg(long)]
    pub out: PathBuf,
    /// Also write the screen's buttons (accessible label and box in physical pixels) as JSON
    /// here: where a touch lands on each, for a harness driving the kiosk on its display.
    #[arg(long, value_name = "FILE")]
    pub buttons: Option<PathBuf>,
}

/// One button as laid out on the screen.
#[derive(serde::Serialize)]
struct ButtonBox {
    label: String,
    x: f32,
    y: f32,
    w: f32,
    h: f32,
}

/// The visible buttons of the window now shown, in layout order.
fn buttons(app: &AppWindow) -> Vec<ButtonBox> {
    use i_slint_backend_testing::{AccessibleRole, ElementRoot};
    app.root_element()
        .query_descendants()
        .find_all()
        .into_iter()
        .filter(|e| e.accessible_role() == Some(AccessibleRole::Button))
        .filter(|e| e.computed_opacity() > 0.0)
        .filter_map(|e| {
            let (p, z) = (e.absolute_position(), e.size());
            (z.width > 0.0 && z.height > 0.0).then(|| ButtonBox {
                label: e
                    .accessible_label()
                    .map(|l| l.to_string())
                    .unwrap_or_default(),
                x: p.x,
                y: p.y,
                w: z.width,
                h: z.height,
            })
        })
        .collect()
}

fn parse_size(s: &str) -> anyhow::Result<(u32, u32)> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .context("--size must look like 1920x1080")?;
    let (w, h): (u32, u32) = (w.parse()?, h.parse()?);
    if !(320..=4096).contains(&w) || !(320..=4096).contains(&h) {
        bail!("--size {w}x{h} is out of range (320–4096 each way)");
    }
    Ok((w, h))
}

pub fn run(args: &ScreenshotArgs) -> anyhow::Result<()> {
    let (w, h) = parse_size(&args.size)?;
    let lang = match args.lang.as_str() {
        "zh" => Lang::Zh,
        "en" => Lang::En,
        other => bail!("--lang must be zh or en, not {other:?}"),
    };
    let modes = Modes {
        large: args.large,
        high_contrast: args.high_contrast,
    };
    let vm = demo_view_with(&args.screen, lang, modes)?;
    crate::fonts::check_cjk_font()?;
    let mut screen = crate::headless::install(w, h, None)?;
    let app = AppWindow::new().context("cannot build the UI")?;
    app.show().context("cannot show the window")?;
    Renderer::default().render(&app, &vm);
    screen.draw(true);
    if let Some(path) = &args.buttons {
        let json = serde_json::to_string_pretty(&buttons(&app))?;
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    screen.write_png(&args.out)
}
