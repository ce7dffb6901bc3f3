//! The layout check: every screen, in every display mode, language and orientation, laid out
//! with the real fonts; no text may overflow its box or leave the window.

use super::*;

/// Lays out every screen in every display mode, language and orientation (with the real fonts)
/// and lists the texts that do not fit their boxes or leave the window.
fn layout_problems(
    screens: &[&str],
    sizes: &[(u32, u32)],
    modes: &[Modes],
) -> anyhow::Result<Vec<String>> {
    crate::fonts::check_cjk_font()?;
    let (w0, h0) = sizes.first().copied().unwrap_or((1920, 1080));
    let screen = crate::headless::install(w0, h0, None)?;
    let app = AppWindow::new().context("cannot build the UI")?;
    app.show().context("cannot show the window")?;
    let mut problems = Vec::new();
    for &(w, h) in sizes {
        screen.window.set_size(slint::PhysicalSize::new(w, h));
        for &lang in &[Lang::Zh, Lang::En] {
            for &modes in modes {
                for &name in screens {
                    let vm = demo_view_with(name, lang, modes)?;
                    Renderer::default().render(&app, &vm);
                    let what = format!(
                        "{name} {} {w}x{h}{}{}",
                        lang.code(),
                        if modes.large { " large" } else { "" },
                        if modes.high_contrast { " contrast" } else { "" }
                    );
                    problems.extend(text_problems(&app, w, h, &what));
                }
            }
        }
    }
    Ok(problems)
}

/// The texts of the window now shown that overflow their boxes or leave the window.
fn text_problems(app: &AppWindow, w: u32, h: u32, what: &str) -> Vec<String> {
    use i_slint_backend_testing::ElementRoot;
    let mut out = Vec::new();
    // Scrolled content may run past the window: it is reached by scrolling.
    let scrolled: Vec<(f32, f32, f32)> = app
        .root_element()
        .query_descendants()
        .match_id("Scroller::flick")
        .find_all()
        .iter()
        .map(|f| {
            let (p, z) = (f.absolute_position(), f.size());
            (p.x, p.x + z.width, p.y)
        })
        .collect();
    // A text that fits its own box may still stick out of its button, which cuts it off.
    for b in app.root_element().query_descendants().find_all() {
        if b.accessible_role() != Some(i_slint_backend_testing::AccessibleRole::Button) {
            continue;
        }
        let (bp, bz) = (b.absolute_position(), b.size());
        if bz.width <= 0.0 || bz.height <= 0.0 || b.computed_opacity() <= 0.0 {
            continue;
        }
        let button = b.accessible_label().unwrap_or_default();
        for t in b.query_descendants().find_all() {
            if t.accessible_description().is_none() {
                continue;
            }
            let (tp, tz) = (t.absolute_position(), t.size());
            if tz.width <= 0.0 || tz.height <= 0.0 {
                continue;
            }
            let (right, bottom) = (tp.x + tz.width, tp.y + tz.height);
            if tp.x < bp.x - 1.0
                || tp.y < bp.y - 1.0
                || right > bp.x + bz.width + 1.0
                || bottom > bp.y + bz.height + 1.0
            {
                let text = t.accessible_label().unwrap_or_default();
                out.push(format!(
                    "{what}: {text:?} sticks out of its button {button:?} \
                     ({:.0},{:.0})–({right:.0},{bottom:.0}) beyond ({:.0},{:.0})–({:.0},{:.0})",
                    tp.x,
                    tp.y,
                    bp.x,
                    bp.y,
                    bp.x + bz.width,
                    bp.y + bz.height
                ));
            }
        }
    }
    for e in app.root_element().query_descendants().find_all() {
        let Some(desc) = e.accessible_description() else {
            continue;
        };
        let label = e.accessible_label().unwrap_or_default();
        let (pos, size) = (e.absolute_position(), e.size());
        if size.width <= 0.0 || size.height <= 0.0 || e.computed_opacity() <= 0.0 {
            continue;
        }
        if desc.starts_with("overflow") {
            out.push(format!(
                "{what}: {desc} {label:?} in {:.0}×{:.0}",
                size.width, size.height
            ));
        }
        let (right, bottom) = (pos.x + size.width, pos.y + size.height);
        let in_scroller = scrolled
            .iter()
            .any(|&(l, r, top)| pos.x >= l - 1.0 && right <= r + 1.0 && pos.y >= top - 1.0);
        if !in_scroller && (pos.x < -1.0 || right > w as f32 + 1.0 || bottom > h as f32 + 1.0) {
            out.push(format!(
                "{what}: {label:?} leaves the window at ({:.0},{:.0})–({right:.0},{bottom:.0})",
                pos.x, pos.y
            ));
        }
    }
    out
}

#[test]
fn no_text_overflows_on_any_screen_mode_language_or_orientation() {
    let modes = [
        Modes::default(),
        Modes {
            large: true,
            high_contrast: false,
        },
        Modes {
            large: false,
            high_contrast: true,
        },
        Modes {
            large: true,
            high_contrast: true,
        },
    ];
    let only = std::env::var("LAYOUT_SCREEN").ok();
    let screens: Vec<&str> = SCREENS
        .iter()
        .copied()
        .filter(|s| only.as_deref().is_none_or(|o| o == *s))
        .collect();
    let problems = layout_problems(&screens, &[(1920, 1080), (1080, 1920)], &modes)
        .expect("the screens render");
    // The check sees an overflow: one word far too long for any box.
    if only.is_none() {
        let mut vm = demo_view("progress", Lang::En, true).expect("demo");
        vm.lookup.case_item = "W".repeat(200);
        let app = AppWindow::new().expect("the UI builds");
        Renderer::default().render(&app, &vm);
        let seen = text_problems(&app, 1080, 1920, "long word");
        assert!(
            seen.iter().any(|l| l.contains("WWWW")),
            "an overflowing text is found: {seen:?}"
        );
    }
    assert!(
        problems.is_empty(),
        "{} texts do not fit:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
