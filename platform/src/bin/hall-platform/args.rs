//! The command line of `hall-platform`: its commands and their arguments.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use hall_platform::DbUrl;
use hall_platform::store::Store;

#[derive(Parser)]
#[command(
    name = "hall-platform",
    version,
    about = "Reference approval platform for the hall"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Args, Clone)]
pub(crate) struct DbArg {
    /// The database: `sqlite://PATH` (or a bare path; created when missing) or
    /// `postgres://USER@HOST:PORT/DB`.
    #[arg(long, default_value = "sqlite://hall-platform.sqlite3")]
    pub(crate) db: String,
    /// The key file of personal data at rest (`hall-platform seal keygen`); default: the
    /// systemd credential `seal-keys` ($CREDENTIALS_DIRECTORY/seal-keys) when there is one, else
    /// the keys a demo platform made for this database (beside an SQLite file: `DB.keys.toml`).
    #[arg(long, value_name = "FILE")]
    pub(crate) seal_keys: Option<PathBuf>,
    /// Where release bundles are kept; default: beside a SQLite file (`DB.releases/`), for
    /// PostgreSQL `hall-releases/` in the working directory (instances sharing a database must
    /// share it).
    #[arg(long, value_name = "DIR")]
    pub(crate) releases: Option<PathBuf>,
}

impl DbArg {
    /// The releases directory given, or the default for the database.
    pub(crate) fn releases_dir(&self) -> anyhow::Result<PathBuf> {
        Ok(match &self.releases {
            Some(dir) => dir.clone(),
            None => hall_platform::updates::releases_dir_for(&self.url()?),
        })
    }

    pub(crate) fn url(&self) -> anyhow::Result<DbUrl> {
        DbUrl::parse(&self.db).context("--db")
    }

    /// The key file given, or the systemd credential, or the keys a demo platform made for this
    /// database.
    pub(crate) fn seal_keys(&self) -> Option<PathBuf> {
        self.seal_keys
            .clone()
            .or_else(|| {
                let dir = std::env::var_os("CREDENTIALS_DIRECTORY")?;
                let path = PathBuf::from(dir).join("seal-keys");
                path.exists().then_some(path)
            })
            .or_else(|| {
                let path = hall_platform::SealKeys::made_for(&self.url().ok()?);
                path.exists().then_some(path)
            })
    }

    /// Whether [`DbArg::seal_keys`] falls back on the key file a demo platform made beside the
    /// database (neither --seal-keys nor the systemd credential given).
    pub(crate) fn seal_keys_found_beside(&self) -> bool {
        self.seal_keys.is_none()
            && std::env::var_os("CREDENTIALS_DIRECTORY")
                .is_none_or(|d| !PathBuf::from(d).join("seal-keys").exists())
            && self.seal_keys().is_some()
    }

    /// The store, with the keys of personal data when they were given (commands that read a
    /// person's data say so when they were not).
    pub(crate) fn open(&self) -> anyhow::Result<Store> {
        let url = self.url()?;
        let store = Store::open(&url).with_context(|| format!("cannot open {}", url.redacted()))?;
        match self.seal_keys() {
            Some(path) => {
                let sealer = hall_platform::seal::Sealer::load(&path)?;
                Ok(store.with_sealer(std::sync::Arc::new(sealer))?)
            }
            None => Ok(store),
        }
    }
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Serve the platform API until Ctrl-C (or SIGTERM).
    Serve {
        #[command(flatten)]
        db: DbArg,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8780")]
        listen: SocketAddr,
        /// The demo hall: seed the demo registry, cases and fee notices, and take payments with
        /// the simulated provider (a simulated payer confirms them). Never in a hall: without
        /// it, no demo data is served and, with no payment provider configured, new payment
        /// orders are refused.
        #[arg(long)]
        demo: bool,
        /// Pretend today is this date (YYYY-MM-DD), for demos on a chosen day.
        #[arg(long)]
        today: Option<chrono::NaiveDate>,
        /// Seconds the simulated payer takes to confirm a scanned payment code (with --demo).
        #[arg(long, default_value_t = 3.0)]
        sim_payer_delay: f64,
        /// Seconds a payer has to confirm a scanned payment code before the order is reversed
        /// (15 to 120; wallets' guidance about 30).
        #[arg(long, default_value_t = 30)]
        payer_confirm_secs: u64,
        /// Seconds between queries to the payment service about an order awaiting its payer.
        #[arg(long, default_value_t = 10)]
        wallet_query_secs: u64,
        /// A holiday arrangement the built-in calendar lacks (`holidays-YYYY.toml`); repeatable.
        #[arg(long = "holidays")]
        holidays: Vec<PathBuf>,
        /// Serve HTTPS with this certificate chain (PEM). Required to listen on anything but
        /// loopback (or put a TLS-terminating proxy in front, listening on loopback).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The private key of --tls-cert (PEM; readable by the platform's user only).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Requests per second one kiosk may send, sustained; it may send six times as many at
        /// once (429 with Retry-After beyond). A kiosk in use sends about one a second.
        #[arg(long, default_value_t = 10)]
        kiosk_rate: u32,
        /// Requests per second one network address may send, sustained, whoever it claims to
        /// be, checked before any credential is looked up; four times as many at once (429 with
        /// Retry-After beyond). Behind a reverse proxy every request has the proxy's address.
        #[arg(long, default_value_t = 50)]
        peer_rate: u32,
        /// The hall's opening hours on working days (the holiday calendar's), HH:MM-HH:MM: the
        /// dashboard's availability is the share of these a kiosk could serve.
        #[arg(long, default_value = "09:00-17:00")]
        opening_hours: hall_platform::dashboard::OpeningHours,
    },
    /// The holiday calendar: which years it holds and which it lacks.
    #[command(subcommand)]
    Calendar(CalendarCommand),
    /// Bring the database's schema up to date and print its version.
    Migrate {
        #[command(flatten)]
        db: DbArg,
    },
    /// The item catalogue: export, import, list versions.
    #[command(subcommand)]
    Catalogue(CatalogueCommand),
    /// Department staff: tokens for the staff API, and actions on a case's node.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// The hash-chained audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Keys of personal data at rest.
    #[command(subcommand)]
    Seal(SealCommand),
    /// Fleet control: help-desk and admin tokens, kiosk enrolment tokens.
    #[command(subcommand)]
    Fleet(FleetCommand),
    /// The web console (/console/): its users.
    #[command(subcommand)]
    Console(ConsoleCommand),
    /// Field updates: the releases (RAUC bundles) the platform stores.
    #[command(subcommand)]
    Release(ReleaseCommand),
}

#[derive(Subcommand)]
pub(crate) enum ReleaseCommand {
    /// Store a release: FILE is the `<version>.json` the release script wrote beside its bundle;
    /// the bundle is copied into the releases directory and checked against its size and SHA-256.
    Add {
        #[command(flatten)]
        db: DbArg,
        file: PathBuf,
    },
    /// Every stored release, newest first.
    List {
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Subcommand)]
pub(crate) enum ConsoleCommand {
    /// Accounts of the help desk, the hall's managers and admins.
    #[command(subcommand)]
    User(ConsoleUserCommand),
}

#[derive(Subcommand)]
pub(crate) enum ConsoleUserCommand {
    /// Add a user, or reset one (a new password, its sessions ended, unlocked). Without
    /// --password-stdin a first password is printed, to be changed at the first sign-in.
    Add {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["helpdesk", "manager", "admin"])]
        role: String,
        /// Read the password from the first line of standard input (no change forced).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Every user, with its role and whether it is locked.
    List {
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Subcommand)]
pub(crate) enum FleetCommand {
    /// Help-desk and admin tokens for kioskctl and the fleet API.
    #[command(subcommand)]
    Token(FleetTokenCommand),
    /// A one-time enrolment token for a kiosk's provisioning file (printed once).
    EnrolToken {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        kiosk: String,
        #[arg(long)]
        hall: String,
        /// How long it may wait to be used.
        #[arg(long, default_value_t = 72)]
        ttl_hours: u32,
    },
}

#[derive(Subcommand)]
pub(crate) enum FleetTokenCommand {
    /// Make a token (printed once, stored as SHA-256): helpdesk may list, show, restart, reboot
    /// and identify; admin may also enrol and revoke kiosks.
    Create {
        #[command(flatten)]
        db: DbArg,
        #[arg(long, value_parser = ["helpdesk", "admin"])]
        role: String,
        /// Who holds it (a person's staff number, a team).
        #[arg(long, default_value = "helpdesk")]
        label: String,
    },
    /// Revoke every fleet token with this label.
    Revoke {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        label: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum CatalogueCommand {
    /// Print a catalogue version (the current one unless --version) as TOML.
    Export {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        version: Option<i64>,
    },
    /// Check a catalogue file and make it the current version (cases keep theirs).
    Import {
        #[command(flatten)]
        db: DbArg,
        /// The catalogue file (TOML, as `export` prints it); `-` reads standard input.
        file: PathBuf,
    },
    /// List every catalogue version.
    Versions {
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Args)]
pub(crate) struct NodeArgs {
    #[command(flatten)]
    pub(crate) db: DbArg,
    /// The case's approval code.
    #[arg(long = "case")]
    pub(crate) case: String,
    /// The department (its Chinese or English name, as in the catalogue).
    #[arg(long)]
    pub(crate) department: String,
    /// The department's opinion (required to ask for corrections, refuse or reject).
    #[arg(long)]
    pub(crate) opinion: Option<String>,
    /// Pretend today is this date (YYYY-MM-DD).
    #[arg(long)]
    pub(crate) today: Option<chrono::NaiveDate>,
}

#[derive(Subcommand)]
pub(crate) enum StaffCommand {
    /// Make a bearer token for a department's staff; it is printed once and stored hashed.
    Token {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        department: String,
        /// Who or what holds it (e.g. a person's staff number).
        #[arg(long, default_value = "staff")]
        label: String,
    },
    /// Revoke a department's tokens with this label.
    Revoke {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        department: String,
        #[arg(long)]
        label: String,
    },
    /// 受理: accept the case for review.
    Accept(NodeArgs),
    /// 不予受理: refuse it at intake (needs --opinion).
    Refuse(NodeArgs),
    /// 补正: ask the applicant for corrections (needs --opinion).
    AskCorrections(NodeArgs),
    /// The applicant brought the corrections.
    AnswerCorrections(NodeArgs),
    /// 部门开始办理.
    Start(NodeArgs),
    /// 办结: approve.
    Approve(NodeArgs),
    /// 办结（容缺通过）: approve with tolerated materials still to come.
    ApprovePending(NodeArgs),
    /// 办结（不通过）: reject (needs --opinion).
    Reject(NodeArgs),
    /// 撤件: record that the applicant withdrew.
    Withdraw(NodeArgs),
}

#[derive(Subcommand)]
pub(crate) enum CalendarCommand {
    /// List the years with an official holiday arrangement; exit 1 naming the years from this
    /// one to `--ahead` years on that have none (their due dates count weekends only).
    Check {
        /// Pretend today is this date (YYYY-MM-DD).
        #[arg(long)]
        today: Option<chrono::NaiveDate>,
        /// How many years after this one must have a calendar.
        #[arg(long, default_value_t = 1)]
        ahead: i32,
        /// Holiday files to add, as `serve --holidays` would.
        #[arg(long = "holidays")]
        holidays: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
pub(crate) enum SealCommand {
    /// Print a new key file (an index key and a sealing key) to standard output: keep it as a
    /// systemd credential or a file readable by the platform only, and off the database's
    /// backups.
    Keygen,
    /// Seal everything again under the key file's first sealing key (after adding a new first
    /// key to rotate; then the old key can be dropped). Prints how many values were resealed.
    Rewrap {
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Subcommand)]
pub(crate) enum AuditCommand {
    /// Walk the chain and check that every case, notice and order is in the state it leads to:
    /// exit 0 when intact, 1 naming the first bad entry or the rows that differ.
    Verify {
        #[command(flatten)]
        db: DbArg,
        /// Also check that the chain still passes through this signed checkpoint (needs the
        /// key file, --seal-keys).
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
    },
    /// Print a signed checkpoint of the chain's head (JSON) to keep off this machine (needs
    /// the key file, --seal-keys, with its audit_key).
    Checkpoint {
        #[command(flatten)]
        db: DbArg,
    },
    /// Print the entries about one subject (an approval code, payment code or order id).
    Show {
        #[command(flatten)]
        db: DbArg,
        subject: String,
    },
}
