//! The session's closed sets of states as the enums of `ui/vm.slint`, and back for the enums
//! that the screens send. One match each, so that a state added on one side and not the other
//! does not build.

use hall_domain::api::{MaterialStatus, NoticeStatus as VNoticeStatus};

use super::{
    Busy, CaseCard, Field, FieldError, KeypadKind, Lang, LookupError, MaintNote, MaterialChoice,
    MaterialsError, MyCasesState, NoticeStatus, PayError, PayFailure, PayMethod, RatingLevel,
    RatingReason, ReceiptState, Screen, TakeReminder, Thanks, UpdatePhase,
};
use crate::session::view as v;
use hall_domain::api::{Rating as VRating, RatingReason as VRatingReason};

pub(super) fn screen(x: v::Screen) -> Screen {
    match x {
        v::Screen::Home => Screen::Home,
        v::Screen::Identify => Screen::Identify,
        v::Screen::Items => Screen::Items,
        v::Screen::Materials => Screen::Materials,
        v::Screen::Capture => Screen::Capture,
        v::Screen::Form => Screen::Form,
        v::Screen::Review => Screen::Review,
        v::Screen::Submitted => Screen::Submitted,
        v::Screen::Lookup => Screen::Lookup,
        v::Screen::Progress => Screen::Progress,
        v::Screen::PayEntry => Screen::PayEntry,
        v::Screen::Payment => Screen::Payment,
        v::Screen::Paying => Screen::Paying,
        v::Screen::Paid => Screen::Paid,
        v::Screen::PayFailed => Screen::PayFailed,
        v::Screen::Offline => Screen::Offline,
        v::Screen::PrinterError => Screen::PrinterError,
        v::Screen::CameraError => Screen::CameraError,
        v::Screen::Maintenance => Screen::Maintenance,
        v::Screen::Rating => Screen::Rating,
    }
}

pub(super) fn lang(x: v::Lang) -> Lang {
    match x {
        v::Lang::Zh => Lang::Zh,
        v::Lang::En => Lang::En,
    }
}

/// The language chosen on the home screen.
pub(super) fn chosen_lang(x: Lang) -> v::Lang {
    match x {
        Lang::Zh => v::Lang::Zh,
        Lang::En => v::Lang::En,
    }
}

pub(super) fn busy(x: v::Busy) -> Busy {
    match x {
        v::Busy::None => Busy::None,
        v::Busy::Submitting => Busy::Submitting,
        v::Busy::LookingUp => Busy::LookingUp,
        v::Busy::Printing => Busy::Printing,
        v::Busy::FindingNotice => Busy::FindingNotice,
        v::Busy::CreatingOrder => Busy::CreatingOrder,
        v::Busy::Capturing => Busy::Capturing,
        v::Busy::CheckingCard => Busy::CheckingCard,
        v::Busy::FindingCases => Busy::FindingCases,
        v::Busy::LoadingItems => Busy::LoadingItems,
        v::Busy::Checking => Busy::Checking,
    }
}

pub(super) fn take_reminder(x: v::TakeReminder) -> TakeReminder {
    match x {
        v::TakeReminder::None => TakeReminder::None,
        v::TakeReminder::Card => TakeReminder::Card,
        v::TakeReminder::Receipt => TakeReminder::Receipt,
        v::TakeReminder::CardReceipt => TakeReminder::CardReceipt,
        v::TakeReminder::Nothing => TakeReminder::Nothing,
    }
}

pub(super) fn thanks(x: v::Thanks) -> Thanks {
    match x {
        v::Thanks::None => Thanks::None,
        v::Thanks::Rated => Thanks::Rated,
        v::Thanks::Used => Thanks::Used,
    }
}

pub(super) fn rating_level(x: Option<VRating>) -> RatingLevel {
    match x {
        None => RatingLevel::None,
        Some(VRating::VerySatisfied) => RatingLevel::VerySatisfied,
        Some(VRating::Satisfied) => RatingLevel::Satisfied,
        Some(VRating::BasicallySatisfied) => RatingLevel::BasicallySatisfied,
        Some(VRating::Dissatisfied) => RatingLevel::Dissatisfied,
        Some(VRating::VeryDissatisfied) => RatingLevel::VeryDissatisfied,
    }
}

/// The level touched on the rating screen (none is not a level).
pub(super) fn rating(x: RatingLevel) -> Option<VRating> {
    match x {
        RatingLevel::None => None,
        RatingLevel::VerySatisfied => Some(VRating::VerySatisfied),
        RatingLevel::Satisfied => Some(VRating::Satisfied),
        RatingLevel::BasicallySatisfied => Some(VRating::BasicallySatisfied),
        RatingLevel::Dissatisfied => Some(VRating::Dissatisfied),
        RatingLevel::VeryDissatisfied => Some(VRating::VeryDissatisfied),
    }
}

pub(super) fn rating_reason(x: RatingReason) -> VRatingReason {
    match x {
        RatingReason::HardToUse => VRatingReason::HardToUse,
        RatingReason::TooSlow => VRatingReason::TooSlow,
        RatingReason::DeviceFault => VRatingReason::DeviceFault,
        RatingReason::UnclearGuidance => VRatingReason::UnclearGuidance,
        RatingReason::NotDone => VRatingReason::NotDone,
    }
}

pub(super) fn maint_note(x: v::MaintNote) -> MaintNote {
    match x {
        v::MaintNote::None => MaintNote::None,
        v::MaintNote::Printing => MaintNote::Printing,
        v::MaintNote::Printed => MaintNote::Printed,
        v::MaintNote::PrintFailed => MaintNote::PrintFailed,
        v::MaintNote::PaperReplaced => MaintNote::PaperReplaced,
        v::MaintNote::Capturing => MaintNote::Capturing,
        v::MaintNote::Photo => MaintNote::Photo,
        v::MaintNote::PhotoFailed => MaintNote::PhotoFailed,
    }
}

pub(super) fn update_phase(x: v::UpdatePhase) -> UpdatePhase {
    match x {
        v::UpdatePhase::Idle => UpdatePhase::Idle,
        v::UpdatePhase::Downloading => UpdatePhase::Downloading,
        v::UpdatePhase::Installing => UpdatePhase::Installing,
        v::UpdatePhase::Installed => UpdatePhase::Installed,
        v::UpdatePhase::Trying => UpdatePhase::Trying,
        v::UpdatePhase::Booted => UpdatePhase::Booted,
        v::UpdatePhase::RolledBack => UpdatePhase::RolledBack,
        v::UpdatePhase::Refused => UpdatePhase::Refused,
        v::UpdatePhase::Failed => UpdatePhase::Failed,
    }
}

pub(super) fn field(x: v::Field) -> Field {
    match x {
        v::Field::None => Field::None,
        v::Field::IdNumber => Field::IdNumber,
        v::Field::Phone => Field::Phone,
        v::Field::ProjectCode => Field::ProjectCode,
        v::Field::CreditCode => Field::CreditCode,
        v::Field::ContactPhone => Field::ContactPhone,
        v::Field::ApprovalCode => Field::ApprovalCode,
        v::Field::PayCode => Field::PayCode,
        v::Field::ApplicantName => Field::ApplicantName,
        v::Field::ProjectName => Field::ProjectName,
    }
}

/// A field tapped on a screen; none is not a field to type into.
pub(super) fn tapped_field(x: Field) -> Option<v::Field> {
    match x {
        Field::None => None,
        Field::IdNumber => Some(v::Field::IdNumber),
        Field::Phone => Some(v::Field::Phone),
        Field::ProjectCode => Some(v::Field::ProjectCode),
        Field::CreditCode => Some(v::Field::CreditCode),
        Field::ContactPhone => Some(v::Field::ContactPhone),
        Field::ApprovalCode => Some(v::Field::ApprovalCode),
        Field::PayCode => Some(v::Field::PayCode),
        Field::ApplicantName => Some(v::Field::ApplicantName),
        Field::ProjectName => Some(v::Field::ProjectName),
    }
}

pub(super) fn keypad_kind(x: v::KeypadKind) -> KeypadKind {
    match x {
        v::KeypadKind::Digits => KeypadKind::Digits,
        v::KeypadKind::DigitsX => KeypadKind::DigitsX,
        v::KeypadKind::Credit => KeypadKind::Credit,
        v::KeypadKind::Pinyin => KeypadKind::Pinyin,
    }
}

pub(super) fn field_error(x: v::FieldError) -> FieldError {
    match x {
        v::FieldError::None => FieldError::None,
        v::FieldError::Empty => FieldError::Empty,
        v::FieldError::Composing => FieldError::Composing,
        v::FieldError::Length => FieldError::Length,
        v::FieldError::Character => FieldError::Character,
        v::FieldError::Check => FieldError::Check,
        v::FieldError::Date => FieldError::Date,
        v::FieldError::Shape => FieldError::Shape,
        v::FieldError::UnknownProject => FieldError::UnknownProject,
        v::FieldError::UnknownOrg => FieldError::UnknownOrg,
    }
}

pub(super) fn material_choice(x: Option<MaterialStatus>) -> MaterialChoice {
    match x {
        None => MaterialChoice::None,
        Some(MaterialStatus::Provided) => MaterialChoice::Provided,
        Some(MaterialStatus::Tolerated) => MaterialChoice::Tolerated,
        Some(MaterialStatus::Committed) => MaterialChoice::Committed,
    }
}

/// What the person chose for a material on the materials screen.
pub(super) fn material_status(x: MaterialChoice) -> Option<MaterialStatus> {
    match x {
        MaterialChoice::None => None,
        MaterialChoice::Provided => Some(MaterialStatus::Provided),
        MaterialChoice::Tolerated => Some(MaterialStatus::Tolerated),
        MaterialChoice::Committed => Some(MaterialStatus::Committed),
    }
}

pub(super) fn materials_error(x: v::MaterialsError) -> MaterialsError {
    match x {
        v::MaterialsError::None => MaterialsError::None,
        v::MaterialsError::RequiredMissing => MaterialsError::RequiredMissing,
        v::MaterialsError::NoPages => MaterialsError::NoPages,
    }
}

pub(super) fn receipt_state(x: v::ReceiptState) -> ReceiptState {
    match x {
        v::ReceiptState::None => ReceiptState::None,
        v::ReceiptState::Printing => ReceiptState::Printing,
        v::ReceiptState::Printed => ReceiptState::Printed,
        v::ReceiptState::Failed => ReceiptState::Failed,
    }
}

pub(super) fn lookup_error(x: v::LookupError) -> LookupError {
    match x {
        v::LookupError::None => LookupError::None,
        v::LookupError::NotFound => LookupError::NotFound,
        v::LookupError::NotACode => LookupError::NotACode,
    }
}

pub(super) fn case_card(x: v::CaseCard) -> CaseCard {
    match x {
        v::CaseCard::None => CaseCard::None,
        v::CaseCard::Checking => CaseCard::Checking,
        v::CaseCard::Shown => CaseCard::Shown,
        v::CaseCard::NotApplicant => CaseCard::NotApplicant,
        v::CaseCard::Limited => CaseCard::Limited,
        v::CaseCard::Failed => CaseCard::Failed,
    }
}

pub(super) fn my_cases_state(x: v::MyCasesState) -> MyCasesState {
    match x {
        v::MyCasesState::None => MyCasesState::None,
        v::MyCasesState::Listed => MyCasesState::Listed,
        v::MyCasesState::Empty => MyCasesState::Empty,
        v::MyCasesState::Limited => MyCasesState::Limited,
        v::MyCasesState::Failed => MyCasesState::Failed,
    }
}

pub(super) fn notice_status(x: VNoticeStatus) -> NoticeStatus {
    match x {
        VNoticeStatus::Unpaid => NoticeStatus::Unpaid,
        VNoticeStatus::Paid => NoticeStatus::Paid,
        VNoticeStatus::Cancelled => NoticeStatus::Cancelled,
    }
}

pub(super) fn pay_error(x: v::PayError) -> PayError {
    match x {
        v::PayError::None => PayError::None,
        v::PayError::NotFound => PayError::NotFound,
        v::PayError::AlreadyPaid => PayError::AlreadyPaid,
        v::PayError::NoFee => PayError::NoFee,
        v::PayError::Cancelled => PayError::Cancelled,
        v::PayError::NotAWalletCode => PayError::NotAWalletCode,
    }
}

pub(super) fn pay_method(x: v::PayMethod) -> PayMethod {
    match x {
        v::PayMethod::None => PayMethod::None,
        v::PayMethod::Qr => PayMethod::Qr,
        v::PayMethod::Scan => PayMethod::Scan,
    }
}

pub(super) fn pay_failure(x: v::PayFailure) -> PayFailure {
    match x {
        v::PayFailure::None => PayFailure::None,
        v::PayFailure::Failed => PayFailure::Failed,
        v::PayFailure::Cancelled => PayFailure::Cancelled,
        v::PayFailure::Expired => PayFailure::Expired,
        v::PayFailure::Offline => PayFailure::Offline,
        v::PayFailure::AlreadyPaid => PayFailure::AlreadyPaid,
    }
}
