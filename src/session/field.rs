//! A code typed on a keypad, checked as it is typed.

use hall_domain::ApprovalCode;
use hall_domain::codes::{self, CodeError};
use zeroize::Zeroize;

use super::view::{FieldError, KeypadKind};

/// Which code a field holds; decides its keypad, its length and its check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    IdNumber,
    Phone,
    ProjectCode,
    CreditCode,
    ApprovalCode,
    PayCode,
}

impl FieldKind {
    pub fn keypad(self) -> KeypadKind {
        match self {
            FieldKind::IdNumber => KeypadKind::DigitsX,
            FieldKind::CreditCode => KeypadKind::Credit,
            _ => KeypadKind::Digits,
        }
    }

    pub fn max_len(self) -> usize {
        match self {
            FieldKind::IdNumber | FieldKind::CreditCode => 18,
            FieldKind::Phone => 12,
            FieldKind::ProjectCode | FieldKind::PayCode => 20,
            FieldKind::ApprovalCode => ApprovalCode::LEN,
        }
    }

    /// The length at which the value is complete and gets checked as typed.
    fn complete_len(self) -> usize {
        match self {
            FieldKind::Phone => 11,
            other => other.max_len(),
        }
    }

    fn accepts(self, c: char, position: usize) -> bool {
        match self {
            FieldKind::IdNumber => c.is_ascii_digit() || (c == 'X' && position == 17),
            FieldKind::CreditCode => codes::CREDIT_ALPHABET.contains(c),
            _ => c.is_ascii_digit(),
        }
    }
}

/// What is wrong with a field, and up to two numbers for the sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub error: FieldError,
    pub a: i32,
    pub b: i32,
}

impl Problem {
    pub fn new(error: FieldError) -> Self {
        Problem { error, a: 0, b: 0 }
    }
}

impl From<CodeError> for Problem {
    fn from(e: CodeError) -> Self {
        match e {
            CodeError::Empty => Problem::new(FieldError::Empty),
            CodeError::WrongLength { expected, got } => Problem {
                error: FieldError::Length,
                a: expected as i32,
                b: got as i32,
            },
            CodeError::BadCharacter { position } => Problem {
                error: FieldError::Character,
                a: position as i32,
                b: 0,
            },
            CodeError::CheckFailed => Problem::new(FieldError::Check),
            CodeError::BadDate => Problem::new(FieldError::Date),
            CodeError::BadShape => Problem::new(FieldError::Shape),
        }
    }
}

/// A field's value and what is known about it. The value may be personal data: it is wiped when
/// the field is dropped or cleared.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub kind: FieldKind,
    value: String,
    /// Set once the person asked to go on, so an incomplete value is reported too.
    insisted: bool,
    /// A problem found elsewhere (e.g. the registry does not know the code).
    external: Option<Problem>,
}

impl Drop for Field {
    fn drop(&mut self) {
        self.value.zeroize();
    }
}

impl Field {
    pub fn new(kind: FieldKind) -> Self {
        Field {
            kind,
            value: String::new(),
            insisted: false,
            external: None,
        }
    }

    pub fn with_value(kind: FieldKind, value: &str) -> Self {
        let mut f = Field::new(kind);
        f.set(value);
        f
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    /// Replaces the value (a scan, or a value from a card or registry), keeping only the
    /// characters the field accepts.
    pub fn set(&mut self, value: &str) {
        self.clear();
        for c in value.chars() {
            self.key(c);
        }
    }

    /// One key press. Returns false when the key is not accepted (wrong character or full).
    pub fn key(&mut self, c: char) -> bool {
        let c = c.to_ascii_uppercase();
        let position = self.value.chars().count();
        if position >= self.kind.max_len() || !self.kind.accepts(c, position) {
            return false;
        }
        self.value.push(c);
        self.external = None;
        true
    }

    pub fn backspace(&mut self) {
        self.value.pop();
        self.external = None;
        self.insisted = false;
    }

    pub fn clear(&mut self) {
        self.value.zeroize();
        self.value.clear();
        self.external = None;
        self.insisted = false;
    }

    /// Applies a keypad press (a character, backspace or clear). Returns false when the intent
    /// is not one of those.
    pub fn edit(&mut self, intent: &super::Intent) -> bool {
        match intent {
            super::Intent::Key(c) => {
                self.key(*c);
            }
            super::Intent::Backspace => self.backspace(),
            super::Intent::Clear => self.clear(),
            _ => return false,
        }
        true
    }

    pub fn set_external(&mut self, p: Option<Problem>) {
        self.external = p;
    }

    fn check(&self) -> Result<(), Problem> {
        let v = self.value.as_str();
        match self.kind {
            FieldKind::IdNumber => codes::validate_id_number(v),
            FieldKind::Phone => codes::validate_phone(v),
            FieldKind::ProjectCode => codes::validate_project_code(v),
            FieldKind::CreditCode => codes::validate_credit_code(v),
            // An approval code, or the local reference of a provisional (offline) receipt.
            FieldKind::ApprovalCode => ApprovalCode::parse(v).map(|_| ()).or_else(|e| {
                if hall_domain::codes::is_local_reference(v) {
                    Ok(())
                } else {
                    Err(e)
                }
            }),
            FieldKind::PayCode => codes::parse_pay_key(v).map(|_| ()),
        }
        .map_err(Problem::from)?;
        match &self.external {
            Some(p) => Err(p.clone()),
            None => Ok(()),
        }
    }

    /// Whether the value passes every check.
    pub fn is_valid(&self) -> bool {
        self.check().is_ok()
    }

    /// Marks that the person tried to go on, and answers whether the value is good.
    pub fn insist(&mut self) -> bool {
        self.insisted = true;
        self.is_valid()
    }

    /// The problem to show now: nothing while the person is still typing a value that could
    /// become right, the problem once it is complete or the person tried to go on.
    pub fn problem(&self) -> Option<Problem> {
        let len = self.value.chars().count();
        let complete = len >= self.kind.complete_len();
        if !(complete || self.insisted || self.external.is_some()) {
            return None;
        }
        self.check().err()
    }

    /// The value as shown: grouped by four for long codes, dashes for project codes.
    pub fn display(&self) -> String {
        match self.kind {
            FieldKind::ProjectCode => {
                let mut out = String::new();
                for (i, c) in self.value.chars().enumerate() {
                    if matches!(i, 4 | 10 | 12 | 14) {
                        out.push('-');
                    }
                    out.push(c);
                }
                out
            }
            FieldKind::Phone => {
                let mut out = String::new();
                for (i, c) in self.value.chars().enumerate() {
                    if matches!(i, 3 | 7) {
                        out.push(' ');
                    }
                    out.push(c);
                }
                out
            }
            _ => codes::group_by_four(&self.value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keypad_rejects_what_the_code_cannot_contain() {
        let mut f = Field::new(FieldKind::IdNumber);
        assert!(!f.key('X'), "X only as the last character");
        assert!(f.key('4'));
        let mut c = Field::new(FieldKind::CreditCode);
        assert!(!c.key('I'));
        assert!(!c.key('O'));
        assert!(c.key('9'));
        assert!(c.key('a'), "lower case is taken as upper case");
        assert_eq!(c.value(), "9A");
    }

    #[test]
    fn problems_appear_once_complete_or_insisted() {
        let mut f = Field::new(FieldKind::ApprovalCode);
        f.set("20261102000000");
        assert_eq!(f.problem(), None, "still typing");
        assert!(!f.insist());
        assert_eq!(
            f.problem(),
            Some(Problem {
                error: FieldError::Length,
                a: 16,
                b: 14
            })
        );
        let mut g = Field::new(FieldKind::ApprovalCode);
        let good = ApprovalCode::from_parts(
            chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap_or_default(),
            1,
        );
        let mut typo = good.as_str().to_string();
        typo.replace_range(15..16, if typo.ends_with('0') { "1" } else { "0" });
        g.set(&typo);
        assert_eq!(g.problem(), Some(Problem::new(FieldError::Check)));
        g.set(good.as_str());
        assert_eq!(g.problem(), None);
        assert!(g.is_valid());
        assert_eq!(g.display().len(), 19);
    }

    #[test]
    fn full_field_takes_no_more_keys() {
        let mut f = Field::new(FieldKind::Phone);
        for _ in 0..20 {
            f.key('1');
        }
        assert_eq!(f.value().len(), 12);
    }

    #[test]
    fn project_code_displays_with_dashes() {
        let f = Field::with_value(FieldKind::ProjectCode, "2026-420600-47-01-000123");
        assert_eq!(f.value(), "20264206004701000123");
        assert_eq!(f.display(), "2026-420600-47-01-000123");
        assert!(f.is_valid());
    }
}
