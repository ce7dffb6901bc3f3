//! `hall-platform serve`: runs the reference approval platform alone.

mod args;
mod console;
mod release;

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Parser;
use hall_platform::audit::{Actor, Verdict};
use hall_platform::clock::Clock;
use hall_platform::staff::{self, NodeAction};
use hall_platform::store::{NodeActionRequest, Store};
use hall_platform::{ServerConfig, catalogue, fleet, spawn};

use args::*;

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "SIGTERM cannot be watched; only Ctrl-C stops the platform");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn now(today: Option<chrono::NaiveDate>) -> (chrono::NaiveDate, chrono::NaiveDateTime) {
    let clock = Clock::new(today);
    (clock.today(), clock.now())
}

/// The catalogue's name of a department given by either of its names.
fn department_name(store: &Store, given: &str) -> anyhow::Result<String> {
    let known = store.departments_blocking()?;
    let given = given.trim();
    known
        .iter()
        .find(|(zh, en)| zh == given || en.eq_ignore_ascii_case(given))
        .map(|(zh, _)| zh.clone())
        .with_context(|| {
            let names: Vec<String> = known
                .iter()
                .map(|(zh, en)| format!("{zh} ({en})"))
                .collect();
            format!(
                "no department is called {given:?}; the catalogue has: {}",
                names.join(", ")
            )
        })
}

fn node_action(action: NodeAction, args: NodeArgs) -> anyhow::Result<()> {
    let store = args.db.open()?;
    let code = hall_domain::ApprovalCode::parse(&args.case)
        .map_err(|e| anyhow::anyhow!("--case: {e:?}"))?;
    let department = department_name(&store, &args.department)?;
    let (today, now) = now(args.today);
    let outcome = store.act_on_node_blocking(&NodeActionRequest {
        approval_code: code.as_str().to_string(),
        department: department.clone(),
        action,
        opinion: args.opinion,
        actor: Actor::StaffCli(department.clone()),
        today,
        now,
    })?;
    match outcome {
        Ok(case) => {
            println!(
                "{}  {}  case status {} {}",
                case.approval_code,
                department,
                case.status.code(),
                case.status.zh()
            );
            for n in &case.nodes {
                println!(
                    "  {:<24} {:>2} {}",
                    n.department,
                    n.status.code(),
                    n.status.zh()
                );
            }
            Ok(())
        }
        Err(r) => {
            let problem = hall_platform::refusal_problem(r);
            bail!("{}", problem)
        }
    }
}

fn read_file(path: &PathBuf) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read standard input")?;
        Ok(text)
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
    }
}

fn run_blocking(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve { .. } => unreachable!("served by main"),
        Command::Migrate { db } => {
            let store = db.open()?;
            println!(
                "{}: schema version {}",
                store.describe(),
                store.schema_version()?
            );
        }
        Command::Catalogue(CatalogueCommand::Export { db, version }) => {
            let store = db.open()?;
            match store.export_catalogue_blocking(version)? {
                Some((_, text)) => print!("{text}"),
                None => bail!("the database has no such catalogue version"),
            }
        }
        Command::Catalogue(CatalogueCommand::Import { db, file }) => {
            let text = read_file(&file)?;
            let items = catalogue::parse(&text).context("the catalogue file is not valid")?;
            let store = db.open()?;
            let (_, now) = now(None);
            let source = format!(
                "import:{}",
                file.file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_else(|| "-".into())
            );
            let done = store.import_catalogue_blocking(&items, &source, now)?;
            if done.unchanged {
                println!(
                    "unchanged: catalogue version {} already has this content",
                    done.version
                );
            } else {
                println!(
                    "imported {} items as catalogue version {}",
                    items.len(),
                    done.version
                );
            }
        }
        Command::Catalogue(CatalogueCommand::Versions { db }) => {
            let store = db.open()?;
            for v in store.catalogue_versions_blocking()? {
                println!(
                    "{}{:>4}  {}  {}  {}",
                    if v.current { "*" } else { " " },
                    v.version,
                    v.created_at,
                    &v.sha256[..12.min(v.sha256.len())],
                    v.source
                );
            }
        }
        Command::Staff(StaffCommand::Token {
            db,
            department,
            label,
        }) => {
            let store = db.open()?;
            let department = department_name(&store, &department)?;
            let (token, hash) = staff::new_token();
            let (_, now) = now(None);
            store.add_staff_token_blocking(&department, label.trim(), &hash, now)?;
            eprintln!("token for {department} ({label}); it is shown only now:");
            println!("{token}");
        }
        Command::Staff(StaffCommand::Revoke {
            db,
            department,
            label,
        }) => {
            let store = db.open()?;
            let department = department_name(&store, &department)?;
            let (_, now) = now(None);
            let n = store.revoke_staff_tokens_blocking(&department, label.trim(), now)?;
            println!("revoked {n} token(s)");
        }
        Command::Staff(StaffCommand::Accept(a)) => node_action(NodeAction::Accept, a)?,
        Command::Staff(StaffCommand::Refuse(a)) => node_action(NodeAction::Refuse, a)?,
        Command::Staff(StaffCommand::AskCorrections(a)) => {
            node_action(NodeAction::AskCorrections, a)?
        }
        Command::Staff(StaffCommand::AnswerCorrections(a)) => {
            node_action(NodeAction::AnswerCorrections, a)?
        }
        Command::Staff(StaffCommand::Start(a)) => node_action(NodeAction::Start, a)?,
        Command::Staff(StaffCommand::Approve(a)) => node_action(NodeAction::Approve, a)?,
        Command::Staff(StaffCommand::ApprovePending(a)) => {
            node_action(NodeAction::ApprovePending, a)?
        }
        Command::Staff(StaffCommand::Reject(a)) => node_action(NodeAction::Reject, a)?,
        Command::Staff(StaffCommand::Withdraw(a)) => node_action(NodeAction::Withdraw, a)?,
        Command::Calendar(CalendarCommand::Check {
            today,
            ahead,
            holidays,
        }) => {
            use chrono::Datelike;
            anyhow::ensure!((0..=10).contains(&ahead), "--ahead must be 0 to 10");
            let calendar = hall_platform::calendar_with(&holidays)?;
            let coverage = hall_platform::workdays::Coverage::of(&calendar);
            let year = Clock::new(today).today().year();
            let years: Vec<String> = coverage.years().iter().map(|y| y.to_string()).collect();
            println!("holiday calendar: {}", years.join(", "));
            let missing = coverage.missing(year, year + ahead);
            if !missing.is_empty() {
                let list: Vec<String> = missing.iter().map(|y| y.to_string()).collect();
                bail!(
                    "no holiday calendar for {}: due dates reaching into these years count \
                     weekends only and are shown as provisional. Add domain/data/holidays-YEAR.toml \
                     from the State Council's notice (see the platform README), or pass it with \
                     serve --holidays FILE",
                    list.join(", ")
                );
            }
            println!("every year from {year} to {} is covered", year + ahead);
        }
        Command::Fleet(FleetCommand::Token(FleetTokenCommand::Create { db, role, label })) => {
            let role = fleet::Role::parse(&role).context("--role must be helpdesk or admin")?;
            let label = label.trim().to_string();
            anyhow::ensure!(
                !label.is_empty() && label.chars().count() <= 100,
                "--label: 1 to 100 characters"
            );
            let store = db.open()?;
            let (_, now) = now(None);
            let token =
                store.write_blocking(|c| fleet::create_fleet_token(c, role, &label, now))?;
            eprintln!("{} token ({label}); it is shown only now:", role.as_str());
            println!("{token}");
        }
        Command::Fleet(FleetCommand::Token(FleetTokenCommand::Revoke { db, label })) => {
            let store = db.open()?;
            let (_, now) = now(None);
            let n = store.write_blocking(|c| fleet::revoke_fleet_tokens(c, label.trim(), now))?;
            println!("revoked {n} token(s)");
        }
        Command::Fleet(FleetCommand::EnrolToken {
            db,
            kiosk,
            hall,
            ttl_hours,
        }) => {
            let (kiosk, hall) = (kiosk.trim().to_string(), hall.trim().to_string());
            hall_platform::check_kiosk(&kiosk, &hall).map_err(|e| anyhow::anyhow!(e))?;
            anyhow::ensure!((1..=720).contains(&ttl_hours), "--ttl-hours: 1 to 720");
            let store = db.open()?;
            let clock = Clock::new(None);
            let ttl_ms = i64::from(ttl_hours) * 3_600_000;
            let token = store.write_blocking(|c| {
                fleet::create_enrol_token(
                    c,
                    &kiosk,
                    &hall,
                    ttl_ms,
                    &Actor::Admin,
                    clock.now(),
                    clock.millis(),
                )
            })?;
            eprintln!("enrolment token for {kiosk} ({hall}), valid {ttl_hours} h; shown only now:");
            println!("{token}");
        }
        Command::Console(args::ConsoleCommand::User(cmd)) => console::run(cmd)?,
        Command::Release(cmd) => release::run(cmd)?,
        Command::Seal(SealCommand::Keygen) => {
            print!("{}", hall_platform::seal::Sealer::generate());
        }
        Command::Seal(SealCommand::Rewrap { db }) => {
            anyhow::ensure!(
                db.seal_keys().is_some(),
                "give --seal-keys FILE: the key file whose first key seals from now on"
            );
            let store = db.open()?;
            println!("{}", store.rewrap_blocking()?);
        }
        Command::Audit(AuditCommand::Checkpoint { db }) => {
            let store = db.open()?;
            let Some(keys) = store.keys() else {
                bail!("give --seal-keys FILE: the checkpoint is signed with its audit_key");
            };
            let Verdict::Intact { entries, head } = store.audit_verify_blocking()? else {
                bail!("the audit log does not verify: no checkpoint of it is signed");
            };
            let at = chrono::Local::now().to_rfc3339();
            let Some(cp) = hall_platform::audit::Checkpoint::sign(keys, entries, &head, &at) else {
                bail!("the key file has no audit_key (`hall-platform seal keygen` makes one)");
            };
            println!("{}", serde_json::to_string_pretty(&cp)?);
        }
        Command::Audit(AuditCommand::Verify { db, checkpoint }) => {
            let store = db.open()?;
            if let Some(path) = &checkpoint {
                let cp: hall_platform::audit::Checkpoint = serde_json::from_str(&read_file(path)?)
                    .with_context(|| format!("{} is not a checkpoint", path.display()))?;
                let Some(keys) = store.keys() else {
                    bail!("give --seal-keys FILE to check the checkpoint's signature");
                };
                if !cp.signed_by(keys) {
                    bail!(
                        "the checkpoint {} is not signed by this audit key",
                        path.display()
                    );
                }
                match store.audit_hash_at_blocking(cp.entries)? {
                    Some(h) if h == cp.head => {}
                    Some(_) => bail!(
                        "audit log rewritten: entry {} is no longer the one the checkpoint of {} \
                         signed",
                        cp.entries,
                        cp.at
                    ),
                    None => bail!(
                        "audit log cut: it no longer reaches entry {}, the checkpoint of {}",
                        cp.entries,
                        cp.at
                    ),
                }
            }
            match store.audit_verify_blocking()? {
                Verdict::Intact { entries, head } => {
                    println!("audit log intact: {entries} entries, head {head}");
                    if store.audit_is_keyed() {
                        println!("every keyed entry's MAC holds under the audit key");
                    } else {
                        println!(
                            "the entries' MACs were not checked: give --seal-keys FILE (with its \
                             audit_key) to check them"
                        );
                    }
                    if let Some(path) = &checkpoint {
                        println!("it extends the checkpoint {}", path.display());
                    }
                }
                Verdict::Broken { seq, problem } => {
                    bail!("audit log broken at entry {seq}: {problem}");
                }
                Verdict::Unbound { entries, rows } => {
                    for r in &rows {
                        eprintln!("{r}");
                    }
                    bail!(
                        "the audit log's {entries} entries hold, but rows are not in the state \
                         they lead to (changed in the database directly?): {} named above",
                        rows.len()
                    );
                }
            }
        }
        Command::Audit(AuditCommand::Show { db, subject }) => {
            let store = db.open()?;
            for e in store.audit_for_blocking(subject.trim())? {
                println!(
                    "{:>8}  {}  {:<28} {:<22} {}  {}",
                    e.seq,
                    e.at,
                    e.actor,
                    e.action,
                    e.detail,
                    &e.hash[..16.min(e.hash.len())]
                );
            }
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(match cli.command {
                    Command::Serve { .. } => "info",
                    _ => "warn",
                })
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve {
            db,
            listen,
            demo,
            today,
            sim_payer_delay,
            payer_confirm_secs,
            wallet_query_secs,
            holidays,
            tls_cert,
            tls_key,
            kiosk_rate,
            peer_rate,
            opening_hours,
        } => {
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(hall_platform::tls::TlsFiles { cert, key }),
                _ => None,
            };
            anyhow::ensure!(
                tls.is_some() || listen.ip().is_loopback(),
                "--listen {listen} is not loopback: citizens' data never crosses a network in \
                 clear. Give --tls-cert and --tls-key, or listen on 127.0.0.1 behind a \
                 TLS-terminating proxy"
            );
            anyhow::ensure!(
                (15..=120).contains(&payer_confirm_secs),
                "--payer-confirm-secs must be 15 to 120: a wallet payment is never reversed \
                 within 15 s of the debit"
            );
            anyhow::ensure!(
                (1..=10_000).contains(&kiosk_rate),
                "--kiosk-rate must be 1 to 10000 requests per second"
            );
            anyhow::ensure!(
                (1..=100_000).contains(&peer_rate),
                "--peer-rate must be 1 to 100000 requests per second"
            );
            anyhow::ensure!(
                (1..=60).contains(&wallet_query_secs),
                "--wallet-query-secs must be 1 to 60"
            );
            anyhow::ensure!(
                sim_payer_delay.is_finite() && (0.0..=3600.0).contains(&sim_payer_delay),
                "--sim-payer-delay must be between 0 and 3600 seconds"
            );
            let mut config = ServerConfig::with_database(db.url()?, listen);
            match db.seal_keys() {
                Some(path) => {
                    // Said aloud when it was not given: a key file a demo made beside the
                    // database is kept with it, so it protects nothing against a copy of both.
                    if db.seal_keys_found_beside() {
                        tracing::warn!(key_file = %path.display(),
                            "using the key file of personal data found beside the database \
                             (made by a demo platform); give --seal-keys FILE (or the systemd \
                             credential seal-keys) kept apart from the database");
                    } else {
                        tracing::info!(key_file = %path.display(), "key file of personal data");
                    }
                    config.seal_keys = hall_platform::SealKeys::File(path);
                }
                // The demo hall makes its own beside its database.
                None if demo => {}
                None => bail!(
                    "no key file for personal data at rest: give --seal-keys FILE (made once \
                     with `hall-platform seal keygen`) or the systemd credential seal-keys"
                ),
            }
            config.releases_dir = db.releases_dir()?;
            config.demo = demo;
            config.today = today;
            config.holiday_files = holidays;
            config.tls = tls;
            config.sim_payer_delay = std::time::Duration::from_secs_f64(sim_payer_delay);
            config.payer_confirm_limit = std::time::Duration::from_secs(payer_confirm_secs);
            config.wallet_query_every = std::time::Duration::from_secs(wallet_query_secs);
            config.opening_hours = opening_hours;
            config.kiosk_rate = hall_platform::Rate {
                per_second: kiosk_rate,
                burst: kiosk_rate.saturating_mul(6),
            };
            config.peer_rate = hall_platform::Rate {
                per_second: peer_rate,
                burst: peer_rate.saturating_mul(4),
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("cannot start the runtime")?;
            rt.block_on(async move {
                let server = spawn(config)
                    .await
                    .context("the platform could not start")?;
                let scheme = if server.tls { "https" } else { "http" };
                println!("hall-platform listening on {scheme}://{}", server.addr);
                stop_signal().await;
                tracing::info!("stopping");
                server.shutdown().await;
                anyhow::Ok(())
            })
        }
        other => run_blocking(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hall_platform::DbUrl;

    #[test]
    fn db_argument_forms() {
        let url = |s: &str| DbUrl::parse(s).unwrap();
        assert_eq!(
            url("sqlite:///tmp/a.db"),
            DbUrl::Sqlite(PathBuf::from("/tmp/a.db"))
        );
        assert_eq!(
            url("sqlite://hall.db"),
            DbUrl::Sqlite(PathBuf::from("hall.db"))
        );
        assert_eq!(
            url("sqlite:hall.db"),
            DbUrl::Sqlite(PathBuf::from("hall.db"))
        );
        assert_eq!(
            url("/var/lib/hall/p.db"),
            DbUrl::Sqlite(PathBuf::from("/var/lib/hall/p.db"))
        );
        assert_eq!(
            url("postgres://hall@127.0.0.1:5432/hall"),
            DbUrl::Postgres("postgres://hall@127.0.0.1:5432/hall".into())
        );
        assert!(DbUrl::parse("sqlite://").is_err());
        assert_eq!(
            DbUrl::Postgres("postgres://hall:secret@127.0.0.1:5433/hall".into()).redacted(),
            "postgres://hall@127.0.0.1:5433/hall"
        );
    }

    #[test]
    fn the_command_line_parses() {
        Cli::try_parse_from([
            "hall-platform",
            "staff",
            "ask-corrections",
            "--db",
            "sqlite://x.db",
            "--case",
            "2026110200000118",
            "--department",
            "Housing",
            "--opinion",
            "补充材料",
        ])
        .unwrap();
        Cli::try_parse_from([
            "hall-platform",
            "audit",
            "verify",
            "--db",
            "postgres://h@l/db",
        ])
        .unwrap();
        Cli::try_parse_from(["hall-platform", "catalogue", "import", "--db", "x.db", "-"]).unwrap();
    }
}
