//! Codes that people type or scan, each with the check the standard gives it.
//!
//! Every validator answers with a [`CodeError`] that says in words what is wrong, so the kiosk
//! can tell a person exactly which character to look at.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What is wrong with a typed or scanned code. The kiosk turns each variant into a sentence in
/// the current language; the platform turns it into a field-level problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("empty")]
    Empty,
    #[error("wrong length: {got} characters, {expected} expected")]
    WrongLength { expected: usize, got: usize },
    #[error("character {position} is not allowed")]
    BadCharacter { position: usize },
    #[error("the check character does not match: a character was probably mistyped")]
    CheckFailed,
    #[error("the birth date in the number is not a real date")]
    BadDate,
    #[error("the code does not have the expected shape")]
    BadShape,
}

impl CodeError {
    /// A stable machine code for problem+json errors and UI translation.
    pub fn code(&self) -> &'static str {
        match self {
            CodeError::Empty => "empty",
            CodeError::WrongLength { .. } => "length",
            CodeError::BadCharacter { .. } => "character",
            CodeError::CheckFailed => "check",
            CodeError::BadDate => "date",
            CodeError::BadShape => "shape",
        }
    }
}

fn check_len(s: &str, expected: usize) -> Result<(), CodeError> {
    let got = s.chars().count();
    if got == 0 {
        return Err(CodeError::Empty);
    }
    if got != expected {
        return Err(CodeError::WrongLength { expected, got });
    }
    Ok(())
}

fn all_digits(s: &str) -> Result<(), CodeError> {
    match s.chars().position(|c| !c.is_ascii_digit()) {
        Some(i) => Err(CodeError::BadCharacter { position: i + 1 }),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Resident ID number, GB 11643

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The check character of the first 17 digits of an ID number.
pub fn id_check_char(first17: &str) -> Result<char, CodeError> {
    check_len(first17, 17)?;
    all_digits(first17)?;
    let sum: u32 = first17
        .bytes()
        .zip(ID_WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    Ok(ID_CHECK[(sum % 11) as usize])
}

/// Validates an 18-character resident ID number (a lower-case x is accepted as X).
pub fn validate_id_number(s: &str) -> Result<(), CodeError> {
    let s = s.trim();
    check_len(s, 18)?;
    if let Some(i) = s.chars().position(|c| !c.is_ascii()) {
        return Err(CodeError::BadCharacter { position: i + 1 });
    }
    all_digits(&s[..17])?;
    let last = s.chars().nth(17).ok_or(CodeError::BadShape)?;
    if !(last.is_ascii_digit() || last == 'X' || last == 'x') {
        return Err(CodeError::BadCharacter { position: 18 });
    }
    let birth = &s[6..14];
    if chrono::NaiveDate::parse_from_str(birth, "%Y%m%d").is_err() {
        return Err(CodeError::BadDate);
    }
    if id_check_char(&s[..17])? != last.to_ascii_uppercase() {
        return Err(CodeError::CheckFailed);
    }
    Ok(())
}

/// Masks an ID number for screens and paper: first 3 and last 4 characters kept.
pub fn mask_id_number(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= 7 {
        return "*".repeat(chars.len());
    }
    let keep_tail = 4;
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < 3 || i >= chars.len() - keep_tail {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

/// Masks a personal name: the first character is kept, the rest become `*`.
pub fn mask_name(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        out.push(if i == 0 { c } else { '*' });
    }
    out
}

/// Masks a phone number: first 3 and last 4 digits kept.
pub fn mask_phone(s: &str) -> String {
    mask_id_number(s)
}

// ---------------------------------------------------------------------------------------------
// Unified social credit code, GB 32100

/// The 31 characters a credit code may contain, in value order.
pub const CREDIT_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const CREDIT_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

fn credit_value(c: char) -> Option<u32> {
    CREDIT_ALPHABET.find(c).map(|i| i as u32)
}

/// The check character of the first 17 characters of a credit code.
pub fn credit_check_char(first17: &str) -> Result<char, CodeError> {
    check_len(first17, 17)?;
    let mut sum = 0;
    for (i, (c, w)) in first17.chars().zip(CREDIT_WEIGHTS).enumerate() {
        let v = credit_value(c).ok_or(CodeError::BadCharacter { position: i + 1 })?;
        sum += v * w;
    }
    let check = (31 - sum % 31) % 31;
    CREDIT_ALPHABET
        .chars()
        .nth(check as usize)
        .ok_or(CodeError::BadShape)
}

/// Validates an 18-character unified social credit code.
pub fn validate_credit_code(s: &str) -> Result<(), CodeError> {
    let s = s.trim();
    check_len(s, 18)?;
    for (i, c) in s.chars().enumerate() {
        if credit_value(c).is_none() {
            return Err(CodeError::BadCharacter { position: i + 1 });
        }
    }
    let (body, last) = s.split_at(17);
    if !last.starts_with(credit_check_char(body)?) {
        return Err(CodeError::CheckFailed);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Investment project code, GB/T 40058-2021: YYYY-DDDDDD-II-TT-NNNNNN (shape only)

/// Validates the shape of an investment project code: year (time code), administrative
/// division (region code), supervising-department code, project-type code (the classes of what
/// is built under GB/T 40058-2021, not only the 01/02/03 approval routes of an older scheme),
/// and the random code with its check code. How the check code is computed is not public, so
/// only the shape is checked. Dashes may be omitted when typed on a keypad;
/// [`normalize_project_code`] puts them back.
pub fn validate_project_code(s: &str) -> Result<(), CodeError> {
    let digits: String = s.chars().filter(|c| *c != '-').collect();
    if digits.is_empty() {
        return Err(CodeError::Empty);
    }
    all_digits(&digits)?;
    check_len(&digits, 20)?;
    if s.contains('-') {
        let parts: Vec<&str> = s.split('-').collect();
        let lens: Vec<usize> = parts.iter().map(|p| p.len()).collect();
        if lens != [4, 6, 2, 2, 6] {
            return Err(CodeError::BadShape);
        }
    }
    let year: u32 = digits[..4].parse().map_err(|_| CodeError::BadShape)?;
    if !(2000..=2099).contains(&year) {
        return Err(CodeError::BadShape);
    }
    Ok(())
}

/// Puts the dashes into a 20-digit project code.
pub fn normalize_project_code(s: &str) -> String {
    let d: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
    if d.len() != 20 {
        return s.to_string();
    }
    format!(
        "{}-{}-{}-{}-{}",
        &d[..4],
        &d[4..10],
        &d[10..12],
        &d[12..14],
        &d[14..]
    )
}

// ---------------------------------------------------------------------------------------------
// Phone

/// Validates a contact phone: an 11-digit mainland mobile (1[3-9]…) or a landline with its
/// area code (0 followed by 9–11 digits).
pub fn validate_phone(s: &str) -> Result<(), CodeError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(CodeError::Empty);
    }
    all_digits(s)?;
    let b = s.as_bytes();
    match b[0] {
        b'1' => {
            check_len(s, 11)?;
            if !(b'3'..=b'9').contains(&b[1]) {
                return Err(CodeError::BadShape);
            }
            Ok(())
        }
        b'0' if (10..=12).contains(&s.len()) => Ok(()),
        b'0' => Err(CodeError::WrongLength {
            expected: 11,
            got: s.len(),
        }),
        _ => Err(CodeError::BadShape),
    }
}

// ---------------------------------------------------------------------------------------------
// Approval code (审批码): 16 digits, the last a Damm check digit, grouped by four

const DAMM: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

/// The first digit of every local reference. Approval codes begin with the year (`20…`), so no
/// approval code being typed on the lookup keypad can pass for a local reference on its way to
/// 16 digits.
pub const LOCAL_REFERENCE_LEAD: u8 = b'9';

/// Whether a typed code is a well-formed local reference: the 12 digits a kiosk prints on a
/// provisional receipt while the platform is unreachable, the first
/// [`LOCAL_REFERENCE_LEAD`], the last a Damm check digit.
pub fn is_local_reference(s: &str) -> bool {
    s.len() == 12
        && s.as_bytes().first() == Some(&LOCAL_REFERENCE_LEAD)
        && damm_digit(s).is_ok_and(|d| d == 0)
}

/// The Damm check digit of a digit string. Catches every single mistyped digit and every swap
/// of two neighbouring digits.
pub fn damm_digit(digits: &str) -> Result<u8, CodeError> {
    all_digits(digits)?;
    Ok(digits
        .bytes()
        .fold(0u8, |acc, b| DAMM[acc as usize][(b - b'0') as usize]))
}

/// An approval code: 15 digits (8 for the date, 7 for a serial) and a Damm check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ApprovalCode(String);

impl ApprovalCode {
    pub const LEN: usize = 16;

    /// Parses a typed or scanned code; spaces and dashes (from grouping) are ignored.
    pub fn parse(s: &str) -> Result<Self, CodeError> {
        let d: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        check_len(&d, Self::LEN)?;
        all_digits(&d)?;
        if damm_digit(&d)? != 0 {
            return Err(CodeError::CheckFailed);
        }
        Ok(Self(d))
    }

    /// How many serials a day has (seven digits).
    pub const SERIALS: u32 = 10_000_000;

    /// Builds a code from a date (YYYYMMDD) and a serial number.
    pub fn from_parts(date: chrono::NaiveDate, serial: u32) -> Self {
        let body = format!("{}{:07}", date.format("%Y%m%d"), serial % Self::SERIALS);
        let check = damm_digit(&body).unwrap_or(0);
        Self(format!("{body}{check}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Grouped by four for reading aloud: `2026 1122 0000 0017`.
    pub fn grouped(&self) -> String {
        group_by_four(&self.0)
    }
}

impl fmt::Display for ApprovalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ApprovalCode {
    type Error = CodeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<ApprovalCode> for String {
    fn from(c: ApprovalCode) -> String {
        c.0
    }
}

/// Groups characters by four with spaces, for reading aloud and printing.
pub fn group_by_four(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 4);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Payment code (缴款码): 20 digits

/// Validates a 20-digit payment code (shape only: notices come from other systems).
pub fn validate_payment_code(s: &str) -> Result<String, CodeError> {
    let d: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    check_len(&d, 20)?;
    all_digits(&d)?;
    Ok(d)
}

/// What a scanned or typed code on the pay screen is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayKey {
    PaymentCode(String),
    Approval(ApprovalCode),
}

/// Recognises a payment code or an approval code by its length.
pub fn parse_pay_key(s: &str) -> Result<PayKey, CodeError> {
    let d: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    match d.chars().count() {
        20 => validate_payment_code(&d).map(PayKey::PaymentCode),
        ApprovalCode::LEN => ApprovalCode::parse(&d).map(PayKey::Approval),
        0 => Err(CodeError::Empty),
        got => Err(CodeError::WrongLength { expected: 20, got }),
    }
}

/// A phone's payment code (付款码) as scanned: WeChat 18 digits starting 10–15, Alipay 16–24
/// digits starting 25–30.
pub fn validate_wallet_auth_code(s: &str) -> Result<(), CodeError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(CodeError::Empty);
    }
    all_digits(s)?;
    let prefix: u32 = s.get(..2).and_then(|p| p.parse().ok()).unwrap_or(0);
    let ok = match prefix {
        10..=15 => s.len() == 18,
        25..=30 => (16..=24).contains(&s.len()),
        _ => false,
    };
    if ok { Ok(()) } else { Err(CodeError::BadShape) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_approval_code_being_typed_never_passes_for_a_local_reference() {
        // The first 12 digits of 2026120500001010 check out under Damm; typed on the lookup
        // keypad they must not be taken for a local reference (and looked up) before the
        // 16th digit.
        let code = "2026120500001010";
        assert!(ApprovalCode::parse(code).is_ok());
        assert_eq!(damm_digit(&code[..12]), Ok(0));
        assert!(!is_local_reference(&code[..12]));
        let body = "90000000000";
        let local = format!("{body}{}", damm_digit(body).unwrap());
        assert!(is_local_reference(&local));
    }

    proptest! {
        #[test]
        fn no_approval_code_prefix_is_a_local_reference(date in 20000101u32..20991231, serial in 0u32..10_000_000) {
            let body = format!("{date}{serial:07}");
            prop_assert!(!is_local_reference(&body[..12]));
        }
    }

    #[test]
    fn id_number_known_good() {
        // 17 digits with a computed check character
        let body = "42060019800101001";
        let c = id_check_char(body).unwrap();
        let full = format!("{body}{c}");
        assert_eq!(validate_id_number(&full), Ok(()));
        assert_eq!(id_check_char("11010519491231002").unwrap(), 'X');
        assert_eq!(validate_id_number("11010519491231002X"), Ok(()));
        assert_eq!(validate_id_number("11010519491231002x"), Ok(()));
    }

    #[test]
    fn id_number_errors_say_what() {
        assert_eq!(
            validate_id_number("1101051949123100"),
            Err(CodeError::WrongLength {
                expected: 18,
                got: 16
            })
        );
        assert_eq!(
            validate_id_number("110105194912310029"),
            Err(CodeError::CheckFailed)
        );
        assert_eq!(
            validate_id_number("110105194913310021"),
            Err(CodeError::BadDate)
        );
        assert_eq!(
            validate_id_number("11010519491231A02X"),
            Err(CodeError::BadCharacter { position: 15 })
        );
    }

    #[test]
    fn credit_code_known_good() {
        // body of a commonly published example; the check character is computed
        let body = "91420600MA4KXXXX0";
        let body: String = body.replace('X', "1");
        let c = credit_check_char(&body).unwrap();
        assert_eq!(validate_credit_code(&format!("{body}{c}")), Ok(()));
        assert_eq!(validate_credit_code("91350100M000100Y43"), Ok(()));
        assert_eq!(
            validate_credit_code("91350100M000100Y44"),
            Err(CodeError::CheckFailed)
        );
        assert_eq!(
            validate_credit_code("91350100I000100Y43"),
            Err(CodeError::BadCharacter { position: 9 })
        );
    }

    #[test]
    fn project_code_shapes() {
        assert_eq!(validate_project_code("2026-420600-47-01-000123"), Ok(()));
        assert_eq!(validate_project_code("20264206004701000123"), Ok(()));
        // Any project-type code (fourth segment) of GB/T 40058-2021 is taken.
        for tt in ["01", "02", "03", "09", "16", "99"] {
            let code = format!("2026-420600-47-{tt}-000123");
            assert_eq!(validate_project_code(&code), Ok(()), "{code}");
        }
        assert_eq!(
            validate_project_code("1999-420600-47-01-000123"),
            Err(CodeError::BadShape)
        );
        assert_eq!(
            validate_project_code("2026-420600-47-0A-000123"),
            Err(CodeError::BadCharacter { position: 14 })
        );
        assert_eq!(
            validate_project_code("2026-4206004-7-01-000123"),
            Err(CodeError::BadShape)
        );
        assert_eq!(normalize_project_code("2026420600"), "2026420600");
        assert_eq!(
            normalize_project_code("20264206004701000123"),
            "2026-420600-47-01-000123"
        );
    }

    #[test]
    fn phones() {
        assert_eq!(validate_phone("13800138000"), Ok(()));
        assert_eq!(validate_phone("07103456789"), Ok(()));
        assert_eq!(validate_phone("12800138000"), Err(CodeError::BadShape));
        assert!(validate_phone("1380013800").is_err());
    }

    #[test]
    fn approval_code_round_trip_and_grouping() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let c = ApprovalCode::from_parts(d, 17);
        assert_eq!(c.as_str().len(), 16);
        assert_eq!(&c.as_str()[..15], "202611220000017");
        assert_eq!(ApprovalCode::parse(&c.grouped()).unwrap(), c);
        assert_eq!(c.grouped().len(), 19);
    }

    #[test]
    fn masks() {
        assert_eq!(mask_id_number("42060019800101001X"), "420***********001X");
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_phone("13800138000"), "138****8000");
    }

    #[test]
    fn pay_keys() {
        assert!(matches!(
            parse_pay_key("4206 0026 1100 0000 0017"),
            Ok(PayKey::PaymentCode(_))
        ));
        assert_eq!(
            parse_pay_key("123"),
            Err(CodeError::WrongLength {
                expected: 20,
                got: 3
            })
        );
        assert_eq!(validate_wallet_auth_code("134567890123456789"), Ok(()));
        assert_eq!(validate_wallet_auth_code("28456789012345678"), Ok(()));
        assert!(validate_wallet_auth_code("994567890123456789").is_err());
    }

    proptest! {
        #[test]
        fn approval_code_catches_any_single_digit_error(serial in 0u32..10_000_000, pos in 0usize..16, delta in 1u8..10) {
            let d = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
            let c = ApprovalCode::from_parts(d, serial);
            let mut b = c.as_str().as_bytes().to_vec();
            b[pos] = b'0' + (b[pos] - b'0' + delta) % 10;
            let typo = String::from_utf8(b).unwrap();
            prop_assert_eq!(ApprovalCode::parse(&typo), Err(CodeError::CheckFailed));
        }

        #[test]
        fn approval_code_catches_adjacent_swaps(serial in 0u32..10_000_000, pos in 0usize..15) {
            let d = chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
            let c = ApprovalCode::from_parts(d, serial);
            let mut b = c.as_str().as_bytes().to_vec();
            prop_assume!(b[pos] != b[pos + 1]);
            b.swap(pos, pos + 1);
            let typo = String::from_utf8(b).unwrap();
            prop_assert!(ApprovalCode::parse(&typo).is_err());
        }

        #[test]
        fn id_number_single_digit_errors_are_caught(body in "[1-6][0-9]{5}19[5-9][0-9]0[1-9]1[0-9][0-9]{3}", pos in 0usize..17, delta in 1u8..10) {
            let c = id_check_char(&body).unwrap();
            let good = format!("{body}{c}");
            prop_assert_eq!(validate_id_number(&good), Ok(()));
            let mut b = good.into_bytes();
            b[pos] = b'0' + (b[pos] - b'0' + delta) % 10;
            let typo = String::from_utf8(b).unwrap();
            prop_assert!(validate_id_number(&typo).is_err());
        }

        #[test]
        fn credit_code_single_char_errors_are_caught(body in "[0-9A-HJ-NP-RTUWXY]{17}", pos in 0usize..17, delta in 1usize..31) {
            let c = credit_check_char(&body).unwrap();
            let good = format!("{body}{c}");
            prop_assert_eq!(validate_credit_code(&good), Ok(()));
            let mut chars: Vec<char> = good.chars().collect();
            let v = CREDIT_ALPHABET.find(chars[pos]).unwrap();
            chars[pos] = CREDIT_ALPHABET.chars().nth((v + delta) % 31).unwrap();
            let typo: String = chars.into_iter().collect();
            prop_assert_eq!(validate_credit_code(&typo), Err(CodeError::CheckFailed));
        }

        #[test]
        fn validators_never_panic(s in "\\PC{0,30}") {
            let _ = validate_id_number(&s);
            let _ = validate_credit_code(&s);
            let _ = validate_project_code(&s);
            let _ = validate_phone(&s);
            let _ = ApprovalCode::parse(&s);
            let _ = parse_pay_key(&s);
            let _ = validate_wallet_auth_code(&s);
        }
    }
}
