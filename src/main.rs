//! `hall-kiosk`: the self-service kiosk of a construction-project approval hall.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use hall_kiosk::config::Config;
use hall_kiosk::screenshot::{self, ScreenshotArgs};

#[derive(Parser)]
#[command(
    name = "hall-kiosk",
    version,
    about = "Self-service kiosk of an approval service hall"
)]
struct Cli {
    /// Kiosk configuration (TOML). Without it: the demo hall (embedded platform, simulated devices).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the kiosk (the default).
    Run {
        /// Run without a display for this many seconds (software renderer into memory), then
        /// exit: for tests and measurements of the whole kiosk.
        #[arg(long, value_name = "SECONDS")]
        headless: Option<u64>,
    },
    /// Burn-in: run the kiosk headless while a scripted citizen submits the demo application
    /// again and again (against the configured platform), then exit.
    Drill {
        /// Submissions to finish before exiting (default: until stopped).
        #[arg(long)]
        journeys: Option<u32>,
        /// Photograph only what must be (commit to or defer the materials that allow it).
        #[arg(long)]
        skip_photos: bool,
        /// Wait this long on the review screen before submitting (a session in progress, for
        /// tests of what waits for the citizen).
        #[arg(long, value_name = "SECONDS")]
        hold_secs: Option<u64>,
    },
    /// Render one screen with demo data to a PNG, headlessly, and exit.
    Screenshot(ScreenshotArgs),
    /// Prints the hex SHA-256 of a staff PIN (read from standard input), for
    /// `[kiosk] maintenance_pin_sha256`.
    HashPin,
    /// Field diagnostics of one device (JSON on stdout).
    Diag(hall_kiosk::diag::DiagArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Screenshot(args)) => screenshot::run(&args),
        Some(Command::Diag(args)) => hall_kiosk::diag::run(&args),
        Some(Command::HashPin) => {
            let mut pin = String::new();
            std::io::stdin()
                .read_line(&mut pin)
                .context("cannot read the PIN")?;
            let pin = pin.trim();
            if pin.len() < 4
                || pin.len() > hall_kiosk::session::PIN_MAX
                || !pin.chars().all(|c| c.is_ascii_digit())
            {
                anyhow::bail!(
                    "a staff PIN is 4 to {} digits",
                    hall_kiosk::session::PIN_MAX
                );
            }
            println!("{}", hall_kiosk::session::hash_pin(pin));
            Ok(())
        }
        None | Some(Command::Run { .. }) | Some(Command::Drill { .. }) => {
            let (headless, drill) = match cli.command {
                Some(Command::Run { headless }) => {
                    (headless.map(std::time::Duration::from_secs), None)
                }
                Some(Command::Drill {
                    journeys,
                    skip_photos,
                    hold_secs,
                }) => (
                    Some(std::time::Duration::from_secs(u64::from(u32::MAX))),
                    Some(
                        hall_kiosk::drill::Drill::new(journeys, skip_photos)
                            .holding(hold_secs.map(std::time::Duration::from_secs)),
                    ),
                ),
                _ => (None, None),
            };
            if !hall_kiosk::systemd::init_journal_logging() {
                hall_kiosk::logging::init();
            }
            let config = match &cli.config {
                Some(path) => Config::load(path)?,
                None => Config::default(),
            };
            hall_kiosk::run::run(config, headless, drill).context("the kiosk stopped")
        }
    }
}
