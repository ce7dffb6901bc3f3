//! The item catalogue that ships with the platform (`data/catalogue.toml`).

use hall_domain::api::{Item, Material};
use serde::Deserialize;
use std::collections::HashSet;

const BUILT_IN: &str = include_str!("../data/catalogue.toml");

/// A department that reviews an item. The first department of an item leads it; the others
/// review the same case in parallel.
#[derive(Debug, Clone, PartialEq)]
pub struct Department {
    pub name: String,
    pub name_en: String,
    /// Working days this department has for its node.
    pub time_limit_days: u32,
}

/// An item with every department that reviews it.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogueItem {
    pub item: Item,
    pub departments: Vec<Department>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("catalogue is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("catalogue item {item:?}: {problem}")]
    Invalid { item: String, problem: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    item: Vec<FileItem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileItem {
    id: String,
    name: String,
    name_en: String,
    stage: u8,
    time_limit_days: u32,
    #[serde(default)]
    instant: bool,
    #[serde(default)]
    fee_note: Option<String>,
    departments: Vec<FileDepartment>,
    materials: Vec<FileMaterial>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDepartment {
    name: String,
    name_en: String,
    #[serde(default)]
    time_limit_days: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMaterial {
    id: String,
    name: String,
    name_en: String,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    tolerable: bool,
    #[serde(default)]
    tolerance_days: Option<u32>,
    #[serde(default)]
    commitment_allowed: bool,
}

/// Parses a catalogue file and checks that it is consistent.
pub fn parse(text: &str) -> Result<Vec<CatalogueItem>, CatalogueError> {
    let file: File = toml::from_str(text)?;
    let mut ids = HashSet::new();
    let mut out = Vec::with_capacity(file.item.len());
    for it in file.item {
        let invalid = |problem: &str| CatalogueError::Invalid {
            item: it.id.clone(),
            problem: problem.to_string(),
        };
        if !ids.insert(it.id.clone()) {
            return Err(invalid("the id is used twice"));
        }
        if hall_domain::Stage::try_from(it.stage).is_err() {
            return Err(invalid("the stage is not 1-5"));
        }
        if it.departments.is_empty() {
            return Err(invalid("no department reviews it"));
        }
        let mut material_ids = HashSet::new();
        for m in &it.materials {
            if !material_ids.insert(m.id.as_str()) {
                return Err(invalid("a material id is used twice"));
            }
            if m.tolerable && m.tolerance_days.is_none() {
                return Err(invalid("a tolerable material has no tolerance_days"));
            }
        }
        let departments = it
            .departments
            .into_iter()
            .map(|d| Department {
                name: d.name,
                name_en: d.name_en,
                time_limit_days: d.time_limit_days.unwrap_or(it.time_limit_days),
            })
            .collect::<Vec<_>>();
        let Some(lead) = departments.first() else {
            return Err(invalid("no department reviews it"));
        };
        let item = Item {
            id: it.id,
            name: it.name,
            name_en: it.name_en,
            department: lead.name.clone(),
            department_en: lead.name_en.clone(),
            stage: it.stage,
            time_limit_days: it.time_limit_days,
            instant: it.instant,
            fee_note: it.fee_note,
            materials: it
                .materials
                .into_iter()
                .map(|m| Material {
                    id: m.id,
                    name: m.name,
                    name_en: m.name_en,
                    required: m.required,
                    tolerable: m.tolerable,
                    tolerance_days: m.tolerance_days,
                    commitment_allowed: m.commitment_allowed,
                })
                .collect(),
        };
        out.push(CatalogueItem { item, departments });
    }
    out.sort_by(|a, b| (a.item.stage, &a.item.id).cmp(&(b.item.stage, &b.item.id)));
    Ok(out)
}

/// The catalogue that ships with the platform.
pub fn built_in() -> Result<Vec<CatalogueItem>, CatalogueError> {
    parse(BUILT_IN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_catalogue_has_the_twelve_items() {
        let items = built_in().unwrap();
        assert_eq!(items.len(), 12);
        for c in &items {
            let n = c.item.materials.len();
            assert!((3..=5).contains(&n), "{} has {n} materials", c.item.id);
            assert!(c.item.materials.iter().any(|m| m.required));
            assert!(!c.item.name_en.is_empty() && !c.item.department_en.is_empty());
        }
        let instant: Vec<_> = items.iter().filter(|c| c.item.instant).collect();
        assert_eq!(instant.len(), 1);
        assert_eq!(instant[0].item.name, "企业投资项目备案");
        assert_eq!(instant[0].item.time_limit_days, 0);
        let parallel = items.iter().filter(|c| c.departments.len() > 1).count();
        assert!(parallel >= 2);
        assert!(
            items
                .iter()
                .any(|c| c.item.materials.iter().any(|m| m.tolerable))
        );
        assert!(
            items
                .iter()
                .any(|c| c.item.materials.iter().any(|m| m.commitment_allowed))
        );
        let fees = items.iter().filter(|c| c.item.fee_note.is_some()).count();
        assert_eq!(fees, 2);
        // ordered by stage, then id
        let keys: Vec<_> = items
            .iter()
            .map(|c| (c.item.stage, c.item.id.clone()))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn inconsistent_catalogues_are_refused() {
        let dup = r#"
            [[item]]
            id = "a"
            name = "甲"
            name_en = "A"
            stage = 1
            time_limit_days = 1
            departments = [{ name = "部门", name_en = "Dept" }]
            materials = [
              { id = "m", name = "材料", name_en = "M", required = true, tolerable = true },
            ]
        "#;
        assert!(matches!(parse(dup), Err(CatalogueError::Invalid { .. })));
        let bad_stage = dup
            .replace("stage = 1", "stage = 9")
            .replace("tolerable = true", "tolerable = false");
        assert!(matches!(
            parse(&bad_stage),
            Err(CatalogueError::Invalid { .. })
        ));
        assert!(matches!(parse("item = 3"), Err(CatalogueError::Toml(_))));
    }
}
