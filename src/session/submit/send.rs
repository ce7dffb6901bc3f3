//! The submit journey's requests: the application sent, the receipt printed, and the
//! platform's and the printer's answers.

use super::*;

impl Submit {
    pub(super) fn request(&self, catalogue: &[Item]) -> Option<ApplicationRequest> {
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

    pub(super) fn print(
        &mut self,
        ctx: &Ctx,
        catalogue: &[Item],
        fx: &mut Vec<Effect>,
    ) -> Option<Step> {
        if self.created.is_none() && !self.offline {
            return None;
        }
        if !ctx.avail.printer {
            self.receipt_state = ReceiptState::Failed;
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
        self.receipt_state = ReceiptState::Printing;
        fx.push(Effect::Print(Box::new(Receipt::Submission(receipt))));
        Some(Step::Busy(Busy::Printing))
    }

    pub(in crate::session) fn retry(&mut self, fx: &mut Vec<Effect>) -> Option<Step> {
        let effect = self.unsent.clone()?;
        let busy = match &effect {
            Effect::Submit { .. } => Busy::Submitting,
            Effect::LoadItems => Busy::LoadingItems,
            _ => Busy::Checking,
        };
        fx.push(effect);
        Some(Step::Busy(busy))
    }

    pub(in crate::session) fn on_reply(
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
                            .set_external(Some(Problem::new(FieldError::UnknownProject)));
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
                            .set_external(Some(Problem::new(FieldError::UnknownOrg)));
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
                        return Some(Step::Busy(Busy::Submitting));
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
                    self.receipt_state = ReceiptState::Printed;
                    self.receipt_error.clear();
                    None
                }
                Err(reason) => {
                    self.receipt_state = ReceiptState::Failed;
                    self.receipt_error = reason;
                    (screen == Screen::Submitted).then_some(Step::Error(Screen::PrinterError))
                }
            },
            Input::Photo(Ok(still)) => {
                let list = self.to_photograph(catalogue);
                let (id, _, _) = list.get(self.capture_idx)?;
                self.photos.entry(id.clone()).or_default().push(still);
                self.materials_error = MaterialsError::None;
                None
            }
            Input::Photo(Err(reason)) => {
                tracing::warn!(%reason, "camera could not take a photo");
                Some(Step::Error(Screen::CameraError))
            }
            _ => None,
        }
    }
}

fn offline_or(e: &ApiError, otherwise: Option<Step>) -> Option<Step> {
    if e.is_unreachable() {
        Some(Step::Error(Screen::Offline))
    } else {
        otherwise
    }
}
