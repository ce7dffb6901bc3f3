//! What the devices report: cards, codes, health, the help button and presence.

use kiosk_drivers::{DeviceEvent, DeviceKind};

use super::*;

impl Session {
    // ---- devices -----------------------------------------------------------------------------

    pub(super) fn on_device(&mut self, ev: DeviceEvent, fx: &mut Vec<Effect>) {
        match &ev {
            DeviceEvent::CardStays => self.card_on_reader = true,
            DeviceEvent::CardRead(_) | DeviceEvent::CardError(_) | DeviceEvent::CardRemoved => {
                self.card_on_reader = false;
            }
            DeviceEvent::Health(DeviceKind::IdCard, h) if !h.is_usable() => {
                self.card_on_reader = false;
            }
            _ => {}
        }
        match ev {
            DeviceEvent::Health(kind, h) => {
                let ok = h.is_usable();
                match kind {
                    DeviceKind::Printer => self.avail.printer = ok,
                    DeviceKind::Camera => self.avail.camera = ok,
                    DeviceKind::Scanner => self.avail.scanner = ok,
                    DeviceKind::IdCard => self.avail.reader = ok,
                    DeviceKind::Gpio => {}
                }
            }
            DeviceEvent::HelpButton => {
                self.last_activity = self.now;
                self.help = true;
                fx.push(Effect::RequestHelp);
            }
            DeviceEvent::Presence(true) => self.last_activity = self.now,
            DeviceEvent::Presence(false) => {}
            DeviceEvent::CardRead(card) if self.screen == Screen::Maintenance => {
                self.last_activity = self.now;
                self.maint.on_card(&card);
            }
            DeviceEvent::CardError(msg) if self.screen == Screen::Maintenance => {
                self.maint.on_card_error(msg);
            }
            DeviceEvent::Scanned(payload) | DeviceEvent::QrSeen(payload)
                if self.screen == Screen::Maintenance =>
            {
                self.last_activity = self.now;
                self.maint.on_scan(&payload);
            }
            DeviceEvent::CardRead(card) => {
                self.last_activity = self.now;
                if self.reminder.is_some() {
                    // A card placed while the reminder shows is the person's own, put back or
                    // not yet taken: it is not read into anything.
                    drop(card);
                    return;
                }
                let busy = self.busy.is_some();
                match (&mut self.journey, self.screen) {
                    (Journey::Submit(s), Screen::Identify) => {
                        self.card_read = true;
                        let step = s.on_card(card, fx);
                        self.apply(step);
                    }
                    (Journey::Lookup(l), Screen::Progress) if !busy => {
                        self.card_read = true;
                        let step = l.on_card(card, fx);
                        self.apply(step);
                    }
                    (Journey::Lookup(l), Screen::Lookup) if !busy => {
                        self.card_read = true;
                        let step = l.list_for_card(card, fx);
                        self.apply(step);
                    }
                    // A card placed anywhere else is not read into the session; wipe it.
                    _ => drop(card),
                }
            }
            DeviceEvent::CardStays => {}
            DeviceEvent::CardRemoved => {
                if let Some(r) = &mut self.reminder {
                    // The card is taken: what is left to remind of is the receipt, if any.
                    r.card = false;
                    if !r.receipt {
                        self.reminder = None;
                    }
                }
            }
            DeviceEvent::CardError(msg) => {
                if let Journey::Submit(s) = &mut self.journey {
                    s.card_error = msg;
                }
            }
            DeviceEvent::Scanned(payload) | DeviceEvent::QrSeen(payload) => {
                self.last_activity = self.now;
                // A code shown is someone acting: the reminder gives way, as to a touch.
                self.reminder = None;
                self.on_code(&payload, fx);
            }
            DeviceEvent::ScanRejected(reason) => {
                tracing::info!(%reason, "scan rejected");
            }
        }
    }

    /// A code read by the scanner or the camera.
    pub(super) fn on_code(&mut self, payload: &str, fx: &mut Vec<Effect>) {
        if self.busy.is_some() {
            return;
        }
        let ctx = self.ctx();
        let screen = self.screen;
        let step = match &mut self.journey {
            Journey::None if screen == Screen::Home => match extract_code(payload) {
                Some(code) if ApprovalCode::parse(&code).is_ok() => {
                    let mut l = lookup::Lookup::default();
                    l.code.set(&code);
                    self.journey = Journey::Lookup(Box::new(l));
                    self.screen = Screen::Lookup;
                    let Journey::Lookup(l) = &mut self.journey else {
                        return;
                    };
                    l.on_intent(Screen::Lookup, Intent::Next, &ctx, fx)
                }
                Some(code) if codes::validate_payment_code(&code).is_ok() => {
                    let mut p = pay::Pay::default();
                    p.code.set(&code);
                    self.journey = Journey::Pay(Box::new(p));
                    self.screen = Screen::PayEntry;
                    let Journey::Pay(p) = &mut self.journey else {
                        return;
                    };
                    p.on_intent(Screen::PayEntry, Intent::Next, &ctx, fx)
                }
                _ => None,
            },
            Journey::Lookup(l) if screen == Screen::Lookup => l.on_code(payload, fx),
            Journey::Pay(p) => p.on_code(screen, payload, fx),
            _ => None,
        };
        self.apply(step);
    }
}
