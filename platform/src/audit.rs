//! The audit log: every state change of the platform, appended in the transaction that makes it,
//! each entry carrying the SHA-256 of the entry before it.
//!
//! An entry's hash covers its sequence number, time, actor, action, subject, detail and the
//! previous entry's hash, encoded as a JSON array of strings (unambiguous whatever the fields
//! hold). The store's `verify` walks the chain: an edited entry no longer matches its hash, a deleted one
//! leaves a gap in the sequence or a broken link, and a deleted tail no longer reaches the head
//! that the platform keeps beside the log. Entries hold codes, statuses and hashes, never a
//! person's name, ID number or phone.
//!
//! A receipt's verification code is the start of the hash of its case's `case.created` entry:
//! whoever holds the receipt can have the case's place in the chain checked.

use sha2::{Digest, Sha256};

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who changed something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A kiosk (its id when it gave one).
    Kiosk(Option<String>),
    /// Department staff through the staff API (the department's name).
    Staff(String),
    /// Department staff through the `hall-platform staff` command.
    StaffCli(String),
    /// The `hall-platform` admin commands.
    Admin,
    /// The platform itself (seeding, expiry).
    System,
    /// A payment provider's verified callback or answer.
    Provider(String),
    /// Help-desk staff or a fleet admin through the fleet API (`helpdesk:LABEL`, `admin:LABEL`).
    Fleet(String),
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Actor::Kiosk(Some(id)) => format!("kiosk:{id}"),
            Actor::Kiosk(None) => "kiosk".into(),
            Actor::Staff(d) => format!("staff:{d}"),
            Actor::StaffCli(d) => format!("staff-cli:{d}"),
            Actor::Admin => "admin".into(),
            Actor::System => "system".into(),
            Actor::Provider(p) => format!("provider:{p}"),
            Actor::Fleet(who) => format!("fleet:{who}"),
        }
    }
}

/// An entry as appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub seq: i64,
    pub hash: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The hash of an entry.
pub fn entry_hash(
    seq: i64,
    at: &str,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
    prev_hash: &str,
) -> String {
    let fields = [
        &seq.to_string(),
        at,
        actor,
        action,
        subject,
        detail,
        prev_hash,
    ];
    // An array of strings always serialises.
    let encoded = serde_json::to_string(&fields).unwrap_or_default();
    hex(&Sha256::digest(encoded.as_bytes()))
}

/// The short code printed on a receipt: the first eight hex digits of the entry's hash, as
/// `XXXX-XXXX`.
pub fn verification_code(hash: &str) -> String {
    let up = hash.to_ascii_uppercase();
    let a = up.get(0..4).unwrap_or("0000");
    let b = up.get(4..8).unwrap_or("0000");
    format!("{a}-{b}")
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every entry matches its hash and links to the one before; the last is the head.
    Intact { entries: i64, head: String },
    /// The first entry (by sequence number) that does not hold.
    Broken { seq: i64, problem: String },
    /// The chain holds, but these rows (the first 20) are not in the state their entries lead
    /// to: changed in the database directly, or made without an entry.
    Unbound { entries: i64, rows: Vec<String> },
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_cover_every_field_and_codes_are_short() {
        let h = entry_hash(1, "t", "a", "x", "s", "{}", GENESIS);
        assert_eq!(h.len(), 64);
        assert_ne!(h, entry_hash(2, "t", "a", "x", "s", "{}", GENESIS));
        assert_ne!(h, entry_hash(1, "t", "a", "x", "s", "{ }", GENESIS));
        // Field boundaries cannot be shifted to give the same hash.
        assert_ne!(
            entry_hash(1, "t", "ab", "x", "s", "{}", GENESIS),
            entry_hash(1, "t", "a", "bx", "s", "{}", GENESIS)
        );
        let code = verification_code(&h);
        assert_eq!(code.len(), 9);
        assert_eq!(&code[4..5], "-");
        assert_eq!(code, code.to_ascii_uppercase());
    }
}

/// A signed head of the chain, to keep off the machine (`hall-platform audit checkpoint`):
/// whoever can write the database can recompute the chain, but not this signature (HMAC-SHA256
/// under the key file's `audit_key`). `audit verify --checkpoint FILE` fails when the chain no
/// longer passes through the head it names.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    pub entries: i64,
    pub head: String,
    pub at: String,
    pub mac: String,
}

impl Checkpoint {
    fn signed_text(entries: i64, head: &str, at: &str) -> String {
        format!("hall-platform audit checkpoint\n{entries}\n{head}\n{at}")
    }

    /// Signs the head `head` of a chain of `entries` entries; `None` without an audit key.
    pub fn sign(
        sealer: &hall_seal::Sealer,
        entries: i64,
        head: &str,
        at: &str,
    ) -> Option<Checkpoint> {
        Some(Checkpoint {
            entries,
            head: head.to_string(),
            at: at.to_string(),
            mac: sealer.audit_mac(&Self::signed_text(entries, head, at))?,
        })
    }

    /// Whether the signature is the audit key's (compared in constant time).
    pub fn signed_by(&self, sealer: &hall_seal::Sealer) -> bool {
        let Some(want) = sealer.audit_mac(&Self::signed_text(self.entries, &self.head, &self.at))
        else {
            return false;
        };
        want.len() == self.mac.len()
            && want
                .bytes()
                .zip(self.mac.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}
