//! What a person asks for, parsed from the screen's `act(action, argument)` callback.

use super::view::Lang;
use hall_domain::api::MaterialStatus;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    Back,
    Finish,
    Help,
    HelpClose,
    Continue,
    Retry,
    Skip,
    Lang(Lang),
    Large(bool),
    HighContrast(bool),
    /// Say the screen's prompt again.
    Repeat,
    /// Stop speaking.
    Quiet,
    /// Volume one step up (true) or down.
    Louder(bool),
    /// Speech one step faster (true) or slower.
    Faster(bool),
    StartSubmit,
    StartLookup,
    StartPay,
    Focus(String),
    Key(char),
    Backspace,
    Clear,
    /// A candidate of the pinyin keyboard, by its place on the page shown.
    Candidate(usize),
    /// The pinyin keyboard's next (true) or previous page of candidates.
    CandidatePage(bool),
    /// The pinyin keyboard's 确定: the word is complete.
    Done,
    IdentifyTyping,
    IdentifyCard,
    Next,
    PickItem(String),
    Material(String, Option<MaterialStatus>),
    Shoot,
    Retake,
    NextMaterial,
    SkipCapture,
    Submit,
    Reprint,
    PayNotice(String),
    PrintSlip,
    PayQr,
    PayScan,
    CancelPayment,
    /// The payer needs more time before the payment order is withdrawn.
    MoreTime,
    /// Open the staff PIN pad (home screen).
    Staff,
    TestPrint,
    PaperReplaced,
    Restart,
    /// Dismiss the help-desk identify overlay.
    IdentifyClose,
    /// Close the "take your ID card and receipt" reminder.
    DismissReminder,
    /// Open one of the cases listed for the person's ID card (its approval code).
    OpenCase(String),
}

impl Intent {
    /// Parses an action from the screen. Unknown actions are `None` (logged by the caller, never
    /// acted on).
    pub fn parse(action: &str, arg: &str) -> Option<Intent> {
        Some(match action {
            "back" => Intent::Back,
            "finish" => Intent::Finish,
            "help" => Intent::Help,
            "help-close" => Intent::HelpClose,
            "continue" => Intent::Continue,
            "retry" => Intent::Retry,
            "skip" => Intent::Skip,
            "lang" => Intent::Lang(match arg {
                "en" => Lang::En,
                "zh" => Lang::Zh,
                _ => return None,
            }),
            "large" => Intent::Large(match arg {
                "on" => true,
                "off" => false,
                _ => return None,
            }),
            "contrast" => Intent::HighContrast(match arg {
                "on" => true,
                "off" => false,
                _ => return None,
            }),
            "repeat" => Intent::Repeat,
            "quiet" => Intent::Quiet,
            "volume" => Intent::Louder(match arg {
                "up" => true,
                "down" => false,
                _ => return None,
            }),
            "speed" => Intent::Faster(match arg {
                "up" => true,
                "down" => false,
                _ => return None,
            }),
            "start-submit" => Intent::StartSubmit,
            "start-lookup" => Intent::StartLookup,
            "start-pay" => Intent::StartPay,
            "focus" => Intent::Focus(arg.to_string()),
            "key" => {
                let mut chars = arg.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Intent::Key(c),
                    _ => return None,
                }
            }
            "backspace" => Intent::Backspace,
            "clear" => Intent::Clear,
            "candidate" => Intent::Candidate(arg.parse().ok().filter(|i| *i < 100)?),
            "candidates" => Intent::CandidatePage(match arg {
                "next" => true,
                "prev" => false,
                _ => return None,
            }),
            "done" => Intent::Done,
            "identify-typing" => Intent::IdentifyTyping,
            "identify-card" => Intent::IdentifyCard,
            "next" => Intent::Next,
            "pick-item" => Intent::PickItem(arg.to_string()),
            "material" => {
                let (id, choice) = arg.split_once('=')?;
                let status = match choice {
                    "none" => None,
                    "provided" => Some(MaterialStatus::Provided),
                    "tolerated" => Some(MaterialStatus::Tolerated),
                    "committed" => Some(MaterialStatus::Committed),
                    _ => return None,
                };
                Intent::Material(id.to_string(), status)
            }
            "shoot" => Intent::Shoot,
            "retake" => Intent::Retake,
            "next-material" => Intent::NextMaterial,
            "skip-capture" => Intent::SkipCapture,
            "submit" => Intent::Submit,
            "reprint" => Intent::Reprint,
            "pay-notice" => Intent::PayNotice(arg.to_string()),
            "print-slip" => Intent::PrintSlip,
            "pay-qr" => Intent::PayQr,
            "pay-scan" => Intent::PayScan,
            "cancel-payment" => Intent::CancelPayment,
            "more-time" => Intent::MoreTime,
            "staff" => Intent::Staff,
            "test-print" => Intent::TestPrint,
            "paper-replaced" => Intent::PaperReplaced,
            "restart" => Intent::Restart,
            "identify-close" => Intent::IdentifyClose,
            "dismiss-reminder" => Intent::DismissReminder,
            "open-case" => Intent::OpenCase(arg.to_string()),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_contract() {
        assert_eq!(Intent::parse("key", "7"), Some(Intent::Key('7')));
        assert_eq!(Intent::parse("key", "77"), None);
        assert_eq!(Intent::parse("lang", "en"), Some(Intent::Lang(Lang::En)));
        assert_eq!(
            Intent::parse("material", "m2=tolerated"),
            Some(Intent::Material(
                "m2".into(),
                Some(MaterialStatus::Tolerated)
            ))
        );
        assert_eq!(Intent::parse("material", "m2"), None);
        assert_eq!(
            Intent::parse("contrast", "on"),
            Some(Intent::HighContrast(true))
        );
        assert_eq!(Intent::parse("contrast", "max"), None);
        assert_eq!(Intent::parse("rm -rf", ""), None);
        assert_eq!(Intent::parse("candidate", "2"), Some(Intent::Candidate(2)));
        assert_eq!(Intent::parse("candidate", "-1"), None);
        assert_eq!(Intent::parse("candidate", "x"), None);
        assert_eq!(
            Intent::parse("candidates", "next"),
            Some(Intent::CandidatePage(true))
        );
    }
}
