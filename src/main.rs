//! `hall-kiosk`: the self-service kiosk of a construction-project approval hall.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

use hall_kiosk::config::Config;
use hall_kiosk::run::PumpHook;
#[cfg(feature = "demo")]
use hall_kiosk::screenshot::{self, ScreenshotArgs};

#[derive(Parser)]
#[command(
    name = "hall-kiosk",
    version,
    about = "Self-service kiosk of an approval service hall"
)]
struct Cli {
    /// Kiosk configuration (TOML). Without it: the demo hall (embedded platform, simulated
    /// devices), in a build with the demo.
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
    #[cfg(feature = "demo")]
    Drill {
        /// Journeys to end (finished and rated, or given up) before exiting (default: until
        /// stopped).
        #[arg(long)]
        journeys: Option<u32>,
        /// What the citizen answers on the rating screen at the end of each finished journey,
        /// in turn, comma-separated, starting again after the last: skip, a level
        /// (very_satisfied, satisfied, basically_satisfied, dissatisfied, very_dissatisfied, or
        /// its score 5 to 1), and for the two lowest a reason after a colon (hard_to_use,
        /// too_slow, device_fault, unclear_guidance, not_done); e.g.
        /// "5,4,skip,dissatisfied:too_slow,1". Default: skip.
        #[arg(long, value_name = "LIST", value_parser = hall_kiosk::drill::parse_ratings)]
        ratings: Option<hall_kiosk::drill::DrillRatings>,
        /// Give up every N-th journey (the N-th, 2N-th, …) with 结束办理 at the step of
        /// --abandon-at.
        #[arg(long, value_name = "N")]
        abandon_every: Option<u32>,
        /// The step at which --abandon-every gives up: identify, items, materials, capture,
        /// form or review.
        #[arg(long, value_name = "STEP", default_value = "form", value_parser = hall_kiosk::drill::parse_step)]
        abandon_at: hall_kiosk::session::Screen,
        /// Photograph only what must be (commit to or defer the materials that allow it).
        #[arg(long)]
        skip_photos: bool,
        /// Wait this long on the review screen before submitting (a session in progress, for
        /// tests of what waits for the citizen).
        #[arg(long, value_name = "SECONDS")]
        hold_secs: Option<u64>,
    },
    /// Render one screen with demo data to a PNG, headlessly, and exit.
    #[cfg(feature = "demo")]
    Screenshot(ScreenshotArgs),
    /// Prints the argon2id hash (PHC string, random salt) of a staff PIN read from standard
    /// input, for `[kiosk] maintenance_pin`.
    HashPin,
    /// Field diagnostics of one device (JSON on stdout).
    Diag(hall_kiosk::diag::DiagArgs),
}

/// sysexits.h: a configuration error.
const EX_CONFIG: i32 = 78;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        #[cfg(feature = "demo")]
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
            let pin = zeroize::Zeroizing::new(pin.to_string());
            println!("{}", hall_kiosk::session::hash_pin(&pin)?);
            Ok(())
        }
        command => {
            let (headless, hook): (Option<Duration>, Option<PumpHook>) = match command {
                Some(Command::Run { headless }) => (headless.map(Duration::from_secs), None),
                #[cfg(feature = "demo")]
                Some(Command::Drill {
                    journeys,
                    ratings,
                    abandon_every,
                    abandon_at,
                    skip_photos,
                    hold_secs,
                }) => (
                    Some(Duration::from_secs(u64::from(u32::MAX))),
                    Some(
                        hall_kiosk::drill::Drill::new(journeys, skip_photos)
                            .holding(hold_secs.map(Duration::from_secs))
                            .rating(ratings.map(|r| r.0).unwrap_or_default())
                            .abandoning(abandon_every, abandon_at)
                            .into_hook(),
                    ),
                ),
                _ => (None, None),
            };
            if !hall_kiosk::systemd::init_journal_logging() {
                hall_kiosk::logging::init();
            }
            let loaded = match &cli.config {
                Some(path) => Config::load(path),
                None => Config::without_file(),
            };
            let config = match loaded {
                Ok(c) => c,
                Err(e) => {
                    // A configuration error is not cured by a restart: exit with EX_CONFIG,
                    // which the unit does not restart (RestartPreventExitStatus), instead of
                    // looping into the start limit's reboot.
                    tracing::error!(error = %e, "the kiosk is not configured");
                    eprintln!("hall-kiosk: {e}");
                    std::process::exit(EX_CONFIG);
                }
            };
            hall_kiosk::run::run(config, headless, hook).context("the kiosk stopped")
        }
    }
}
