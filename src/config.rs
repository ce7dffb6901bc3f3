//! The kiosk's one configuration file (TOML). Every setting has a default, so an empty file (or
//! none at all) is the demo hall: embedded platform, simulated devices. A build without the
//! `demo` feature (the appliance) has neither, and refuses both in words: its configuration
//! names the hall's platform and the real devices.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::session::SessionConfig;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid kiosk configuration: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("{0}")]
    Invalid(String),
}

/// `platform.url` for the reference platform embedded in the kiosk (the demo).
pub const EMBEDDED: &str = "embedded";

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub kiosk: KioskSection,
    pub platform: PlatformSection,
    pub devices: DevicesSection,
    pub display: DisplaySection,
    pub fleet: FleetSection,
    pub update: UpdateSection,
    /// The file this was read from (the enrolment token is erased from it once used).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// Fleet control: the help desk sees the kiosk and can restart it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FleetSection {
    /// One-time token from the provisioning file; traded for the kiosk's own credential (kept
    /// in the data directory) at the first start, then erased from this file.
    pub enrolment_token: Option<String>,
    /// The kiosk asks the system for a reboot by creating this file (a path unit reboots).
    pub reboot_request: PathBuf,
}

impl Default for FleetSection {
    fn default() -> Self {
        Self {
            enrolment_token: None,
            reboot_request: PathBuf::from("/run/hall-kiosk/reboot"),
        }
    }
}

/// Field updates (RAUC A/B; see `src/update/`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpdateSection {
    /// On by default where RAUC is configured (`/etc/rauc/system.conf` exists).
    pub enabled: Option<bool>,
    /// The download's cap, in kilobits per second (1000 bits).
    pub max_download_kbps: u64,
    /// If set, the kiosk restarts into an installed update only inside this window of the local
    /// day (`"02:00-05:00"`; may cross midnight), and never while someone uses it.
    pub night_window: Option<String>,
    /// Nobody has used the kiosk for this long before it restarts into an update.
    pub idle_secs_before_reboot: u64,
    /// After restarting into an update: how long it has to show its screen, open its devices and
    /// hear from the platform before it goes back to the old system.
    pub health_secs: u64,
    /// The rauc executable.
    pub rauc: PathBuf,
}

impl Default for UpdateSection {
    fn default() -> Self {
        Self {
            enabled: None,
            max_download_kbps: 4096,
            night_window: None,
            idle_secs_before_reboot: 120,
            health_secs: 300,
            rauc: PathBuf::from("rauc"),
        }
    }
}

impl UpdateSection {
    /// Whether field updates run: `enabled`, else whether RAUC is configured on this system.
    pub fn is_enabled(&self) -> bool {
        self.enabled
            .unwrap_or_else(|| Path::new(crate::update::RAUC_SYSTEM_CONF).exists())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KioskSection {
    pub id: String,
    pub hall: String,
    /// The service window people are sent to when the kiosk cannot help.
    pub window: String,
    pub idle_timeout_secs: u64,
    pub warn_before_secs: u64,
    /// How long a payer has to confirm a scanned payment code on the phone before the order is
    /// reversed (15 to 120 s; the wallets' guidance: about 30 s, never within 15 s of the debit).
    pub payer_confirm_secs: u64,
    /// Where the kiosk keeps its outbox (and, in the demo, the platform's database); default:
    /// the user's data directory. On the appliance: the writable data partition.
    pub data_dir: Option<PathBuf>,
    /// Spoken guidance (espeak-ng through ALSA's `aplay`).
    pub voice: bool,
    /// The ALSA device prompts are played on (`aplay -D`); default: ALSA's default.
    pub audio_device: Option<String>,
    /// The staff PIN that opens the maintenance screen, as an argon2id PHC string
    /// (`hall-kiosk hash-pin`); without it the maintenance screen cannot be opened.
    pub maintenance_pin: Option<String>,
    /// The former unsalted SHA-256 of the PIN: refused with a message saying what to do.
    pub maintenance_pin_sha256: Option<String>,
}

impl Default for KioskSection {
    fn default() -> Self {
        let s = SessionConfig::default();
        KioskSection {
            id: s.kiosk_id,
            hall: s.hall_name,
            window: s.window_hint,
            idle_timeout_secs: s.idle_limit.as_secs(),
            warn_before_secs: s.warn_before.as_secs(),
            payer_confirm_secs: s.scan_confirm_limit.as_secs(),
            data_dir: None,
            voice: true,
            audio_device: None,
            maintenance_pin: None,
            maintenance_pin_sha256: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlatformSection {
    /// `embedded` runs the reference platform inside the kiosk on loopback; otherwise the
    /// platform's base URL (`https://…`).
    pub url: String,
    /// Database of the embedded platform; default: the user's data directory.
    pub db: Option<PathBuf>,
    pub timeout_secs: u64,
    /// The hall's private CA (PEM): the platform's certificate is checked against it alone,
    /// instead of the public roots. Verification is never turned off.
    pub ca_file: Option<PathBuf>,
}

impl Default for PlatformSection {
    fn default() -> Self {
        PlatformSection {
            url: EMBEDDED.into(),
            db: None,
            timeout_secs: 8,
            ca_file: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DevicesSection {
    pub idcard: String,
    pub scanner: String,
    pub printer: String,
    pub camera: String,
    /// Receipt paper width: 58 or 80 mm.
    pub paper_mm: u32,
    /// The Chinese characters the printer's own font has: `gb2312`, `gbk` (most printers) or
    /// `gb18030`. Lines with characters outside it are printed as images.
    pub printer_font: String,
    /// For a serial scanner set to send no suffix after a code: the silence, in milliseconds,
    /// that ends a code. 0 (the default): a code ends at its CR or LF.
    pub scanner_idle_end_ms: u64,
}

impl Default for DevicesSection {
    fn default() -> Self {
        DevicesSection {
            idcard: "sim:".into(),
            scanner: "sim:".into(),
            printer: "sim:".into(),
            camera: "sim:".into(),
            paper_mm: 80,
            printer_font: "gbk".into(),
            scanner_idle_end_ms: 0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DisplaySection {
    /// Fullscreen on the appliance; a window on a desktop.
    pub fullscreen: bool,
    pub width: u32,
    pub height: u32,
    /// Show the device simulator side window (demo only).
    pub sim_panel: bool,
}

impl Default for DisplaySection {
    fn default() -> Self {
        DisplaySection {
            fullscreen: false,
            width: 1920,
            height: 1080,
            sim_panel: true,
        }
    }
}

impl Config {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut cfg: Config = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })?;
        cfg.check()?;
        cfg.source = Some(path.to_owned());
        Ok(cfg)
    }

    /// The configuration when no file is given: the demo hall, which a build without the demo
    /// refuses (see [`Config::check`]).
    pub fn without_file() -> Result<Self, ConfigError> {
        let cfg = Config::default();
        cfg.check()?;
        Ok(cfg)
    }

    /// Whether the settings make sense, and this build has what they name.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.kiosk.warn_before_secs < 20 {
            return Err(ConfigError::Invalid(
                "kiosk.warn_before_secs must be at least 20: people need time to answer".into(),
            ));
        }
        if self.kiosk.idle_timeout_secs <= self.kiosk.warn_before_secs {
            return Err(ConfigError::Invalid(
                "kiosk.idle_timeout_secs must be longer than kiosk.warn_before_secs".into(),
            ));
        }
        if !(15..=120).contains(&self.kiosk.payer_confirm_secs) {
            return Err(ConfigError::Invalid(
                "kiosk.payer_confirm_secs must be 15 to 120: a wallet payment is never reversed \
                 within 15 s of the debit"
                    .into(),
            ));
        }
        if self.kiosk.maintenance_pin_sha256.is_some() {
            return Err(ConfigError::Invalid(
                "kiosk.maintenance_pin_sha256 (an unsalted SHA-256 of the PIN) is no longer \
                 accepted: set kiosk.maintenance_pin to what `hall-kiosk hash-pin` prints"
                    .into(),
            ));
        }
        if let Some(hash) = &self.kiosk.maintenance_pin
            && let Err(e) = crate::session::check_pin_hash(hash)
        {
            return Err(ConfigError::Invalid(format!("kiosk.maintenance_pin: {e}")));
        }
        if !matches!(self.devices.paper_mm, 58 | 80) {
            return Err(ConfigError::Invalid(
                "devices.paper_mm must be 58 or 80".into(),
            ));
        }
        if kiosk_drivers::printer::FontCharset::parse(&self.devices.printer_font).is_none() {
            return Err(ConfigError::Invalid(
                "devices.printer_font must be gb2312, gbk or gb18030".into(),
            ));
        }
        if !cfg!(feature = "demo") && self.platform.url == EMBEDDED {
            return Err(ConfigError::Invalid(
                "platform.url = \"embedded\" runs the demo platform inside the kiosk, which this \
                 build (the appliance) does not contain: set platform.url to the hall platform's \
                 address (https://…)"
                    .into(),
            ));
        }
        if self.platform.url != EMBEDDED
            && let Err(e) = hall_client::link::check_url(&self.platform.url)
        {
            return Err(ConfigError::Invalid(format!(
                "platform.url: {e}: give the platform's https:// address"
            )));
        }
        self.check_update()?;
        use kiosk_drivers::DeviceKind;
        use kiosk_drivers::uri::DeviceUri;
        for (field, kind, uri) in [
            ("idcard", DeviceKind::IdCard, &self.devices.idcard),
            ("scanner", DeviceKind::Scanner, &self.devices.scanner),
            ("printer", DeviceKind::Printer, &self.devices.printer),
            ("camera", DeviceKind::Camera, &self.devices.camera),
        ] {
            let parsed = DeviceUri::parse(uri)
                .map_err(|e| ConfigError::Invalid(format!("device {uri:?}: {e}")))?;
            // `sim:` only where the simulators are built in.
            if matches!(parsed, DeviceUri::Sim { .. })
                && let Err(expected) = kiosk_drivers::devices::accepts(kind, &parsed)
            {
                return Err(ConfigError::Invalid(format!(
                    "devices.{field} = {uri:?} names a simulated device, which this build (the \
                     appliance) does not contain: name the real device ({expected})"
                )));
            }
        }
        Ok(())
    }

    fn check_update(&self) -> Result<(), ConfigError> {
        let u = &self.update;
        if !(64..=1_000_000).contains(&u.max_download_kbps) {
            return Err(ConfigError::Invalid(
                "update.max_download_kbps must be 64 to 1000000 (kilobits per second): a bundle \
                 of several hundred MB must arrive within days, and the hall's line stay usable"
                    .into(),
            ));
        }
        if let Some(w) = &u.night_window
            && let Err(e) = crate::update::plan::NightWindow::parse(w)
        {
            return Err(ConfigError::Invalid(format!("update.night_window: {e}")));
        }
        if !(30..=86_400).contains(&u.idle_secs_before_reboot) {
            return Err(ConfigError::Invalid(
                "update.idle_secs_before_reboot must be 30 to 86400: long enough that nobody is \
                 about to use the kiosk"
                    .into(),
            ));
        }
        if !(60..=3600).contains(&u.health_secs) {
            return Err(ConfigError::Invalid(
                "update.health_secs must be 60 to 3600: the new system needs time to start its \
                 screen and devices, and a failed one must not keep the kiosk out of service long"
                    .into(),
            ));
        }
        if u.rauc.as_os_str().is_empty() {
            return Err(ConfigError::Invalid(
                "update.rauc must name the rauc executable (default \"rauc\")".into(),
            ));
        }
        Ok(())
    }

    pub fn session(&self) -> SessionConfig {
        SessionConfig {
            idle_limit: Duration::from_secs(self.kiosk.idle_timeout_secs),
            warn_before: Duration::from_secs(self.kiosk.warn_before_secs),
            scan_confirm_limit: Duration::from_secs(self.kiosk.payer_confirm_secs),
            kiosk_id: self.kiosk.id.clone(),
            hall_name: self.kiosk.hall.clone(),
            window_hint: self.kiosk.window.clone(),
            maintenance_pin: self.kiosk.maintenance_pin.clone(),
            ..SessionConfig::default()
        }
    }

    /// The kiosk's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.kiosk.data_dir.clone().unwrap_or_else(|| {
            directories::ProjectDirs::from("org", "hall", "hall-kiosk")
                .map(|d| d.data_dir().to_path_buf())
                .unwrap_or_else(|| PathBuf::from("."))
        })
    }

    /// Where the embedded platform keeps its database.
    pub fn embedded_db(&self) -> PathBuf {
        self.platform
            .db
            .clone()
            .unwrap_or_else(|| self.data_dir().join("platform.sqlite"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "demo")]
    #[test]
    fn empty_file_is_the_demo_hall() {
        let cfg: Config = toml::from_str("").unwrap();
        assert_eq!(cfg.platform.url, "embedded");
        assert_eq!(cfg.devices.printer, "sim:");
        cfg.check().unwrap();
    }

    /// The platform is reached over HTTPS; plain HTTP only to loopback.
    #[test]
    fn no_platform_in_clear_beyond_loopback() {
        let cfg = |url: &str| -> Config {
            toml::from_str(&format!("[platform]\nurl = \"{url}\"\n")).unwrap()
        };
        let e = cfg("http://10.0.0.5:8780").check().unwrap_err().to_string();
        assert!(e.contains("platform.url") && e.contains("https://"), "{e}");
        // (The appliance build refuses the default simulated devices: any other complaint.)
        for ok in ["http://127.0.0.1:8780", "https://platform.hall.example"] {
            let e = cfg(ok)
                .check()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(!e.contains("platform.url"), "{ok}: {e}");
        }
    }

    /// The appliance: no platform inside, no simulated devices, each refused in one line that
    /// says what to put instead.
    #[cfg(not(feature = "demo"))]
    #[test]
    fn the_appliance_refuses_the_demo_hall() {
        let e = Config::without_file().unwrap_err().to_string();
        assert!(e.contains("platform.url") && e.contains("https://"), "{e}");
        let cfg: Config = toml::from_str("[platform]\nurl = \"embedded\"").unwrap();
        let e = cfg.check().unwrap_err().to_string();
        assert!(e.contains("the appliance") && !e.contains('\n'), "{e}");
        let remote = "[platform]\nurl = \"https://platform.hall.example\"\n";
        let cfg: Config =
            toml::from_str(&format!("{remote}[devices]\nprinter = \"sim:\"")).unwrap();
        let e = cfg.check().unwrap_err().to_string();
        assert!(e.starts_with("devices.idcard = \"sim:\""), "{e}");
        assert!(
            e.contains("serial:// or usb://") && !e.contains('\n'),
            "{e}"
        );
        let real = "[devices]\nidcard = \"serial:///dev/ttyUSB0\"\nscanner = \"evdev:///dev/input/event3\"\n\
                    printer = \"usb://0416:5011\"\ncamera = \"v4l2:///dev/video0\"\n";
        let cfg: Config = toml::from_str(&format!("{remote}{real}")).unwrap();
        cfg.check().unwrap();
        let cfg: Config = toml::from_str(&format!(
            "{remote}{}",
            real.replace("usb://0416:5011", "sim:?fault=paper-out")
        ))
        .unwrap();
        let e = cfg.check().unwrap_err().to_string();
        assert!(e.starts_with("devices.printer"), "{e}");
        assert!(e.contains("usb://, serial://, tcp:// or file://"), "{e}");
    }

    #[test]
    fn update_settings() {
        let cfg: Config = toml::from_str("").unwrap();
        assert_eq!(cfg.update.max_download_kbps, 4096);
        assert_eq!(cfg.update.health_secs, 300);
        assert_eq!(cfg.update.idle_secs_before_reboot, 120);
        let cfg: Config = toml::from_str(
            "[update]\nenabled = false\nnight_window = \"02:00-05:00\"\nrauc = \"/usr/bin/rauc\"\n",
        )
        .unwrap();
        assert!(!cfg.update.is_enabled());
        assert!(cfg.check_update().is_ok());
        for (bad, word) in [
            ("night_window = \"2am-5am\"", "update.night_window"),
            ("night_window = \"02:00-02:00\"", "same time"),
            ("max_download_kbps = 0", "update.max_download_kbps"),
            ("health_secs = 5", "update.health_secs"),
            (
                "idle_secs_before_reboot = 1",
                "update.idle_secs_before_reboot",
            ),
            ("rauc = \"\"", "update.rauc"),
        ] {
            let cfg: Config = toml::from_str(&format!("[update]\n{bad}\n")).unwrap();
            let e = cfg.check_update().unwrap_err().to_string();
            assert!(e.contains(word) && !e.contains('\n'), "{bad}: {e}");
        }
    }

    #[test]
    fn bad_settings_are_refused_in_words() {
        let cfg: Config = toml::from_str("[kiosk]\npayer_confirm_secs = 10").unwrap();
        assert!(cfg.check().is_err(), "never reversed within 15 s");
        let cfg: Config = toml::from_str("[kiosk]\npayer_confirm_secs = 25").unwrap();
        assert_eq!(cfg.session().scan_confirm_limit, Duration::from_secs(25));
        let cfg: Config = toml::from_str("[kiosk]\nwarn_before_secs = 5").unwrap();
        let e = cfg.check().unwrap_err().to_string();
        assert!(e.contains("at least 20"), "{e}");
        assert!(toml::from_str::<Config>("[kiosk]\nbogus = 1").is_err());
        let cfg: Config = toml::from_str("[devices]\nprinter = \"lpt:1\"").unwrap();
        assert!(cfg.check().is_err());
    }
}
