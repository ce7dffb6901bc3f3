//! The versioned item catalogue and the project and organisation registries.

use std::sync::Arc;

use chrono::NaiveDateTime;
use hall_domain::api::{OrganizationInfo, ProjectInfo};
use serde_json::json;

use super::audit;
use super::handle::Store;
use super::handle::{meta, set_meta};
use crate::audit::Actor;
use crate::catalogue::{self, Catalogue, CatalogueItem};
use crate::db::Conn;
use crate::error::StoreError;
use crate::params;

/// A catalogue version as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueVersionInfo {
    pub version: i64,
    pub created_at: String,
    pub source: String,
    pub sha256: String,
    pub current: bool,
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    pub version: i64,
    /// The catalogue was the current one already: no version was added.
    pub unchanged: bool,
}

pub(super) fn current_catalogue_version(c: &mut dyn Conn) -> Result<Option<i64>, StoreError> {
    meta(c, "catalogue_version")?
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| StoreError::Corrupt(format!("catalogue version {v:?}")))
        })
        .transpose()
}

pub(super) fn insert_catalogue_version(
    c: &mut dyn Conn,
    version: i64,
    items: &[CatalogueItem],
    document: &str,
    sha: &str,
    source: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO catalogue_versions (version, created_at, source, sha256, document)
         VALUES ($1, $2, $3, $4, $5)",
        params![version, now, source, sha, document],
    )?;
    for ci in items {
        let it = &ci.item;
        c.execute(
            "INSERT INTO items (id, name, name_en, stage, time_limit_days, instant, fee_note)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, name_en = excluded.name_en,
               stage = excluded.stage, time_limit_days = excluded.time_limit_days,
               instant = excluded.instant, fee_note = excluded.fee_note",
            params![
                it.id,
                it.name,
                it.name_en,
                it.stage,
                it.time_limit_days,
                it.instant,
                it.fee_note
            ],
        )?;
    }
    set_meta(c, "catalogue_version", &version.to_string())?;
    audit::append(
        c,
        now,
        if source == "built-in" {
            &Actor::System
        } else {
            &Actor::Admin
        },
        "catalogue.imported",
        &format!("catalogue:{version}"),
        json!({ "version": version, "sha256": sha, "items": items.len(), "source": source }),
    )?;
    Ok(())
}

impl Store {
    // --- catalogue ------------------------------------------------------------------------------

    /// A catalogue version, from the cache or the database.
    pub(super) fn catalogue_version(
        &self,
        c: &mut dyn Conn,
        version: i64,
    ) -> Result<Arc<Catalogue>, StoreError> {
        if let Some(cat) = self
            .catalogues
            .lock()
            .map_err(|_| StoreError::Poisoned)?
            .get(&version)
        {
            return Ok(Arc::clone(cat));
        }
        let row = c
            .query_opt(
                "SELECT document FROM catalogue_versions WHERE version = $1",
                params![version],
            )?
            .ok_or_else(|| {
                StoreError::Corrupt(format!("catalogue version {version} is missing"))
            })?;
        let items = catalogue::parse(&row.text(0)?)?;
        let cat = Arc::new(Catalogue { version, items });
        self.catalogues
            .lock()
            .map_err(|_| StoreError::Poisoned)?
            .insert(version, Arc::clone(&cat));
        Ok(cat)
    }

    pub(super) fn current_catalogue(&self, c: &mut dyn Conn) -> Result<Arc<Catalogue>, StoreError> {
        let version = current_catalogue_version(c)?
            .ok_or_else(|| StoreError::Corrupt("the database has no catalogue".into()))?;
        self.catalogue_version(c, version)
    }

    /// The catalogue now in force.
    pub async fn catalogue(&self) -> Result<Arc<Catalogue>, StoreError> {
        self.read(|s, c| s.current_catalogue(c)).await
    }

    /// What a submission is checked against, in one round trip: the catalogue in force and the
    /// registered names of the project and organisation it names.
    pub async fn intake(
        &self,
        project_code: Option<String>,
        credit_code: Option<String>,
    ) -> Result<(Arc<Catalogue>, Option<String>, Option<String>), StoreError> {
        self.read(move |s, c| {
            let r = c.query_one(
                "SELECT (SELECT value FROM meta WHERE key = 'catalogue_version'),
                        (SELECT name FROM projects WHERE code = $1),
                        (SELECT name FROM organizations WHERE credit_code = $2)",
                params![project_code, credit_code],
            )?;
            let v = r
                .opt_text(0)?
                .ok_or_else(|| StoreError::Corrupt("the database has no catalogue".into()))?;
            let version = v
                .parse::<i64>()
                .map_err(|_| StoreError::Corrupt(format!("catalogue version {v:?}")))?;
            Ok((
                s.catalogue_version(c, version)?,
                r.opt_text(1)?,
                r.opt_text(2)?,
            ))
        })
        .await
    }

    /// The catalogue now in force, ordered by stage then id.
    pub async fn items(&self) -> Result<Vec<CatalogueItem>, StoreError> {
        Ok(self.catalogue().await?.items.clone())
    }

    /// Adds a catalogue version and makes it current, unless it is the current one already.
    /// Blocking.
    pub fn import_catalogue_blocking(
        &self,
        items: &[CatalogueItem],
        source: &str,
        now: NaiveDateTime,
    ) -> Result<Imported, StoreError> {
        let (document, sha) = catalogue::canonical(items)?;
        self.db.write(|c| {
            let current = current_catalogue_version(c)?;
            if let Some(v) = current {
                let same = c
                    .query_opt(
                        "SELECT sha256 FROM catalogue_versions WHERE version = $1",
                        params![v],
                    )?
                    .map(|r| r.text(0))
                    .transpose()?;
                if same.as_deref() == Some(sha.as_str()) {
                    return Ok(Imported {
                        version: v,
                        unchanged: true,
                    });
                }
            }
            let next = c
                .query_one(
                    "SELECT coalesce(max(version), 0) + 1 FROM catalogue_versions",
                    params![],
                )?
                .i64(0)?;
            insert_catalogue_version(c, next, items, &document, &sha, source, now)?;
            Ok(Imported {
                version: next,
                unchanged: false,
            })
        })
    }

    /// The canonical text of a catalogue version (the current one when `None`). Blocking.
    pub fn export_catalogue_blocking(
        &self,
        version: Option<i64>,
    ) -> Result<Option<(i64, String)>, StoreError> {
        self.db.read(|c| {
            let Some(v) = (match version {
                Some(v) => Some(v),
                None => current_catalogue_version(c)?,
            }) else {
                return Ok(None);
            };
            c.query_opt(
                "SELECT version, document FROM catalogue_versions WHERE version = $1",
                params![v],
            )?
            .map(|r| Ok((r.i64(0)?, r.text(1)?)))
            .transpose()
        })
    }

    /// Every catalogue version, oldest first. Blocking.
    pub fn catalogue_versions_blocking(&self) -> Result<Vec<CatalogueVersionInfo>, StoreError> {
        self.db.read(|c| {
            let current = current_catalogue_version(c)?;
            c.query(
                "SELECT version, created_at, source, sha256 FROM catalogue_versions ORDER BY version",
                params![],
            )?
            .iter()
            .map(|r| {
                let version = r.i64(0)?;
                Ok(CatalogueVersionInfo {
                    version,
                    created_at: r.text(1)?,
                    source: r.text(2)?,
                    sha256: r.text(3)?,
                    current: Some(version) == current,
                })
            })
            .collect()
        })
    }

    // --- registries ------------------------------------------------------------------------------

    /// A registered project by its dashed code.
    pub async fn project(&self, code: String) -> Result<Option<ProjectInfo>, StoreError> {
        self.read(move |_, c| {
            c.query_opt(
                "SELECT code, name, construction_unit FROM projects WHERE code = $1",
                params![code],
            )?
            .map(|r| {
                Ok(ProjectInfo {
                    code: r.text(0)?,
                    name: r.text(1)?,
                    construction_unit: r.opt_text(2)?,
                })
            })
            .transpose()
        })
        .await
    }

    pub async fn organization(
        &self,
        credit_code: String,
    ) -> Result<Option<OrganizationInfo>, StoreError> {
        self.read(move |_, c| {
            c.query_opt(
                "SELECT credit_code, name FROM organizations WHERE credit_code = $1",
                params![credit_code],
            )?
            .map(|r| {
                Ok(OrganizationInfo {
                    credit_code: r.text(0)?,
                    name: r.text(1)?,
                })
            })
            .transpose()
        })
        .await
    }
}
