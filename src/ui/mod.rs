//! The Slint side: renders a [`ViewModel`] into the `Vm` global and turns `Vm.act` calls into
//! [`Intent`]s. Nothing here decides anything.

use std::rc::Rc;
use std::sync::Arc;

use slint::{
    ComponentHandle, Image, ModelRc, Rgb8Pixel, SharedPixelBuffer, SharedString, VecModel,
};

use crate::session::Intent;
use crate::session::view::{self as v, Lang, Screen as VScreen, ViewModel};
use kiosk_drivers::camera::Still;

slint::include_modules!();

pub mod contrast;

/// Selects the UI language. Chinese is the source language of every string.
pub fn select_language(lang: Lang) {
    let code = match lang {
        Lang::Zh => "",
        Lang::En => "en",
    };
    if let Err(e) = slint::select_bundled_translation(code) {
        tracing::error!("cannot select the {} translation: {e}", lang.code());
    }
}

fn s(x: &str) -> SharedString {
    SharedString::from(x)
}

fn screen(x: VScreen) -> Screen {
    match x {
        VScreen::Home => Screen::Home,
        VScreen::Identify => Screen::Identify,
        VScreen::Items => Screen::Items,
        VScreen::Materials => Screen::Materials,
        VScreen::Capture => Screen::Capture,
        VScreen::Form => Screen::Form,
        VScreen::Review => Screen::Review,
        VScreen::Submitted => Screen::Submitted,
        VScreen::Lookup => Screen::Lookup,
        VScreen::Progress => Screen::Progress,
        VScreen::PayEntry => Screen::PayEntry,
        VScreen::Payment => Screen::Payment,
        VScreen::Paying => Screen::Paying,
        VScreen::Paid => Screen::Paid,
        VScreen::PayFailed => Screen::PayFailed,
        VScreen::Offline => Screen::Offline,
        VScreen::PrinterError => Screen::PrinterError,
        VScreen::CameraError => Screen::CameraError,
        VScreen::Maintenance => Screen::Maintenance,
    }
}

fn field(f: &v::FieldView) -> FieldView {
    FieldView {
        value: s(&f.value),
        display: s(&f.display),
        error: s(&f.error),
        error_a: f.error_a,
        error_b: f.error_b,
        ok: f.ok,
        focused: f.focused,
        keypad: s(&f.keypad),
        max_len: f.max_len,
    }
}

fn model<T: Clone + 'static, U>(items: &[U], f: impl Fn(&U) -> T) -> ModelRc<T> {
    ModelRc::from(Rc::new(VecModel::from(
        items.iter().map(f).collect::<Vec<_>>(),
    )))
}

/// A QR code as an image, 8 pixels a module with a quiet zone.
pub fn qr_image(payload: &str) -> Image {
    let Ok(code) = qrcode::QrCode::with_error_correction_level(payload, qrcode::EcLevel::M) else {
        return Image::default();
    };
    let modules = code.width();
    let quiet = 4;
    let scale = 8;
    let side = (modules + 2 * quiet) * scale;
    let colors = code.to_colors();
    let mut buf = SharedPixelBuffer::<Rgb8Pixel>::new(side as u32, side as u32);
    let pixels = buf.make_mut_slice();
    for y in 0..side {
        for x in 0..side {
            let (mx, my) = (
                (x / scale) as isize - quiet as isize,
                (y / scale) as isize - quiet as isize,
            );
            let dark = mx >= 0
                && my >= 0
                && (mx as usize) < modules
                && (my as usize) < modules
                && colors[my as usize * modules + mx as usize] == qrcode::Color::Dark;
            let c = if dark { 0 } else { 255 };
            pixels[y * side + x] = Rgb8Pixel { r: c, g: c, b: c };
        }
    }
    Image::from_rgb8(buf)
}

fn still_image(still: &Still) -> Image {
    let expected = still.width as usize * still.height as usize * 3;
    if still.rgb.len() != expected {
        return Image::default();
    }
    Image::from_rgb8(SharedPixelBuffer::clone_from_slice(
        &still.rgb,
        still.width,
        still.height,
    ))
}

/// Renders view models into a window, skipping what did not change.
#[derive(Default)]
pub struct Renderer {
    last: Option<ViewModel>,
    lang: Option<Lang>,
    qr_cache: Vec<(String, Image)>,
    preview: Option<Arc<Still>>,
}

impl Renderer {
    fn qr(&mut self, payload: &str) -> Image {
        if payload.is_empty() {
            return Image::default();
        }
        if let Some((_, img)) = self.qr_cache.iter().find(|(p, _)| p == payload) {
            return img.clone();
        }
        let img = qr_image(payload);
        self.qr_cache.push((payload.to_string(), img.clone()));
        if self.qr_cache.len() > 4 {
            self.qr_cache.remove(0);
        }
        img
    }

    pub fn render(&mut self, window: &AppWindow, vm: &ViewModel) {
        if self.last.as_ref() == Some(vm) {
            return;
        }
        let first = self.last.is_none();
        if self.lang != Some(vm.lang) {
            select_language(vm.lang);
            self.lang = Some(vm.lang);
        }
        let old = self.last.take().unwrap_or_default();
        let g = window.global::<Vm>();
        g.set_screen(screen(vm.screen));
        g.set_large_text(vm.large_text);
        g.set_high_contrast(vm.high_contrast);
        g.set_voice_volume(vm.voice_volume);
        g.set_speaking(vm.speaking);
        g.set_voice_rate(vm.voice_rate);
        g.set_lang(s(vm.lang.code()));
        g.set_timeout_warning(vm.timeout_warning);
        g.set_timeout_seconds(vm.timeout_seconds);
        g.set_help_shown(vm.help_shown);
        g.set_busy(s(&vm.busy));
        g.set_printer_ok(vm.printer_ok);
        g.set_camera_ok(vm.camera_ok);
        g.set_scanner_ok(vm.scanner_ok);
        g.set_reader_ok(vm.reader_ok);
        g.set_platform_ok(vm.platform_ok);
        g.set_kiosk_id(s(&vm.kiosk_id));
        g.set_window_hint(s(&vm.window_hint));
        g.set_version(s(&vm.version));
        g.set_identify_id(s(&vm.identify_id));
        g.set_pin_shown(vm.pin_shown);
        g.set_pin_digits(vm.pin_digits);
        g.set_pin_wrong(vm.pin_wrong);
        g.set_pin_locked_seconds(vm.pin_locked_seconds);
        g.set_maint_note(s(&vm.maint_note));
        g.set_maint_card(s(&vm.maint_card));
        g.set_maint_scan(s(&vm.maint_scan));

        g.set_identify_typing(vm.identify_typing);
        g.set_id_number(field(&vm.id_number));
        g.set_phone(field(&vm.phone));
        g.set_card_name_masked(s(&vm.card_name_masked));
        g.set_card_error(s(&vm.card_error));
        g.set_applicant_name(field(&vm.applicant_name));
        g.set_project_name_typed(field(&vm.project_name_typed));
        g.set_project_name_shown(vm.project_name_shown);
        g.set_ime_letters(s(&vm.ime.letters));
        if first || old.ime.candidates != vm.ime.candidates {
            g.set_ime_candidates(model(&vm.ime.candidates, |c| s(c)));
        }
        g.set_ime_has_prev(vm.ime.has_prev);
        g.set_ime_has_next(vm.ime.has_next);

        if first || old.stages != vm.stages {
            g.set_stages(model(&vm.stages, |st| StageGroup {
                stage: st.stage,
                items: model(&st.items, |i| ItemTile {
                    id: s(&i.id),
                    name: s(&i.name),
                    department: s(&i.department),
                    time_limit_days: i.time_limit_days,
                    instant: i.instant,
                }),
            }));
        }
        g.set_item_name(s(&vm.item_name));
        g.set_item_department(s(&vm.item_department));
        g.set_item_time_limit(vm.item_time_limit);

        if first || old.materials != vm.materials {
            g.set_materials(model(&vm.materials, |m| MaterialRow {
                id: s(&m.id),
                name: s(&m.name),
                required: m.required,
                tolerable: m.tolerable,
                tolerance_days: m.tolerance_days,
                commitment_allowed: m.commitment_allowed,
                choice: s(&m.choice),
                pages: m.pages,
                deadline: s(&m.deadline),
            }));
        }
        g.set_materials_error(s(&vm.materials_error));
        g.set_capture_material(s(&vm.capture_material));
        g.set_capture_index(vm.capture_index);
        g.set_capture_count(vm.capture_count);
        g.set_capture_pages(vm.capture_pages);
        let same_preview = match (&self.preview, &vm.capture_preview) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        if !same_preview || first {
            g.set_capture_preview(
                vm.capture_preview
                    .as_deref()
                    .map(still_image)
                    .unwrap_or_default(),
            );
            self.preview = vm.capture_preview.clone();
        }
        g.set_capture_has_preview(vm.capture_preview.is_some());

        g.set_project_code(field(&vm.project_code));
        g.set_project_name(s(&vm.project_name));
        g.set_credit_code(field(&vm.credit_code));
        g.set_org_name(s(&vm.org_name));
        g.set_contact_phone(field(&vm.contact_phone));
        g.set_focus(s(&vm.focus));

        g.set_review_name(s(&vm.review_name));
        g.set_review_id_number(s(&vm.review_id_number));
        g.set_review_phone(s(&vm.review_phone));
        g.set_review_due(s(&vm.review_due));
        if first || old.review_problems != vm.review_problems {
            g.set_review_problems(model(&vm.review_problems, |p| s(p)));
        }

        g.set_approval_code(s(&vm.approval_code));
        g.set_approval_code_grouped(s(&vm.approval_code_grouped));
        if first || old.approval_code != vm.approval_code {
            let img = self.qr(&vm.approval_code);
            g.set_approval_qr(img);
        }
        g.set_receipt_state(s(&vm.receipt_state));
        g.set_receipt_error(s(&vm.receipt_error));
        g.set_offline_accepted(vm.offline_accepted);

        g.set_lookup_code(field(&vm.lookup_code));
        g.set_lookup_error(s(&vm.lookup_error));
        g.set_case_code_grouped(s(&vm.case_code_grouped));
        g.set_case_item(s(&vm.case_item));
        g.set_case_stage(vm.case_stage);
        g.set_case_status(vm.case_status);
        g.set_case_submitted(s(&vm.case_submitted));
        g.set_case_applicant(s(&vm.case_applicant));
        g.set_case_project(s(&vm.case_project));
        g.set_case_card(s(&vm.case_card));
        g.set_my_cases_state(s(&vm.my_cases_state));
        if first || old.my_cases != vm.my_cases {
            g.set_my_cases(model(&vm.my_cases, |c| CaseRow {
                approval_code: s(&c.approval_code),
                code_grouped: s(&c.code_grouped),
                item: s(&c.item),
                status_code: c.status_code,
                submitted: s(&c.submitted),
            }));
        }
        if first || old.nodes != vm.nodes {
            g.set_nodes(model(&vm.nodes, |n| NodeRow {
                department: s(&n.department),
                status_code: n.status_code,
                started: s(&n.started),
                due: s(&n.due),
                finished: s(&n.finished),
                time_limit_days: n.time_limit_days,
                overdue: n.overdue,
                overdue_days: n.overdue_days,
                opinion: s(&n.opinion),
            }));
        }
        g.set_nodes_late(vm.nodes_late);
        if first || old.case_notices != vm.case_notices {
            g.set_case_notices(model(&vm.case_notices, |n| NoticeRow {
                payment_code: s(&n.payment_code),
                total: s(&n.total),
                status: s(&n.status),
            }));
        }

        g.set_pay_code(field(&vm.pay_code));
        g.set_pay_error(s(&vm.pay_error));
        g.set_notice_code_grouped(s(&vm.notice_code_grouped));
        g.set_notice_agency(s(&vm.notice_agency));
        g.set_notice_payer(s(&vm.notice_payer));
        if first || old.notice_lines != vm.notice_lines {
            g.set_notice_lines(model(&vm.notice_lines, |l| FeeRow {
                name: s(&l.name),
                amount: s(&l.amount),
            }));
        }
        g.set_notice_total(s(&vm.notice_total));
        g.set_notice_total_capitals(s(&vm.notice_total_capitals));
        g.set_pay_method(s(&vm.pay_method));
        if first || old.pay_qr_payload != vm.pay_qr_payload {
            let img = self.qr(&vm.pay_qr_payload);
            g.set_pay_qr(img);
        }
        g.set_pay_seconds_left(vm.pay_seconds_left);
        g.set_pay_time_warning(vm.pay_time_warning);
        g.set_pay_failure(s(&vm.pay_failure));
        g.set_pay_failure_detail(s(&vm.pay_failure_detail));
        g.set_paid_transaction(s(&vm.paid_transaction));
        g.set_paid_receipt_no(s(&vm.paid_receipt_no));
        g.set_paid_time(s(&vm.paid_time));
        g.set_take_reminder(s(&vm.take_reminder));

        self.last = Some(vm.clone());
    }
}

/// Connects `Vm.act` to a handler of intents.
pub fn on_intent(window: &AppWindow, handler: impl Fn(Intent) + 'static) {
    window.global::<Vm>().on_act(move |action, arg| {
        match Intent::parse(action.as_str(), arg.as_str()) {
            Some(intent) => handler(intent),
            None => tracing::warn!(action = action.as_str(), "unknown action from the screen"),
        }
    });
}
