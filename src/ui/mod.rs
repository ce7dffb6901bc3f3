//! The Slint side: renders a [`ViewModel`] into the globals of `ui/vm.slint` and turns the
//! screens' typed callbacks into [`Intent`]s. Nothing here decides anything.

use std::rc::Rc;
use std::sync::Arc;

use slint::{
    ComponentHandle, Image, ModelRc, Rgb8Pixel, SharedPixelBuffer, SharedString, VecModel,
};

use crate::session::Intent;
use crate::session::view::{self as v, ViewModel};
use kiosk_drivers::camera::Still;

slint::include_modules!();

pub mod contrast;
mod map;

/// Selects the UI language. Chinese is the source language of every string.
pub fn select_language(lang: v::Lang) {
    let code = match lang {
        v::Lang::Zh => "",
        v::Lang::En => "en",
    };
    if let Err(e) = slint::select_bundled_translation(code) {
        tracing::error!("cannot select the {} translation: {e}", lang.code());
    }
}

fn s(x: &str) -> SharedString {
    SharedString::from(x)
}

fn field(f: &v::FieldView) -> FieldView {
    FieldView {
        value: s(&f.value),
        display: s(&f.display),
        error: map::field_error(f.error),
        error_a: f.error_a,
        error_b: f.error_b,
        ok: f.ok,
        focused: f.focused,
        keypad: map::keypad_kind(f.keypad),
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
    lang: Option<v::Lang>,
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
        if self.lang != Some(vm.chrome.lang) {
            select_language(vm.chrome.lang);
            self.lang = Some(vm.chrome.lang);
        }
        let old = self.last.take().unwrap_or_default();
        if first || old.chrome != vm.chrome {
            let chrome = window.global::<Chrome>();
            chrome.set_screen(map::screen(vm.chrome.screen));
            chrome.set_large_text(vm.chrome.large_text);
            chrome.set_high_contrast(vm.chrome.high_contrast);
            chrome.set_voice_volume(vm.chrome.voice_volume);
            chrome.set_speaking(vm.chrome.speaking);
            chrome.set_voice_rate(vm.chrome.voice_rate);
            chrome.set_lang(map::lang(vm.chrome.lang));
            chrome.set_printer_ok(vm.chrome.printer_ok);
            chrome.set_camera_ok(vm.chrome.camera_ok);
            chrome.set_scanner_ok(vm.chrome.scanner_ok);
            chrome.set_reader_ok(vm.chrome.reader_ok);
            chrome.set_platform_ok(vm.chrome.platform_ok);
            chrome.set_kiosk_id(s(&vm.chrome.kiosk_id));
            chrome.set_window_hint(s(&vm.chrome.window_hint));
            chrome.set_version(s(&vm.chrome.version));
        }
        if first || old.overlays != vm.overlays {
            let overlays = window.global::<Overlays>();
            overlays.set_timeout_warning(vm.overlays.timeout_warning);
            overlays.set_timeout_seconds(vm.overlays.timeout_seconds);
            overlays.set_help_shown(vm.overlays.help_shown);
            overlays.set_busy(map::busy(vm.overlays.busy));
            overlays.set_identify_id(s(&vm.overlays.identify_id));
            overlays.set_take_reminder(map::take_reminder(vm.overlays.take_reminder));
            overlays.set_thanks(map::thanks(vm.overlays.thanks));
        }
        if first || old.rate != vm.rate {
            let rate = window.global::<Rate>();
            rate.set_chosen(map::rating_level(vm.rate.chosen));
        }
        if first || old.staff != vm.staff {
            let staff = window.global::<Staff>();
            staff.set_pin_shown(vm.staff.pin_shown);
            staff.set_pin_digits(vm.staff.pin_digits);
            staff.set_pin_wrong(vm.staff.pin_wrong);
            staff.set_pin_locked_seconds(vm.staff.pin_locked_seconds);
            staff.set_maint_note(map::maint_note(vm.staff.maint_note));
            staff.set_maint_card(s(&vm.staff.maint_card));
            staff.set_maint_scan(s(&vm.staff.maint_scan));
            staff.set_sys_version(s(&vm.staff.sys_version));
            staff.set_sys_slot(s(&vm.staff.sys_slot));
            staff.set_update_phase(map::update_phase(vm.staff.update_phase));
            staff.set_update_release(s(&vm.staff.update_release));
            staff.set_update_percent(vm.staff.update_percent);
            staff.set_update_reason(s(&vm.staff.update_reason));
            staff.set_has_root_qr(!vm.staff.root_qr.is_empty());
            if first || old.staff.root_qr != vm.staff.root_qr {
                let img = self.qr(&vm.staff.root_qr);
                staff.set_root_qr(img);
            }
        }
        if first || old.entry != vm.entry {
            let entry = window.global::<Entry>();
            entry.set_ime_letters(s(&vm.entry.ime.letters));
            if first || old.entry.ime.candidates != vm.entry.ime.candidates {
                entry.set_ime_candidates(model(&vm.entry.ime.candidates, |c| s(c)));
            }
            entry.set_ime_has_prev(vm.entry.ime.has_prev);
            entry.set_ime_has_next(vm.entry.ime.has_next);
            entry.set_focus(map::field(vm.entry.focus));
        }
        if first || old.identify != vm.identify {
            let identify = window.global::<Identify>();
            identify.set_identify_typing(vm.identify.identify_typing);
            identify.set_id_number(field(&vm.identify.id_number));
            identify.set_phone(field(&vm.identify.phone));
            identify.set_card_name_masked(s(&vm.identify.card_name_masked));
            identify.set_card_error(s(&vm.identify.card_error));
            identify.set_applicant_name(field(&vm.identify.applicant_name));
        }
        if first || old.apply != vm.apply {
            let apply = window.global::<Apply>();
            apply.set_project_name_typed(field(&vm.apply.project_name_typed));
            apply.set_project_name_shown(vm.apply.project_name_shown);
            if first || old.apply.stages != vm.apply.stages {
                apply.set_stages(model(&vm.apply.stages, |st| StageGroup {
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
            apply.set_item_name(s(&vm.apply.item_name));
            apply.set_item_department(s(&vm.apply.item_department));
            apply.set_item_time_limit(vm.apply.item_time_limit);
            if first || old.apply.materials != vm.apply.materials {
                apply.set_materials(model(&vm.apply.materials, |m| MaterialRow {
                    id: s(&m.id),
                    name: s(&m.name),
                    required: m.required,
                    tolerable: m.tolerable,
                    tolerance_days: m.tolerance_days,
                    commitment_allowed: m.commitment_allowed,
                    choice: map::material_choice(m.choice),
                    pages: m.pages,
                    deadline: s(&m.deadline),
                }));
            }
            apply.set_materials_error(map::materials_error(vm.apply.materials_error));
            apply.set_capture_material(s(&vm.apply.capture_material));
            apply.set_capture_index(vm.apply.capture_index);
            apply.set_capture_count(vm.apply.capture_count);
            apply.set_capture_pages(vm.apply.capture_pages);
            let same_preview = match (&self.preview, &vm.apply.capture_preview) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            };
            if !same_preview || first {
                apply.set_capture_preview(
                    vm.apply
                        .capture_preview
                        .as_deref()
                        .map(still_image)
                        .unwrap_or_default(),
                );
                self.preview = vm.apply.capture_preview.clone();
            }
            apply.set_capture_has_preview(vm.apply.capture_preview.is_some());
            apply.set_project_code(field(&vm.apply.project_code));
            apply.set_project_name(s(&vm.apply.project_name));
            apply.set_credit_code(field(&vm.apply.credit_code));
            apply.set_org_name(s(&vm.apply.org_name));
            apply.set_contact_phone(field(&vm.apply.contact_phone));
        }
        if first || old.submit != vm.submit {
            let submit = window.global::<Submit>();
            submit.set_review_name(s(&vm.submit.review_name));
            submit.set_review_id_number(s(&vm.submit.review_id_number));
            submit.set_review_phone(s(&vm.submit.review_phone));
            submit.set_review_due(s(&vm.submit.review_due));
            if first || old.submit.review_problems != vm.submit.review_problems {
                submit.set_review_problems(model(&vm.submit.review_problems, |p| s(p)));
            }
            submit.set_approval_code(s(&vm.submit.approval_code));
            submit.set_approval_code_grouped(s(&vm.submit.approval_code_grouped));
            if first || old.submit.approval_code != vm.submit.approval_code {
                let img = self.qr(&vm.submit.approval_code);
                submit.set_approval_qr(img);
            }
            submit.set_receipt_state(map::receipt_state(vm.submit.receipt_state));
            submit.set_receipt_error(s(&vm.submit.receipt_error));
            submit.set_offline_accepted(vm.submit.offline_accepted);
        }
        if first || old.lookup != vm.lookup {
            let lookup = window.global::<Lookup>();
            lookup.set_lookup_code(field(&vm.lookup.lookup_code));
            lookup.set_lookup_error(map::lookup_error(vm.lookup.lookup_error));
            lookup.set_case_code_grouped(s(&vm.lookup.case_code_grouped));
            lookup.set_case_item(s(&vm.lookup.case_item));
            lookup.set_case_stage(vm.lookup.case_stage);
            lookup.set_case_status(vm.lookup.case_status);
            lookup.set_case_submitted(s(&vm.lookup.case_submitted));
            lookup.set_case_applicant(s(&vm.lookup.case_applicant));
            lookup.set_case_project(s(&vm.lookup.case_project));
            lookup.set_case_card(map::case_card(vm.lookup.case_card));
            lookup.set_my_cases_state(map::my_cases_state(vm.lookup.my_cases_state));
            if first || old.lookup.my_cases != vm.lookup.my_cases {
                lookup.set_my_cases(model(&vm.lookup.my_cases, |c| CaseRow {
                    approval_code: s(&c.approval_code),
                    code_grouped: s(&c.code_grouped),
                    item: s(&c.item),
                    status_code: c.status_code,
                    submitted: s(&c.submitted),
                }));
            }
            if first || old.lookup.nodes != vm.lookup.nodes {
                lookup.set_nodes(model(&vm.lookup.nodes, |n| NodeRow {
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
            lookup.set_nodes_late(vm.lookup.nodes_late);
            if first || old.lookup.case_notices != vm.lookup.case_notices {
                lookup.set_case_notices(model(&vm.lookup.case_notices, |n| NoticeRow {
                    payment_code: s(&n.payment_code),
                    total: s(&n.total),
                    status: map::notice_status(n.status),
                }));
            }
        }
        if first || old.pay != vm.pay {
            let pay = window.global::<Pay>();
            pay.set_pay_code(field(&vm.pay.pay_code));
            pay.set_pay_error(map::pay_error(vm.pay.pay_error));
            pay.set_notice_code_grouped(s(&vm.pay.notice_code_grouped));
            pay.set_notice_agency(s(&vm.pay.notice_agency));
            pay.set_notice_payer(s(&vm.pay.notice_payer));
            if first || old.pay.notice_lines != vm.pay.notice_lines {
                pay.set_notice_lines(model(&vm.pay.notice_lines, |l| FeeRow {
                    name: s(&l.name),
                    amount: s(&l.amount),
                }));
            }
            pay.set_notice_total(s(&vm.pay.notice_total));
            pay.set_notice_total_capitals(s(&vm.pay.notice_total_capitals));
            pay.set_pay_method(map::pay_method(vm.pay.pay_method));
            if first || old.pay.pay_qr_payload != vm.pay.pay_qr_payload {
                let img = self.qr(&vm.pay.pay_qr_payload);
                pay.set_pay_qr(img);
            }
            pay.set_pay_seconds_left(vm.pay.pay_seconds_left);
            pay.set_pay_time_warning(vm.pay.pay_time_warning);
            pay.set_pay_cancelling(vm.pay.pay_cancelling);
            pay.set_pay_failure(map::pay_failure(vm.pay.pay_failure));
            pay.set_pay_failure_detail(s(&vm.pay.pay_failure_detail));
            pay.set_paid_transaction(s(&vm.pay.paid_transaction));
            pay.set_paid_receipt_no(s(&vm.pay.paid_receipt_no));
            pay.set_paid_time(s(&vm.pay.paid_time));
        }
        self.last = Some(vm.clone());
    }
}

/// A key of the keypad or the pinyin keyboard as an intent; a character key carries exactly one
/// character (anything else is not a key of ours, and is dropped).
fn key_intent(kind: KeyKind, ch: &str) -> Option<Intent> {
    match kind {
        KeyKind::Backspace => Some(Intent::Backspace),
        KeyKind::Clear => Some(Intent::Clear),
        KeyKind::Character => {
            let mut chars = ch.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Some(Intent::Key(c)),
                _ => None,
            }
        }
    }
}

/// Connects the screens' callbacks to a handler of intents.
pub fn on_intent(window: &AppWindow, handler: impl Fn(Intent) + 'static) {
    let handler = Rc::new(handler);
    // each callback gets its own handle on the one handler
    let h = |f: fn() -> Intent| {
        let handler = handler.clone();
        move || handler(f())
    };

    let chrome = window.global::<Chrome>();
    chrome.on_back(h(|| Intent::Back));
    chrome.on_finish(h(|| Intent::Finish));
    chrome.on_help(h(|| Intent::Help));
    chrome.on_help_close(h(|| Intent::HelpClose));
    chrome.on_continue(h(|| Intent::Continue));
    chrome.on_next(h(|| Intent::Next));
    chrome.on_retry(h(|| Intent::Retry));
    chrome.on_skip(h(|| Intent::Skip));
    chrome.on_repeat(h(|| Intent::Repeat));
    chrome.on_quiet(h(|| Intent::Quiet));
    chrome.on_start_submit(h(|| Intent::StartSubmit));
    chrome.on_start_lookup(h(|| Intent::StartLookup));
    chrome.on_start_pay(h(|| Intent::StartPay));
    let hd = handler.clone();
    chrome.on_louder(move |up| hd(Intent::Louder(up)));
    let hd = handler.clone();
    chrome.on_faster(move |up| hd(Intent::Faster(up)));
    let hd = handler.clone();
    chrome.on_large(move |on| hd(Intent::Large(on)));
    let hd = handler.clone();
    chrome.on_contrast(move |on| hd(Intent::HighContrast(on)));
    let hd = handler.clone();
    chrome.on_choose_lang(move |lang| hd(Intent::Lang(map::chosen_lang(lang))));

    let overlays = window.global::<Overlays>();
    overlays.on_staff(h(|| Intent::Staff));
    overlays.on_identify_close(h(|| Intent::IdentifyClose));
    overlays.on_dismiss_reminder(h(|| Intent::DismissReminder));

    let staff = window.global::<Staff>();
    staff.on_test_print(h(|| Intent::TestPrint));
    staff.on_paper_replaced(h(|| Intent::PaperReplaced));
    staff.on_restart(h(|| Intent::Restart));

    let entry = window.global::<Entry>();
    let hd = handler.clone();
    entry.on_tap_field(move |f| match map::tapped_field(f) {
        Some(f) => hd(Intent::Focus(f)),
        None => tracing::warn!("a tap on no field from the screen"),
    });
    let hd = handler.clone();
    entry.on_key(move |kind, ch| match key_intent(kind, &ch) {
        Some(intent) => hd(intent),
        None => tracing::warn!("a key of more than one character from the screen"),
    });
    let hd = handler.clone();
    entry.on_candidate(move |i| match usize::try_from(i) {
        Ok(i) if i < 100 => hd(Intent::Candidate(i)),
        _ => tracing::warn!(i, "a candidate out of range from the screen"),
    });
    let hd = handler.clone();
    entry.on_candidate_page(move |next| hd(Intent::CandidatePage(next)));
    entry.on_done(h(|| Intent::Done));

    let identify = window.global::<Identify>();
    identify.on_choose_typing(h(|| Intent::IdentifyTyping));
    identify.on_choose_card(h(|| Intent::IdentifyCard));

    let apply = window.global::<Apply>();
    let hd = handler.clone();
    apply.on_pick_item(move |id| hd(Intent::PickItem(id.to_string())));
    let hd = handler.clone();
    apply.on_material(move |id, choice| {
        hd(Intent::Material(
            id.to_string(),
            map::material_status(choice),
        ))
    });
    apply.on_shoot(h(|| Intent::Shoot));
    apply.on_retake(h(|| Intent::Retake));
    apply.on_next_material(h(|| Intent::NextMaterial));
    apply.on_skip_capture(h(|| Intent::SkipCapture));

    let submit = window.global::<Submit>();
    submit.on_submit(h(|| Intent::Submit));
    submit.on_reprint(h(|| Intent::Reprint));

    let lookup = window.global::<Lookup>();
    let hd = handler.clone();
    lookup.on_open_case(move |code| hd(Intent::OpenCase(code.to_string())));
    let hd = handler.clone();
    lookup.on_pay_notice(move |code| hd(Intent::PayNotice(code.to_string())));
    lookup.on_print_slip(h(|| Intent::PrintSlip));

    let pay = window.global::<Pay>();
    pay.on_pay_by_qr(h(|| Intent::PayQr));
    pay.on_pay_by_scan(h(|| Intent::PayScan));
    pay.on_cancel_payment(h(|| Intent::CancelPayment));
    pay.on_more_time(h(|| Intent::MoreTime));

    let rate = window.global::<Rate>();
    let hd = handler.clone();
    rate.on_rate(move |level| {
        if let Some(r) = map::rating(level) {
            hd(Intent::Rate(r));
        }
    });
    let hd = handler.clone();
    rate.on_reason(move |reason| hd(Intent::RateReason(map::rating_reason(reason))));
    rate.on_skip(h(|| Intent::Skip));
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use hall_domain::api::MaterialStatus;

    use super::*;

    /// The screens' callbacks arrive as the intents they name, with their arguments checked.
    #[test]
    fn callbacks_are_the_contract() {
        i_slint_backend_testing::init_no_event_loop();
        let window = AppWindow::new().expect("the UI builds");
        let got = Rc::new(RefCell::new(Vec::new()));
        let sink = got.clone();
        on_intent(&window, move |i| sink.borrow_mut().push(i));
        let expect = |f: &dyn Fn(), want: Option<Intent>| {
            got.borrow_mut().clear();
            f();
            assert_eq!(got.borrow().first().cloned(), want);
        };
        let entry = window.global::<Entry>();
        expect(
            &|| entry.invoke_key(KeyKind::Character, "7".into()),
            Some(Intent::Key('7')),
        );
        expect(&|| entry.invoke_key(KeyKind::Character, "77".into()), None);
        expect(
            &|| entry.invoke_key(KeyKind::Backspace, "".into()),
            Some(Intent::Backspace),
        );
        expect(
            &|| entry.invoke_key(KeyKind::Clear, "".into()),
            Some(Intent::Clear),
        );
        expect(&|| entry.invoke_candidate(2), Some(Intent::Candidate(2)));
        expect(&|| entry.invoke_candidate(-1), None);
        expect(
            &|| entry.invoke_candidate_page(true),
            Some(Intent::CandidatePage(true)),
        );
        expect(
            &|| entry.invoke_tap_field(Field::ContactPhone),
            Some(Intent::Focus(v::Field::ContactPhone)),
        );
        expect(&|| entry.invoke_tap_field(Field::None), None);
        let chrome = window.global::<Chrome>();
        expect(
            &|| chrome.invoke_choose_lang(Lang::En),
            Some(Intent::Lang(v::Lang::En)),
        );
        expect(
            &|| chrome.invoke_choose_lang(Lang::Zh),
            Some(Intent::Lang(v::Lang::Zh)),
        );
        expect(
            &|| chrome.invoke_contrast(true),
            Some(Intent::HighContrast(true)),
        );
        expect(&|| chrome.invoke_louder(false), Some(Intent::Louder(false)));
        expect(
            &|| {
                window
                    .global::<Apply>()
                    .invoke_material("m2".into(), MaterialChoice::Tolerated)
            },
            Some(Intent::Material(
                "m2".into(),
                Some(MaterialStatus::Tolerated),
            )),
        );
        expect(
            &|| {
                window
                    .global::<Apply>()
                    .invoke_material("m2".into(), MaterialChoice::None)
            },
            Some(Intent::Material("m2".into(), None)),
        );
        expect(
            &|| window.global::<Lookup>().invoke_open_case("4206".into()),
            Some(Intent::OpenCase("4206".into())),
        );
        expect(
            &|| window.global::<Pay>().invoke_pay_by_qr(),
            Some(Intent::PayQr),
        );
        expect(
            &|| {
                window
                    .global::<Rate>()
                    .invoke_rate(RatingLevel::Dissatisfied)
            },
            Some(Intent::Rate(hall_domain::api::Rating::Dissatisfied)),
        );
        expect(
            &|| window.global::<Rate>().invoke_rate(RatingLevel::None),
            None,
        );
        expect(
            &|| window.global::<Rate>().invoke_reason(RatingReason::TooSlow),
            Some(Intent::RateReason(hall_domain::api::RatingReason::TooSlow)),
        );
        expect(
            &|| window.global::<Rate>().invoke_skip(),
            Some(Intent::Skip),
        );
    }
}
