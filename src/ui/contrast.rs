//! Contrast of the theme: every text colour against every background it can stand on, in the
//! usual palette and in high contrast, at least 7:1 (WCAG 2.2 AAA). The palettes are read from
//! the compiled `Theme` global, so this checks what the screens really draw with.

use slint::{Color, ComponentHandle};

use super::{AppWindow, Chrome, Theme};

/// The 7:1 of WCAG's enhanced contrast (AAA); it holds for text of any size.
pub const MIN_CONTRAST: f64 = 7.0;

/// WCAG relative luminance of an sRGB colour.
pub fn luminance(c: Color) -> f64 {
    let lin = |v: u8| {
        let v = f64::from(v) / 255.0;
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(c.red()) + 0.7152 * lin(c.green()) + 0.0722 * lin(c.blue())
}

/// WCAG contrast ratio of two colours (1 to 21).
pub fn contrast(a: Color, b: Color) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

/// The theme's colours by their names in `theme.slint`.
pub fn palette(t: &Theme) -> Vec<(&'static str, Color)> {
    vec![
        ("bg", t.get_bg()),
        ("card", t.get_card()),
        ("line", t.get_line()),
        ("text", t.get_text()),
        ("muted", t.get_muted()),
        ("primary", t.get_primary()),
        ("primary-pressed", t.get_primary_pressed()),
        ("on-primary", t.get_on_primary()),
        ("on-primary-muted", t.get_on_primary_muted()),
        ("secondary-pressed", t.get_secondary_pressed()),
        ("info-bg", t.get_info_bg()),
        ("error", t.get_error()),
        ("error-bg", t.get_error_bg()),
        ("ok", t.get_ok()),
        ("ok-bg", t.get_ok_bg()),
        ("warn", t.get_warn()),
        ("warn-bg", t.get_warn_bg()),
        ("idle", t.get_idle()),
        ("idle-bg", t.get_idle_bg()),
    ]
}

/// Text colours used on the light (or, in high contrast, dark) papers.
pub const INKS: &[&str] = &["text", "muted", "primary", "error", "ok", "warn", "idle"];
/// The backgrounds those inks stand on.
pub const PAPERS: &[&str] = &[
    "bg",
    "card",
    "info-bg",
    "error-bg",
    "ok-bg",
    "warn-bg",
    "idle-bg",
    "secondary-pressed",
];
/// Text on filled things: buttons, the title bar and the marks (✓ ! ×).
pub const ON_FILL_INKS: &[&str] = &["on-primary", "on-primary-muted"];
pub const FILLS: &[&str] = &["primary", "primary-pressed"];
/// The marks' glyphs are on-primary on these.
pub const MARK_FILLS: &[&str] = &["ok", "warn", "error", "primary"];

/// Every (ink, paper, ratio) that the screens can draw, in the palette now selected.
pub fn pairs(t: &Theme) -> Vec<(String, String, f64)> {
    let p = palette(t);
    let get = |n: &str| p.iter().find(|(k, _)| *k == n).map(|(_, c)| *c);
    let mut out = Vec::new();
    let mut add = |inks: &[&str], papers: &[&str]| {
        for i in inks {
            for b in papers {
                if let (Some(ci), Some(cb)) = (get(i), get(b)) {
                    out.push((i.to_string(), b.to_string(), contrast(ci, cb)));
                }
            }
        }
    };
    add(INKS, PAPERS);
    add(ON_FILL_INKS, FILLS);
    add(&["on-primary"], MARK_FILLS);
    out
}

/// The smallest contrast of all pairs in one palette.
pub fn worst(window: &AppWindow, high_contrast: bool) -> (String, String, f64) {
    window.global::<Chrome>().set_high_contrast(high_contrast);
    let t = window.global::<Theme>();
    pairs(&t)
        .into_iter()
        .min_by(|a, b| a.2.total_cmp(&b.2))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_follow_wcag() {
        let black = Color::from_rgb_u8(0, 0, 0);
        let white = Color::from_rgb_u8(255, 255, 255);
        assert!((contrast(black, white) - 21.0).abs() < 1e-9);
        assert!((contrast(white, white) - 1.0).abs() < 1e-9);
        // #767676 on white is the well-known 4.54:1
        let grey = Color::from_rgb_u8(0x76, 0x76, 0x76);
        assert!((contrast(grey, white) - 4.54).abs() < 0.01);
    }

    #[test]
    fn every_text_colour_keeps_seven_to_one_in_both_palettes() {
        i_slint_backend_testing::init_no_event_loop();
        let window = AppWindow::new().expect("the UI builds");
        for hc in [false, true] {
            window.global::<Chrome>().set_high_contrast(hc);
            let t = window.global::<Theme>();
            let pairs = pairs(&t);
            assert_eq!(
                pairs.len(),
                INKS.len() * PAPERS.len() + ON_FILL_INKS.len() * FILLS.len() + MARK_FILLS.len()
            );
            let low: Vec<_> = pairs.iter().filter(|p| p.2 < MIN_CONTRAST).collect();
            assert!(low.is_empty(), "high contrast {hc}: below 7:1: {low:?}");
        }
        // The two palettes really differ (the switch reaches the theme).
        window.global::<Chrome>().set_high_contrast(false);
        let usual = window.global::<Theme>().get_bg();
        window.global::<Chrome>().set_high_contrast(true);
        assert_ne!(usual, window.global::<Theme>().get_bg());
        let (i, b, r) = worst(&window, true);
        assert!(
            r >= 10.0,
            "high contrast is higher: worst {i} on {b} is {r:.1}"
        );
    }

    /// Text is only ever coloured with the inks checked above: a literal colour or another
    /// theme colour on a text would escape the check.
    #[test]
    fn text_is_coloured_with_checked_inks_only() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
        let mut files = vec![dir.join("app.slint")];
        for sub in ["components", "screens"] {
            for e in std::fs::read_dir(dir.join(sub)).expect("ui/components, ui/screens") {
                files.push(e.expect("entry").path());
            }
        }
        let allowed: Vec<&str> = INKS.iter().chain(ON_FILL_INKS).copied().collect();
        let mut seen = 0;
        for f in files {
            let src = std::fs::read_to_string(&f).expect("read");
            let mut rest = src.as_str();
            while let Some(at) = rest.find("color:") {
                let before = rest[..at].chars().last();
                let stmt_end = rest[at..].find(';').map_or(rest.len(), |e| at + e);
                let stmt = &rest[at..stmt_end];
                rest = &rest[stmt_end..];
                if before.is_some_and(|c| c == '-' || c.is_alphanumeric()) {
                    continue; // border-color, drop-shadow-color, property <color>
                }
                seen += 1;
                assert!(
                    !stmt.contains('#'),
                    "{}: a literal text colour: {stmt}",
                    f.display()
                );
                for name in stmt.split("Theme.").skip(1) {
                    let name: String = name
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '-')
                        .collect();
                    assert!(
                        allowed.contains(&name.as_str()),
                        "{}: text in Theme.{name}, which the contrast check does not cover",
                        f.display()
                    );
                }
            }
        }
        assert!(seen > 50, "found the text colours ({seen})");
    }
}
