//! Seeding an empty database: the item catalogue, and the demo registry, cases and notices.

use chrono::NaiveDateTime;
use hall_domain::api::{OrganizationInfo, ProjectInfo};
use serde_json::json;

use super::audit;
use super::cases::{NewCase, insert_case};
use super::catalogue::{current_catalogue_version, insert_catalogue_version};
use super::handle::Store;
use super::handle::{meta, set_meta};
use super::payments::{NewNotice, insert_notice};
use crate::audit::Actor;
use crate::catalogue::{self, CatalogueItem};
use crate::error::StoreError;
use crate::params;

/// Demo data to seed into an empty database.
#[derive(Debug, Clone, Default)]
pub struct DemoRecords {
    pub projects: Vec<ProjectInfo>,
    pub organizations: Vec<OrganizationInfo>,
    pub cases: Vec<NewCase>,
    pub notices: Vec<NewNotice>,
}

/// What seeding did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeedReport {
    pub catalogue: bool,
    pub demo: bool,
}

impl Store {
    /// Seeds the catalogue (as version 1) into a database that has none, and the demo records
    /// into one that was never seeded with them and holds no case. Blocking.
    pub fn seed_blocking(
        &self,
        catalogue: &[CatalogueItem],
        demo: Option<&DemoRecords>,
        now: NaiveDateTime,
    ) -> Result<SeedReport, StoreError> {
        let (document, sha) = catalogue::canonical(catalogue)?;
        self.db.write(|c| {
            let mut report = SeedReport::default();
            let versions = c
                .query_one("SELECT count(*) FROM catalogue_versions", params![])?
                .i64(0)?;
            if versions == 0 {
                insert_catalogue_version(c, 1, catalogue, &document, &sha, "built-in", now)?;
                report.catalogue = true;
            }
            if let Some(demo) = demo {
                let cases = c.query_one("SELECT count(*) FROM cases", params![])?.i64(0)?;
                if cases == 0 && meta(c, "demo_seeded")?.is_none() {
                    let version = current_catalogue_version(c)?.unwrap_or(1);
                    for p in &demo.projects {
                        c.execute(
                            "INSERT INTO projects (code, name, construction_unit)
                             VALUES ($1, $2, $3)",
                            params![p.code, p.name, p.construction_unit],
                        )?;
                    }
                    for o in &demo.organizations {
                        c.execute(
                            "INSERT INTO organizations (credit_code, name) VALUES ($1, $2)",
                            params![o.credit_code, o.name],
                        )?;
                    }
                    let sealer = self.sealer()?;
                    for case in &demo.cases {
                        let mut case = case.clone();
                        case.catalogue_version = version;
                        case.applicant_id_index = Some(super::sealing::seal_applicant(
        sealer,
        &case.approval_code,
        &mut case.applicant,
    )?);
                        insert_case(c, &case, None)?;
                        let state = super::bound::case_state(c, &case.approval_code)?;
                        audit::append(
                            c,
                            now,
                            &Actor::System,
                            "case.seeded",
                            &case.approval_code,
                            json!({ "state": state }),
                        )?;
                    }
                    for n in &demo.notices {
                        insert_notice(c, sealer, n)?;
                        audit::append(
                            c,
                            now,
                            &Actor::System,
                            "notice.seeded",
                            &n.payment_code,
                            json!({ "state": "unpaid" }),
                        )?;
                    }
                    set_meta(c, "demo_seeded", "1")?;
                    audit::append(
                        c,
                        now,
                        &Actor::System,
                        "demo.seeded",
                        "demo",
                        json!({
                            "cases": demo.cases.iter().map(|c| &c.approval_code).collect::<Vec<_>>(),
                            "notices": demo.notices.iter().map(|n| &n.payment_code).collect::<Vec<_>>(),
                        }),
                    )?;
                    report.demo = true;
                }
            }
            Ok(report)
        })
    }
}
