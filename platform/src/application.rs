//! Applications: the rules a submission must pass, and the case it becomes.

use std::collections::HashSet;

use chrono::{NaiveDate, NaiveDateTime};
use hall_domain::api::{
    Applicant, ApplicationCreated, ApplicationRequest, FieldError, MaterialStatus, Organization,
    PendingMaterial, Project,
};
use hall_domain::codes::{
    normalize_project_code, validate_credit_code, validate_id_number, validate_phone,
    validate_project_code,
};
use hall_domain::{ApprovalCode, Blzt, Calendar};

use crate::catalogue::CatalogueItem;
use crate::problem::{CREDIT_CODE, ID_NUMBER, PHONE, PROJECT_CODE, code_error, field_error};
use crate::store::{CaseMaterial, NewCase, NodeRecord};
use crate::workdays::due_date;

pub const MAX_NAME_CHARS: usize = 50;
pub const MAX_ORG_NAME_CHARS: usize = 100;
pub const MAX_PROJECT_NAME_CHARS: usize = 100;
pub const MAX_ID_CHARS: usize = 64;
pub const MAX_MATERIALS: usize = 50;
pub const MAX_PAGES: u32 = 999;
/// Working days to supply a tolerated material when the catalogue names none.
pub const DEFAULT_TOLERANCE_DAYS: u32 = 10;
const INSTANT_OPINION: &str = "符合秒批规则，系统自动审核通过。";

/// Longest local reference a kiosk may give (`K01-20261123-0007`).
pub const MAX_REFERENCE_CHARS: usize = 64;

/// Fields of an application beyond [`ApplicationRequest`], read from the same body.
#[derive(
    Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct Extras {
    /// The kiosk's own reference for a submission it took while the platform was unreachable;
    /// the case can be looked up by it (`GET /api/v1/cases/by-reference/{ref}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = r"^[A-Za-z0-9_-]{0,64}$")]
    pub local_reference: Option<String>,
    /// What the ID card reader read, when the applicant identified with the card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_card: Option<IdCardRead>,
}

/// The fields of an ID card that the form must agree with.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct IdCardRead {
    #[schema(max_length = 50, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub name: String,
    #[schema(format = "id-number", pattern = r"^[0-9]{17}[0-9Xx]$")]
    pub id_number: String,
    /// `YYYY-MM-DD`, or absent for a card valid for life (长期).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<NaiveDate>,
}

/// Registry entries the submission refers to, looked up before validation.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    pub project_name: Option<String>,
    pub organization_name: Option<String>,
}

/// A submission that passed every rule, with its codes in canonical form.
#[derive(Debug, Clone)]
pub struct Valid {
    pub item: CatalogueItem,
    pub applicant: Applicant,
    pub organization: Option<Organization>,
    pub project: Project,
    /// Each material with, when tolerated, the working days allowed to supply it.
    pub materials: Vec<(CaseMaterial, Option<u32>)>,
    pub identified_by: Option<String>,
    pub kiosk_id: Option<String>,
    pub catalogue_version: i64,
    pub local_reference: Option<String>,
}

/// The canonical form of the codes a request carries, for registry look-ups before validation.
pub fn project_code_of(req: &ApplicationRequest) -> Option<String> {
    let code = req.project.code.trim();
    validate_project_code(code)
        .ok()
        .map(|()| normalize_project_code(code))
}

pub fn credit_code_of(req: &ApplicationRequest) -> Option<String> {
    let o = req.organization.as_ref()?;
    let code = o.credit_code.trim().to_ascii_uppercase();
    validate_credit_code(&code).ok().map(|()| code)
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// Checks a free-text field: bounded length, no control characters. Returns the trimmed text.
fn text(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: &str,
    max: usize,
    label_zh: &str,
    label_en: &str,
) -> String {
    let v = value.trim();
    let n = v.chars().count();
    if n > max {
        errors.push(field_error(
            field,
            "length",
            &format!("{label_zh}不能超过{max}个字，现在是{n}个字"),
            &format!("The {label_en} may have at most {max} characters; it has {n}"),
        ));
    } else if has_control(v) {
        errors.push(field_error(
            field,
            "character",
            &format!("{label_zh}含有不能显示的字符"),
            &format!("The {label_en} contains characters that cannot be shown"),
        ));
    }
    v.to_string()
}

/// Checks a submission against the catalogue item of catalogue version `catalogue_version`
/// (None when the item id is unknown).
pub fn validate(
    req: &ApplicationRequest,
    extras: &Extras,
    item: Option<&CatalogueItem>,
    catalogue_version: i64,
    registry: &Registry,
    today: NaiveDate,
) -> Result<Valid, Vec<FieldError>> {
    let mut errors = Vec::new();

    if item.is_none() {
        errors.push(field_error(
            "item_id",
            "unknown",
            "没有这个办理事项，请重新选择",
            "There is no such item; please choose again",
        ));
    }

    // How the applicant identified.
    let identified_by = match req.identified_by.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(v @ ("id_card" | "typed")) => Some(v.to_string()),
        Some(_) => {
            errors.push(field_error(
                "identified_by",
                "value",
                "身份核验方式只能是读卡（id_card）或手工输入（typed）",
                "identified_by must be id_card or typed",
            ));
            None
        }
    };

    // Applicant.
    let name = text(
        &mut errors,
        "applicant.name",
        &req.applicant.name,
        MAX_NAME_CHARS,
        "姓名",
        "name",
    );
    if name.is_empty() && identified_by.as_deref() == Some("id_card") {
        errors.push(field_error(
            "applicant.name",
            "missing",
            "读取身份证后姓名不能为空，请重新读卡",
            "The name is empty although the ID card was read; please read the card again",
        ));
    }
    let id_number = req.applicant.id_number.trim().to_ascii_uppercase();
    if let Err(e) = validate_id_number(&id_number) {
        errors.push(code_error("applicant.id_number", ID_NUMBER, &e));
    }
    let phone = req.applicant.phone.trim().to_string();
    if let Err(e) = validate_phone(&phone) {
        errors.push(code_error("applicant.phone", PHONE, &e));
    }

    // Organisation.
    let organization = req.organization.as_ref().map(|o| {
        let credit_code = o.credit_code.trim().to_ascii_uppercase();
        let code_ok = match validate_credit_code(&credit_code) {
            Ok(()) => true,
            Err(e) => {
                errors.push(code_error("organization.credit_code", CREDIT_CODE, &e));
                false
            }
        };
        let mut name = text(
            &mut errors,
            "organization.name",
            &o.name,
            MAX_ORG_NAME_CHARS,
            "单位名称",
            "organisation name",
        );
        // An empty name is filled from the registry; with a wrong code only the code is reported.
        if name.is_empty() && code_ok {
            match &registry.organization_name {
                Some(n) => name = n.clone(),
                None => errors.push(field_error(
                    "organization.name",
                    "missing",
                    "请填写单位名称",
                    "Please enter the organisation name",
                )),
            }
        }
        Organization { name, credit_code }
    });

    // Project.
    let raw_code = req.project.code.trim();
    let mut project_code_ok = true;
    let project_code = match validate_project_code(raw_code) {
        Ok(()) => normalize_project_code(raw_code),
        Err(e) => {
            project_code_ok = false;
            let mut fe = code_error("project.code", PROJECT_CODE, &e);
            fe.message.push_str("（格式如 2026-420600-47-01-000123）");
            fe.message_en
                .push_str(" (it looks like 2026-420600-47-01-000123)");
            errors.push(fe);
            raw_code.to_string()
        }
    };
    let mut project_name = text(
        &mut errors,
        "project.name",
        &req.project.name,
        MAX_PROJECT_NAME_CHARS,
        "项目名称",
        "project name",
    );
    if project_name.is_empty() && project_code_ok {
        match &registry.project_name {
            Some(n) => project_name = n.clone(),
            None => errors.push(field_error(
                "project.name",
                "missing",
                "请填写项目名称",
                "Please enter the project name",
            )),
        }
    }

    // The kiosk is the one whose credential sent the request (set by the caller), never a
    // body field.
    let kiosk_id = None;

    // The ID card, when it was read: the form must name the person on the card.
    if let (Some("id_card"), Some(card)) = (identified_by.as_deref(), &extras.id_card) {
        let card_name: String = card.name.split_whitespace().collect();
        let form_name: String = name.split_whitespace().collect();
        if card_name != form_name {
            errors.push(field_error(
                "applicant.name",
                "id_card_mismatch",
                "申请人姓名与所读身份证不一致，请重新读卡或核对姓名",
                "The applicant's name differs from the ID card that was read; read the card again or check the name",
            ));
        }
        if card.id_number.trim().to_ascii_uppercase() != id_number {
            errors.push(field_error(
                "applicant.id_number",
                "id_card_mismatch",
                "身份证号码与所读身份证不一致，请重新读卡",
                "The ID number differs from the ID card that was read; please read the card again",
            ));
        }
        if card.valid_to.is_some_and(|d| d < today) {
            errors.push(field_error(
                "id_card.valid_to",
                "expired",
                "该身份证已过有效期，请使用有效证件",
                "This ID card has expired; please use a valid one",
            ));
        }
    }

    // The kiosk's local reference.
    let local_reference = match extras.local_reference.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(r)
            if r.chars().count() <= MAX_REFERENCE_CHARS
                && r.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Some(r.to_string())
        }
        Some(_) => {
            errors.push(field_error(
                "local_reference",
                "invalid",
                &format!("本机受理编号须为1至{MAX_REFERENCE_CHARS}个字母、数字、“-”或“_”"),
                &format!(
                    "The local reference must be 1 to {MAX_REFERENCE_CHARS} letters, digits, '-' or '_'"
                ),
            ));
            None
        }
    };

    // Materials.
    let mut materials = Vec::new();
    if req.materials.len() > MAX_MATERIALS {
        errors.push(field_error(
            "materials",
            "too_many",
            &format!("材料不能超过{MAX_MATERIALS}项"),
            &format!("At most {MAX_MATERIALS} materials may be submitted"),
        ));
    } else if let Some(item) = item {
        let mut seen = HashSet::new();
        for (i, m) in req.materials.iter().enumerate() {
            let at = |f: &str| format!("materials[{i}].{f}");
            if m.material_id.chars().count() > MAX_ID_CHARS {
                errors.push(field_error(
                    &at("material_id"),
                    "length",
                    "材料编号过长",
                    "The material id is too long",
                ));
                continue;
            }
            let Some(def) = item.item.materials.iter().find(|d| d.id == m.material_id) else {
                errors.push(field_error(
                    &at("material_id"),
                    "unknown",
                    &format!("本事项没有编号为“{}”的材料", m.material_id),
                    &format!("This item has no material “{}”", m.material_id),
                ));
                continue;
            };
            if !seen.insert(def.id.as_str()) {
                errors.push(field_error(
                    &at("material_id"),
                    "duplicate",
                    &format!("材料“{}”重复提交", def.name),
                    &format!("The material “{}” is listed twice", def.name_en),
                ));
                continue;
            }
            if m.pages > MAX_PAGES {
                errors.push(field_error(
                    &at("pages"),
                    "range",
                    &format!("每项材料最多{MAX_PAGES}页"),
                    &format!("A material may have at most {MAX_PAGES} pages"),
                ));
            }
            let mut due = None;
            match m.status {
                MaterialStatus::Provided if m.pages == 0 => errors.push(field_error(
                    &at("pages"),
                    "pages",
                    &format!("材料“{}”标为已提供，但没有拍摄任何页面", def.name),
                    &format!(
                        "The material “{}” is marked as provided but no page was photographed",
                        def.name_en
                    ),
                )),
                MaterialStatus::Provided => {}
                MaterialStatus::Tolerated if !def.tolerable => errors.push(field_error(
                    &at("status"),
                    "not_tolerable",
                    &format!("材料“{}”不能容缺后补，请现在提供", def.name),
                    &format!(
                        "The material “{}” cannot be supplied later; please provide it now",
                        def.name_en
                    ),
                )),
                MaterialStatus::Tolerated => {
                    due = Some(def.tolerance_days.unwrap_or(DEFAULT_TOLERANCE_DAYS));
                }
                MaterialStatus::Committed if !def.commitment_allowed => errors.push(field_error(
                    &at("status"),
                    "not_committable",
                    &format!("材料“{}”不适用告知承诺制，请提供材料", def.name),
                    &format!(
                        "A signed commitment cannot replace the material “{}”; please provide it",
                        def.name_en
                    ),
                )),
                MaterialStatus::Committed => {}
            }
            materials.push((
                CaseMaterial {
                    material_id: def.id.clone(),
                    status: m.status,
                    pages: m.pages,
                    due_date: None,
                },
                due,
            ));
        }
        for def in item.item.materials.iter().filter(|d| d.required) {
            if !seen.contains(def.id.as_str()) {
                errors.push(field_error(
                    "materials",
                    "missing",
                    &format!("缺少必须提交的材料“{}”", def.name),
                    &format!("The required material “{}” is missing", def.name_en),
                ));
            }
        }
    }

    match item {
        Some(item) if errors.is_empty() => Ok(Valid {
            item: item.clone(),
            applicant: Applicant {
                name,
                id_number,
                phone,
            },
            organization,
            project: Project {
                code: project_code,
                name: project_name,
            },
            materials,
            identified_by,
            kiosk_id,
            catalogue_version,
            local_reference,
        }),
        _ => Err(errors),
    }
}

/// Whether a 秒批 item's rules pass: every required material is in hand (provided or replaced by
/// a signed commitment, none tolerated) and an organisation is named.
pub fn instant_rules_pass(v: &Valid) -> bool {
    v.item.item.instant
        && v.organization.is_some()
        && v.materials
            .iter()
            .all(|(m, _)| m.status != MaterialStatus::Tolerated)
}

/// The case a valid submission becomes on `today`, and the answer to the kiosk.
pub fn build_case(
    v: &Valid,
    serial: u32,
    today: NaiveDate,
    now: NaiveDateTime,
    cal: &Calendar,
) -> (NewCase, ApplicationCreated) {
    let code = ApprovalCode::from_parts(today, serial);
    let instant = instant_rules_pass(v);
    let status = if instant {
        Blzt::Approved
    } else {
        Blzt::Received
    };
    let nodes: Vec<NodeRecord> = v
        .item
        .departments
        .iter()
        .map(|d| NodeRecord {
            department: d.name.clone(),
            department_en: d.name_en.clone(),
            status,
            started_at: Some(today),
            due_date: Some(due_date(cal, today, d.time_limit_days)),
            time_limit_days: d.time_limit_days,
            finished_at: instant.then_some(today),
            opinion: instant.then(|| INSTANT_OPINION.to_string()),
            corrections_asked_at: None,
        })
        .collect();
    let case_due = nodes
        .iter()
        .filter_map(|n| n.due_date)
        .max()
        .unwrap_or(today);
    let mut pending = Vec::new();
    let materials: Vec<CaseMaterial> = v
        .materials
        .iter()
        .map(|(m, days)| {
            let mut m = m.clone();
            if let Some(days) = days {
                let due = due_date(cal, today, *days);
                m.due_date = Some(due);
                if let Some(def) = v.item.item.materials.iter().find(|d| d.id == m.material_id) {
                    pending.push(PendingMaterial {
                        material_id: def.id.clone(),
                        name: def.name.clone(),
                        due_date: due,
                    });
                }
            }
            m
        })
        .collect();
    let case = NewCase {
        approval_code: code.as_str().to_string(),
        item_id: v.item.item.id.clone(),
        status,
        submitted_at: now,
        due_date: case_due,
        applicant: v.applicant.clone(),
        organization: v.organization.clone(),
        project: v.project.clone(),
        identified_by: v.identified_by.clone(),
        kiosk_id: v.kiosk_id.clone(),
        catalogue_version: v.catalogue_version,
        local_reference: v.local_reference.clone(),
        nodes,
        materials,
        applicant_id_index: None,
    };
    let created = ApplicationCreated {
        approval_code: case.approval_code.clone(),
        status,
        status_text: status.zh().to_string(),
        item_id: v.item.item.id.clone(),
        item_name: v.item.item.name.clone(),
        submitted_at: now,
        due_date: case_due,
        pending_materials: pending,
        // Filled from the audit chain by the store (`store::Created`).
        verification_code: None,
    };
    (case, created)
}
