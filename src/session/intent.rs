//! What a person asks for, from the screens' typed callbacks (mapped in `src/ui`).

use super::view::{Field, Lang};
use hall_domain::api::{MaterialStatus, Rating, RatingReason};

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
    /// A field tapped: the keypad types into it.
    Focus(Field),
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
    /// 好差评: one of the five levels.
    Rate(Rating),
    /// Why a poor rating was given (after 不满意 or 非常不满意).
    RateReason(RatingReason),
}
