//! Downloading an offered bundle to the data partition: resumable (`Range: bytes=N-`, 206; a
//! 200 starts again), at a capped rate, its SHA-256 checked against the offer before the
//! `.raucb.part` becomes `.raucb` (file and directory fsynced), after a check that it fits.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hall_client::{FleetClient, FleetError};
use hall_domain::api::UpdateOffer;
use sha2::Digest;

use super::plan::TokenBucket;
use super::state::{Files, remove, safe_release, sync_dir};

/// Room left free on the data partition besides the bundle (the outbox must still write).
pub const SPARE_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The network or the platform: the part is kept, the download resumes later.
    #[error("download interrupted: {0}")]
    Interrupted(String),
    /// The bundle does not fit, or the disk failed: reported as failed.
    #[error("{0}")]
    Disk(String),
    /// The platform refused the bundle (gone, not rolled out to this kiosk).
    #[error("the platform refused the bundle: {0}")]
    Refused(String),
    /// What arrived is not the offered bundle: deleted.
    #[error("the downloaded bundle's SHA-256 is {got}, the offer says {expected}")]
    Digest { expected: String, got: String },
}

impl DownloadError {
    /// Whether trying again later may succeed without a new offer.
    pub fn is_transient(&self) -> bool {
        matches!(self, DownloadError::Interrupted(_))
    }
}

fn disk(what: &str, path: &Path, e: std::io::Error) -> DownloadError {
    DownloadError::Disk(format!("{what} {}: {e}", path.display()))
}

/// Bytes of the partial bundle on disk (0: none).
pub fn partial_len(files: &Files, release: &str) -> u64 {
    std::fs::metadata(files.partial(release)).map_or(0, |m| m.len())
}

/// Free bytes for an unprivileged writer in the file system holding `dir`.
pub fn free_bytes(dir: &Path) -> std::io::Result<u64> {
    let st = rustix::fs::statvfs(dir).map_err(std::io::Error::from)?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// Removes every bundle and part but `keep`'s (old releases, abandoned downloads).
pub fn remove_other_bundles(files: &Files, keep: Option<&str>) {
    let Ok(dir) = std::fs::read_dir(&files.bundles) else {
        return;
    };
    let keep: Vec<PathBuf> = keep
        .map(|r| vec![files.bundle(r), files.partial(r)])
        .unwrap_or_default();
    for entry in dir.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if (name.ends_with(".raucb") || name.ends_with(".raucb.part")) && !keep.contains(&path) {
            match remove(&path) {
                Ok(()) => tracing::info!(file = %name, "old update bundle removed"),
                Err(e) => tracing::warn!(error = %e, file = %name, "cannot remove an old bundle"),
            }
        }
    }
}

/// SHA-256 (hex) of a file.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>())
}

/// Where a 206 answer starts (`Content-Range: bytes START-END/TOTAL`).
pub fn content_range_start(value: &str) -> Option<u64> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, _total) = rest.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    start.trim().parse().ok()
}

/// Downloads (or resumes) the offered bundle at most `bytes_per_sec`, calling `progress` with
/// the bytes on disk. Returns the complete `.raucb`, its digest checked.
pub async fn download(
    client: &FleetClient,
    offer: &UpdateOffer,
    files: &Files,
    bytes_per_sec: u64,
    mut progress: impl FnMut(u64),
) -> Result<PathBuf, DownloadError> {
    if !safe_release(&offer.release) {
        return Err(DownloadError::Refused(format!(
            "the release name {:?} cannot name a file",
            offer.release
        )));
    }
    let done_path = files.bundle(&offer.release);
    if std::fs::metadata(&done_path).is_ok_and(|m| m.len() == offer.size) {
        return Ok(done_path); // checked before it was renamed
    }
    std::fs::create_dir_all(&files.bundles)
        .map_err(|e| disk("cannot create", &files.bundles, e))?;
    remove_other_bundles(files, Some(&offer.release));
    let part = files.partial(&offer.release);
    let mut have = partial_len(files, &offer.release);
    if have > offer.size {
        remove(&part).map_err(|e| disk("cannot remove", &part, e))?;
        have = 0;
    }
    let free = free_bytes(&files.bundles).map_err(|e| disk("cannot measure", &files.bundles, e))?;
    // The offer's size is the platform's word: saturating, so an absurd one is refused for room
    // rather than wrapping past the check.
    let need = (offer.size - have).saturating_add(SPARE_BYTES);
    if free < need {
        return Err(DownloadError::Disk(format!(
            "not enough room for the bundle: {} MiB needed, {} MiB free",
            need.div_ceil(1 << 20),
            free >> 20
        )));
    }
    progress(have);
    if have < offer.size {
        fetch(client, offer, &part, have, bytes_per_sec, &mut progress).await?;
    }
    // Checked against the offer before it may be installed.
    let check = part.clone();
    let got = tokio::task::spawn_blocking(move || sha256_file(&check))
        .await
        .map_err(|e| DownloadError::Disk(format!("digest: {e}")))?
        .map_err(|e| disk("cannot read", &part, e))?;
    if !got.eq_ignore_ascii_case(&offer.sha256) {
        let _ = remove(&part);
        return Err(DownloadError::Digest {
            expected: offer.sha256.to_ascii_lowercase(),
            got,
        });
    }
    std::fs::rename(&part, &done_path).map_err(|e| disk("cannot rename", &part, e))?;
    sync_dir(&files.bundles).map_err(|e| disk("cannot sync", &files.bundles, e))?;
    tracing::info!(release = %offer.release, bytes = offer.size, "update bundle downloaded and checked");
    Ok(done_path)
}

/// Appends the rest of the bundle to `part` (from `have`), fsyncing it at the end.
async fn fetch(
    client: &FleetClient,
    offer: &UpdateOffer,
    part: &Path,
    mut have: u64,
    bytes_per_sec: u64,
    progress: &mut impl FnMut(u64),
) -> Result<(), DownloadError> {
    let mut resp = match client.bundle(&offer.bundle_path, have).await {
        Ok(r) => r,
        Err(FleetError::Refused { status: 416, .. }) => {
            // The part is as long as the bundle claims or longer: start again.
            let _ = remove(part);
            return Err(DownloadError::Interrupted(
                "the platform could not resume; starting again".into(),
            ));
        }
        Err(FleetError::Refused { status, title }) => {
            return Err(DownloadError::Refused(format!("{status}: {title}")));
        }
        Err(e) => return Err(DownloadError::Interrupted(e.to_string())),
    };
    let mut file = match resp.status().as_u16() {
        206 => {
            let start = resp
                .headers()
                .get(reqwest::header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(content_range_start);
            if start != Some(have) {
                return Err(DownloadError::Interrupted(format!(
                    "the platform answered another range ({start:?}) than asked ({have})"
                )));
            }
            std::fs::OpenOptions::new()
                .append(true)
                .open(part)
                .map_err(|e| disk("cannot open", part, e))?
        }
        _ => {
            // The whole bundle (a 200): start again.
            have = 0;
            std::fs::File::create(part).map_err(|e| disk("cannot create", part, e))?
        }
    };
    let mut bucket = TokenBucket::new(bytes_per_sec, Instant::now());
    let mut last_report = Instant::now();
    loop {
        let chunk = match resp.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => {
                let _ = file.sync_all();
                progress(have);
                return Err(DownloadError::Interrupted(e.to_string()));
            }
        };
        if have.saturating_add(chunk.len() as u64) > offer.size {
            drop(file);
            let _ = remove(part);
            return Err(DownloadError::Digest {
                expected: offer.sha256.to_ascii_lowercase(),
                got: format!("(more than the offered {} bytes)", offer.size),
            });
        }
        file.write_all(&chunk)
            .map_err(|e| disk("cannot write", part, e))?;
        have += chunk.len() as u64;
        let wait = bucket.take(chunk.len(), Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        if last_report.elapsed() >= Duration::from_millis(500) {
            last_report = Instant::now();
            progress(have);
        }
    }
    file.sync_all().map_err(|e| disk("cannot sync", part, e))?;
    progress(have);
    if have < offer.size {
        return Err(DownloadError::Interrupted(format!(
            "the connection ended after {have} of {} bytes",
            offer.size
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges() {
        assert_eq!(content_range_start("bytes 100-999/1000"), Some(100));
        assert_eq!(content_range_start("bytes */1000"), None);
        assert_eq!(content_range_start("items 1-2/3"), None);
    }

    #[test]
    fn old_bundles_go() {
        let dir = tempfile::tempdir().unwrap();
        let files = Files::new(dir.path());
        std::fs::create_dir_all(&files.bundles).unwrap();
        for f in [
            "1.4.0.raucb",
            "1.5.0.raucb.part",
            "1.6.0.raucb.part",
            "notes.txt",
        ] {
            std::fs::write(files.bundles.join(f), b"x").unwrap();
        }
        remove_other_bundles(&files, Some("1.6.0"));
        let mut left: Vec<String> = std::fs::read_dir(&files.bundles)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["1.6.0.raucb.part", "notes.txt"]);
        assert!(free_bytes(dir.path()).unwrap() > 0);
    }
}
