//! The demo hall: codes a presenter (and the kiosk's simulator panel) can type.
//!
//! Every value here is also in `data/demo.toml`; a test keeps the two in step and checks each
//! code against its check character.

/// (a) Construction permit in parallel review; the permit office is several working days late.
pub const CASE_LATE: &str = "2026110200000118";
/// (b) Land pre-examination and siting opinion, approved (BLZT 11).
pub const CASE_APPROVED: &str = "2026110200000126";
/// (c) Design scheme review waiting for corrections (BLZT 6, with the department's opinion).
pub const CASE_CORRECTIONS: &str = "2026110200000139";
/// (d) Engineering planning permit with an unpaid fee notice ([`PAYMENT_CODE_CASE`]).
pub const CASE_UNPAID: &str = "2026110200000147";

/// A standalone unpaid fee notice for the payment demo (560.00 yuan).
pub const PAYMENT_CODE: &str = "42060026110200000183";
/// The unpaid fee notice of [`CASE_UNPAID`]: 城市基础设施配套费 and 人防易地建设费.
pub const PAYMENT_CODE_CASE: &str = "42060026110200000256";
/// Total of [`PAYMENT_CODE_CASE`] in fen (12 345.00 yuan).
pub const PAYMENT_CASE_TOTAL_FEN: i64 = 1_234_500;
/// Total of [`PAYMENT_CODE`] in fen (560.00 yuan).
pub const PAYMENT_TOTAL_FEN: i64 = 56_000;

/// 襄阳市东津新区邻里中心项目.
pub const PROJECT_CODE: &str = "2026-420600-47-01-000123";
pub const PROJECT_NAME: &str = "襄阳市东津新区邻里中心项目";
/// 襄阳市东津新区城市建设投资有限公司.
pub const CREDIT_CODE: &str = "91420600MA4F2C7T3A";
pub const ORGANIZATION_NAME: &str = "襄阳市东津新区城市建设投资有限公司";

pub const APPLICANT_NAME: &str = "张建国";
pub const APPLICANT_ID: &str = "420602195803120011";
pub const APPLICANT_PHONE: &str = "13800138000";

/// A WeChat-style payment code (18 digits starting 13) that pays after the payer delay.
pub const WALLET_OK: &str = "134567890123456789";
/// A payment code the simulated provider declines (ends `0000`): 余额不足.
pub const WALLET_FAIL: &str = "134567890123450000";
/// A payment code whose payer never confirms (ends `9999`): the kiosk cancels it.
pub const WALLET_SILENT: &str = "134567890123459999";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::DemoData;
    use hall_domain::ApprovalCode;
    use hall_domain::codes::{
        validate_credit_code, validate_id_number, validate_payment_code, validate_phone,
        validate_project_code, validate_wallet_auth_code,
    };

    #[test]
    fn demo_codes_pass_their_checks() {
        for code in [CASE_LATE, CASE_APPROVED, CASE_CORRECTIONS, CASE_UNPAID] {
            assert_eq!(ApprovalCode::parse(code).unwrap().as_str(), code);
        }
        assert_eq!(validate_id_number(APPLICANT_ID), Ok(()));
        assert_eq!(validate_phone(APPLICANT_PHONE), Ok(()));
        assert_eq!(validate_credit_code(CREDIT_CODE), Ok(()));
        assert_eq!(validate_project_code(PROJECT_CODE), Ok(()));
        for code in [PAYMENT_CODE, PAYMENT_CODE_CASE] {
            assert_eq!(validate_payment_code(code).unwrap(), code);
        }
        for code in [WALLET_OK, WALLET_FAIL, WALLET_SILENT] {
            assert_eq!(validate_wallet_auth_code(code), Ok(()));
        }
        assert!(WALLET_FAIL.ends_with("0000") && WALLET_SILENT.ends_with("9999"));
        assert!(!WALLET_OK.ends_with("0000") && !WALLET_OK.ends_with("9999"));
    }

    #[test]
    fn consts_match_the_demo_data() {
        let data = DemoData::built_in().unwrap();
        let codes: Vec<String> = data
            .cases
            .iter()
            .map(|c| data.approval_code(c.serial).as_str().to_string())
            .collect();
        assert_eq!(
            codes,
            [CASE_LATE, CASE_APPROVED, CASE_CORRECTIONS, CASE_UNPAID]
        );
        assert!(
            data.cases.iter().all(|c| c.serial < 100),
            "serials below 100 are the demo's"
        );
        assert_eq!(data.applicant.name, APPLICANT_NAME);
        assert_eq!(data.applicant.id_number, APPLICANT_ID);
        assert_eq!(data.applicant.phone, APPLICANT_PHONE);
        let p = data
            .projects
            .iter()
            .find(|p| p.code == PROJECT_CODE)
            .unwrap();
        assert_eq!(p.name, PROJECT_NAME);
        let o = data
            .organizations
            .iter()
            .find(|o| o.credit_code == CREDIT_CODE)
            .unwrap();
        assert_eq!(o.name, ORGANIZATION_NAME);
        for o in &data.organizations {
            assert_eq!(
                validate_credit_code(&o.credit_code),
                Ok(()),
                "{}",
                o.credit_code
            );
        }
        for p in &data.projects {
            assert_eq!(validate_project_code(&p.code), Ok(()), "{}", p.code);
            let unit = p.construction_unit.as_deref().unwrap();
            assert!(data.organizations.iter().any(|o| o.credit_code == unit));
        }
        let total = |code: &str| -> i64 {
            let n = data
                .notices
                .iter()
                .find(|n| n.payment_code == code)
                .unwrap();
            n.lines.iter().map(|l| l.amount_fen).sum()
        };
        assert_eq!(total(PAYMENT_CODE_CASE), PAYMENT_CASE_TOTAL_FEN);
        assert_eq!(total(PAYMENT_CODE), PAYMENT_TOTAL_FEN);
        let case_notice = data
            .notices
            .iter()
            .find(|n| n.payment_code == PAYMENT_CODE_CASE)
            .unwrap();
        assert_eq!(
            data.approval_code(case_notice.case_serial.unwrap())
                .as_str(),
            CASE_UNPAID
        );
    }
}
