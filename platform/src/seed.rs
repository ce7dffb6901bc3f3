//! The demo registry, cases and fee notices (`data/demo.toml`), placed relative to "today".

use chrono::{NaiveDate, NaiveTime};
use hall_domain::api::{Applicant, FeeLine, Organization, OrganizationInfo, Project, ProjectInfo};
use hall_domain::{ApprovalCode, Blzt, Calendar};
use serde::Deserialize;

use crate::catalogue::CatalogueItem;
use crate::store::{DemoRecords, NewCase, NewNotice, NodeRecord};
use crate::workdays::{due_date, working_days_before};

const BUILT_IN: &str = include_str!("../data/demo.toml");

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("demo data is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("demo data: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoData {
    pub code_date: NaiveDate,
    pub applicant: Applicant,
    pub projects: Vec<ProjectInfo>,
    pub organizations: Vec<OrganizationInfo>,
    pub cases: Vec<DemoCase>,
    pub notices: Vec<DemoNotice>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoCase {
    pub serial: u32,
    pub item_id: String,
    pub status: u8,
    pub submitted_working_days_ago: u32,
    pub project_code: String,
    pub organization: Option<String>,
    pub nodes: Vec<DemoNode>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoNode {
    pub status: u8,
    pub started_working_days_ago: u32,
    #[serde(default)]
    pub finished_working_days_ago: Option<u32>,
    #[serde(default)]
    pub opinion: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoNotice {
    pub payment_code: String,
    pub agency: String,
    #[serde(default)]
    pub case_serial: Option<u32>,
    pub payer: String,
    pub payer_is_person: bool,
    pub lines: Vec<FeeLine>,
}

fn status(code: u8) -> Result<Blzt, SeedError> {
    Blzt::try_from(code).map_err(SeedError::Invalid)
}

impl DemoData {
    pub fn built_in() -> Result<Self, SeedError> {
        Ok(toml::from_str(BUILT_IN)?)
    }

    /// The approval code of a demo case.
    pub fn approval_code(&self, serial: u32) -> ApprovalCode {
        ApprovalCode::from_parts(self.code_date, serial)
    }

    /// The records to insert when "today" is `today`.
    pub fn build(
        &self,
        catalogue: &[CatalogueItem],
        cal: &Calendar,
        today: NaiveDate,
    ) -> Result<DemoRecords, SeedError> {
        let ago = |n: u32| working_days_before(cal, today, n);
        let mut cases = Vec::new();
        for c in &self.cases {
            let item = catalogue
                .iter()
                .find(|i| i.item.id == c.item_id)
                .ok_or_else(|| SeedError::Invalid(format!("no item {:?}", c.item_id)))?;
            if item.departments.len() != c.nodes.len() {
                return Err(SeedError::Invalid(format!(
                    "case {} has {} nodes for {} departments",
                    c.serial,
                    c.nodes.len(),
                    item.departments.len()
                )));
            }
            let project = self
                .projects
                .iter()
                .find(|p| p.code == c.project_code)
                .ok_or_else(|| SeedError::Invalid(format!("no project {:?}", c.project_code)))?;
            let organization = match &c.organization {
                None => None,
                Some(code) => {
                    let o = self
                        .organizations
                        .iter()
                        .find(|o| &o.credit_code == code)
                        .ok_or_else(|| SeedError::Invalid(format!("no organisation {code:?}")))?;
                    Some(Organization {
                        name: o.name.clone(),
                        credit_code: o.credit_code.clone(),
                    })
                }
            };
            let mut nodes = Vec::new();
            for (dept, n) in item.departments.iter().zip(&c.nodes) {
                let started = ago(n.started_working_days_ago);
                nodes.push(NodeRecord {
                    department: dept.name.clone(),
                    department_en: dept.name_en.clone(),
                    status: status(n.status)?,
                    started_at: Some(started),
                    due_date: Some(due_date(cal, started, dept.time_limit_days)),
                    time_limit_days: dept.time_limit_days,
                    finished_at: n.finished_working_days_ago.map(ago),
                    opinion: n.opinion.clone(),
                    corrections_asked_at: (n.status == Blzt::CorrectionsAsked.code())
                        .then_some(started),
                });
            }
            let submitted = ago(c.submitted_working_days_ago);
            let case_due = nodes
                .iter()
                .filter_map(|n| n.due_date)
                .max()
                .unwrap_or(submitted);
            cases.push(NewCase {
                approval_code: self.approval_code(c.serial).as_str().to_string(),
                item_id: c.item_id.clone(),
                status: status(c.status)?,
                submitted_at: submitted
                    .and_time(NaiveTime::from_hms_opt(9, 30, 0).unwrap_or(NaiveTime::MIN)),
                due_date: case_due,
                applicant: self.applicant.clone(),
                organization,
                project: Project {
                    code: project.code.clone(),
                    name: project.name.clone(),
                },
                identified_by: Some("id_card".to_string()),
                kiosk_id: Some("demo".to_string()),
                catalogue_version: 1,
                local_reference: None,
                nodes,
                materials: Vec::new(),
                applicant_id_index: None,
            });
        }
        let mut notices = Vec::new();
        for n in &self.notices {
            let approval_code = match n.case_serial {
                None => None,
                Some(serial) => {
                    if !self.cases.iter().any(|c| c.serial == serial) {
                        return Err(SeedError::Invalid(format!("no demo case {serial}")));
                    }
                    Some(self.approval_code(serial).as_str().to_string())
                }
            };
            notices.push(NewNotice {
                payment_code: n.payment_code.clone(),
                agency: n.agency.clone(),
                approval_code,
                payer: n.payer.clone(),
                payer_is_person: n.payer_is_person,
                lines: n.lines.clone(),
            });
        }
        Ok(DemoRecords {
            projects: self.projects.clone(),
            organizations: self.organizations.clone(),
            cases,
            notices,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue;
    use crate::workdays::overdue_days;
    use chrono::Days;

    fn late(cal: &Calendar, n: &NodeRecord, today: NaiveDate) -> u32 {
        overdue_days(cal, n.due_date.unwrap(), today)
    }

    #[test]
    fn demo_cases_keep_their_state_on_any_day() {
        let cat = catalogue::built_in().unwrap();
        let cal = Calendar::built_in();
        let data = DemoData::built_in().unwrap();
        let mut today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        while today.format("%Y").to_string() == "2026" {
            let rec = data.build(&cat, &cal, today).unwrap();
            let [a, b, c, d] = &rec.cases[..] else {
                panic!("four demo cases expected");
            };
            // (a) the lead node is late, quality supervision finished, the fire section on time
            assert_eq!(a.nodes.len(), 3);
            assert!(late(&cal, &a.nodes[0], today) >= 4, "{today}");
            assert!(a.nodes[1].status.is_final());
            assert_eq!(late(&cal, &a.nodes[2], today), 0, "{today}");
            assert!(a.nodes[2].due_date.unwrap() > today);
            // (b) approved, finished before today
            assert_eq!(b.status, Blzt::Approved);
            assert!(b.nodes[0].finished_at.unwrap() < today);
            // (c) corrections asked with an opinion
            assert_eq!(c.nodes[0].status, Blzt::CorrectionsAsked);
            assert!(c.nodes[0].opinion.is_some());
            // (d) still on time, waiting for the fee
            assert_eq!(late(&cal, &d.nodes[0], today), 0, "{today}");
            for case in &rec.cases {
                assert!(case.submitted_at.date() < today);
                for n in &case.nodes {
                    if let Some(f) = n.finished_at {
                        assert!(n.started_at.unwrap() <= f && f < today);
                    }
                }
            }
            today = today + Days::new(1);
        }
    }
}
