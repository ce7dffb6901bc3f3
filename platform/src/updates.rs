//! Field updates: releases (a signed RAUC bundle and what its release script published beside it)
//! kept in the platform's releases directory, and the rules of their rollouts.
//!
//! A bundle is written to a temporary file in the releases directory while its SHA-256 is
//! computed, checked against the size and digest it was announced with, flushed to disk, and only
//! then given its name (a hard link, which never replaces a file already there) — so a release
//! is either stored whole and checked, or not at all. The kiosk's RAUC checks the bundle's
//! signature; the digest here only keeps a broken copy from being offered.
//!
//! Which kiosks of a hall a rollout to a share of it reaches is decided by a hash of the kiosk's
//! id and the rollout's ([`bucket`]): the same kiosks every time, and a wider share keeps them.
//! The statements are in [`crate::store::updates`].

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::db::DbUrl;

/// The largest bundle the platform takes (an A/B root image is a few hundred MB).
pub const MAX_BUNDLE_BYTES: u64 = 8 << 30;

/// What the release script writes beside each bundle (`<version>.json`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sidecar {
    pub version: String,
    pub compatible: String,
    pub root_sha256: String,
    /// The bundle's file name, beside the sidecar.
    #[serde(default)]
    pub bundle: String,
    pub size: u64,
    pub sha256: String,
}

/// Why a release was not stored.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("{0}")]
    Invalid(String),
    #[error("the bundle has {got} bytes, but its release says {expected}")]
    SizeDiffers { expected: u64, got: u64 },
    #[error("the bundle's SHA-256 is {got}, but its release says {expected}")]
    DigestDiffers { expected: String, got: String },
    #[error("release {0} is stored already")]
    Exists(String),
    #[error("the releases directory {dir}: {source}")]
    Io {
        dir: PathBuf,
        source: std::io::Error,
    },
}

/// A version: also the release's id in paths and file names.
pub fn valid_version(v: &str) -> bool {
    let mut bytes = v.bytes();
    v.len() <= 64
        && bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+' | b'~'))
}

fn valid_hex(v: &str) -> bool {
    v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Sidecar {
    /// Checks the fields; hex digests are lower-cased.
    pub fn checked(mut self) -> Result<Sidecar, ReleaseError> {
        if !valid_version(&self.version) {
            return Err(ReleaseError::Invalid(format!(
                "version {:?}: 1 to 64 letters, digits, '.', '_', '-', '+' or '~', starting with a letter or digit",
                self.version
            )));
        }
        let c = &self.compatible;
        if c.is_empty() || c.len() > 64 || !c.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ReleaseError::Invalid(format!(
                "compatible {c:?}: 1 to 64 printable characters without spaces"
            )));
        }
        for (name, v) in [("sha256", &self.sha256), ("root_sha256", &self.root_sha256)] {
            if !valid_hex(v) {
                return Err(ReleaseError::Invalid(format!(
                    "{name} {v:?}: 64 hexadecimal digits"
                )));
            }
        }
        if self.size == 0 || self.size > MAX_BUNDLE_BYTES {
            return Err(ReleaseError::Invalid(format!(
                "size {}: 1 byte to {MAX_BUNDLE_BYTES}",
                self.size
            )));
        }
        self.sha256.make_ascii_lowercase();
        self.root_sha256.make_ascii_lowercase();
        Ok(self)
    }
}

/// The releases directory the platform uses when none is given: beside a SQLite file
/// (`DB.releases/`), for PostgreSQL `hall-releases/` in the working directory (instances sharing
/// a database must share it).
pub fn releases_dir_for(url: &DbUrl) -> PathBuf {
    match url {
        DbUrl::Sqlite(path) => {
            let mut name = path.file_name().unwrap_or_default().to_os_string();
            name.push(".releases");
            path.with_file_name(name)
        }
        _ => PathBuf::from("hall-releases"),
    }
}

/// The file a release's bundle is stored as.
pub fn bundle_file(version: &str) -> String {
    format!("{version}.raucb")
}

fn io(dir: &Path) -> impl Fn(std::io::Error) -> ReleaseError + '_ {
    move |source| ReleaseError::Io {
        dir: dir.to_path_buf(),
        source,
    }
}

/// A temporary file in the releases directory, removed unless it was given its name.
pub struct Incoming {
    dir: PathBuf,
    path: PathBuf,
    hasher: Sha256,
    written: u64,
}

impl Incoming {
    /// A new temporary file (the directory is made when missing).
    pub fn create(dir: &Path) -> Result<(Incoming, std::fs::File), ReleaseError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(format!(".incoming-{}", uuid::Uuid::new_v4().simple()));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io(dir))?;
        Ok((
            Incoming {
                dir: dir.to_path_buf(),
                path,
                hasher: Sha256::new(),
                written: 0,
            },
            file,
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Counts and hashes bytes written; refuses more than `limit`.
    pub fn saw(&mut self, bytes: &[u8], limit: u64) -> Result<(), ReleaseError> {
        self.written = self.written.saturating_add(bytes.len() as u64);
        if self.written > limit {
            return Err(ReleaseError::SizeDiffers {
                expected: limit,
                got: self.written,
            });
        }
        self.hasher.update(bytes);
        Ok(())
    }

    /// Writes bytes to the file, counting and hashing them; refuses more than `limit`.
    pub fn write(
        &mut self,
        file: &mut std::fs::File,
        bytes: &[u8],
        limit: u64,
    ) -> Result<(), ReleaseError> {
        self.saw(bytes, limit)?;
        file.write_all(bytes).map_err(io(&self.dir))
    }

    /// Checks what was written against the release, flushes it to disk and gives it its name.
    /// Returns the bundle's file name.
    pub fn finish(self, file: std::fs::File, meta: &Sidecar) -> Result<String, ReleaseError> {
        let got = hex(&self.hasher.clone().finalize());
        if self.written != meta.size {
            return Err(ReleaseError::SizeDiffers {
                expected: meta.size,
                got: self.written,
            });
        }
        if got != meta.sha256 {
            return Err(ReleaseError::DigestDiffers {
                expected: meta.sha256.clone(),
                got,
            });
        }
        file.sync_all().map_err(io(&self.dir))?;
        drop(file);
        let name = bundle_file(&meta.version);
        match std::fs::hard_link(&self.path, self.dir.join(&name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(ReleaseError::Exists(meta.version.clone()));
            }
            Err(e) => return Err(io(&self.dir)(e)),
        }
        // The name is on disk before the release is recorded.
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))?;
        Ok(name)
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Copies a bundle file into the releases directory, checked against its release.
pub fn store_file(src: &Path, meta: &Sidecar, dir: &Path) -> Result<String, ReleaseError> {
    let mut from = std::fs::File::open(src)
        .map_err(|e| ReleaseError::Invalid(format!("cannot read {}: {e}", src.display())))?;
    let (mut incoming, mut file) = Incoming::create(dir)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = from
            .read(&mut buf)
            .map_err(|e| ReleaseError::Invalid(format!("cannot read {}: {e}", src.display())))?;
        if n == 0 {
            break;
        }
        incoming.write(&mut file, &buf[..n], meta.size)?;
    }
    incoming.finish(file, meta)
}

/// Removes a stored bundle again (its release could not be recorded).
pub fn remove_bundle(dir: &Path, name: &str) {
    if let Err(e) = std::fs::remove_file(dir.join(name)) {
        tracing::warn!(error = %e, bundle = name, "a bundle could not be removed");
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where a kiosk falls in a rollout to a share of its hall: 0 to 99. A rollout to `p` percent
/// reaches the kiosks whose bucket is below `p`.
pub fn bucket(rollout_id: &str, kiosk_id: &str) -> u8 {
    let d = Sha256::digest(format!("{rollout_id}\n{kiosk_id}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    (u64::from_be_bytes(first) % 100) as u8
}

/// Why a rollout could not be started or changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolloutRefusal {
    NoRelease,
    NoKiosk,
    NoRollout,
    /// One kiosk or one hall, not both, not neither; a share only with a hall.
    Target,
    /// 1 to 100, and never narrower than it was.
    Percent,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_stable_and_spread() {
        assert_eq!(bucket("r1", "K-01"), bucket("r1", "K-01"));
        let mut seen = [0u32; 100];
        for i in 0..10_000 {
            seen[usize::from(bucket("r1", &format!("K-{i}")))] += 1;
        }
        assert!(seen.iter().all(|&n| (50..=150).contains(&n)), "{seen:?}");
    }

    #[test]
    fn versions() {
        assert!(valid_version("2026.12.1"));
        assert!(valid_version("1.4.2+rc1"));
        assert!(!valid_version(""));
        assert!(!valid_version("../etc"));
        assert!(!valid_version(".hidden"));
        assert!(!valid_version("a/b"));
    }
}
