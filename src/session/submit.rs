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
use super::view::{FieldView, ItemTile, MaterialRow, Screen, StageGroup, ViewModel};
use super::{Ctx, Effect, Input, Receipt, Step, problem_lines};
use crate::client::ApiError;

/// The field the keypad types into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Focus {
    IdNumber,
    Phone,
    ProjectCode,
    CreditCode,
    ContactPhone,
    /// The applicant's name, on the pinyin keyboard (identify by typing).
    ApplicantName,
    /// The project name, on the pinyin keyboard (the registry does not know the code).
    ProjectName,
}

impl Focus {
    fn name(self) -> &'static str {
        match self {
            Focus::IdNumber => "id-number",
            Focus::Phone => "phone",
            Focus::ProjectCode => "project-code",
            Focus::CreditCode => "credit-code",
            Focus::ContactPhone => "contact-phone",
            Focus::ApplicantName => "applicant-name",
            Focus::ProjectName => "project-name",
        }
    }
}

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
    materials_error: String,
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
    receipt_state: &'static str,
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
            materials_error: String::new(),
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
            receipt_state: "none",
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
            Focus::ApplicantName | Focus::ProjectName => None,
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
        Some(Step::ScreenBusy(Screen::Items, "loading-items"))
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
                self.focus_named(&f, &[Focus::IdNumber, Focus::ApplicantName, Focus::Phone]);
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
                Some(Step::ScreenBusy(Screen::Items, "loading-items"))
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
                self.materials_error.clear();
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
                    self.materials_error.clear();
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
                    self.materials_error = "required-missing".into();
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
                Some(Step::Busy("capturing"))
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
                    self.materials_error = "no-pages".into();
                    return None;
                }
                self.materials_error.clear();
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
                self.focus_named(&f, &allowed);
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
                    return Some(Step::Busy("checking"));
                }
                if self.org.is_none() && !self.registry_offline {
                    self.focus = Focus::CreditCode;
                    fx.push(Effect::LookupOrganization(
                        self.credit_code.value().to_string(),
                    ));
                    return Some(Step::Busy("checking"));
                }
                self.problems.clear();
                Some(Step::Screen(Screen::Review))
            }

            // ---- review
            (Screen::Review, I::Back) => Some(Step::Screen(Screen::Form)),
            (Screen::Review, I::Submit) => {
                self.local_reference
                    .get_or_insert_with(crate::outbox::local_reference);
                let request = self.request(ctx, catalogue)?;
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
                Some(Step::Busy("submitting"))
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

    fn focus_named(&mut self, name: &str, allowed: &[Focus]) {
        if let Some(k) = allowed.iter().find(|k| k.name() == name) {
            self.focus = *k;
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

    fn request(&self, ctx: &Ctx, catalogue: &[Item]) -> Option<ApplicationRequest> {
        let item = self.item(catalogue)?;
        let (name, id_number, identified_by) = match &self.card {
            Some(c) => (c.name.clone(), c.id_number.clone(), "id_card"),
            None => (
                self.applicant_name.text().to_string(),
                self.id_number.value().to_string(),
                "typed",
            ),
        };
        Some(ApplicationRequest {
            item_id: item.id.clone(),
            applicant: Applicant {
                name,
                id_number,
                phone: self.contact_phone.value().to_string(),
            },
            organization: match &self.org {
                Some(o) => Some(Organization {
                    name: o.name.clone(),
                    credit_code: o.credit_code.clone(),
                }),
                // Offline: the platform fills the name in from its registry on delivery.
                None if self.credit_code.is_valid() => Some(Organization {
                    name: String::new(),
                    credit_code: self.credit_code.value().to_string(),
                }),
                None => None,
            },
            project: Project {
                code: codes::normalize_project_code(self.project_code.value()),
                name: self.project_name(),
            },
            materials: item
                .materials
                .iter()
                .filter_map(|m| {
                    let status = *self.choices.get(&m.id)?;
                    Some(MaterialSubmission {
                        material_id: m.id.clone(),
                        status,
                        pages: self.photos.get(&m.id).map_or(0, |p| p.len() as u32),
                    })
                })
                .collect(),
            identified_by: Some(identified_by.into()),
            kiosk_id: Some(ctx.kiosk_id.clone()),
            local_reference: self.local_reference.clone(),
            id_card: self.card.as_ref().map(|c| IdCardRead {
                name: c.name.clone(),
                id_number: c.id_number.clone(),
                valid_to: match &c.valid_to {
                    ValidTo::Date(d) => chrono::NaiveDate::parse_from_str(d, "%Y%m%d").ok(),
                    ValidTo::LongTerm => None,
                },
            }),
        })
    }

    fn print(&mut self, ctx: &Ctx, catalogue: &[Item], fx: &mut Vec<Effect>) -> Option<Step> {
        if self.created.is_none() && !self.offline {
            return None;
        }
        if !ctx.avail.printer {
            self.receipt_state = "failed";
            self.receipt_error = "unavailable".into();
            return Some(Step::Error(Screen::PrinterError));
        }
        let item = self.item(catalogue);
        let (name, id) = match &self.card {
            Some(c) => (mask_name(&c.name), mask_id_number(&c.id_number)),
            None => (
                mask_name(self.applicant_name.text()),
                mask_id_number(self.id_number.value()),
            ),
        };
        let (code, code_grouped) = match &self.created {
            Some(c) => {
                let code = hall_domain::ApprovalCode::parse(&c.approval_code).ok()?;
                (code.to_string(), code.grouped())
            }
            None => {
                let r = self.local_reference.clone()?;
                (r.clone(), codes::group_by_four(&r))
            }
        };
        let item_name = item.map(|i| i.name.clone()).unwrap_or_default();
        let today = ctx.local;
        let mut note = match self
            .created
            .as_ref()
            .and_then(|c| c.verification_code.as_ref())
        {
            Some(v) => format!("核验码 {v}。"),
            None => String::new(),
        };
        note.push_str(if self.offline {
            "临时受理回执：审批系统暂时连不上，申请已保存在本机，恢复后自动提交。凭此参考号在自助机或窗口查询。"
        } else if self.camera_skipped {
            "请将纸质材料交到窗口。凭审批码可在自助机查询进度。"
        } else {
            "凭审批码可在自助机或窗口查询办理进度。"
        });
        let materials = item
            .map(|i| {
                i.materials
                    .iter()
                    .filter_map(|m| {
                        let status = self.choices.get(&m.id)?;
                        let pages = self.photos.get(&m.id).map_or(0, |p| p.len());
                        let text = match status {
                            MaterialStatus::Provided if pages > 0 => format!("已拍照 {pages} 页"),
                            MaterialStatus::Provided => "纸质材料交窗口".to_string(),
                            MaterialStatus::Tolerated => "容缺后补".to_string(),
                            MaterialStatus::Committed => "告知承诺".to_string(),
                        };
                        Some((m.name.clone(), text))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let receipt = SubmissionReceipt {
            hall_name: ctx.hall_name.clone(),
            kiosk_id: ctx.kiosk_id.clone(),
            item_name: self
                .created
                .as_ref()
                .map_or(item_name, |c| c.item_name.clone()),
            approval_code_grouped: code_grouped,
            approval_code: code,
            applicant_masked: name,
            id_number_masked: id,
            project_name: self.project_name(),
            submitted_at: self.created.as_ref().map_or_else(
                || today.format("%Y-%m-%d %H:%M").to_string(),
                |c| c.submitted_at.format("%Y-%m-%d %H:%M").to_string(),
            ),
            due_date: self
                .created
                .as_ref()
                .map(|c| c.due_date.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            materials,
            pending: self
                .created
                .iter()
                .flat_map(|c| &c.pending_materials)
                .map(|p| (p.name.clone(), p.due_date.format("%Y-%m-%d").to_string()))
                .collect(),
            note,
        };
        self.receipt_state = "printing";
        fx.push(Effect::Print(Box::new(Receipt::Submission(receipt))));
        Some(Step::Busy("printing"))
    }

    pub(super) fn retry(&mut self, fx: &mut Vec<Effect>) -> Option<Step> {
        let effect = self.unsent.clone()?;
        let busy = match &effect {
            Effect::Submit { .. } => "submitting",
            Effect::LoadItems => "loading-items",
            _ => "checking",
        };
        fx.push(effect);
        Some(Step::Busy(busy))
    }

    pub(super) fn on_reply(
        &mut self,
        screen: Screen,
        input: Input,
        ctx: &Ctx,
        catalogue: &[Item],
        fx: &mut Vec<Effect>,
    ) -> Option<Step> {
        match input {
            Input::Items(Ok(_)) => {
                self.unsent = None;
                None
            }
            Input::Items(Err(e)) => {
                if e.is_unreachable() && ctx.offline_intake && !catalogue.is_empty() {
                    // The catalogue from the last answer is public and still good.
                    return None;
                }
                self.unsent = Some(Effect::LoadItems);
                offline_or(&e, None)
            }
            Input::Project(code, res) => {
                if code != self.project_code.value() {
                    return None; // the person typed on since
                }
                match res {
                    Ok(info) => {
                        if self.credit_code.value().is_empty()
                            && let Some(unit) = &info.construction_unit
                        {
                            self.credit_code.set(unit);
                            if self.credit_code.is_valid() {
                                fx.push(Effect::LookupOrganization(unit.clone()));
                            }
                        }
                        self.project = Some(info);
                        self.project_code.set_external(None);
                        None
                    }
                    Err(ApiError::NotFound) => {
                        self.project_code
                            .set_external(Some(Problem::new("unknown-project")));
                        self.project_unknown = true;
                        None
                    }
                    Err(e) if e.is_unreachable() && ctx.offline_intake => {
                        self.registry_offline = true;
                        None
                    }
                    Err(e) => {
                        self.unsent = Some(Effect::LookupProject(code));
                        offline_or(&e, None)
                    }
                }
            }
            Input::Organization(code, res) => {
                if code != self.credit_code.value() {
                    return None;
                }
                match res {
                    Ok(info) => {
                        self.org = Some(info);
                        None
                    }
                    Err(ApiError::NotFound) => {
                        self.credit_code
                            .set_external(Some(Problem::new("unknown-org")));
                        None
                    }
                    Err(e) if e.is_unreachable() && ctx.offline_intake => {
                        self.registry_offline = true;
                        None
                    }
                    Err(e) => {
                        self.unsent = Some(Effect::LookupOrganization(code));
                        offline_or(&e, None)
                    }
                }
            }
            Input::Submitted(Ok(created)) => {
                self.unsent = None;
                self.created = Some(created);
                let step = self.print(ctx, catalogue, fx);
                match step {
                    Some(Step::Error(s)) => Some(Step::ScreenThenError(Screen::Submitted, s)),
                    Some(Step::Busy(b)) => Some(Step::ScreenBusy(Screen::Submitted, b)),
                    other => other.or(Some(Step::Screen(Screen::Submitted))),
                }
            }
            Input::Submitted(Err(e)) => {
                if e.is_unreachable() {
                    if ctx.offline_intake {
                        // Kept for delivery, durably, before the person is told.
                        let key = self.idempotency_key.clone()?;
                        fx.push(Effect::AcceptOffline {
                            idempotency_key: key,
                        });
                        return Some(Step::Busy("submitting"));
                    }
                    // Nothing was confirmed; the same key is sent again on retry.
                    return Some(Step::Error(Screen::Offline));
                }
                self.unsent = None;
                self.problems = problem_lines(&e, ctx.lang);
                None
            }
            Input::OfflineStored(Ok(())) => {
                self.unsent = None;
                self.offline = true;
                let step = self.print(ctx, catalogue, fx);
                match step {
                    Some(Step::Error(s)) => Some(Step::ScreenThenError(Screen::Submitted, s)),
                    Some(Step::Busy(b)) => Some(Step::ScreenBusy(Screen::Submitted, b)),
                    other => other.or(Some(Step::Screen(Screen::Submitted))),
                }
            }
            Input::OfflineStored(Err(reason)) => {
                tracing::error!(%reason, "a submission could not be kept for later delivery");
                Some(Step::Error(Screen::Offline))
            }
            Input::Printed(res) => match res {
                Ok(()) => {
                    self.receipt_state = "printed";
                    self.receipt_error.clear();
                    None
                }
                Err(reason) => {
                    self.receipt_state = "failed";
                    self.receipt_error = reason;
                    (screen == Screen::Submitted).then_some(Step::Error(Screen::PrinterError))
                }
            },
            Input::Photo(Ok(still)) => {
                let list = self.to_photograph(catalogue);
                let (id, _, _) = list.get(self.capture_idx)?;
                self.photos.entry(id.clone()).or_default().push(still);
                self.materials_error.clear();
                None
            }
            Input::Photo(Err(reason)) => {
                tracing::warn!(%reason, "camera could not take a photo");
                Some(Step::Error(Screen::CameraError))
            }
            _ => None,
        }
    }

    pub(super) fn view(&self, vm: &mut ViewModel, ctx: &Ctx, catalogue: &[Item]) {
        vm.identify_typing = self.typing;
        vm.id_number = field_view(&self.id_number, self.focus == Focus::IdNumber);
        vm.applicant_name = self.applicant_name.view(self.focus == Focus::ApplicantName);
        if let Some(t) = match self.focus {
            Focus::ApplicantName => Some(&self.applicant_name),
            Focus::ProjectName => Some(&self.project_name),
            _ => None,
        } {
            vm.ime = t.ime();
        }
        vm.phone = field_view(&self.phone, self.focus == Focus::Phone);
        vm.card_name_masked = self
            .card
            .as_ref()
            .map(|c| mask_name(&c.name))
            .unwrap_or_default();
        vm.card_error = self.card_error.clone();

        let mut groups: BTreeMap<u8, Vec<ItemTile>> = BTreeMap::new();
        for i in catalogue {
            groups.entry(i.stage).or_default().push(ItemTile {
                id: i.id.clone(),
                name: ctx.pick(&i.name, &i.name_en).to_string(),
                department: ctx.pick(&i.department, &i.department_en).to_string(),
                time_limit_days: i.time_limit_days as i32,
                instant: i.instant,
            });
        }
        vm.stages = groups
            .into_iter()
            .filter(|(s, _)| Stage::try_from(*s).is_ok())
            .map(|(stage, items)| StageGroup {
                stage: i32::from(stage),
                items,
            })
            .collect();

        if let Some(item) = self.item(catalogue) {
            vm.item_name = ctx.pick(&item.name, &item.name_en).to_string();
            vm.item_department = ctx.pick(&item.department, &item.department_en).to_string();
            vm.item_time_limit = item.time_limit_days as i32;
            let today = ctx.local.date();
            let cal = hall_domain::Calendar::built_in();
            vm.materials = item
                .materials
                .iter()
                .map(|m| {
                    let choice = self.choices.get(&m.id);
                    MaterialRow {
                        id: m.id.clone(),
                        name: ctx.pick(&m.name, &m.name_en).to_string(),
                        required: m.required,
                        tolerable: m.tolerable,
                        tolerance_days: m.tolerance_days.unwrap_or(0) as i32,
                        commitment_allowed: m.commitment_allowed,
                        choice: match choice {
                            None => "none",
                            Some(MaterialStatus::Provided) => "provided",
                            Some(MaterialStatus::Tolerated) => "tolerated",
                            Some(MaterialStatus::Committed) => "committed",
                        }
                        .into(),
                        pages: self.photos.get(&m.id).map_or(0, |p| p.len() as i32),
                        deadline: match (choice, m.tolerance_days) {
                            (Some(MaterialStatus::Tolerated), Some(d)) => cal
                                .add_working_days(today, d)
                                .format("%Y-%m-%d")
                                .to_string(),
                            _ => String::new(),
                        },
                    }
                })
                .collect();
        }
        vm.materials_error = self.materials_error.clone();

        let list = self.to_photograph(catalogue);
        vm.capture_count = list.len() as i32;
        vm.capture_index = (self.capture_idx + 1).min(list.len()) as i32;
        if let Some((id, name, name_en)) = list.get(self.capture_idx) {
            vm.capture_material = ctx.pick(name, name_en).to_string();
            let pages = self.photos.get(id);
            vm.capture_pages = pages.map_or(0, |p| p.len() as i32);
            vm.capture_preview = pages.and_then(|p| p.last().cloned());
        }

        vm.project_code = field_view(&self.project_code, self.focus == Focus::ProjectCode);
        vm.project_name = self
            .project
            .as_ref()
            .map(|p| p.name.clone())
            .unwrap_or_default();
        vm.project_name_shown = self.project_name_shown();
        vm.project_name_typed = self.project_name.view(self.focus == Focus::ProjectName);
        vm.credit_code = field_view(&self.credit_code, self.focus == Focus::CreditCode);
        vm.org_name = self
            .org
            .as_ref()
            .map(|o| o.name.clone())
            .unwrap_or_default();
        vm.contact_phone = field_view(&self.contact_phone, self.focus == Focus::ContactPhone);
        vm.focus = self.focus.name().into();

        // The review screen shows the person's own data unmasked; nowhere else does.
        if vm.screen == Screen::Review {
            match &self.card {
                Some(c) => {
                    vm.review_name = c.name.clone();
                    vm.review_id_number = c.id_number.clone();
                }
                None => {
                    vm.review_name = self.applicant_name.text().to_string();
                    vm.review_id_number = self.id_number.value().to_string();
                }
            }
            // The typed project name when the registry gave none.
            if self.project.is_none() {
                vm.project_name = self.project_name();
            }
            vm.review_phone = self.contact_phone.display();
            if let Some(item) = self.item(catalogue) {
                vm.review_due = hall_domain::Calendar::built_in()
                    .add_working_days(ctx.local.date(), item.time_limit_days)
                    .format("%Y-%m-%d")
                    .to_string();
            }
        }
        vm.review_problems = self.problems.clone();

        if let Some(c) = &self.created {
            vm.approval_code = c.approval_code.clone();
            vm.approval_code_grouped = codes::group_by_four(&c.approval_code);
        } else if let (true, Some(r)) = (self.offline, &self.local_reference) {
            vm.approval_code = r.clone();
            vm.approval_code_grouped = codes::group_by_four(r);
        }
        vm.offline_accepted = self.offline;
        vm.receipt_state = self.receipt_state.into();
        vm.receipt_error = self.receipt_error.clone();
    }
}

fn offline_or(e: &ApiError, otherwise: Option<Step>) -> Option<Step> {
    if e.is_unreachable() {
        Some(Step::Error(Screen::Offline))
    } else {
        otherwise
    }
}

/// The view of a field.
pub(super) fn field_view(f: &Field, focused: bool) -> FieldView {
    let problem = f.problem();
    FieldView {
        value: f.value().to_string(),
        display: f.display(),
        error: problem
            .as_ref()
            .map(|p| p.key.to_string())
            .unwrap_or_default(),
        error_a: problem.as_ref().map_or(0, |p| p.a),
        error_b: problem.as_ref().map_or(0, |p| p.b),
        ok: f.is_valid(),
        focused,
        keypad: f.kind.keypad().into(),
        max_len: f.kind.max_len() as i32,
    }
}
