//! Department staff: what they may do to their node of a case (the BLZT transitions), how a case's
//! status follows from its nodes, and their bearer tokens.

use hall_domain::Blzt;
use rand::Rng;
use sha2::{Digest, Sha256};

/// What a department does to its node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeAction {
    /// 受理: the case is complete enough to review.
    Accept,
    /// 不予受理: refused at intake.
    Refuse,
    /// 补正（开始）: the applicant must correct or add materials (an opinion says what).
    AskCorrections,
    /// 补正（结束）: the applicant brought the corrections.
    AnswerCorrections,
    /// 部门开始办理.
    Start,
    /// 办结.
    Approve,
    /// 办结（容缺通过）: approved with tolerated materials still to come.
    ApprovePending,
    /// 办结（不通过）: rejected (an opinion says why).
    Reject,
    /// 撤件: the applicant withdrew.
    Withdraw,
}

impl NodeAction {
    pub const ALL: [NodeAction; 9] = [
        NodeAction::Accept,
        NodeAction::Refuse,
        NodeAction::AskCorrections,
        NodeAction::AnswerCorrections,
        NodeAction::Start,
        NodeAction::Approve,
        NodeAction::ApprovePending,
        NodeAction::Reject,
        NodeAction::Withdraw,
    ];

    /// The wire name (`accept`, `ask_corrections`, …); the command line uses dashes.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeAction::Accept => "accept",
            NodeAction::Refuse => "refuse",
            NodeAction::AskCorrections => "ask_corrections",
            NodeAction::AnswerCorrections => "answer_corrections",
            NodeAction::Start => "start",
            NodeAction::Approve => "approve",
            NodeAction::ApprovePending => "approve_pending",
            NodeAction::Reject => "reject",
            NodeAction::Withdraw => "withdraw",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().replace('-', "_");
        NodeAction::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The status the node moves to.
    pub fn target(self) -> Blzt {
        match self {
            NodeAction::Accept => Blzt::Accepted,
            NodeAction::Refuse => Blzt::Refused,
            NodeAction::AskCorrections => Blzt::CorrectionsAsked,
            NodeAction::AnswerCorrections => Blzt::CorrectionsAnswered,
            NodeAction::Start => Blzt::DepartmentStarted,
            NodeAction::Approve => Blzt::Approved,
            NodeAction::ApprovePending => Blzt::ApprovedPending,
            NodeAction::Reject => Blzt::Rejected,
            NodeAction::Withdraw => Blzt::Withdrawn,
        }
    }

    /// Whether the node may take this action in status `from`.
    pub fn allowed_from(self, from: Blzt) -> bool {
        use Blzt::*;
        match self {
            NodeAction::Accept | NodeAction::Refuse => from == Received,
            NodeAction::AskCorrections => matches!(
                from,
                Received | Accepted | DepartmentStarted | CorrectionsAnswered
            ),
            NodeAction::AnswerCorrections => from == CorrectionsAsked,
            NodeAction::Start => matches!(from, Accepted | CorrectionsAnswered | SpecialEnd),
            NodeAction::Approve => matches!(
                from,
                Accepted | DepartmentStarted | CorrectionsAnswered | SpecialEnd | ApprovedPending
            ),
            NodeAction::ApprovePending | NodeAction::Reject => matches!(
                from,
                Accepted | DepartmentStarted | CorrectionsAnswered | SpecialEnd
            ),
            NodeAction::Withdraw => !from.is_final(),
        }
    }

    /// Actions that must say why.
    pub fn needs_opinion(self) -> bool {
        matches!(
            self,
            NodeAction::AskCorrections | NodeAction::Reject | NodeAction::Refuse
        )
    }
}

/// Why an action was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    CaseNotFound,
    /// The case has no node of this department.
    NotReviewing,
    /// The node's status does not allow the action.
    Illegal {
        from: Blzt,
        action: NodeAction,
    },
    OpinionRequired,
}

/// A case's status from its nodes' statuses.
pub fn case_status(nodes: &[Blzt]) -> Blzt {
    use Blzt::*;
    if nodes.is_empty() {
        return Received;
    }
    if nodes.contains(&CorrectionsAsked) {
        return CorrectionsAsked;
    }
    if nodes.iter().all(|s| s.is_final()) {
        if nodes.iter().all(|s| *s == Withdrawn) {
            return Withdrawn;
        }
        if nodes.contains(&Rejected) {
            return Rejected;
        }
        if nodes.contains(&Refused) || nodes.contains(&NotAccepted) {
            return Refused;
        }
        if nodes.contains(&Revoked) {
            return Revoked;
        }
        if nodes.contains(&ApprovedPending) {
            return ApprovedPending;
        }
        return Approved;
    }
    if nodes.iter().all(|s| *s == Received) {
        return Received;
    }
    if nodes.iter().all(|s| *s == Accepted) {
        return Accepted;
    }
    if nodes.iter().all(|s| matches!(s, Received | Accepted)) {
        return Received;
    }
    DepartmentStarted
}

/// A new bearer token for a department's staff, and the SHA-256 under which it is stored.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 24];
    rand::rng().fill(&mut bytes);
    let token = format!(
        "hst_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let hash = token_hash(&token);
    (token, hash)
}

/// How a token is stored and looked up.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.trim().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_follow_the_blzt_flow() {
        use Blzt::*;
        assert!(NodeAction::Accept.allowed_from(Received));
        assert!(!NodeAction::Accept.allowed_from(Accepted));
        assert!(!NodeAction::Approve.allowed_from(Received));
        assert!(NodeAction::Approve.allowed_from(DepartmentStarted));
        assert!(!NodeAction::Approve.allowed_from(Approved));
        assert!(!NodeAction::Approve.allowed_from(CorrectionsAsked));
        assert!(NodeAction::AnswerCorrections.allowed_from(CorrectionsAsked));
        assert!(!NodeAction::Withdraw.allowed_from(Rejected));
        // Every final status is final for every action but the one completing 容缺.
        for from in Blzt::ALL.into_iter().filter(|b| b.is_final()) {
            for a in NodeAction::ALL {
                let ok = a.allowed_from(from);
                assert_eq!(
                    ok,
                    from == ApprovedPending && a == NodeAction::Approve,
                    "{a:?} from {from:?}"
                );
            }
        }
        for a in NodeAction::ALL {
            assert_eq!(NodeAction::parse(a.as_str()), Some(a));
            assert_eq!(NodeAction::parse(&a.as_str().replace('_', "-")), Some(a));
        }
        assert_eq!(NodeAction::parse("approve!"), None);
    }

    #[test]
    fn case_status_follows_the_nodes() {
        use Blzt::*;
        assert_eq!(case_status(&[Received, Received]), Received);
        assert_eq!(case_status(&[Accepted, Received]), Received);
        assert_eq!(case_status(&[Accepted, Accepted]), Accepted);
        assert_eq!(
            case_status(&[DepartmentStarted, Approved]),
            DepartmentStarted
        );
        assert_eq!(case_status(&[CorrectionsAsked, Approved]), CorrectionsAsked);
        assert_eq!(case_status(&[Approved, Approved]), Approved);
        assert_eq!(case_status(&[Approved, ApprovedPending]), ApprovedPending);
        assert_eq!(case_status(&[Approved, Rejected]), Rejected);
        assert_eq!(case_status(&[Withdrawn]), Withdrawn);
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let (a, ha) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert!(a.starts_with("hst_") && a.len() == 52);
        assert_eq!(token_hash(&a), ha);
        assert_ne!(ha, a);
    }
}
