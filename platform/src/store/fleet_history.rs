//! What happened to each kiosk (kept [`KEEP_MS`]): its devices' state when it changed, errors,
//! boots, time offline (a gap in its heartbeats), help calls. The console's kiosk page shows the
//! last seven days.

use chrono::NaiveDateTime;
use hall_domain::api::{DeviceHealth, Heartbeat};

use crate::db::Conn;
use crate::error::StoreError;
use crate::fleet_rules::clip;
use crate::params;

/// How long the history is kept: 90 days.
pub const KEEP_MS: i64 = 90 * 86_400_000;

/// One thing that happened to a kiosk.
#[derive(Debug, Clone, PartialEq)]
pub enum Happened {
    /// No heartbeat from `since` (the last one) until the next.
    Offline {
        since: String,
    },
    Online,
    Devices(DeviceHealth),
    Error(String),
    /// The machine booted (a new boot id), running this version.
    Boot {
        version: String,
    },
    Help(Option<String>),
    HelpDone,
}

impl Happened {
    fn row(&self) -> Result<(&'static str, Option<String>), StoreError> {
        Ok(match self {
            Happened::Offline { since } => ("offline", Some(since.clone())),
            Happened::Online => ("online", None),
            Happened::Devices(d) => ("devices", Some(serde_json::to_string(d)?)),
            Happened::Error(e) => ("error", Some(clip(e))),
            Happened::Boot { version } => ("boot", Some(clip(version))),
            Happened::Help(note) => ("help", note.as_deref().map(clip)),
            Happened::HelpDone => ("help_done", None),
        })
    }

    fn from_row(kind: &str, detail: Option<String>) -> Option<Self> {
        Some(match kind {
            "offline" => Happened::Offline {
                since: detail.unwrap_or_default(),
            },
            "online" => Happened::Online,
            "devices" => Happened::Devices(serde_json::from_str(&detail?).ok()?),
            "error" => Happened::Error(detail.unwrap_or_default()),
            "boot" => Happened::Boot {
                version: detail.unwrap_or_default(),
            },
            "help" => Happened::Help(detail),
            "help_done" => Happened::HelpDone,
            _ => return None,
        })
    }
}

/// Records what happened, and forgets this kiosk's history older than [`KEEP_MS`].
pub fn record(
    c: &mut dyn Conn,
    kiosk_id: &str,
    what: &Happened,
    at: NaiveDateTime,
    at_ms: i64,
) -> Result<(), StoreError> {
    let (kind, detail) = what.row()?;
    c.execute(
        "INSERT INTO fleet_history (kiosk_id, at_ms, at, kind, detail) VALUES ($1, $2, $3, $4, $5)",
        params![kiosk_id, at_ms, at, kind, detail],
    )?;
    if matches!(what, Happened::Boot { .. } | Happened::Online) {
        c.execute(
            "DELETE FROM fleet_history WHERE kiosk_id = $1 AND at_ms < $2",
            params![kiosk_id, at_ms - KEEP_MS],
        )?;
    }
    Ok(())
}

/// The kiosk as its previous heartbeat left it.
pub struct Before {
    pub last_seen_ms: Option<i64>,
    pub last_seen_at: Option<String>,
    pub devices: Option<String>,
    pub last_error: Option<String>,
    pub boot_id: Option<String>,
}

/// Reads what [`after_heartbeat`] compares with (before the heartbeat is stored).
pub fn before(c: &mut dyn Conn, kiosk_id: &str) -> Result<Option<Before>, StoreError> {
    let Some(r) = c.query_opt(
        "SELECT last_seen_ms, last_seen_at, devices, last_error, boot_id FROM fleet_kiosks
         WHERE kiosk_id = $1",
        params![kiosk_id],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(Before {
        last_seen_ms: r.opt_i64(0)?,
        last_seen_at: r.opt_text(1)?,
        devices: r.opt_text(2)?,
        last_error: r.opt_text(3)?,
        boot_id: r.opt_text(4)?,
    }))
}

/// Records what a heartbeat changed: back after a gap longer than `offline_after_ms`, a new
/// boot, another state of the devices, a new error.
pub fn after_heartbeat(
    c: &mut dyn Conn,
    kiosk_id: &str,
    before: &Before,
    hb: &Heartbeat,
    now: NaiveDateTime,
    now_ms: i64,
    offline_after_ms: i64,
) -> Result<(), StoreError> {
    if let Some(last) = before.last_seen_ms
        && now_ms - last > offline_after_ms
    {
        let since = before.last_seen_at.clone().unwrap_or_default();
        record(c, kiosk_id, &Happened::Offline { since }, now, now_ms)?;
        record(c, kiosk_id, &Happened::Online, now, now_ms)?;
    }
    if before.boot_id.as_deref() != Some(clip(&hb.boot_id).as_str()) {
        let version = hb.version.clone();
        record(c, kiosk_id, &Happened::Boot { version }, now, now_ms)?;
    }
    let devices = serde_json::to_string(&hb.devices)?;
    if before.devices.as_deref() != Some(devices.as_str()) {
        record(
            c,
            kiosk_id,
            &Happened::Devices(hb.devices.clone()),
            now,
            now_ms,
        )?;
    }
    if let Some(e) = hb.last_error.as_deref().filter(|e| !e.trim().is_empty())
        && before.last_error.as_deref() != Some(clip(e).as_str())
    {
        record(c, kiosk_id, &Happened::Error(e.to_string()), now, now_ms)?;
    }
    Ok(())
}

/// A kiosk's history since `since_ms`, newest first (at most `limit` entries).
pub fn since(
    c: &mut dyn Conn,
    kiosk_id: &str,
    since_ms: i64,
    limit: i64,
) -> Result<Vec<(String, Happened)>, StoreError> {
    let mut out = Vec::new();
    for r in c.query(
        "SELECT at, kind, detail FROM fleet_history WHERE kiosk_id = $1 AND at_ms >= $2
         ORDER BY at_ms DESC LIMIT $3",
        params![kiosk_id, since_ms, limit],
    )? {
        if let Some(h) = Happened::from_row(&r.text(1)?, r.opt_text(2)?) {
            out.push((r.text(0)?, h));
        }
    }
    Ok(out)
}
