//! Board profiles (`board/*.toml`): the display output and rotation, the GPIO pins of the help
//! button, the status light and the presence sensor, and the device URIs of a kiosk model.
//!
//! The profiles shipped in the repository are also built in, so `hall-kiosk diag gpio --board
//! rpi4` works on an appliance without the source tree; a profile file on disk (in
//! `$HALL_BOARD_DIR`, `/etc/hall-kiosk/board` or `/usr/share/hall-kiosk/board`) wins over the
//! built-in one of the same name.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::uri::DeviceUri;

/// The profiles shipped with the kiosk, by name.
pub const BUILTIN: [(&str, &str); 4] = [
    ("rpi4", include_str!("../../board/rpi4.toml")),
    ("rpi5", include_str!("../../board/rpi5.toml")),
    ("rk3568", include_str!("../../board/rk3568.toml")),
    ("x86-kiosk", include_str!("../../board/x86-kiosk.toml")),
];

/// What is wrong with a board profile.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    #[error("board profile {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("board profile {name}: {message}")]
    Parse { name: String, message: String },
    #[error("board profile {name}: {message}")]
    Invalid { name: String, message: String },
    #[error("no board profile `{0}` (built in: rpi4, rpi5, rk3568, x86-kiosk)")]
    Unknown(String),
}

/// A kiosk model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardProfile {
    pub name: String,
    pub description: String,
    pub display: Display,
    /// `None`: the board has no GPIO (e.g. an x86 kiosk PC; the help button is on screen).
    #[serde(default)]
    pub gpio: Option<GpioPins>,
    pub devices: BoardDevices,
}

/// The touchscreen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Display {
    /// DRM connector name, e.g. `HDMI-A-1`, `DSI-1`, `eDP-1`.
    pub output: String,
    /// Clockwise rotation in degrees: 0, 90, 180 or 270.
    #[serde(default)]
    pub rotation: u16,
    /// Mode as `WIDTHxHEIGHT` (the output's preferred mode when absent).
    #[serde(default)]
    pub mode: Option<String>,
}

/// Pull resistor of an input line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Bias {
    #[default]
    AsIs,
    PullUp,
    PullDown,
    Disabled,
}

/// An input line (button, sensor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputPin {
    pub line: u32,
    /// The line reads low when pressed / present.
    #[serde(default)]
    pub active_low: bool,
    #[serde(default)]
    pub bias: Bias,
    /// The level must hold this long to count.
    #[serde(default = "default_debounce_ms")]
    pub debounce_ms: u64,
}

fn default_debounce_ms() -> u64 {
    30
}

/// An output line (the status light).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputPin {
    pub line: u32,
    #[serde(default)]
    pub active_low: bool,
}

/// The GPIO pins of a board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpioPins {
    /// The chip, by device name (`gpiochip0`) or by label (`pinctrl-rp1`).
    pub chip: String,
    #[serde(default)]
    pub help_button: Option<InputPin>,
    #[serde(default)]
    pub status_light: Option<OutputPin>,
    #[serde(default)]
    pub presence: Option<InputPin>,
}

/// The devices of the kiosk model, by URI (stable names from the udev rules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardDevices {
    pub idcard: DeviceUri,
    pub scanner: DeviceUri,
    pub printer: DeviceUri,
    pub camera: DeviceUri,
}

/// libinput's calibration matrix for a touchscreen rotated clockwise by `rotation` degrees
/// (the display rotation of linuxkms does not rotate touch).
pub fn touch_calibration_matrix(rotation: u16) -> Option<&'static str> {
    match rotation {
        0 => Some("1 0 0 0 1 0"),
        90 => Some("0 -1 1 1 0 0"),
        180 => Some("-1 0 1 0 -1 1"),
        270 => Some("0 1 0 -1 0 1"),
        _ => None,
    }
}

impl BoardProfile {
    /// Parses and checks a profile; `name` is for messages.
    pub fn from_toml(name: &str, text: &str) -> Result<Self, BoardError> {
        let p: BoardProfile = toml::from_str(text).map_err(|e| BoardError::Parse {
            name: name.to_string(),
            message: e.to_string(),
        })?;
        p.validate()?;
        Ok(p)
    }

    /// Reads a profile file.
    pub fn load(path: &Path) -> Result<Self, BoardError> {
        let text = std::fs::read_to_string(path).map_err(|source| BoardError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&path.display().to_string(), &text)
    }

    /// A built-in profile.
    pub fn builtin(name: &str) -> Result<Self, BoardError> {
        let (_, text) = BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| BoardError::Unknown(name.to_string()))?;
        Self::from_toml(name, text)
    }

    /// Where profile files are looked for, in order.
    pub fn search_dirs() -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        if let Some(d) = std::env::var_os("HALL_BOARD_DIR") {
            dirs.push(PathBuf::from(d));
        }
        dirs.push(PathBuf::from("/etc/hall-kiosk/board"));
        dirs.push(PathBuf::from("/usr/share/hall-kiosk/board"));
        dirs
    }

    /// A profile by name (a file in the search directories, else built in) or by path (a name
    /// with a `/` or ending in `.toml`).
    pub fn find(name: &str) -> Result<Self, BoardError> {
        if name.contains('/') || name.ends_with(".toml") {
            return Self::load(Path::new(name));
        }
        let safe = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !safe {
            return Err(BoardError::Unknown(name.to_string()));
        }
        for dir in Self::search_dirs() {
            let p = dir.join(format!("{name}.toml"));
            if p.is_file() {
                return Self::load(&p);
            }
        }
        Self::builtin(name)
    }

    fn validate(&self) -> Result<(), BoardError> {
        let invalid = |message: String| BoardError::Invalid {
            name: self.name.clone(),
            message,
        };
        if self.name.is_empty() {
            return Err(invalid("empty name".into()));
        }
        if touch_calibration_matrix(self.display.rotation).is_none() {
            return Err(invalid(format!(
                "display.rotation {} (expected 0, 90, 180 or 270)",
                self.display.rotation
            )));
        }
        if let Some(mode) = &self.display.mode {
            let ok = mode
                .split_once('x')
                .is_some_and(|(w, h)| w.parse::<u32>().is_ok() && h.parse::<u32>().is_ok());
            if !ok {
                return Err(invalid(format!(
                    "display.mode `{mode}` (expected WIDTHxHEIGHT)"
                )));
            }
        }
        if let Some(g) = &self.gpio {
            if g.chip.is_empty() {
                return Err(invalid("gpio.chip is empty".into()));
            }
            let lines = [
                g.help_button.map(|p| p.line),
                g.presence.map(|p| p.line),
                g.status_light.map(|p| p.line),
            ];
            let mut seen = HashSet::new();
            for l in lines.into_iter().flatten() {
                if !seen.insert(l) {
                    return Err(invalid(format!("gpio line {l} is used twice")));
                }
            }
            for p in [g.help_button, g.presence].into_iter().flatten() {
                if p.debounce_ms > 1000 {
                    return Err(invalid(format!(
                        "gpio line {}: debounce {} ms is over a second",
                        p.line, p.debounce_ms
                    )));
                }
            }
        }
        Ok(())
    }

    /// The environment for the linuxkms display backend of this board (what the image writes to
    /// `display.env`). The mode is not among it: Slint's `SLINT_DRM_MODE` takes an index into the
    /// connector's mode list, which differs from screen to screen; the image sets the mode by
    /// name on the kernel command line (`video=OUTPUT:WxH@R`) instead.
    pub fn display_env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("SLINT_BACKEND", "linuxkms-software".to_string()),
            ("SLINT_DRM_OUTPUT", self.display.output.clone()),
        ];
        if self.display.rotation != 0 {
            env.push(("SLINT_KMS_ROTATION", self.display.rotation.to_string()));
        }
        env
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_profile_parses() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../board");
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|e| e == "toml") {
                let profile = BoardProfile::load(&p).unwrap();
                assert_eq!(
                    Some(profile.name.as_str()),
                    p.file_stem().and_then(|s| s.to_str()),
                    "the name inside matches the file name"
                );
                names.push(profile.name);
            }
        }
        names.sort();
        assert_eq!(names, ["arm64-virt", "rk3568", "rpi4", "rpi5", "x86-kiosk"]);
        for (name, _) in BUILTIN {
            let p = BoardProfile::builtin(name).unwrap();
            assert_eq!(p.name, name);
        }
    }

    #[test]
    fn profiles_carry_what_the_kiosk_needs() {
        let rpi4 = BoardProfile::find("rpi4").unwrap();
        let g = rpi4.gpio.as_ref().unwrap();
        assert!(g.help_button.is_some() && g.status_light.is_some() && g.presence.is_some());
        assert!(matches!(
            rpi4.devices.idcard,
            DeviceUri::Serial { .. } | DeviceUri::Usb { .. }
        ));
        assert!(matches!(rpi4.devices.camera, DeviceUri::V4l2 { .. }));
        let x86 = BoardProfile::find("x86-kiosk").unwrap();
        assert!(x86.gpio.is_none());
        assert!(BoardProfile::find("nope").is_err());
        assert!(BoardProfile::find("../etc/passwd").is_err());
        assert!(matches!(
            BoardProfile::find("bad name"),
            Err(BoardError::Unknown(_))
        ));
    }

    #[test]
    fn bad_profiles_say_what_is_wrong() {
        let base = BUILTIN[0].1;
        let e = BoardProfile::from_toml("t", &base.replace("rotation = 0", "rotation = 45"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("rotation 45"), "{e}");
        let e = BoardProfile::from_toml("t", &format!("{base}\nextra = 1"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("extra"), "{e}");
        let e = BoardProfile::from_toml("t", &base.replace("\"serial:", "\"lpt:"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("lpt"), "{e}");
        let twice = base.replace("line = 27", "line = 17");
        let e = BoardProfile::from_toml("t", &twice)
            .unwrap_err()
            .to_string();
        assert!(e.contains("used twice"), "{e}");
    }

    #[test]
    fn rotation_gives_the_touch_matrix_and_display_env() {
        assert_eq!(touch_calibration_matrix(90), Some("0 -1 1 1 0 0"));
        assert_eq!(touch_calibration_matrix(45), None);
        let rk = BoardProfile::find("rk3568").unwrap();
        let env = rk.display_env();
        assert!(env.contains(&("SLINT_DRM_OUTPUT", rk.display.output.clone())));
        if rk.display.rotation != 0 {
            assert!(env.iter().any(|(k, _)| *k == "SLINT_KMS_ROTATION"));
        }
        // The mode goes on the kernel command line by name, never as Slint's mode index.
        assert!(!env.iter().any(|(k, _)| *k == "SLINT_DRM_MODE"));
    }
}
