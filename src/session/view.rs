//! The view model: a plain description of what the screen shows, produced by the session and
//! rendered by `src/ui`. Groups and field names follow the globals of `ui/vm.slint`.

use std::sync::Arc;

use hall_domain::api::{MaterialStatus, NoticeStatus, Rating};
use kiosk_drivers::camera::Still;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Screen {
    #[default]
    Home,
    Identify,
    Items,
    Materials,
    Capture,
    Form,
    Review,
    Submitted,
    Lookup,
    Progress,
    PayEntry,
    Payment,
    Paying,
    Paid,
    PayFailed,
    Offline,
    PrinterError,
    CameraError,
    /// Staff only, behind the PIN: device self-tests, paper, restart.
    Maintenance,
    /// 好差评: how the person found the service, at the end of a completed journey.
    Rating,
}

impl Screen {
    pub const ALL: [Screen; 20] = [
        Screen::Home,
        Screen::Identify,
        Screen::Items,
        Screen::Materials,
        Screen::Capture,
        Screen::Form,
        Screen::Review,
        Screen::Submitted,
        Screen::Lookup,
        Screen::Progress,
        Screen::PayEntry,
        Screen::Payment,
        Screen::Paying,
        Screen::Paid,
        Screen::PayFailed,
        Screen::Offline,
        Screen::PrinterError,
        Screen::CameraError,
        Screen::Maintenance,
        Screen::Rating,
    ];

    /// The name of the spoken prompt of this screen (`ui/translations/prompts.toml`).
    pub fn prompt_key(self) -> &'static str {
        match self {
            Screen::Home => "home",
            Screen::Identify => "identify",
            Screen::Items => "items",
            Screen::Materials => "materials",
            Screen::Capture => "capture",
            Screen::Form => "form",
            Screen::Review => "review",
            Screen::Submitted => "submitted",
            Screen::Lookup => "lookup",
            Screen::Progress => "progress",
            Screen::PayEntry => "pay-entry",
            Screen::Payment => "payment",
            Screen::Paying => "paying",
            Screen::Paid => "paid",
            Screen::PayFailed => "pay-failed",
            Screen::Offline => "offline",
            Screen::PrinterError => "printer-error",
            Screen::CameraError => "camera-error",
            Screen::Maintenance => "maintenance",
            Screen::Rating => "rating",
        }
    }
}

/// How the person pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PayMethod {
    /// Not chosen yet.
    #[default]
    None,
    /// A QR code the payer scans with their phone.
    Qr,
    /// The payer's payment code, scanned by the kiosk.
    Scan,
}

/// "Take your ID card and receipt" at the end of a journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TakeReminder {
    /// Not shown.
    #[default]
    None,
    Card,
    Receipt,
    CardReceipt,
    /// Nothing to take: the thanks only.
    Nothing,
}

/// The thanks at the end of a session that went through the rating screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Thanks {
    /// None shown.
    #[default]
    None,
    /// For the rating.
    Rated,
    /// For using the kiosk (the rating skipped).
    Used,
}

/// A wait that the person should see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Busy {
    /// No wait: nothing over the screen.
    #[default]
    None,
    Submitting,
    LookingUp,
    Printing,
    FindingNotice,
    CreatingOrder,
    Capturing,
    CheckingCard,
    FindingCases,
    LoadingItems,
    Checking,
}

/// The receipt of a submission or a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReceiptState {
    /// Nothing printed (yet).
    #[default]
    None,
    Printing,
    Printed,
    Failed,
}

/// The field the keypad or the pinyin keyboard types into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Field {
    /// No field.
    #[default]
    None,
    IdNumber,
    Phone,
    ProjectCode,
    CreditCode,
    ContactPhone,
    ApprovalCode,
    PayCode,
    /// The applicant's name, on the pinyin keyboard (identify by typing).
    ApplicantName,
    /// The project name, on the pinyin keyboard (the registry does not know the code).
    ProjectName,
}

/// The keys a field is typed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeypadKind {
    #[default]
    Digits,
    /// Digits and X (ID numbers).
    DigitsX,
    /// The 31 characters of a unified social credit code.
    Credit,
    /// The pinyin keyboard (names).
    Pinyin,
}

/// What is wrong with a field (the sentence is chosen by the screens).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldError {
    #[default]
    None,
    /// Nothing typed.
    Empty,
    /// Pinyin letters typed, no word chosen for them yet.
    Composing,
    /// The wrong length (`error_a` expected, `error_b` typed).
    Length,
    /// A character not allowed (`error_a` its place).
    Character,
    /// The check digit does not match.
    Check,
    /// The date of birth in an ID number.
    Date,
    /// The shape of the code.
    Shape,
    /// The registry does not know the project code.
    UnknownProject,
    /// The registry does not know the credit code.
    UnknownOrg,
}

/// The outcome of the last action on the maintenance screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MaintNote {
    /// No action yet.
    #[default]
    None,
    Printing,
    Printed,
    PrintFailed,
    PaperReplaced,
    Capturing,
    Photo,
    PhotoFailed,
}

/// Where the kiosk's update stands, for the maintenance screen (the wire's `UpdateState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UpdatePhase {
    /// No updater report (yet), or nothing to do.
    #[default]
    Idle,
    Downloading,
    Installing,
    Installed,
    Trying,
    Booted,
    RolledBack,
    Refused,
    Failed,
}

/// The ID card placed on the progress screen, and what came of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaseCard {
    /// None placed (yet).
    #[default]
    None,
    Checking,
    /// The applicant's: the details are shown.
    Shown,
    NotApplicant,
    /// Too many tries.
    Limited,
    /// It could not be checked.
    Failed,
}

/// The person's own cases, for the ID card placed on the lookup screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MyCasesState {
    /// No card placed.
    #[default]
    None,
    Listed,
    /// The card's holder has no case.
    Empty,
    /// Too many tries.
    Limited,
    /// They could not be listed.
    Failed,
}

/// Why an approval code was not looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LookupError {
    #[default]
    None,
    NotFound,
    /// A scanned code that is not an approval code.
    NotACode,
}

/// Why a payment code or approval code led to no payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PayError {
    #[default]
    None,
    NotFound,
    AlreadyPaid,
    NoFee,
    /// The notice was cancelled.
    Cancelled,
    /// A scan that is not a phone's payment code.
    NotAWalletCode,
}

/// Why a payment did not go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PayFailure {
    #[default]
    None,
    Failed,
    Cancelled,
    /// The payment QR expired.
    Expired,
    /// The payment system could not be reached.
    Offline,
    AlreadyPaid,
}

/// Why the materials list cannot be left yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MaterialsError {
    #[default]
    None,
    /// A required material has no choice.
    RequiredMissing,
    /// A material to photograph has no pages.
    NoPages,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldView {
    pub value: String,
    pub display: String,
    pub error: FieldError,
    pub error_a: i32,
    pub error_b: i32,
    pub ok: bool,
    pub focused: bool,
    pub keypad: KeypadKind,
    pub max_len: i32,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ItemTile {
    pub id: String,
    pub name: String,
    pub department: String,
    pub time_limit_days: i32,
    pub instant: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct StageGroup {
    pub stage: i32,
    pub items: Vec<ItemTile>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct MaterialRow {
    pub id: String,
    pub name: String,
    pub required: bool,
    pub tolerable: bool,
    pub tolerance_days: i32,
    pub commitment_allowed: bool,
    /// What the person chose; `None` until they choose.
    pub choice: Option<MaterialStatus>,
    pub pages: i32,
    pub deadline: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeRow {
    pub department: String,
    pub status_code: i32,
    pub started: String,
    pub due: String,
    pub finished: String,
    pub time_limit_days: i32,
    pub overdue: bool,
    pub overdue_days: i32,
    pub opinion: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeeRow {
    pub name: String,
    pub amount: String,
}

/// One of the person's own cases, listed for their ID card.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CaseRow {
    pub approval_code: String,
    pub code_grouped: String,
    pub item: String,
    pub status_code: i32,
    pub submitted: String,
}

/// A fee notice of the case, and whether it is paid.
#[derive(Debug, Clone, PartialEq)]
pub struct NoticeRow {
    pub payment_code: String,
    pub total: String,
    pub status: NoticeStatus,
}

/// The pinyin keyboard's composition (letters spaced by syllable) and the candidates on the
/// page shown.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImeView {
    pub letters: String,
    pub candidates: Vec<String>,
    pub has_prev: bool,
    pub has_next: bool,
}

/// Everything on screen, grouped as the screens' globals in `ui/vm.slint` are: the renderer
/// compares each group with the one it rendered last and renders only the groups that changed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ViewModel {
    pub chrome: ChromeView,
    pub overlays: OverlaysView,
    pub staff: StaffView,
    pub entry: EntryView,
    pub identify: IdentifyView,
    pub apply: ApplyView,
    pub submit: SubmitView,
    pub lookup: LookupView,
    pub pay: PayView,
    pub rate: RateView,
}

/// The session: screen, display modes, spoken guidance, language, devices (`Chrome`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChromeView {
    pub screen: Screen,
    pub large_text: bool,
    pub high_contrast: bool,
    /// Spoken guidance: volume and speed steps, 1 to 5.
    pub voice_volume: i32,
    /// A prompt is sounding: the stop button shows in place of "listen again".
    pub speaking: bool,
    pub voice_rate: i32,
    pub lang: Lang,
    pub printer_ok: bool,
    pub camera_ok: bool,
    pub scanner_ok: bool,
    pub reader_ok: bool,
    pub platform_ok: bool,
    pub kiosk_id: String,
    pub window_hint: String,
    pub version: String,
}

/// What shows over the screen (`Overlays`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OverlaysView {
    pub timeout_warning: bool,
    pub timeout_seconds: i32,
    pub help_shown: bool,
    pub busy: Busy,
    /// A help-desk identify: the kiosk id shown large ("" when not).
    pub identify_id: String,
    /// "Take your ID card and receipt": what to take, or nothing shown.
    pub take_reminder: TakeReminder,
    /// The thanks above it, after the rating screen.
    pub thanks: Thanks,
}

/// 好差评 (`Rate`): the five levels, then for the two lowest the reasons.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RateView {
    /// The poor rating chosen: its reasons are offered.
    pub chosen: Option<Rating>,
}

/// The staff PIN pad and the maintenance screen (`Staff`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StaffView {
    /// The staff PIN pad: open, how many digits are typed, whether the last PIN was wrong,
    /// seconds left of a lockout.
    pub pin_shown: bool,
    pub pin_digits: i32,
    pub pin_wrong: bool,
    pub pin_locked_seconds: i32,
    /// Maintenance: the last action's outcome, the last card read (masked), the last scan.
    pub maint_note: MaintNote,
    pub maint_card: String,
    pub maint_scan: String,
    /// The running system: its release version, its slot (`A`/`B`, "" without A/B).
    pub sys_version: String,
    pub sys_slot: String,
    /// Where its update stands: the phase, the release it is about, the percentage (downloading,
    /// installing) and the reason (rolled back, refused, failed).
    pub update_phase: UpdatePhase,
    pub update_release: String,
    pub update_percent: i32,
    pub update_reason: String,
    /// The integrity QR's text (`HALL-ROOT version=… slot=… sha256=…`), "" when the root's
    /// digest is not known.
    pub root_qr: String,
}

/// Which field is typed into, and the pinyin keyboard (`Entry`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EntryView {
    /// The pinyin keyboard of the focused word field.
    pub ime: ImeView,
    pub focus: Field,
}

/// Identify: the ID card or the typed ID number, phone and name (`Identify`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IdentifyView {
    pub identify_typing: bool,
    pub id_number: FieldView,
    pub phone: FieldView,
    pub card_name_masked: String,
    pub card_error: String,
    /// The applicant's name typed on the pinyin keyboard (identify by typing).
    pub applicant_name: FieldView,
}

/// The item, its materials and photographs, the project and organisation (`Apply`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApplyView {
    /// The project name typed on the pinyin keyboard, shown when the registry does not know
    /// the code or cannot be asked.
    pub project_name_typed: FieldView,
    pub project_name_shown: bool,
    pub stages: Vec<StageGroup>,
    pub item_name: String,
    pub item_department: String,
    pub item_time_limit: i32,
    pub materials: Vec<MaterialRow>,
    pub materials_error: MaterialsError,
    pub capture_material: String,
    pub capture_index: i32,
    pub capture_count: i32,
    pub capture_pages: i32,
    /// The last photographed page, for the preview.
    pub capture_preview: Option<Arc<Still>>,
    pub project_code: FieldView,
    pub project_name: String,
    pub credit_code: FieldView,
    pub org_name: String,
    pub contact_phone: FieldView,
}

/// Review and submit: the approval code and the receipt (`Submit`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SubmitView {
    pub review_name: String,
    pub review_id_number: String,
    pub review_phone: String,
    pub review_due: String,
    pub review_problems: Vec<String>,
    pub approval_code: String,
    pub approval_code_grouped: String,
    pub receipt_state: ReceiptState,
    pub receipt_error: String,
    pub offline_accepted: bool,
}

/// Lookup: the approval code, one's own cases, the case's progress (`Lookup`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LookupView {
    pub lookup_code: FieldView,
    pub lookup_error: LookupError,
    pub case_code_grouped: String,
    pub case_item: String,
    pub case_stage: i32,
    pub case_status: i32,
    pub case_submitted: String,
    /// Filled only once the applicant's ID card has matched (see `case_card`).
    pub case_applicant: String,
    pub case_project: String,
    /// The applicant's card on the progress screen, and what came of it.
    pub case_card: CaseCard,
    /// The cases listed for the ID card placed on the lookup screen, and what came of it.
    pub my_cases: Vec<CaseRow>,
    pub my_cases_state: MyCasesState,
    pub nodes: Vec<NodeRow>,
    pub nodes_late: i32,
    pub case_notices: Vec<NoticeRow>,
}

/// Payment: the code, the notice, the order and its outcome (`Pay`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PayView {
    pub pay_code: FieldView,
    pub pay_error: PayError,
    pub notice_code_grouped: String,
    pub notice_agency: String,
    pub notice_payer: String,
    pub notice_lines: Vec<FeeRow>,
    pub notice_total: String,
    pub notice_total_capitals: String,
    pub pay_method: PayMethod,
    /// What the payment QR encodes (rendered to an image by the UI layer).
    pub pay_qr_payload: String,
    pub pay_seconds_left: i32,
    /// The payer's time is nearly up; "more time" is offered.
    pub pay_time_warning: bool,
    /// The payer cancelled and the platform is withdrawing the order (a scanned payment code is
    /// reversed 15 s after its debit attempt at the earliest): shown as being cancelled.
    pub pay_cancelling: bool,
    pub pay_failure: PayFailure,
    pub pay_failure_detail: String,
    pub paid_transaction: String,
    pub paid_receipt_no: String,
    pub paid_time: String,
}
