//! What crosses the session's edge: its configuration, the inputs it takes and the effects it
//! asks the runtime to carry out.

use std::sync::Arc;
use std::time::Duration;

use hall_domain::api::{
    ApplicationCreated, ApplicationRequest, CaseDetails, CaseSummary, CaseView, FeeNotice, Item,
    Order, OrderRequest, OrganizationInfo, ProjectInfo,
};
use kiosk_drivers::DeviceEvent;
use kiosk_drivers::camera::Still;
use kiosk_drivers::printer::receipt::{PaymentReceipt, ProgressSlip, SubmissionReceipt};

use super::{Intent, JourneyNote, Lang};
use crate::client::ApiError;
use kiosk_drivers::idcard::IdCard;

/// Settings of the session that come from the kiosk's configuration.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Inactivity after which the session ends.
    pub idle_limit: Duration,
    /// How long before the end the warning shows (at least 20 s).
    pub warn_before: Duration,
    /// How often a pending payment is queried.
    pub poll_every: Duration,
    /// How long a payer may take to confirm a scanned payment code before it is cancelled
    /// (reversed): about 30 s, as the wallets' guidance has it (queried about every 10 s up to
    /// about 30 s, never reversed within 15 s of the debit).
    pub scan_confirm_limit: Duration,
    pub kiosk_id: String,
    pub hall_name: String,
    /// The service window people are sent to when the kiosk cannot help.
    pub window_hint: String,
    /// Whether a submission may be taken while the platform is unreachable (the kiosk has an
    /// outbox that will deliver it), with a provisional receipt.
    pub offline_intake: bool,
    /// The hex SHA-256 of the staff PIN that opens the maintenance screen (none: it cannot be
    /// opened).
    /// The staff PIN's argon2id hash (PHC string).
    pub maintenance_pin: Option<String>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            idle_limit: Duration::from_secs(120),
            warn_before: Duration::from_secs(30),
            poll_every: Duration::from_secs(2),
            scan_confirm_limit: Duration::from_secs(30),
            kiosk_id: "kiosk-01".into(),
            hall_name: "政务服务中心 工程建设项目审批专区".into(),
            window_hint: "3".into(),
            offline_intake: false,
            maintenance_pin: None,
        }
    }
}

/// A receipt to print, as data; the runtime lays it out for the printer's paper.
#[derive(Debug, Clone, PartialEq)]
pub enum Receipt {
    Submission(SubmissionReceipt),
    Progress(ProgressSlip),
    Payment(PaymentReceipt),
}

/// What the session asks the runtime to do. Every answer comes back as an [`Input`].
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    LoadItems,
    LookupProject(String),
    LookupOrganization(String),
    /// Write the submission to the outbox, then send it.
    Submit {
        idempotency_key: String,
        local_reference: String,
        request: Box<ApplicationRequest>,
    },
    /// The platform cannot be reached: keep the submission in the outbox for delivery, durably,
    /// before the person is told it was taken. Answered by [`Input::OfflineStored`].
    AcceptOffline {
        idempotency_key: String,
    },
    LookupCase(String),
    /// Ask for a case's details with the ID card read in this session (answered by
    /// [`Input::Details`]). The card's `Debug` shows nothing personal.
    CaseDetails {
        approval_code: String,
        card: Box<IdCard>,
    },
    /// List the cases of the holder of the ID card placed on the lookup screen (answered by
    /// [`Input::MyCases`]).
    CasesByCard {
        card: Box<IdCard>,
    },
    FetchNotice(String),
    CreateOrder {
        payment_code: String,
        request: OrderRequest,
    },
    PollOrder(String),
    CancelOrder(String),
    Print(Box<Receipt>),
    CaptureStill,
    /// Turn QR scanning on the camera on or off (it runs only where a code is expected).
    CameraScanning(bool),
    RequestHelp,
    /// Staff opened the maintenance screen: a help request of this kiosk is answered.
    HelpAnswered,
    /// Say a prompt (interrupting the one playing).
    Speak(Speech),
    /// Stop speaking.
    StopSpeech,
    /// A submission was sent but the person left without being told its outcome (the platform
    /// was unreachable and they gave up): it must not become a case, so it is withdrawn.
    AbandonSubmission {
        idempotency_key: String,
    },
    /// Maintenance: print a sample receipt (answered by [`Input::Printed`]).
    TestPrint,
    /// Maintenance: staff put in a new paper roll; the printer is checked again.
    PaperReplaced,
    /// Maintenance: restart the kiosk program.
    RestartApp,
    /// Something happened in a journey (nothing personal): the runtime stamps it with the local
    /// time and keeps it in the outbox for the platform.
    Journey(JourneyNote),
    /// The session ended (finish or timeout); personal data is gone.
    SessionEnded {
        timed_out: bool,
    },
}

/// A spoken prompt: its name in `ui/translations/prompts.toml`, the language, and the volume and
/// speed steps (1 to 5) the person chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Speech {
    pub prompt: &'static str,
    pub lang: Lang,
    pub volume: u8,
    pub rate: u8,
}

/// The volume and speed steps a session starts with (of 1 to 5).
pub const VOICE_VOLUME: u8 = 3;
pub const VOICE_RATE: u8 = 2;

/// Everything the session reacts to.
#[derive(Debug, Clone)]
pub enum Input {
    Act(Intent),
    Device(DeviceEvent),
    /// Time passes (the runtime ticks a few times a second).
    Tick,
    /// The local wall-clock time (dates on receipts and screens), sent by the runtime with its
    /// ticks: the session never reads a clock.
    Clock(chrono::NaiveDateTime),
    Items(Result<Vec<Item>, ApiError>),
    Project(String, Result<ProjectInfo, ApiError>),
    Organization(String, Result<OrganizationInfo, ApiError>),
    Submitted(Result<ApplicationCreated, ApiError>),
    Case(Result<CaseView, ApiError>),
    Details(Result<CaseDetails, ApiError>),
    MyCases(Result<Vec<CaseSummary>, ApiError>),
    Notice(Result<FeeNotice, ApiError>),
    Order(Result<Order, ApiError>),
    Printed(Result<(), String>),
    Photo(Result<Arc<Still>, String>),
    /// The outbox recorded that a submission was taken offline (or could not).
    OfflineStored(Result<(), String>),
    /// A prompt started or stopped sounding (the stop button shows while one sounds).
    Speaking(bool),
    /// The running system and where its update stands (from the updater; for the maintenance
    /// screen).
    System(hall_domain::api::SystemReport),
}
