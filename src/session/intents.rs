//! What a person asks for: the session-wide intents (finish, help, voice, display modes), the
//! home and error screens', and the rest handed to the journey under way.

use super::*;

impl Session {
    pub(super) fn on_intent(&mut self, intent: Intent, fx: &mut Vec<Effect>) {
        if intent == Intent::IdentifyClose {
            self.identify_until = None;
            return;
        }
        // Any touch closes the reminder: it never stands in the way of the next person.
        if self.reminder.take().is_some() && intent == Intent::DismissReminder {
            return;
        }
        if self.pin.is_open() {
            let hash = self.cfg.maintenance_pin.as_deref();
            if self.pin.on_intent(intent, self.now, hash) == staff::PinOutcome::Opened {
                self.maint.reset();
                self.screen = Screen::Maintenance;
                // Staff are at the kiosk: the help request that let them in is answered.
                fx.push(Effect::HelpAnswered);
            }
            return;
        }
        if self.screen == Screen::Maintenance {
            if self.maint.on_intent(intent, fx) == staff::MaintenanceOutcome::Leave {
                self.end_session(false, fx);
            }
            return;
        }
        match intent {
            Intent::Finish if self.rating_due() => return self.ask_rating(fx),
            Intent::Finish if self.screen != Screen::Rating => {
                return self.end_session(false, fx);
            }
            Intent::DismissReminder => return,
            Intent::Repeat => {
                fx.push(Effect::Speak(self.speech()));
                return;
            }
            Intent::Quiet => {
                self.speaking = false;
                fx.push(Effect::StopSpeech);
                return;
            }
            Intent::Louder(up) => {
                self.voice_volume = step(self.voice_volume, up);
                fx.push(Effect::Speak(self.speech()));
                return;
            }
            Intent::Faster(up) => {
                self.voice_rate = step(self.voice_rate, up);
                fx.push(Effect::Speak(self.speech()));
                return;
            }
            Intent::Continue => return,
            Intent::Help => {
                self.help = true;
                fx.push(Effect::RequestHelp);
                return;
            }
            Intent::HelpClose => {
                self.help = false;
                return;
            }
            Intent::Lang(l) if self.screen == Screen::Home => {
                self.lang = l;
                return;
            }
            Intent::Large(on) if self.screen == Screen::Home => {
                self.large = on;
                return;
            }
            Intent::HighContrast(on) if self.screen == Screen::Home => {
                self.high_contrast = on;
                return;
            }
            _ => {}
        }
        if self.busy.is_some() {
            // A wait is under way: only finish and help are taken (above).
            return;
        }
        match self.screen {
            Screen::Home => self.on_home(intent),
            Screen::Rating => self.on_rating(intent, fx),
            Screen::Offline | Screen::PrinterError | Screen::CameraError => {
                self.on_error_screen(intent, fx)
            }
            _ => self.on_journey_intent(intent, fx),
        }
    }

    fn on_home(&mut self, intent: Intent) {
        match intent {
            Intent::Staff if matches!(self.journey, Journey::None) => {
                if self.cfg.maintenance_pin.is_some() {
                    self.help = false;
                    self.pin.open();
                } else {
                    tracing::info!("no maintenance PIN is configured");
                }
            }
            Intent::StartSubmit => {
                self.journey = Journey::Submit(Box::default());
                self.screen = Screen::Identify;
            }
            Intent::StartLookup => {
                self.journey = Journey::Lookup(Box::default());
                self.screen = Screen::Lookup;
            }
            Intent::StartPay => {
                self.journey = Journey::Pay(Box::default());
                self.screen = Screen::PayEntry;
            }
            _ => {}
        }
    }

    fn on_error_screen(&mut self, intent: Intent, fx: &mut Vec<Effect>) {
        match (self.screen, intent) {
            (Screen::Offline, Intent::Retry) => {
                let resume = self.resume.take().unwrap_or(Screen::Home);
                self.screen = resume;
                self.retry_journey(fx);
            }
            (Screen::PrinterError, Intent::Retry) => {
                self.screen = self.resume.take().unwrap_or(Screen::Home);
                self.on_journey_intent(Intent::Reprint, fx);
            }
            (Screen::PrinterError, Intent::Skip | Intent::Back) => {
                self.screen = self.resume.take().unwrap_or(Screen::Home);
            }
            (Screen::CameraError, Intent::Retry) => {
                self.screen = Screen::Capture;
                self.resume = None;
            }
            (Screen::CameraError, Intent::Skip | Intent::SkipCapture) => {
                self.resume = None;
                self.screen = Screen::Capture;
                self.on_journey_intent(Intent::SkipCapture, fx);
            }
            (Screen::Offline | Screen::CameraError, Intent::Back) => {
                self.screen = self.resume.take().unwrap_or(Screen::Home);
            }
            _ => {}
        }
    }

    fn retry_journey(&mut self, fx: &mut Vec<Effect>) {
        let step = match &mut self.journey {
            Journey::Submit(s) => s.retry(fx),
            Journey::Lookup(l) => l.retry(fx),
            Journey::Pay(p) => p.retry(fx),
            Journey::None => None,
        };
        self.apply(step);
    }

    fn on_journey_intent(&mut self, intent: Intent, fx: &mut Vec<Effect>) {
        let ctx = self.ctx();
        let screen = self.screen;
        let step = match &mut self.journey {
            Journey::Submit(s) => s.on_intent(screen, intent, &ctx, &self.catalogue, fx),
            Journey::Lookup(l) => l.on_intent(screen, intent, &ctx, fx),
            Journey::Pay(p) => p.on_intent(screen, intent, &ctx, fx),
            Journey::None => Some(Step::Home),
        };
        self.apply(step);
    }
}
