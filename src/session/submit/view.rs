//! What the submit journey shows.

use super::*;

impl Submit {
    pub(in crate::session) fn view(&self, vm: &mut ViewModel, ctx: &Ctx, catalogue: &[Item]) {
        vm.identify.identify_typing = self.typing;
        vm.identify.id_number = field_view(&self.id_number, self.focus == Focus::IdNumber);
        vm.identify.applicant_name = self.applicant_name.view(self.focus == Focus::ApplicantName);
        if let Some(t) = match self.focus {
            Focus::ApplicantName => Some(&self.applicant_name),
            Focus::ProjectName => Some(&self.project_name),
            _ => None,
        } {
            vm.entry.ime = t.ime();
        }
        vm.identify.phone = field_view(&self.phone, self.focus == Focus::Phone);
        vm.identify.card_name_masked = self
            .card
            .as_ref()
            .map(|c| mask_name(&c.name))
            .unwrap_or_default();
        vm.identify.card_error = self.card_error.clone();

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
        vm.apply.stages = groups
            .into_iter()
            .filter(|(s, _)| Stage::try_from(*s).is_ok())
            .map(|(stage, items)| StageGroup {
                stage: i32::from(stage),
                items,
            })
            .collect();

        if let Some(item) = self.item(catalogue) {
            vm.apply.item_name = ctx.pick(&item.name, &item.name_en).to_string();
            vm.apply.item_department = ctx.pick(&item.department, &item.department_en).to_string();
            vm.apply.item_time_limit = item.time_limit_days as i32;
            let today = ctx.local.date();
            let cal = hall_domain::Calendar::built_in();
            vm.apply.materials = item
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
                        choice: choice.copied(),
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
        vm.apply.materials_error = self.materials_error;

        let list = self.to_photograph(catalogue);
        vm.apply.capture_count = list.len() as i32;
        vm.apply.capture_index = (self.capture_idx + 1).min(list.len()) as i32;
        if let Some((id, name, name_en)) = list.get(self.capture_idx) {
            vm.apply.capture_material = ctx.pick(name, name_en).to_string();
            let pages = self.photos.get(id);
            vm.apply.capture_pages = pages.map_or(0, |p| p.len() as i32);
            vm.apply.capture_preview = pages.and_then(|p| p.last().cloned());
        }

        vm.apply.project_code = field_view(&self.project_code, self.focus == Focus::ProjectCode);
        vm.apply.project_name = self
            .project
            .as_ref()
            .map(|p| p.name.clone())
            .unwrap_or_default();
        vm.apply.project_name_shown = self.project_name_shown();
        vm.apply.project_name_typed = self.project_name.view(self.focus == Focus::ProjectName);
        vm.apply.credit_code = field_view(&self.credit_code, self.focus == Focus::CreditCode);
        vm.apply.org_name = self
            .org
            .as_ref()
            .map(|o| o.name.clone())
            .unwrap_or_default();
        vm.apply.contact_phone = field_view(&self.contact_phone, self.focus == Focus::ContactPhone);
        vm.entry.focus = self.focus;

        // The review screen shows the person's own data unmasked; nowhere else does.
        if vm.chrome.screen == Screen::Review {
            match &self.card {
                Some(c) => {
                    vm.submit.review_name = c.name.clone();
                    vm.submit.review_id_number = c.id_number.clone();
                }
                None => {
                    vm.submit.review_name = self.applicant_name.text().to_string();
                    vm.submit.review_id_number = self.id_number.value().to_string();
                }
            }
            // The typed project name when the registry gave none.
            if self.project.is_none() {
                vm.apply.project_name = self.project_name();
            }
            vm.submit.review_phone = self.contact_phone.display();
            if let Some(item) = self.item(catalogue) {
                vm.submit.review_due = hall_domain::Calendar::built_in()
                    .add_working_days(ctx.local.date(), item.time_limit_days)
                    .format("%Y-%m-%d")
                    .to_string();
            }
        }
        vm.submit.review_problems = self.problems.clone();

        if let Some(c) = &self.created {
            vm.submit.approval_code = c.approval_code.clone();
            vm.submit.approval_code_grouped = codes::group_by_four(&c.approval_code);
        } else if let (true, Some(r)) = (self.offline, &self.local_reference) {
            vm.submit.approval_code = r.clone();
            vm.submit.approval_code_grouped = codes::group_by_four(r);
        }
        vm.submit.offline_accepted = self.offline;
        vm.submit.receipt_state = self.receipt_state;
        vm.submit.receipt_error = self.receipt_error.clone();
    }
}

/// The view of a field.
pub(in crate::session) fn field_view(f: &Field, focused: bool) -> FieldView {
    let problem = f.problem();
    FieldView {
        value: f.value().to_string(),
        display: f.display(),
        error: problem.as_ref().map_or(FieldError::None, |p| p.error),
        error_a: problem.as_ref().map_or(0, |p| p.a),
        error_b: problem.as_ref().map_or(0, |p| p.b),
        ok: f.is_valid(),
        focused,
        keypad: f.kind.keypad(),
        max_len: f.kind.max_len() as i32,
    }
}
