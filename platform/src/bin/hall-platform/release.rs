//! `hall-platform release …`: the releases (RAUC bundles) the platform stores for field updates.

use anyhow::{Context, bail};
use hall_platform::audit::Actor;
use hall_platform::clock::Clock;
use hall_platform::store::updates as rows;
use hall_platform::updates::{self, ReleaseError, Sidecar};

use crate::args::ReleaseCommand;

pub(crate) fn run(cmd: ReleaseCommand) -> anyhow::Result<()> {
    match cmd {
        ReleaseCommand::Add { db, file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let meta: Sidecar = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a release's JSON", file.display()))?;
            let meta = meta.checked()?;
            anyhow::ensure!(
                !meta.bundle.is_empty()
                    && !meta.bundle.contains(['/', '\\'])
                    && meta.bundle != ".."
                    && meta.bundle != ".",
                "{}: \"bundle\" must name the bundle's file beside it",
                file.display()
            );
            let bundle = file
                .parent()
                .unwrap_or_else(|| std::path::Path::new("."))
                .join(&meta.bundle);
            let store = db.open()?;
            let dir = db.releases_dir()?;
            if store
                .read_blocking(|c| rows::release(c, &meta.version))?
                .is_some()
            {
                bail!(
                    "release {} is stored already; nothing changed",
                    meta.version
                );
            }
            let name = match updates::store_file(&bundle, &meta, &dir) {
                Ok(name) => name,
                Err(
                    e @ (ReleaseError::SizeDiffers { .. } | ReleaseError::DigestDiffers { .. }),
                ) => {
                    bail!("{}: {e}; nothing was stored", bundle.display())
                }
                Err(e) => bail!("{e}; nothing was stored"),
            };
            let now = Clock::new(None).now();
            let added =
                store.write_blocking(|c| rows::add_release(c, &meta, &name, &Actor::Admin, now));
            match added {
                Ok(true) => {}
                Ok(false) => {
                    updates::remove_bundle(&dir, &name);
                    bail!(
                        "release {} is stored already; nothing changed",
                        meta.version
                    );
                }
                Err(e) => {
                    updates::remove_bundle(&dir, &name);
                    return Err(e.into());
                }
            }
            println!(
                "stored release {} ({}, {} bytes, sha256 {}) in {}",
                meta.version,
                meta.compatible,
                meta.size,
                meta.sha256,
                dir.join(&name).display()
            );
        }
        ReleaseCommand::List { db } => {
            let store = db.open()?;
            for r in store.read_blocking(rows::releases)? {
                println!(
                    "{}  {}  {:>12} bytes  {}  {}  {}",
                    r.version,
                    r.compatible,
                    r.size,
                    &r.sha256[..12.min(r.sha256.len())],
                    r.added_at.format("%Y-%m-%d %H:%M"),
                    r.added_by
                );
            }
        }
    }
    Ok(())
}
