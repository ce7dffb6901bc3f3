//! Reading what RAUC 1.8's command line prints: `rauc status --output-format=json [--detailed]`
//! and the lines of `rauc install`. Nothing here runs a command (see `rauc.rs`), and nothing it
//! reads can make it panic: the kiosk's fuzz target `rauc_output` (`fuzz/`) compiles this very
//! file, so it uses only `std` and `serde_json`.
//!
//! The shapes are those of rauc v1.8 `src/main.c`:
//! * JSON status (`r_status_formatter_json`): `{"compatible", "variant", "booted",
//!   "boot_primary", "slots": [{"<slot name>": {"class", "device", "type", "bootname", "state",
//!   "parent", "mountpoint", "boot_status": "good"|"bad"|null, "slot_status": {"bundle":
//!   {"compatible", "version"?, "description"?, "build"?}, "checksum"?: {"sha256", "size"},
//!   "installed"?: {"timestamp", "count"}, "activated"?: {…}, "status"?}}}]}`; `slot_status`
//!   only with `--detailed`; any string may be `null`.
//! * install over D-Bus (`on_installer_changed` → `install_notify`, one `g_print("%s\n")` each):
//!   the `Operation` name alone (`installing`, `idle`), progress as `"%3d%% %s"` (` 20% Checking
//!   bundle`), `LastError: <message>`; on a terminal `\r\x1b[F\x1b[J` precedes a progress line and
//!   `\x1b[J` the error. At the end `Installing \`<f>\` succeeded` (stdout) or `… failed`
//!   (stderr).

use serde_json::Value;

/// A slot as `rauc status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RaucSlot {
    /// RAUC's slot name (`rootfs.0`).
    pub name: String,
    pub class: Option<String>,
    pub device: Option<String>,
    /// The bootloader's name of the slot (`A`, `B`).
    pub bootname: Option<String>,
    /// `booted`, `active` or `inactive`.
    pub state: Option<String>,
    /// `boot_status`: `Some(true)` for `good`, `Some(false)` for `bad`.
    pub boot_good: Option<bool>,
    /// With `--detailed`: the installed bundle's version, the image's SHA-256 and size.
    pub bundle_version: Option<String>,
    pub sha256: Option<String>,
    pub size: Option<u64>,
}

/// The system as `rauc status --output-format=json` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RaucStatus {
    pub compatible: Option<String>,
    /// What RAUC found booted: a bootname (from `rauc.slot=`), a slot name or a device.
    pub booted: Option<String>,
    pub boot_primary: Option<String>,
    pub slots: Vec<RaucSlot>,
}

/// Why RAUC's JSON cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusParseError(pub String);

impl std::fmt::Display for StatusParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rauc status is not the expected JSON: {}", self.0)
    }
}

impl std::error::Error for StatusParseError {}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Reads `rauc status --output-format=json` (with or without `--detailed`).
pub fn parse_status(json: &str) -> Result<RaucStatus, StatusParseError> {
    let root: Value =
        serde_json::from_str(json.trim()).map_err(|e| StatusParseError(e.to_string()))?;
    let Some(obj) = root.as_object() else {
        return Err(StatusParseError("not an object".into()));
    };
    let mut status = RaucStatus {
        compatible: text(obj.get("compatible")),
        booted: text(obj.get("booted")),
        boot_primary: text(obj.get("boot_primary")),
        slots: Vec::new(),
    };
    let slots = match obj.get("slots") {
        Some(Value::Array(a)) => a.as_slice(),
        None | Some(Value::Null) => &[],
        Some(_) => return Err(StatusParseError("\"slots\" is not an array".into())),
    };
    for entry in slots {
        // Each entry: one member, the slot's name, holding the slot.
        let Some(map) = entry.as_object() else {
            return Err(StatusParseError("a slot entry is not an object".into()));
        };
        for (name, slot) in map {
            let Some(s) = slot.as_object() else {
                return Err(StatusParseError(format!("slot {name:?} is not an object")));
            };
            let detail = s.get("slot_status").and_then(Value::as_object);
            let checksum = detail
                .and_then(|d| d.get("checksum"))
                .and_then(Value::as_object);
            status.slots.push(RaucSlot {
                name: name.clone(),
                class: text(s.get("class")),
                device: text(s.get("device")),
                bootname: text(s.get("bootname")),
                state: text(s.get("state")),
                boot_good: match s.get("boot_status").and_then(Value::as_str) {
                    Some("good") => Some(true),
                    Some("bad") => Some(false),
                    _ => None,
                },
                bundle_version: text(
                    detail
                        .and_then(|d| d.get("bundle"))
                        .and_then(|b| b.get("version")),
                ),
                sha256: text(checksum.and_then(|c| c.get("sha256")))
                    .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
                    .map(|h| h.to_ascii_lowercase()),
                size: checksum.and_then(|c| c.get("size")).and_then(Value::as_u64),
            });
        }
    }
    Ok(status)
}

impl RaucStatus {
    /// The booted slot: the one RAUC marks `booted`, else the one `booted` names (by bootname,
    /// slot name or device).
    pub fn booted_slot(&self) -> Option<&RaucSlot> {
        self.slots
            .iter()
            .find(|s| s.state.as_deref() == Some("booted"))
            .or_else(|| {
                let b = self.booted.as_deref()?;
                self.slots.iter().find(|s| {
                    s.bootname.as_deref() == Some(b)
                        || s.name == b
                        || s.device.as_deref() == Some(b)
                })
            })
    }

    /// The slot with this bootname.
    pub fn slot_by_bootname(&self, bootname: &str) -> Option<&RaucSlot> {
        self.slots
            .iter()
            .find(|s| s.bootname.as_deref() == Some(bootname))
    }

    /// The other bootable slot of the booted slot's class (the A/B partner).
    pub fn other_slot(&self) -> Option<&RaucSlot> {
        let booted = self.booted_slot()?;
        self.slots
            .iter()
            .find(|s| s.name != booted.name && s.bootname.is_some() && s.class == booted.class)
    }
}

/// One line `rauc install` printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallLine {
    /// ` 40% Copying image to rootfs.1`
    Progress { percent: u8, message: String },
    /// `LastError: …`: why the installation failed.
    Error(String),
    /// `Installing \`…\` succeeded`
    Succeeded,
    /// `Installing \`…\` failed…`, `D-Bus error while installing …`
    Failed(String),
    /// Anything else (the operation's name, log lines).
    Other(String),
}

/// Strips the terminal's cursor and erase sequences (`ESC [ … letter`) and carriage returns.
fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    // Parameters and intermediates, then one final byte in @..~.
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
            }
            '\r' => out.clear(),
            c => out.push(c),
        }
    }
    out.trim().to_string()
}

/// Reads one line of `rauc install`'s output.
pub fn parse_install_line(line: &str) -> InstallLine {
    let line = plain(line);
    if let Some(e) = line.strip_prefix("LastError:") {
        return InstallLine::Error(e.trim().to_string());
    }
    if line.starts_with("Installing `") || line.starts_with("D-Bus error while installing") {
        if line.ends_with("` succeeded") {
            return InstallLine::Succeeded;
        }
        return InstallLine::Failed(line);
    }
    if let Some((number, rest)) = line.split_once('%')
        && let Ok(n) = number.trim().parse::<u32>()
        && n <= 100
    {
        return InstallLine::Progress {
            percent: n as u8,
            message: rest.trim().to_string(),
        };
    }
    InstallLine::Other(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `rauc status --detailed --output-format=json` of rauc 1.8 (json-glib, compact, nulls kept)
    /// on an A/B system booted from A, after B was written and activated once.
    const DETAILED: &str = r#"{"compatible":"hall-kiosk-x86","variant":null,"booted":"A","boot_primary":"rootfs.0","slots":[{"rootfs.1":{"class":"rootfs","device":"/dev/disk/by-partuuid/6b1c6f2e-3d0a-4c55-9a51-0c1d2e3f4a03","type":"ext4","bootname":"B","state":"inactive","parent":null,"mountpoint":null,"boot_status":"bad","slot_status":{"bundle":{"compatible":"hall-kiosk-x86","version":"1.5.0+20261210.def5678","build":"20261210"},"checksum":{"sha256":"C0FFEE00112233445566778899AABBCCDDEEFF00112233445566778899AABBCC","size":838860800},"installed":{"timestamp":"2026-12-10T02:10:00Z","count":2},"activated":{"timestamp":"2026-12-10T02:11:00Z","count":1},"status":"ok"}}},{"rootfs.0":{"class":"rootfs","device":"/dev/disk/by-partuuid/6b1c6f2e-3d0a-4c55-9a51-0c1d2e3f4a01","type":"ext4","bootname":"A","state":"booted","parent":null,"mountpoint":"/","boot_status":"good","slot_status":{"bundle":{"compatible":null}}}}]}"#;

    #[test]
    fn the_detailed_status_of_rauc_1_8() {
        let s = parse_status(DETAILED).unwrap();
        assert_eq!(s.compatible.as_deref(), Some("hall-kiosk-x86"));
        assert_eq!(s.booted.as_deref(), Some("A"));
        let booted = s.booted_slot().unwrap();
        assert_eq!(booted.name, "rootfs.0");
        assert_eq!(booted.bootname.as_deref(), Some("A"));
        assert_eq!(booted.boot_good, Some(true));
        // The factory slot has no status of an installed bundle.
        assert_eq!(booted.sha256, None);
        let other = s.other_slot().unwrap();
        assert_eq!(other.bootname.as_deref(), Some("B"));
        assert_eq!(other.boot_good, Some(false));
        assert_eq!(
            other.bundle_version.as_deref(),
            Some("1.5.0+20261210.def5678")
        );
        assert_eq!(
            other.sha256.as_deref(),
            Some("c0ffee00112233445566778899aabbccddeeff00112233445566778899aabbcc")
        );
        assert_eq!(other.size, Some(838_860_800));
    }

    /// Without `--detailed`, and pretty-printed: the same slots, no slot status.
    #[test]
    fn the_plain_status_and_json_pretty() {
        let pretty = r#"{
  "compatible" : "hall-kiosk-arm64",
  "variant" : null,
  "booted" : "B",
  "boot_primary" : "rootfs.1",
  "slots" : [
    { "rootfs.0" : { "class" : "rootfs", "device" : "/dev/mmcblk0p2", "type" : "ext4",
        "bootname" : "A", "state" : "inactive", "parent" : null, "mountpoint" : null,
        "boot_status" : "good" } },
    { "efi.0" : { "class" : "efi", "device" : "/dev/mmcblk0p1", "type" : "vfat",
        "bootname" : null, "state" : "inactive", "parent" : null, "mountpoint" : null,
        "boot_status" : null } },
    { "rootfs.1" : { "class" : "rootfs", "device" : "/dev/mmcblk0p3", "type" : "ext4",
        "bootname" : "B", "state" : "booted", "parent" : null, "mountpoint" : "/",
        "boot_status" : "good" } }
  ]
}"#;
        let s = parse_status(pretty).unwrap();
        assert_eq!(s.booted_slot().unwrap().bootname.as_deref(), Some("B"));
        assert_eq!(s.other_slot().unwrap().bootname.as_deref(), Some("A"));
        assert_eq!(s.slot_by_bootname("A").unwrap().name, "rootfs.0");
        assert!(s.slots.iter().all(|x| x.sha256.is_none()));
    }

    /// RAUC found the booted slot by its device (`root=` without `rauc.slot=`).
    #[test]
    fn booted_by_device() {
        let j = r#"{"compatible":"c","booted":"/dev/sda3","slots":[{"a":{"class":"rootfs","device":"/dev/sda3","bootname":"A","state":"active"}},{"b":{"class":"rootfs","device":"/dev/sda4","bootname":"B","state":"inactive"}}]}"#;
        let s = parse_status(j).unwrap();
        assert_eq!(s.booted_slot().unwrap().bootname.as_deref(), Some("A"));
        assert_eq!(s.other_slot().unwrap().bootname.as_deref(), Some("B"));
    }

    #[test]
    fn not_rauc_json_is_an_error_not_a_panic() {
        for bad in [
            "",
            "null",
            "[]",
            "{\"slots\":3}",
            "{\"slots\":[1]}",
            "{\"slots\":[{\"x\":2}]}",
            "Failed to load status",
        ] {
            assert!(parse_status(bad).is_err(), "{bad}");
        }
        let s = parse_status("{}").unwrap();
        assert!(s.booted_slot().is_none() && s.other_slot().is_none());
    }

    /// The lines `rauc install` prints (1.8, through the service), piped and on a terminal.
    #[test]
    fn install_lines() {
        let p = |l| parse_install_line(l);
        assert_eq!(p("installing"), InstallLine::Other("installing".into()));
        assert_eq!(
            p("  0% Installing"),
            InstallLine::Progress {
                percent: 0,
                message: "Installing".into()
            }
        );
        assert_eq!(
            p(" 40% Copying image to rootfs.1"),
            InstallLine::Progress {
                percent: 40,
                message: "Copying image to rootfs.1".into()
            }
        );
        assert_eq!(
            p("100% Installing done."),
            InstallLine::Progress {
                percent: 100,
                message: "Installing done.".into()
            }
        );
        assert_eq!(
            p("\r\x1b[F\x1b[J 60% Copying image to rootfs.1 done."),
            InstallLine::Progress {
                percent: 60,
                message: "Copying image to rootfs.1 done.".into()
            }
        );
        assert_eq!(
            p("LastError: Failed to check bundle identifier: Invalid identifier."),
            InstallLine::Error("Failed to check bundle identifier: Invalid identifier.".into())
        );
        assert_eq!(
            p("\x1b[JLastError: signature verification failed"),
            InstallLine::Error("signature verification failed".into())
        );
        assert_eq!(
            p("Installing `/var/lib/hall-kiosk/updates/1.5.0.raucb` succeeded"),
            InstallLine::Succeeded
        );
        assert!(matches!(
            p("Installing `/x.raucb` failed"),
            InstallLine::Failed(_)
        ));
        assert!(matches!(
            p("D-Bus error while installing `/x.raucb`"),
            InstallLine::Failed(_)
        ));
        assert!(matches!(p("250% nonsense"), InstallLine::Other(_)));
        assert!(matches!(p("\x1b["), InstallLine::Other(_)));
    }
}
