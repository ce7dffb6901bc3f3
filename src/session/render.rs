//! The view model of the session's state, for the screens.

use super::view::{ApplyView, ChromeView, OverlaysView, StaffView};
use super::*;

impl Session {
    // ---- view --------------------------------------------------------------------------------

    pub fn view(&self) -> ViewModel {
        let mut vm = ViewModel {
            chrome: ChromeView {
                screen: self.screen,
                large_text: self.large,
                high_contrast: self.high_contrast,
                voice_volume: i32::from(self.voice_volume),
                speaking: self.speaking,
                voice_rate: i32::from(self.voice_rate),
                lang: self.lang,
                printer_ok: self.avail.printer,
                camera_ok: self.avail.camera,
                scanner_ok: self.avail.scanner,
                reader_ok: self.avail.reader,
                platform_ok: self.avail.platform,
                kiosk_id: self.cfg.kiosk_id.clone(),
                window_hint: self.cfg.window_hint.clone(),
                version: env!("CARGO_PKG_VERSION").to_string(),
            },
            overlays: OverlaysView {
                timeout_warning: self.warning_shown(),
                timeout_seconds: self.remaining().as_secs_f32().ceil() as i32,
                help_shown: self.help,
                busy: self.busy.unwrap_or_default(),
                identify_id: if self.identify_until.is_some_and(|u| self.now < u) {
                    self.cfg.kiosk_id.clone()
                } else {
                    String::new()
                },
                take_reminder: TakeReminder::None,
                thanks: Thanks::None,
            },
            staff: StaffView {
                pin_shown: self.pin.is_open(),
                pin_digits: self.pin.digits() as i32,
                pin_wrong: self.pin.wrong(),
                pin_locked_seconds: self.pin.locked_seconds(self.now),
                maint_note: self.maint.note,
                maint_card: self.maint.card.clone(),
                maint_scan: self.maint.scan.clone(),
                ..staff::system_view(self.system.as_ref())
            },
            apply: ApplyView {
                capture_preview: self.maint.photo.clone(),
                ..ApplyView::default()
            },
            rate: view::RateView {
                chosen: self.rating,
            },
            ..ViewModel::default()
        };
        if let Some(r) = &self.reminder {
            vm.overlays.take_reminder = r.key();
            vm.overlays.thanks = r.thanks;
            vm.chrome.lang = r.lang;
            vm.chrome.large_text = r.large;
            vm.chrome.high_contrast = r.high_contrast;
        }
        let ctx = self.ctx();
        match &self.journey {
            Journey::Submit(s) => s.view(&mut vm, &ctx, &self.catalogue),
            Journey::Lookup(l) => l.view(&mut vm, &ctx),
            Journey::Pay(p) => p.view(&mut vm),
            Journey::None => {}
        }
        vm
    }
}
