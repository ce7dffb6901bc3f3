//! The web console's rules, without I/O: roles and what each may do, passwords (argon2id),
//! sign-in lockout and session lifetimes.

use rand::Rng;

/// Failed sign-ins in a row that lock an account, and for how long.
pub const LOCK_AFTER_FAILURES: i64 = 5;
pub const LOCK_FOR_MS: i64 = 15 * 60 * 1000;
/// How long a session lasts (a working day); signing out ends it at once.
pub const SESSION_MS: i64 = 9 * 3600 * 1000;
/// The shortest password a person may choose.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Who uses the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleRole {
    /// Watches the kiosks, takes help calls, restarts and reboots.
    Helpdesk,
    /// Reads how the hall is served; changes nothing.
    Manager,
    /// All of the help desk's, and users, enrolment tokens and revocation.
    Admin,
}

impl ConsoleRole {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "helpdesk" => Some(Self::Helpdesk),
            "manager" => Some(Self::Manager),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Helpdesk => "helpdesk",
            Self::Manager => "manager",
            Self::Admin => "admin",
        }
    }

    /// Whether this role may act on kiosks (commands, help calls).
    pub fn acts_on_kiosks(self) -> bool {
        matches!(self, Self::Helpdesk | Self::Admin)
    }
}

/// A signed-in person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub role: ConsoleRole,
    /// The password was made for them: they change it before anything else.
    pub must_change: bool,
}

/// Why a sign-in did not open a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// Unknown name or wrong password (the page does not say which).
    Refused,
    /// Too many failures: locked for this long.
    Locked { for_secs: i64 },
}

/// A user name: 1 to 64 letters, digits, '.', '-', '_' or '@'.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'@'))
}

/// Why a chosen password is not taken, in (zh, en).
pub fn password_problem(password: &str, name: &str) -> Option<(&'static str, &'static str)> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Some((
            "密码至少需要10个字符",
            "A password needs at least 10 characters",
        ));
    }
    if password.chars().count() > 256 {
        return Some((
            "密码不能超过256个字符",
            "A password may have at most 256 characters",
        ));
    }
    if password.eq_ignore_ascii_case(name) {
        return Some((
            "密码不能与用户名相同",
            "The password may not be the user name",
        ));
    }
    None
}

/// A first password for a new account: 16 characters, easy to read out (no 0/O, 1/l/I).
pub fn first_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// The argon2id cost of a console password: OWASP's first recommended setting.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error("cannot hash the password: {0}")]
pub struct HashError(String);

/// A password as the database keeps it: an argon2id PHC string with a random salt.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    let params =
        argon2::Params::new(MEMORY_KIB, PASSES, 1, None).map_err(|e| HashError(e.to_string()))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    argon
        .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` is the one behind `phc` (false for a hash that cannot be read).
pub fn verify_password(phc: &str, password: &str) -> bool {
    use argon2::password_hash::PasswordVerifier;
    argon2::PasswordHash::new(phc).is_ok_and(|hash| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// A run of argon2id against nothing, so that an unknown name takes as long as a wrong password.
pub fn waste_a_verification() {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let phc = DUMMY.get_or_init(|| hash_password("an unknown user's password").unwrap_or_default());
    let _ = verify_password(phc, "not it");
}

/// Compares two secrets in constant time.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_salted_argon2id_and_verify_only_themselves() {
        let a = hash_password("correct horse battery").unwrap();
        let b = hash_password("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "a random salt each time");
        assert!(verify_password(&a, "correct horse battery"));
        assert!(!verify_password(&a, "correct horse battery "));
        assert!(!verify_password("not a hash", "x"));
    }

    #[test]
    fn first_passwords_are_long_and_unambiguous() {
        let p = first_password();
        assert_eq!(p.len(), 16);
        assert!(!p.contains(['0', 'O', '1', 'l', 'I']), "{p}");
        assert_ne!(first_password(), p);
        assert!(password_problem(&p, "wang").is_none());
        assert!(password_problem("short", "wang").is_some());
        assert!(password_problem("wang.xiaoming", "Wang.Xiaoming").is_some());
    }

    #[test]
    fn roles_and_names() {
        for r in [
            ConsoleRole::Helpdesk,
            ConsoleRole::Manager,
            ConsoleRole::Admin,
        ] {
            assert_eq!(ConsoleRole::parse(r.as_str()), Some(r));
        }
        assert!(!ConsoleRole::Manager.acts_on_kiosks());
        assert!(valid_name("zhang.wei@hall"));
        assert!(!valid_name("zhang wei"));
        assert!(!valid_name(""));
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("a", "ab"));
    }
}
