//! The lookup journey: an approval code (typed, scanned or shown as a QR) → the case's status and
//! timeline. Who applied, the project and the departments' opinions only after the person's ID
//! card, placed on the progress screen, matches the applicant (checked by the platform).

use hall_domain::api::{CaseDetails, CaseSummary, CaseView, NoticeStatus};
use hall_domain::codes;
use hall_domain::{Blzt, Stage};
use kiosk_drivers::idcard::IdCard;
use kiosk_drivers::printer::receipt::ProgressSlip;

use super::field::{Field, FieldKind};
use super::submit::field_view;
use super::view::{
    Busy, CaseCard, CaseRow, Field as Focus, LookupError, MyCasesState, NodeRow, NoticeRow, Screen,
    ViewModel,
};
use super::{Ctx, Effect, Input, Intent, Receipt, Step, extract_code};
use crate::client::ApiError;

#[derive(Debug)]
pub(super) struct Lookup {
    pub(super) code: Field,
    case: Option<CaseView>,
    error: LookupError,
    unsent: Option<Effect>,
    /// The ID card placed on the progress screen (wiped with the journey).
    card: Option<IdCard>,
    /// The case's details, once the card matched the applicant.
    details: Option<CaseDetails>,
    /// What came of the card.
    card_state: CaseCard,
    /// The cases listed for the card placed on the lookup screen.
    mine: Vec<CaseSummary>,
    /// What came of listing them.
    mine_state: MyCasesState,
}

impl Default for Lookup {
    fn default() -> Self {
        Lookup {
            code: Field::new(FieldKind::ApprovalCode),
            case: None,
            error: LookupError::None,
            unsent: None,
            card: None,
            details: None,
            card_state: CaseCard::None,
            mine: Vec::new(),
            mine_state: MyCasesState::None,
        }
    }
}

impl Lookup {
    fn look_up(&mut self, fx: &mut Vec<Effect>) -> Option<Step> {
        self.error = LookupError::None;
        if !self.code.insist() {
            return None;
        }
        let effect = Effect::LookupCase(self.code.value().to_string());
        self.unsent = Some(effect.clone());
        fx.push(effect);
        Some(Step::Busy(Busy::LookingUp))
    }

    pub(super) fn on_intent(
        &mut self,
        screen: Screen,
        intent: Intent,
        ctx: &Ctx,
        fx: &mut Vec<Effect>,
    ) -> Option<Step> {
        match (screen, intent) {
            // Back from the list of one's cases: to typing the code.
            (Screen::Lookup, Intent::Back) if self.mine_state != MyCasesState::None => {
                self.mine.clear();
                self.mine_state = MyCasesState::None;
                None
            }
            (Screen::Lookup, Intent::Back) => Some(Step::Home),
            (Screen::Lookup, Intent::OpenCase(code)) => {
                if !self.mine.iter().any(|c| c.approval_code == code) {
                    return None;
                }
                self.code.set(&code);
                self.look_up(fx)
            }
            (Screen::Lookup, i @ (Intent::Key(_) | Intent::Backspace | Intent::Clear)) => {
                self.code.edit(&i);
                self.error = LookupError::None;
                // The last digit of a code that checks out: look it up without another touch.
                if matches!(i, Intent::Key(_)) && self.code.is_valid() {
                    return self.look_up(fx);
                }
                None
            }
            (Screen::Lookup, Intent::Next) => self.look_up(fx),
            (Screen::Progress, Intent::Back) => {
                self.case = None;
                self.details = None;
                self.card_state = CaseCard::None;
                Some(Step::Screen(Screen::Lookup))
            }
            (Screen::Progress, Intent::PayNotice(code)) => {
                let case = self.case.as_ref()?;
                case.fee_notices
                    .iter()
                    .any(|n| n.payment_code == code && n.status == NoticeStatus::Unpaid)
                    .then_some(Step::PayFor(code))
            }
            (Screen::Progress, Intent::PrintSlip | Intent::Reprint) => self.print(ctx, fx),
            _ => None,
        }
    }

    fn print(&self, ctx: &Ctx, fx: &mut Vec<Effect>) -> Option<Step> {
        let case = self.case.as_ref()?;
        if !ctx.avail.printer {
            return Some(Step::Error(Screen::PrinterError));
        }
        let slip = ProgressSlip {
            approval_code_grouped: codes::group_by_four(&case.approval_code),
            item_name: case.item.clone(),
            stage_name: Stage::try_from(case.stage)
                .map(|s| s.zh().to_string())
                .unwrap_or_default(),
            status_text: case.status.zh().to_string(),
            nodes: case
                .nodes
                .iter()
                .map(|n| {
                    (
                        n.department.clone(),
                        n.status_code.zh().to_string(),
                        n.due_date
                            .map(|d| d.format("%Y-%m-%d").to_string())
                            .unwrap_or_default(),
                        n.overdue.then_some(n.overdue_days),
                    )
                })
                .collect(),
            printed_at: ctx.local.format("%Y-%m-%d %H:%M").to_string(),
        };
        fx.push(Effect::Print(Box::new(Receipt::Progress(slip))));
        Some(Step::Busy(Busy::Printing))
    }

    /// A card placed on the progress screen: the platform says whether it is the applicant's.
    pub(super) fn on_card(&mut self, card: IdCard, fx: &mut Vec<Effect>) -> Option<Step> {
        let case = self.case.as_ref()?;
        // Whatever was shown for an earlier card goes before this one is checked.
        self.details = None;
        let effect = Effect::CaseDetails {
            approval_code: case.approval_code.clone(),
            card: Box::new(card.clone()),
        };
        self.card = Some(card);
        self.card_state = CaseCard::Checking;
        fx.push(effect);
        Some(Step::Busy(Busy::CheckingCard))
    }

    /// A card placed on the lookup screen: its holder's own cases are listed.
    pub(super) fn list_for_card(&mut self, card: IdCard, fx: &mut Vec<Effect>) -> Option<Step> {
        self.mine.clear();
        self.mine_state = MyCasesState::None;
        self.error = LookupError::None;
        fx.push(Effect::CasesByCard {
            card: Box::new(card.clone()),
        });
        self.card = Some(card);
        Some(Step::Busy(Busy::FindingCases))
    }

    pub(super) fn on_code(&mut self, payload: &str, fx: &mut Vec<Effect>) -> Option<Step> {
        match extract_code(payload) {
            Some(code) => {
                self.code.set(&code);
                self.look_up(fx)
            }
            None => {
                self.error = LookupError::NotACode;
                None
            }
        }
    }

    pub(super) fn retry(&mut self, fx: &mut Vec<Effect>) -> Option<Step> {
        let effect = self.unsent.clone()?;
        fx.push(effect);
        Some(Step::Busy(Busy::LookingUp))
    }

    pub(super) fn on_reply(&mut self, input: Input, fx: &mut Vec<Effect>) -> Option<Step> {
        match input {
            Input::Case(Ok(case)) => {
                self.unsent = None;
                self.details = None;
                self.card_state = CaseCard::None;
                let code = case.approval_code.clone();
                self.case = Some(case);
                // The card already read in this session is checked for this case too.
                if let Some(card) = &self.card {
                    fx.push(Effect::CaseDetails {
                        approval_code: code,
                        card: Box::new(card.clone()),
                    });
                    self.card_state = CaseCard::Checking;
                    return Some(Step::ScreenBusy(Screen::Progress, Busy::CheckingCard));
                }
                Some(Step::Screen(Screen::Progress))
            }
            Input::MyCases(Ok(list)) => {
                self.mine_state = if list.is_empty() {
                    MyCasesState::Empty
                } else {
                    MyCasesState::Listed
                };
                self.mine = list;
                None
            }
            Input::MyCases(Err(e)) => {
                self.mine.clear();
                self.mine_state = match &e {
                    ApiError::Refused(p) if p.status == 429 => MyCasesState::Limited,
                    _ => MyCasesState::Failed,
                };
                tracing::warn!(error = %e, "the cases of a card could not be listed");
                None
            }
            Input::Details(Ok(details)) => {
                let same = self
                    .case
                    .as_ref()
                    .is_some_and(|c| c.approval_code == details.case.approval_code);
                if !same {
                    return None;
                }
                self.case = Some(details.case.clone());
                self.details = Some(details);
                self.card_state = CaseCard::Shown;
                None
            }
            Input::Details(Err(e)) => {
                self.details = None;
                self.card_state = match &e {
                    ApiError::Refused(p) if p.status == 403 || p.status == 422 => {
                        CaseCard::NotApplicant
                    }
                    ApiError::Refused(p) if p.status == 429 => CaseCard::Limited,
                    _ => CaseCard::Failed,
                };
                if self.card_state == CaseCard::Failed {
                    tracing::warn!(error = %e, "case details could not be fetched");
                }
                None
            }
            Input::Case(Err(ApiError::NotFound)) => {
                self.unsent = None;
                self.error = LookupError::NotFound;
                Some(Step::Screen(Screen::Lookup))
            }
            Input::Case(Err(e)) if e.is_unreachable() => Some(Step::Error(Screen::Offline)),
            Input::Case(Err(e)) => {
                self.unsent = None;
                tracing::warn!(error = %e, "case lookup refused");
                self.error = LookupError::NotFound;
                Some(Step::Screen(Screen::Lookup))
            }
            Input::Printed(Err(_)) => Some(Step::Error(Screen::PrinterError)),
            _ => None,
        }
    }

    pub(super) fn view(&self, vm: &mut ViewModel, ctx: &Ctx) {
        vm.lookup.lookup_code = field_view(&self.code, true);
        vm.entry.focus = Focus::ApprovalCode;
        vm.lookup.lookup_error = self.error;
        vm.lookup.my_cases_state = self.mine_state;
        vm.lookup.my_cases = self
            .mine
            .iter()
            .map(|c| CaseRow {
                approval_code: c.approval_code.clone(),
                code_grouped: codes::group_by_four(&c.approval_code),
                item: ctx.pick(&c.item, &c.item_en).to_string(),
                status_code: i32::from(c.status.code()),
                submitted: c.submitted_at.format("%Y-%m-%d").to_string(),
            })
            .collect();
        let Some(case) = &self.case else {
            return;
        };
        vm.lookup.case_code_grouped = codes::group_by_four(&case.approval_code);
        vm.lookup.case_item = ctx.pick(&case.item, &case.item_en).to_string();
        vm.lookup.case_stage = i32::from(case.stage);
        vm.lookup.case_status = i32::from(case.status.code());
        vm.lookup.case_submitted = case.submitted_at.format("%Y-%m-%d").to_string();
        vm.lookup.case_card = self.card_state;
        if let Some(d) = &self.details {
            vm.lookup.case_applicant = d.applicant.clone();
            vm.lookup.case_project = d.project_name.clone();
        }
        vm.lookup.nodes = case
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let mut row = node_row(n, ctx);
                if let Some(o) = self.details.as_ref().and_then(|d| d.opinion(i)) {
                    row.opinion = o.to_string();
                }
                row
            })
            .collect();
        vm.lookup.nodes_late = case.nodes.iter().filter(|n| n.overdue).count() as i32;
        vm.lookup.case_notices = case
            .fee_notices
            .iter()
            .map(|n| NoticeRow {
                payment_code: n.payment_code.clone(),
                total: hall_domain::money::yuan(n.total_fen),
                status: n.status,
            })
            .collect();
    }
}

fn date(d: Option<chrono::NaiveDate>) -> String {
    d.map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

fn node_row(n: &hall_domain::api::Node, ctx: &Ctx) -> NodeRow {
    NodeRow {
        department: ctx.pick(&n.department, &n.department_en).to_string(),
        status_code: i32::from(Blzt::code(n.status_code)),
        started: date(n.started_at),
        due: date(n.due_date),
        finished: date(n.finished_at),
        time_limit_days: n.time_limit_days as i32,
        overdue: n.overdue,
        overdue_days: n.overdue_days as i32,
        opinion: String::new(),
    }
}
