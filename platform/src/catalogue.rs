//! The item catalogue: the file format (`data/catalogue.toml` ships with the platform), its checks,
//! and the canonical form in which a catalogue version is stored and exported.

use hall_domain::api::{Item, Material};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
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
    #[error("the catalogue cannot be written as TOML: {0}")]
    Write(#[from] toml::ser::Error),
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct File {
    item: Vec<FileItem>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct FileItem {
    id: String,
    name: String,
    name_en: String,
    stage: u8,
    time_limit_days: u32,
    #[serde(default, skip_serializing_if = "is_false")]
    instant: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fee_note: Option<String>,
    departments: Vec<FileDepartment>,
    materials: Vec<FileMaterial>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct FileDepartment {
    name: String,
    name_en: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time_limit_days: Option<u32>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct FileMaterial {
    id: String,
    name: String,
    name_en: String,
    #[serde(default, skip_serializing_if = "is_false")]
    required: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    tolerable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tolerance_days: Option<u32>,
    #[serde(default, skip_serializing_if = "is_false")]
    commitment_allowed: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Longest id (items, materials) and name a catalogue may use.
const MAX_ID: usize = 64;
const MAX_NAME: usize = 200;
/// Longest time limit, in working days (about two years).
const MAX_DAYS: u32 = 500;

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
        let id_ok = |id: &str| {
            !id.is_empty()
                && id.len() <= MAX_ID
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !id_ok(&it.id) {
            return Err(invalid("ids are 1-64 letters, digits, '-' or '_'"));
        }
        let names_ok = |a: &str, b: &str| {
            !a.trim().is_empty()
                && a.chars().count() <= MAX_NAME
                && b.chars().count() <= MAX_NAME
                && !a.chars().chain(b.chars()).any(char::is_control)
        };
        if !names_ok(&it.name, &it.name_en) {
            return Err(invalid(
                "a name is empty, too long or has control characters",
            ));
        }
        if it.time_limit_days > MAX_DAYS
            || it
                .departments
                .iter()
                .any(|d| d.time_limit_days.is_some_and(|n| n > MAX_DAYS))
            || it
                .materials
                .iter()
                .any(|m| m.tolerance_days.is_some_and(|n| n > MAX_DAYS))
        {
            return Err(invalid("a time limit is longer than 500 working days"));
        }
        if it
            .departments
            .iter()
            .any(|d| !names_ok(&d.name, &d.name_en))
            || it
                .materials
                .iter()
                .any(|m| !names_ok(&m.name, &m.name_en) || !id_ok(&m.id))
        {
            return Err(invalid("a department or material has a bad id or name"));
        }
        if it
            .departments
            .iter()
            .enumerate()
            .any(|(i, d)| it.departments[..i].iter().any(|e| e.name == d.name))
        {
            return Err(invalid("a department is named twice"));
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

/// The canonical text of a catalogue: the file format, every field explicit, items by stage then
/// id. Parsing it gives the same catalogue back.
pub fn to_toml(items: &[CatalogueItem]) -> Result<String, CatalogueError> {
    let file = File {
        item: items
            .iter()
            .map(|c| FileItem {
                id: c.item.id.clone(),
                name: c.item.name.clone(),
                name_en: c.item.name_en.clone(),
                stage: c.item.stage,
                time_limit_days: c.item.time_limit_days,
                instant: c.item.instant,
                fee_note: c.item.fee_note.clone(),
                departments: c
                    .departments
                    .iter()
                    .map(|d| FileDepartment {
                        name: d.name.clone(),
                        name_en: d.name_en.clone(),
                        time_limit_days: Some(d.time_limit_days),
                    })
                    .collect(),
                materials: c
                    .item
                    .materials
                    .iter()
                    .map(|m| FileMaterial {
                        id: m.id.clone(),
                        name: m.name.clone(),
                        name_en: m.name_en.clone(),
                        required: m.required,
                        tolerable: m.tolerable,
                        tolerance_days: m.tolerance_days,
                        commitment_allowed: m.commitment_allowed,
                    })
                    .collect(),
            })
            .collect(),
    };
    let body = toml::to_string(&file)?;
    Ok(format!(
        "# Item catalogue of the hall (hall-platform catalogue export). Time limits are working\n\
         # days; the first department of an item leads it, the others review in parallel.\n\n{body}"
    ))
}

/// A catalogue as stored: its canonical text and that text's SHA-256.
pub fn canonical(items: &[CatalogueItem]) -> Result<(String, String), CatalogueError> {
    let text = to_toml(items)?;
    let hash = Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((text, hash))
}

/// One version of the catalogue, as cases refer to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalogue {
    pub version: i64,
    pub items: Vec<CatalogueItem>,
}

impl Catalogue {
    pub fn item(&self, id: &str) -> Option<&CatalogueItem> {
        self.items.iter().find(|c| c.item.id == id)
    }
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
        let bad_id = dup
            .replace("id = \"a\"", "id = \"a b\"")
            .replace("tolerable = true", "tolerable = false");
        assert!(matches!(
            parse(&bad_id),
            Err(CatalogueError::Invalid { .. })
        ));
    }

    #[test]
    fn canonical_text_parses_back_to_the_same_catalogue() {
        let items = built_in().unwrap();
        let (text, hash) = canonical(&items).unwrap();
        assert_eq!(parse(&text).unwrap(), items);
        assert_eq!(hash.len(), 64);
        // Canonical: the same catalogue always gives the same text.
        assert_eq!(canonical(&parse(&text).unwrap()).unwrap().0, text);
    }
}
