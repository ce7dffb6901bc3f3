//! The national exchange standard's stages (DYBZSPJDXH) and handling-status codes (BLZT).

use serde::{Deserialize, Serialize};

/// Approval stage, 1–5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum Stage {
    LandAndPlanning = 1,
    ConstructionPermit = 2,
    WorkPermit = 3,
    Completion = 4,
    Parallel = 5,
}

impl Stage {
    pub const ALL: [Stage; 5] = [
        Stage::LandAndPlanning,
        Stage::ConstructionPermit,
        Stage::WorkPermit,
        Stage::Completion,
        Stage::Parallel,
    ];

    pub fn zh(self) -> &'static str {
        match self {
            Stage::LandAndPlanning => "立项用地规划许可",
            Stage::ConstructionPermit => "工程建设许可",
            Stage::WorkPermit => "施工许可",
            Stage::Completion => "竣工验收",
            Stage::Parallel => "并行推进",
        }
    }
}

impl TryFrom<u8> for Stage {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, Self::Error> {
        Stage::ALL
            .get(usize::from(v).wrapping_sub(1))
            .copied()
            .ok_or_else(|| format!("stage {v} is not 1-5"))
    }
}

impl From<Stage> for u8 {
    fn from(s: Stage) -> u8 {
        s as u8
    }
}

/// Handling status of a case or of one department's node (BLZT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum Blzt {
    Received = 1,
    Withdrawn = 2,
    Accepted = 3,
    NotAccepted = 4,
    Refused = 5,
    CorrectionsAsked = 6,
    CorrectionsAnswered = 7,
    DepartmentStarted = 8,
    SpecialStart = 9,
    SpecialEnd = 10,
    Approved = 11,
    ApprovedPending = 12,
    Rejected = 13,
    Recalled = 14,
    Revoked = 15,
}

impl Blzt {
    pub const ALL: [Blzt; 15] = [
        Blzt::Received,
        Blzt::Withdrawn,
        Blzt::Accepted,
        Blzt::NotAccepted,
        Blzt::Refused,
        Blzt::CorrectionsAsked,
        Blzt::CorrectionsAnswered,
        Blzt::DepartmentStarted,
        Blzt::SpecialStart,
        Blzt::SpecialEnd,
        Blzt::Approved,
        Blzt::ApprovedPending,
        Blzt::Rejected,
        Blzt::Recalled,
        Blzt::Revoked,
    ];

    pub fn code(self) -> u8 {
        self as u8
    }

    /// The standard's Chinese wording.
    pub fn zh(self) -> &'static str {
        match self {
            Blzt::Received => "已接件",
            Blzt::Withdrawn => "已撤件",
            Blzt::Accepted => "已受理",
            Blzt::NotAccepted => "不受理",
            Blzt::Refused => "不予受理",
            Blzt::CorrectionsAsked => "补正（开始）",
            Blzt::CorrectionsAnswered => "补正（结束）",
            Blzt::DepartmentStarted => "部门开始办理",
            Blzt::SpecialStart => "特别程序（开始）",
            Blzt::SpecialEnd => "特别程序（结束）",
            Blzt::Approved => "办结",
            Blzt::ApprovedPending => "办结（容缺通过）",
            Blzt::Rejected => "办结（不通过）",
            Blzt::Recalled => "撤回",
            Blzt::Revoked => "撤销",
        }
    }

    /// Whether the node has finished (its time limit no longer runs).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Blzt::Withdrawn
                | Blzt::NotAccepted
                | Blzt::Refused
                | Blzt::Approved
                | Blzt::ApprovedPending
                | Blzt::Rejected
                | Blzt::Recalled
                | Blzt::Revoked
        )
    }

    /// Whether the applicant has something to do (bring corrections).
    pub fn needs_applicant(self) -> bool {
        matches!(self, Blzt::CorrectionsAsked)
    }
}

/// On the wire a BLZT status is its number, 1–15.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Blzt {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        let description = Blzt::ALL
            .iter()
            .map(|b| format!("{} {}", b.code(), b.zh()))
            .collect::<Vec<_>>()
            .join("; ");
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Integer))
            .minimum(Some(1))
            .maximum(Some(15))
            .description(Some(format!("Handling status (BLZT): {description}")))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Blzt {}

impl TryFrom<u8> for Blzt {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, Self::Error> {
        Blzt::ALL
            .iter()
            .copied()
            .find(|b| b.code() == v)
            .ok_or_else(|| format!("status code {v} is not a BLZT code"))
    }
}

impl From<Blzt> for u8 {
    fn from(b: Blzt) -> u8 {
        b.code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for code in 1..=15u8 {
            let b = Blzt::try_from(code).unwrap();
            assert_eq!(b.code(), code);
        }
        assert!(Blzt::try_from(0).is_err());
        assert!(Blzt::try_from(16).is_err());
        assert_eq!(Blzt::DepartmentStarted.code(), 8);
        assert_eq!(Blzt::SpecialStart.code(), 9);
        assert_eq!(Stage::try_from(3).unwrap(), Stage::WorkPermit);
        assert!(Stage::try_from(0).is_err());
    }
}
