//! The submit journey: identify → item → materials → photographs → project fields → review →
//! submit → approval code and receipt.

use std::collections::BTreeMap;
use std::sync::Arc;

use hall_domain::Stage;
use hall_domain::api::{
    Applicant, ApplicationCreated, ApplicationRequest, IdCardRead, Item, MaterialStatus,
    MaterialSubmission, Organization, OrganizationInfo, Project, ProjectInfo,
};
use hall_domain::codes::{self, mask_id_number, mask_name};
use kiosk_drivers::camera::Still;
use kiosk_drivers::idcard::{IdCard, ValidTo};
use kiosk_drivers::printer::receipt::SubmissionReceipt;

use super::field::{Field, FieldKind, Problem};
use super::text::TextField;
use super::view::{
    Busy, FieldError, FieldView, ItemTile, MaterialRow, MaterialsError, ReceiptState, Screen,
    StageGroup, ViewModel,
};
// The field the keypad types into: one of the identify screen's or the form's.
use super::view::Field as Focus;
use super::{Ctx, Effect, Input, Receipt, Step, problem_lines};
use crate::client::ApiError;

mod send;
mod view;

pub(super) use view::field_view;

/// The longest name the pinyin keyboard takes (the platform takes 50).
const NAME_CHARS: usize = 20;
/// The longest project name the pinyin keyboard takes (the platform takes 100).
const PROJECT_NAME_CHARS: usize = 60;

#[derive(Debug)]
pub(super) struct Submit {
    typing: bool,
    id_number: Field,
    phone: Field,
    /// The applicant's name when identified by typing.
    applicant_name: TextField,
    card: Option<IdCard>,
    pub(super) card_error: String,
    item_id: Option<String>,
    choices: BTreeMap<String, MaterialStatus>,
    photos: BTreeMap<String, Vec<Arc<Still>>>,
    capture_idx: usize,
    camera_skipped: bool,
    materials_error: MaterialsError,
    project_code: Field,
    project: Option<ProjectInfo>,
    /// The registry does not know the project code: the person may type the project's name.
    project_unknown: bool,
    project_name: TextField,
    credit_code: Field,
    org: Option<OrganizationInfo>,
    contact_phone: Field,
    focus: Focus,
    idempotency_key: Option<String>,
    local_reference: Option<String>,
    /// Taken while the platform was unreachable: in the outbox, to be delivered.
    offline: bool,
    /// The registries could not be asked (platform unreachable, offline intake allowed): the
    /// platform fills the names in when the submission is delivered.
    registry_offline: bool,
    problems: Vec<String>,
    created: Option<ApplicationCreated>,
    receipt_state: ReceiptState,
    receipt_error: String,
    /// The last request that could not reach the platform, to send again on retry.
    unsent: Option<Effect>,
}

impl Default for Submit {
    fn default() -> Self {
        Submit {
            typing: false,
            id_number: Field::new(FieldKind::IdNumber),
            phone: Field::new(FieldKind::Phone),
            applicant_name: TextField::for_names(NAME_CHARS),
            card: None,
            card_error: String::new(),
            item_id: None,
            choices: BTreeMap::new(),
            photos: BTreeMap::new(),
            capture_idx: 0,
            camera_skipped: false,
            materials_error: MaterialsError::None,
            project_code: Field::new(FieldKind::ProjectCode),
            project: None,
            project_unknown: false,
            project_name: TextField::new(PROJECT_NAME_CHARS),
            credit_code: Field::new(FieldKind::CreditCode),
            org: None,
            contact_phone: Field::new(FieldKind::Phone),
            focus: Focus::IdNumber,
            idempotency_key: None,
            local_reference: None,
            offline: false,
            registry_offline: false,
            problems: Vec::new(),
            created: None,
            receipt_state: ReceiptState::None,
            receipt_error: String::new(),
            unsent: None,
        }
    }
}

impl Submit {
    /// The idempotency key of the submission, once one was sent.
    pub fn key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }

    /// The key of a submission that was sent and never settled (no answer, or no answer that
    /// the person was shown).
    pub fn unsent_submission(&self) -> Option<&str> {
        match &self.unsent {
            Some(Effect::Submit {
                idempotency_key, ..
            }) => Some(idempotency_key),
            _ => None,
        }
    }

    fn item<'a>(&self, catalogue: &'a [Item]) -> Option<&'a Item> {
        let id = self.item_id.as_deref()?;
        catalogue.iter().find(|i| i.id == id)
    }

    fn field_mut(&mut self, focus: Focus) -> Option<&mut Field> {
        match focus {
            Focus::IdNumber => Some(&mut self.id_number),
            Focus::Phone => Some(&mut self.phone),
            Focus::ProjectCode => Some(&mut self.project_code),
            Focus::CreditCode => Some(&mut self.credit_code),
            Focus::ContactPhone => Some(&mut self.contact_phone),
            _ => None,
        }
    }

    fn text_mut(&mut self, focus: Focus) -> Option<&mut TextField> {
        match focus {
            Focus::ApplicantName => Some(&mut self.applicant_name),
            Focus::ProjectName => Some(&mut self.project_name),
            _ => None,
        }
    }

    /// The project's name: from the registry, else as typed when the registry does not know
    /// the code or could not be asked.
    fn project_name(&self) -> String {
        match &self.project {
            Some(p) => p.name.clone(),
            None if self.project_unknown || self.registry_offline => {
                self.project_name.text().to_string()
            }
            None => String::new(),
        }
    }

    /// Materials that were brought on paper and get photographed, in catalogue order.
    fn to_photograph(&self, catalogue: &[Item]) -> Vec<(String, String, String)> {
        let Some(item) = self.item(catalogue) else {
            return Vec::new();
        };
        item.materials
            .iter()
            .filter(|m| self.choices.get(&m.id) == Some(&MaterialStatus::Provided))
            .map(|m| (m.id.clone(), m.name.clone(), m.name_en.clone()))
            .collect()
    }

    pub(super) fn on_card(&mut self, card: IdCard, fx: &mut Vec<Effect>) -> Option<Step> {
        self.card_error.clear();
        if codes::validate_id_number(&card.id_number).is_err()
            && card.kind == kiosk_drivers::idcard::CardKind::Resident
        {
            self.card_error = "invalid".into();
            return None;
        }
        self.card = Some(card);
        self.typing = false;
        self.id_number.clear();
        self.applicant_name = TextField::for_names(NAME_CHARS);
        fx.push(Effect::LoadItems);
        Some(Step::ScreenBusy(Screen::Items, Busy::LoadingItems))
    }

    pub(super) fn on_intent(
        &mut self,
        screen: Screen,
        intent: super::Intent,
        ctx: &Ctx,
        catalogue: &[Item],
        fx: &mut Vec<Effect>,
    ) -> Option<Step> {
        use super::Intent as I;
        match (screen, intent) {
            // ---- identify
            (Screen::Identify, I::Back) => Some(Step::Home),
            (Screen::Identify, I::IdentifyTyping) => {
                self.typing = true;
                self.focus = Focus::IdNumber;
                None
            }
            (Screen::Identify, I::IdentifyCard) => {
                self.typing = false;
                None
            }
            (Screen::Identify, I::Focus(f)) => {
                self.focus_on(f, &[Focus::IdNumber, Focus::ApplicantName, Focus::Phone]);
                None
            }
            (
                Screen::Identify | Screen::Form,
                i @ (I::Key(_) | I::Backspace | I::Clear | I::Candidate(_) | I::CandidatePage(_)),
            ) => {
                let focus = self.focus;
                if let Some(t) = self.text_mut(focus) {
                    t.edit(&i);
                    return None;
                }
                let f = self.field_mut(focus)?;
                if !f.edit(&i) {
                    return None;
                }
                let valid = matches!(i, I::Key(_)) && f.is_valid();
                self.after_edit(focus, valid, fx);
                None
            }
            // 确定 on the pinyin keyboard: the word is done, the next field gets the keys.
            (Screen::Identify | Screen::Form, I::Done) => {
                let focus = self.focus;
                let t = self.text_mut(focus)?;
                if t.insist() {
                    self.focus = match focus {
                        Focus::ApplicantName => Focus::Phone,
                        _ => Focus::CreditCode,
                    };
                }
                None
            }
            (Screen::Identify, I::Next) if self.typing => {
                let id_ok = self.id_number.insist();
                let name_ok = self.applicant_name.insist();
                let phone_ok = self.phone.insist();
                if !id_ok {
                    self.focus = Focus::IdNumber;
                    return None;
                }
                if !name_ok {
                    self.focus = Focus::ApplicantName;
                    return None;
                }
                if !phone_ok {
                    self.focus = Focus::Phone;
                    return None;
                }
                self.contact_phone.set(self.phone.value());
                fx.push(Effect::LoadItems);
                Some(Step::ScreenBusy(Screen::Items, Busy::LoadingItems))
            }

            // ---- items
            (Screen::Items, I::Back) => {
                self.card = None;
                Some(Step::Screen(Screen::Identify))
            }
            (Screen::Items, I::PickItem(id)) => {
                let item = catalogue.iter().find(|i| i.id == id)?;
                if self.item_id.as_deref() != Some(id.as_str()) {
                    self.choices = item
                        .materials
                        .iter()
                        .filter(|m| m.required)
                        .map(|m| (m.id.clone(), MaterialStatus::Provided))
                        .collect();
                    self.photos.clear();
                    self.item_id = Some(id);
                }
                self.materials_error = MaterialsError::None;
                Some(Step::Screen(Screen::Materials))
            }

            // ---- materials
            (Screen::Materials, I::Back) => Some(Step::Screen(Screen::Items)),
            (Screen::Materials, I::Material(id, status)) => {
                let item = self.item(catalogue)?;
                let m = item.materials.iter().find(|m| m.id == id)?;
                let allowed = match status {
                    None => true,
                    Some(MaterialStatus::Provided) => true,
                    Some(MaterialStatus::Tolerated) => m.tolerable,
                    Some(MaterialStatus::Committed) => m.commitment_allowed,
                };
                if allowed {
                    match status {
                        Some(s) => self.choices.insert(id.clone(), s),
                        None => self.choices.remove(&id),
                    };
                    if status != Some(MaterialStatus::Provided) {
                        self.photos.remove(&id);
                    }
                    self.materials_error = MaterialsError::None;
                }
                None
            }
            (Screen::Materials, I::Next) => {
                let item = self.item(catalogue)?;
                if item
                    .materials
                    .iter()
                    .any(|m| m.required && !self.choices.contains_key(&m.id))
                {
                    self.materials_error = MaterialsError::RequiredMissing;
                    return None;
                }
                self.capture_idx = 0;
                if self.to_photograph(catalogue).is_empty() {
                    return Some(self.enter_form());
                }
                if !ctx.avail.camera {
                    return Some(Step::ScreenThenError(Screen::Capture, Screen::CameraError));
                }
                Some(Step::Screen(Screen::Capture))
            }

            // ---- capture
            (Screen::Capture, I::Back) => {
                if self.capture_idx == 0 {
                    Some(Step::Screen(Screen::Materials))
                } else {
                    self.capture_idx -= 1;
                    None
                }
            }
            (Screen::Capture, I::Shoot) => {
                if !ctx.avail.camera {
                    return Some(Step::Error(Screen::CameraError));
                }
                fx.push(Effect::CaptureStill);
                Some(Step::Busy(Busy::Capturing))
            }
            (Screen::Capture, I::Retake) => {
                let list = self.to_photograph(catalogue);
                let (id, _, _) = list.get(self.capture_idx)?;
                if let Some(pages) = self.photos.get_mut(id) {
                    pages.pop();
                }
                None
            }
            (Screen::Capture, I::NextMaterial | I::Next) => {
                let list = self.to_photograph(catalogue);
                let (id, _, _) = list.get(self.capture_idx)?;
                if self.photos.get(id).is_none_or(|p| p.is_empty()) {
                    self.materials_error = MaterialsError::NoPages;
                    return None;
                }
                self.materials_error = MaterialsError::None;
                if self.capture_idx + 1 < list.len() {
                    self.capture_idx += 1;
                    None
                } else {
                    Some(self.enter_form())
                }
            }
            (Screen::Capture, I::SkipCapture) => {
                self.camera_skipped = true;
                Some(self.enter_form())
            }

            // ---- form
            (Screen::Form, I::Back) => {
                if self.to_photograph(catalogue).is_empty() {
                    Some(Step::Screen(Screen::Materials))
                } else {
                    Some(Step::Screen(Screen::Capture))
                }
            }
            (Screen::Form, I::Focus(f)) => {
                let mut allowed = vec![Focus::ProjectCode, Focus::CreditCode, Focus::ContactPhone];
                if self.project_name_shown() {
                    allowed.push(Focus::ProjectName);
                }
                self.focus_on(f, &allowed);
                None
            }
            (Screen::Form, I::Next) => {
                if self.project_unknown {
                    // A code the registry does not know goes on with the project's name typed.
                    if !self.project_name.insist() {
                        self.focus = Focus::ProjectName;
                        return None;
                    }
                    self.project_code.set_external(None);
                } else if self.registry_offline && !self.project_name.is_empty() {
                    // Typed while the registry could not be asked: optional, but complete.
                    if !self.project_name.insist() {
                        self.focus = Focus::ProjectName;
                        return None;
                    }
                }
                let checks = [
                    (Focus::ProjectCode, self.project_code.insist()),
                    (Focus::CreditCode, self.credit_code.insist()),
                    (Focus::ContactPhone, self.contact_phone.insist()),
                ];
                if let Some((kind, _)) = checks.iter().find(|(_, ok)| !ok) {
                    self.focus = *kind;
                    return None;
                }
                if self.project.is_none() && !self.registry_offline && !self.project_unknown {
                    self.focus = Focus::ProjectCode;
                    fx.push(Effect::LookupProject(self.project_code.value().to_string()));
                    return Some(Step::Busy(Busy::Checking));
                }
                if self.org.is_none() && !self.registry_offline {
                    self.focus = Focus::CreditCode;
                    fx.push(Effect::LookupOrganization(
                        self.credit_code.value().to_string(),
                    ));
                    return Some(Step::Busy(Busy::Checking));
                }
                self.problems.clear();
                Some(Step::Screen(Screen::Review))
            }

            // ---- review
            (Screen::Review, I::Back) => Some(Step::Screen(Screen::Form)),
            (Screen::Review, I::Submit) => {
                self.local_reference
                    .get_or_insert_with(crate::outbox::local_reference);
                let request = self.request(catalogue)?;
                let key = self
                    .idempotency_key
                    .get_or_insert_with(|| uuid::Uuid::new_v4().to_string())
                    .clone();
                let local_reference = self
                    .local_reference
                    .get_or_insert_with(crate::outbox::local_reference)
                    .clone();
                let effect = Effect::Submit {
                    idempotency_key: key,
                    local_reference,
                    request: Box::new(request),
                };
                self.unsent = Some(effect.clone());
                fx.push(effect);
                Some(Step::Busy(Busy::Submitting))
            }

            // ---- submitted
            (Screen::Submitted, I::Reprint) => self.print(ctx, catalogue, fx),
            _ => None,
        }
    }

    /// Whether the form offers to type the project name.
    fn project_name_shown(&self) -> bool {
        self.project.is_none() && (self.project_unknown || self.registry_offline)
    }

    /// Moves the keypad to a field tapped, if it is one of the screen's.
    fn focus_on(&mut self, field: Focus, allowed: &[Focus]) {
        if allowed.contains(&field) {
            self.focus = field;
        }
    }

    /// After a key: a project or credit code that just became valid is looked up in its registry.
    fn after_edit(&mut self, focus: Focus, valid: bool, fx: &mut Vec<Effect>) {
        match focus {
            Focus::ProjectCode => {
                self.project = None;
                self.project_unknown = false;
                if valid {
                    fx.push(Effect::LookupProject(self.project_code.value().to_string()));
                }
            }
            Focus::CreditCode => {
                self.org = None;
                if valid {
                    fx.push(Effect::LookupOrganization(
                        self.credit_code.value().to_string(),
                    ));
                }
            }
            _ => {}
        }
    }

    fn enter_form(&mut self) -> Step {
        self.focus = if self.project_code.is_valid() {
            Focus::CreditCode
        } else {
            Focus::ProjectCode
        };
        Step::Screen(Screen::Form)
    }
}
