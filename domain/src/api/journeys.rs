//! How the hall is served (`POST /api/v1/fleet/journeys`): the kiosk reports what people did at
//! it — a journey started, a step reached, finished, abandoned at a step, rated (政务服务"好差评")
//! — with nothing personal: no name, no ID number, no code, no amount. The kiosk keeps each event
//! in its outbox until the platform has acknowledged it; an event's `id` makes a redelivery count
//! once. The platform aggregates them for the hall manager's dashboard.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

/// What the person came to do.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JourneyKind {
    /// 办理申请: an application submitted.
    Submission,
    /// 查询进度: a case looked up by its approval code.
    Lookup,
    /// 缴费: a fee paid.
    Payment,
}

impl JourneyKind {
    pub const ALL: [JourneyKind; 3] = [Self::Submission, Self::Lookup, Self::Payment];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submission => "submission",
            Self::Lookup => "lookup",
            Self::Payment => "payment",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The screens of a journey, as steps: where a journey is, and where it was given up.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JourneyStep {
    /// Reading the ID card.
    Identify,
    /// Choosing the item.
    Items,
    /// The materials list (容缺受理 / 告知承诺).
    Materials,
    /// Photographing the materials.
    Capture,
    /// The application form.
    Form,
    /// The applicant's own review.
    Review,
    /// The receipt with the approval code.
    Submitted,
    /// Entering or scanning an approval code.
    Lookup,
    /// A case's progress.
    Progress,
    /// Entering or scanning a payment code.
    PayEntry,
    /// The fee and the QR to pay with.
    Payment,
    /// Waiting for the payment to complete.
    Paying,
    /// Paid.
    Paid,
    /// The payment failed.
    PayFailed,
    /// The platform cannot be reached.
    Offline,
    /// The printer failed.
    PrinterError,
    /// The camera failed.
    CameraError,
    /// Asked to rate the service.
    Rating,
}

impl JourneyStep {
    pub const ALL: [JourneyStep; 18] = [
        Self::Identify,
        Self::Items,
        Self::Materials,
        Self::Capture,
        Self::Form,
        Self::Review,
        Self::Submitted,
        Self::Lookup,
        Self::Progress,
        Self::PayEntry,
        Self::Payment,
        Self::Paying,
        Self::Paid,
        Self::PayFailed,
        Self::Offline,
        Self::PrinterError,
        Self::CameraError,
        Self::Rating,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Identify => "identify",
            Self::Items => "items",
            Self::Materials => "materials",
            Self::Capture => "capture",
            Self::Form => "form",
            Self::Review => "review",
            Self::Submitted => "submitted",
            Self::Lookup => "lookup",
            Self::Progress => "progress",
            Self::PayEntry => "pay_entry",
            Self::Payment => "payment",
            Self::Paying => "paying",
            Self::Paid => "paid",
            Self::PayFailed => "pay_failed",
            Self::Offline => "offline",
            Self::PrinterError => "printer_error",
            Self::CameraError => "camera_error",
            Self::Rating => "rating",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What happened.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JourneyEventKind {
    /// The person chose what to do on the home screen.
    Started,
    /// A step of the journey was shown (`step`).
    Step,
    /// The journey did what the person came for (submitted, looked up, paid).
    Finished,
    /// The person gave up or walked away (`step`: where); a timeout asks no rating.
    Abandoned,
    /// The person rated the service (`rating`, and `reason` for the two lowest).
    Rated,
}

/// 政务服务"好差评": the five levels.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    /// 非常满意
    VerySatisfied,
    /// 满意
    Satisfied,
    /// 基本满意
    BasicallySatisfied,
    /// 不满意
    Dissatisfied,
    /// 非常不满意
    VeryDissatisfied,
}

impl Rating {
    pub const ALL: [Rating; 5] = [
        Self::VerySatisfied,
        Self::Satisfied,
        Self::BasicallySatisfied,
        Self::Dissatisfied,
        Self::VeryDissatisfied,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerySatisfied => "very_satisfied",
            Self::Satisfied => "satisfied",
            Self::BasicallySatisfied => "basically_satisfied",
            Self::Dissatisfied => "dissatisfied",
            Self::VeryDissatisfied => "very_dissatisfied",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// 5 (非常满意) to 1 (非常不满意).
    pub fn score(self) -> u8 {
        match self {
            Self::VerySatisfied => 5,
            Self::Satisfied => 4,
            Self::BasicallySatisfied => 3,
            Self::Dissatisfied => 2,
            Self::VeryDissatisfied => 1,
        }
    }

    /// 差评: the two lowest levels, which may carry a reason.
    pub fn is_poor(self) -> bool {
        self.score() <= 2
    }
}

/// Why a 差评 was given: a short list, chosen with one touch.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RatingReason {
    /// 操作太复杂
    HardToUse,
    /// 等待时间太长
    TooSlow,
    /// 设备故障
    DeviceFault,
    /// 指引看不懂
    UnclearGuidance,
    /// 没有办成
    NotDone,
}

impl RatingReason {
    pub const ALL: [RatingReason; 5] = [
        Self::HardToUse,
        Self::TooSlow,
        Self::DeviceFault,
        Self::UnclearGuidance,
        Self::NotDone,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::HardToUse => "hard_to_use",
            Self::TooSlow => "too_slow",
            Self::DeviceFault => "device_fault",
            Self::UnclearGuidance => "unclear_guidance",
            Self::NotDone => "not_done",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One thing that happened in a journey. Nothing personal: the journey is a random id the kiosk
/// makes when the person starts, unrelated to any case.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JourneyEvent {
    /// The event's own id (a UUID): an event delivered twice counts once.
    #[cfg_attr(
        feature = "openapi",
        schema(
            format = "uuid",
            pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
        )
    )]
    pub id: String,
    /// The journey's id (a UUID), the same on all its events.
    #[cfg_attr(
        feature = "openapi",
        schema(
            format = "uuid",
            pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
        )
    )]
    pub journey: String,
    pub kind: JourneyKind,
    pub event: JourneyEventKind,
    /// `step`: the step shown; `abandoned`: the step at which the person gave up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<JourneyStep>,
    /// `rated` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<Rating>,
    /// `rated` with one of the two lowest levels only, and never required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<RatingReason>,
    /// `abandoned`: the session ended by the inactivity timeout (nobody was asked anything).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
    /// When it happened, by the kiosk's clock.
    #[serde(with = "super::time::local")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: NaiveDateTime,
}

/// At most this many events in one report.
pub const JOURNEY_EVENTS_MAX: usize = 200;

/// `POST /api/v1/fleet/journeys`, with the kiosk's credential.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JourneyReport {
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 200))]
    pub events: Vec<JourneyEvent>,
}

/// The platform's answer: every event is kept (`accepted` new, `duplicates` known already).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JourneyReportAnswer {
    pub accepted: u32,
    pub duplicates: u32,
}

/// Why an event does not make sense (the platform refuses the whole report with 422).
pub fn check_event(e: &JourneyEvent) -> Result<(), String> {
    let uuid = |s: &str| {
        s.len() == 36
            && s.char_indices().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_hexdigit(),
            })
    };
    if !uuid(&e.id) || !uuid(&e.journey) {
        return Err("id and journey must be UUIDs".into());
    }
    let step = e.step.is_some();
    let rated = e.rating.is_some();
    match e.event {
        JourneyEventKind::Step | JourneyEventKind::Abandoned if !step => {
            return Err(format!("{:?} needs a step", e.event));
        }
        JourneyEventKind::Started | JourneyEventKind::Finished | JourneyEventKind::Rated
            if step =>
        {
            return Err(format!("{:?} takes no step", e.event));
        }
        JourneyEventKind::Rated if !rated => return Err("rated needs a rating".into()),
        JourneyEventKind::Started
        | JourneyEventKind::Step
        | JourneyEventKind::Finished
        | JourneyEventKind::Abandoned
            if rated || e.reason.is_some() =>
        {
            return Err(format!("{:?} takes no rating", e.event));
        }
        _ => {}
    }
    if let (Some(r), Some(_)) = (e.rating, e.reason)
        && !r.is_poor()
    {
        return Err("a reason goes with 不满意 or 非常不满意 only".into());
    }
    if e.timed_out && e.event != JourneyEventKind::Abandoned {
        return Err("timed_out goes with abandoned only".into());
    }
    Ok(())
}
