//! Personal data sealed at rest: applicants' names, ID numbers and phones, and payers' names, are
//! stored encrypted with AES-256-GCM under a key kept outside the database (a file, or a systemd
//! credential), each value bound to its row and column (the associated data), so that a value
//! copied into another row does not open. Cases are found by ID number through a keyed hash
//! (HMAC-SHA256 under a second key), never the number itself.
//!
//! The key file (`hall-platform seal keygen`, TOML, readable by the platform's user only):
//!
//! ```toml
//! # the index key: never changed (the ID-number index depends on it)
//! index_key = "base64 of 32 bytes"
//! # the sealing keys: the first seals, every one opens; rotate by adding a new first key,
//! # `hall-platform seal rewrap`, then dropping the old one
//! seal_keys = ["base64 of 32 bytes", …]
//! # the key of the audit log's checkpoints (`hall-platform audit checkpoint`)
//! audit_key = "base64 of 32 bytes"
//! ```
//!
//! The kiosk's outbox seals its entries the same way, with a key file of the same form made on
//! its first start beside the outbox (the kiosk's data directory, with its fleet credential).
//!
//! A sealed value is `s1:<key id>:<base64 of nonce ‖ ciphertext ‖ tag>`, the key id being the
//! first eight hex digits of the key's SHA-256.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

const PREFIX: &str = "s1:";
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("seal key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error(
        "a sealed value does not open ({0}): wrong key file, or the value was moved or altered"
    )]
    Open(&'static str),
    #[error("sealing failed")]
    Seal,
}

/// The keys: one index key, one or more sealing keys (the first seals).
pub struct Sealer {
    index: Zeroizing<[u8; 32]>,
    keys: Vec<(String, Aes256Gcm)>,
    audit: Option<Zeroizing<[u8; 32]>>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("Sealer").field("key_ids", &ids).finish()
    }
}

#[derive(serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    index_key: String,
    seal_keys: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    audit_key: Option<String>,
}

fn key_id(key: &[u8; 32]) -> String {
    Sha256::digest(key)
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn decode_key(text: &str) -> Result<Zeroizing<[u8; 32]>, String> {
    let bytes = Zeroizing::new(
        B64.decode(text.trim())
            .map_err(|e| format!("not base64 ({e})"))?,
    );
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() != 32 {
        return Err(format!("a key is 32 bytes, this one {}", bytes.len()));
    }
    key.copy_from_slice(&bytes);
    Ok(key)
}

fn random_key() -> Zeroizing<[u8; 32]> {
    let mut k = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(k.as_mut());
    k
}

impl Sealer {
    /// Reads the keys from TOML text (see the module's documentation).
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let file: KeyFile = toml::from_str(text).map_err(|e| e.message().to_string())?;
        let index = decode_key(&file.index_key).map_err(|e| format!("index_key: {e}"))?;
        if file.seal_keys.is_empty() {
            return Err("seal_keys: at least one key".into());
        }
        let mut keys = Vec::new();
        for (i, k) in file.seal_keys.iter().enumerate() {
            let key = decode_key(k).map_err(|e| format!("seal_keys[{i}]: {e}"))?;
            keys.push((
                key_id(&key),
                Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key.as_ref())),
            ));
        }
        let audit = file
            .audit_key
            .as_deref()
            .map(decode_key)
            .transpose()
            .map_err(|e| format!("audit_key: {e}"))?;
        Ok(Sealer { index, keys, audit })
    }

    /// Reads the key file.
    pub fn load(path: &Path) -> Result<Self, SealError> {
        let err = |reason: String| SealError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?);
        Self::from_toml(&text).map_err(err)
    }

    /// A new key file's text: a fresh index key and one sealing key.
    pub fn generate() -> String {
        let file = KeyFile {
            index_key: B64.encode(random_key().as_ref()),
            seal_keys: vec![B64.encode(random_key().as_ref())],
            audit_key: Some(B64.encode(random_key().as_ref())),
        };
        let body = toml::to_string(&file).unwrap_or_default();
        format!(
            "# hall-platform's keys for personal data at rest: keep this file off the database's\n\
             # machine backups, readable by the platform only. Losing it loses the sealed data.\n{body}"
        )
    }

    /// The key file at `path`, made (readable by its owner only) when there is none: for the
    /// demo hall and tests, never a hall's production setup.
    pub fn load_or_create(path: &Path) -> Result<Self, SealError> {
        if !path.exists() {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let err = |e: std::io::Error| SealError::KeyFile {
                path: path.display().to_string(),
                reason: e.to_string(),
            };
            // Written whole under another name, then linked into place: two instances starting
            // together agree on one file, and neither reads a half-written one.
            let tmp = path.with_extension(format!("new-{}", uuid::Uuid::new_v4().simple()));
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(err)?;
            f.write_all(Self::generate().as_bytes()).map_err(err)?;
            f.sync_all().map_err(err)?;
            drop(f);
            let linked = std::fs::hard_link(&tmp, path);
            let _ = std::fs::remove_file(&tmp);
            match linked {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(err(e)),
            }
        }
        Self::load(path)
    }

    /// `plain` sealed for the place `aad` names (table, column and row).
    pub fn seal(&self, aad: &str, plain: &str) -> Result<String, SealError> {
        let (id, cipher) = self.keys.first().ok_or(SealError::Seal)?;
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError::Seal)?;
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(format!("{PREFIX}{id}:{}", B64.encode(out)))
    }

    /// Whether a stored value is sealed (a value from before sealing is not).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }

    /// Whether the value is sealed under the current (first) key.
    pub fn is_current(&self, stored: &str) -> bool {
        self.keys.first().is_some_and(|(id, _)| {
            stored
                .strip_prefix(PREFIX)
                .is_some_and(|r| r.starts_with(&format!("{id}:")))
        })
    }

    /// Opens a sealed value stored at the place `aad` names.
    pub fn open(&self, aad: &str, stored: &str) -> Result<Zeroizing<String>, SealError> {
        let rest = stored
            .strip_prefix(PREFIX)
            .ok_or(SealError::Open("not sealed"))?;
        let (id, body) = rest.split_once(':').ok_or(SealError::Open("malformed"))?;
        let cipher = self
            .keys
            .iter()
            .find(|(k, _)| k == id)
            .map(|(_, c)| c)
            .ok_or(SealError::Open("sealed under a key not in the key file"))?;
        let bytes = B64.decode(body).map_err(|_| SealError::Open("malformed"))?;
        if bytes.len() < NONCE_LEN + 16 {
            return Err(SealError::Open("malformed"));
        }
        let (nonce, ct) = bytes.split_at(NONCE_LEN);
        let plain = cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError::Open("authentication failed"))?;
        String::from_utf8(plain)
            .map(Zeroizing::new)
            .map_err(|_| SealError::Open("not text"))
    }

    /// The keyed hash by which cases are found by ID number (normalised: trimmed, upper case).
    pub fn index(&self, id_number: &str) -> String {
        let normal = Zeroizing::new(id_number.trim().to_ascii_uppercase());
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(self.index.as_ref()) {
            Ok(m) => m,
            // A 32-byte key always fits HMAC; kept total all the same.
            Err(_) => return String::new(),
        };
        mac.update(normal.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl Sealer {
    /// HMAC-SHA256 of `data` under the audit key (hex), `None` when the key file has none.
    pub fn audit_mac(&self, data: &str) -> Option<String> {
        let key = self.audit.as_ref()?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_ref()).ok()?;
        mac.update(data.as_bytes());
        Some(
            mac.finalize()
                .into_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        )
    }
}

/// The associated data of a column's value in a row.
pub fn place(table: &str, column: &str, row: &str) -> String {
    format!("{table}.{column}:{row}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> Sealer {
        Sealer::from_toml(&Sealer::generate()).unwrap()
    }

    #[test]
    fn a_value_opens_only_where_it_was_sealed_and_only_with_its_key() {
        let s = sealer();
        let at = place("cases", "applicant_name", "2026112300000012");
        let sealed = s.seal(&at, "张建国").unwrap();
        assert!(Sealer::is_sealed(&sealed) && s.is_current(&sealed));
        assert!(!sealed.contains("张建国"));
        assert_eq!(s.open(&at, &sealed).unwrap().as_str(), "张建国");
        // Moved to another row, or opened with other keys: refused.
        let elsewhere = place("cases", "applicant_name", "2026112300000020");
        assert!(s.open(&elsewhere, &sealed).is_err());
        assert!(sealer().open(&at, &sealed).is_err());
        // Two seals of one value differ (a fresh nonce each time).
        assert_ne!(s.seal(&at, "张建国").unwrap(), sealed);
        // Altered: refused.
        let mut bad = sealed.clone();
        bad.pop();
        bad.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(s.open(&at, &bad).is_err());
        assert!(s.open(&at, "张建国").is_err());
    }

    #[test]
    fn rotation_keeps_old_values_readable() {
        let old = Sealer::generate();
        let s_old = Sealer::from_toml(&old).unwrap();
        let at = place("cases", "applicant_phone", "x");
        let sealed = s_old.seal(&at, "13800138000").unwrap();
        // A new first key; the old one stays to open what it sealed.
        let file: KeyFile = toml::from_str(&old).unwrap();
        let rotated = KeyFile {
            index_key: file.index_key.clone(),
            seal_keys: vec![B64.encode(random_key().as_ref()), file.seal_keys[0].clone()],
            audit_key: file.audit_key.clone(),
        };
        let s_new = Sealer::from_toml(&toml::to_string(&rotated).unwrap()).unwrap();
        assert_eq!(s_new.open(&at, &sealed).unwrap().as_str(), "13800138000");
        assert!(!s_new.is_current(&sealed));
        assert!(s_new.is_current(&s_new.seal(&at, "1").unwrap()));
        // The index does not change with the sealing keys.
        assert_eq!(
            s_old.index("42060219580312001x"),
            s_new.index("42060219580312001X")
        );
    }

    #[test]
    fn bad_key_files_are_refused_clearly() {
        assert!(Sealer::from_toml("").is_err());
        assert!(Sealer::from_toml("index_key = \"AAAA\"\nseal_keys = []").is_err());
        let short = B64.encode([1u8; 16]);
        let e = Sealer::from_toml(&format!(
            "index_key = \"{short}\"\nseal_keys = [\"{short}\"]"
        ))
        .unwrap_err();
        assert!(e.contains("32 bytes"), "{e}");
    }
}
