//! `kioskctl`: the help desk's view of the hall's kiosks, and its commands to them.
//!
//! ```sh
//! export KIOSKCTL_TOKEN=hft_…              # from `hall-platform fleet token create --role helpdesk`
//! kioskctl --platform https://platform.example list
//! kioskctl show K-01
//! kioskctl restart K-01 [--now]            # waits for the citizen in front of it unless --now
//! kioskctl restart --hall 政务服务中心      # every kiosk of a hall
//! kioskctl reboot K-01 [--now]
//! kioskctl identify K-01                    # the kiosk shows its id and blinks its light
//! kioskctl help-done K-01                   # the call for help was answered
//! kioskctl enrol --kiosk K-09 --hall 大厅    # admin: a one-time enrolment token
//! kioskctl revoke K-09                      # admin
//! kioskctl cases K-01                       # cases the kiosk submitted (active = not withdrawn)
//! kioskctl rollout list                     # field updates: rollouts and their progress
//! kioskctl rollout show ro-…                # each kiosk's progress
//! kioskctl rollout start 2026.12.1 --hall 大厅 --percent 10   # admin (or --kiosk K-01)
//! kioskctl rollout widen ro-… --percent 50  # admin; also stop, resume
//! ```
//!
//! `--platform` defaults to `$KIOSKCTL_PLATFORM`, then `http://127.0.0.1:8780` (`http://` to
//! loopback only; `--ca-file` names the hall's private CA); the token comes
//! from `--token` or `$KIOSKCTL_TOKEN`. `--json` prints the platform's answer as JSON.

use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use hall_domain::api::{self, CommandKind, FleetCommand, IssueCommand, KioskStatus, Problem};
use serde_json::Value;

#[derive(Parser)]
#[command(
    name = "kioskctl",
    version,
    about = "Help-desk control of the hall's kiosks"
)]
struct Cli {
    /// The platform's base URL (default: $KIOSKCTL_PLATFORM, then http://127.0.0.1:8780).
    #[arg(long, global = true)]
    platform: Option<String>,
    /// A help-desk or admin token (default: $KIOSKCTL_TOKEN).
    #[arg(long, global = true)]
    token: Option<String>,
    /// Trust only this CA (PEM) for the platform's certificate: the hall's private CA
    /// (default: $KIOSKCTL_CA_FILE, then the public roots).
    #[arg(long, global = true)]
    ca_file: Option<std::path::PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Every kiosk: hall, online/offline, last seen, version, devices, in use, help.
    List,
    /// One kiosk in detail, with its latest commands.
    Show { kiosk: String },
    /// Restart the kiosk application (after the citizen in front of it finished, unless --now).
    Restart {
        kiosk: Option<String>,
        /// Every kiosk of this hall instead of one.
        #[arg(long)]
        hall: Option<String>,
        /// Now, even while a citizen is using it.
        #[arg(long)]
        now: bool,
        /// Seconds the command may wait to be fetched.
        #[arg(long)]
        ttl: Option<u32>,
    },
    /// Reboot the machine (after the citizen finished, unless --now).
    Reboot {
        kiosk: Option<String>,
        #[arg(long)]
        hall: Option<String>,
        #[arg(long)]
        now: bool,
        #[arg(long)]
        ttl: Option<u32>,
    },
    /// The kiosk shows its id on screen and blinks its light.
    Identify {
        kiosk: Option<String>,
        #[arg(long)]
        hall: Option<String>,
        #[arg(long)]
        ttl: Option<u32>,
    },
    /// Mark a kiosk's call for help as answered.
    HelpDone { kiosk: String },
    /// Admin: a one-time enrolment token for a kiosk's provisioning file.
    Enrol {
        #[arg(long)]
        kiosk: String,
        #[arg(long)]
        hall: String,
        #[arg(long)]
        ttl_hours: Option<u32>,
    },
    /// Admin: revoke a kiosk's credential (it must enrol again).
    Revoke { kiosk: String },
    /// The cases a kiosk submitted, each with its idempotency key; active = not withdrawn.
    Cases { kiosk: String },
    /// Who the token is.
    Whoami,
    /// Field updates: rollouts of releases (start, widen, stop, resume: admin).
    #[command(subcommand)]
    Rollout(RolloutCommand),
}

#[derive(Subcommand)]
enum RolloutCommand {
    /// Every rollout with its counts.
    List,
    /// One rollout with each of its kiosks.
    Show { rollout: String },
    /// Roll a release out to one kiosk, or to a hall (or a percentage of it).
    Start {
        release: String,
        #[arg(long)]
        kiosk: Option<String>,
        #[arg(long)]
        hall: Option<String>,
        /// With --hall: the share of its kiosks (1 to 100).
        #[arg(long)]
        percent: Option<u8>,
        /// Go on when a kiosk rolls back, refuses or fails (default: stop at the first).
        #[arg(long)]
        no_stop_on_failure: bool,
    },
    /// Reach a wider share of the hall (the kiosks already reached keep it).
    Widen {
        rollout: String,
        #[arg(long)]
        percent: u8,
    },
    /// No more offers.
    Stop { rollout: String },
    /// Offers again.
    Resume { rollout: String },
}

fn print_rollout(r: &api::Rollout) {
    let to = match (&r.kiosk_id, &r.hall) {
        (Some(k), _) => k.clone(),
        (None, Some(h)) => format!("{h} {}%", r.percent),
        _ => "-".into(),
    };
    println!(
        "{}  {}  {}  {}  done {} / in progress {} / failed {} / waiting {} / not compatible {}",
        r.id, r.release, to, r.state, r.done, r.in_progress, r.failed, r.waiting, r.not_compatible
    );
    if let Some(why) = &r.stop_reason {
        println!("  stopped: {why}");
    }
}

async fn rollout(p: &Platform, json: bool, cmd: RolloutCommand) -> anyhow::Result<()> {
    let v = match cmd {
        RolloutCommand::List => p.get(api::FLEET_ROLLOUTS).await?,
        RolloutCommand::Show { rollout } => p.get(&api::fleet_rollout_path(&rollout)).await?,
        RolloutCommand::Start {
            release,
            kiosk,
            hall,
            percent,
            no_stop_on_failure,
        } => {
            let body = api::StartRollout {
                release,
                kiosk_id: kiosk,
                hall,
                percent,
                stop_on_failure: !no_stop_on_failure,
            };
            p.post(api::FLEET_ROLLOUTS, &body).await?
        }
        RolloutCommand::Widen { rollout, percent } => {
            let change = api::RolloutChange::Widen { percent };
            p.post(&api::fleet_rollout_path(&rollout), &change).await?
        }
        RolloutCommand::Stop { rollout } => {
            p.post(
                &api::fleet_rollout_path(&rollout),
                &api::RolloutChange::Stop,
            )
            .await?
        }
        RolloutCommand::Resume { rollout } => {
            p.post(
                &api::fleet_rollout_path(&rollout),
                &api::RolloutChange::Resume,
            )
            .await?
        }
    }
    .unwrap_or_default();
    if json {
        println!("{v:#}");
        return Ok(());
    }
    if v.is_array() {
        let all: Vec<api::Rollout> = serde_json::from_value(v).context("unexpected answer")?;
        all.iter().for_each(print_rollout);
        return Ok(());
    }
    let r: api::Rollout = serde_json::from_value(v).context("unexpected answer")?;
    print_rollout(&r);
    let mut rows = vec![vec![
        "kiosk".to_string(),
        "hall".into(),
        "progress".into(),
        "state".into(),
        "since".into(),
        "running".into(),
        "reason".into(),
    ]];
    for k in &r.kiosks {
        let progress = serde_json::to_value(k.progress)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let state = match (&k.state, k.percent) {
            (Some(s), Some(p)) => format!("{s} {p}%"),
            (Some(s), None) => s.clone(),
            _ => "-".into(),
        };
        rows.push(vec![
            k.kiosk_id.clone(),
            k.hall.clone(),
            progress,
            state,
            k.since.clone().unwrap_or_default(),
            k.os_version.clone().unwrap_or_default(),
            k.reason.clone().unwrap_or_default(),
        ]);
    }
    table(&rows);
    Ok(())
}

struct Platform {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Platform {
    async fn send(&self, req: reqwest::RequestBuilder) -> anyhow::Result<Option<Value>> {
        let resp = req
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("cannot reach the platform at {}", self.base))?;
        let status = resp.status();
        if status == reqwest::StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let bytes = resp.bytes().await.context("the answer could not be read")?;
        if !status.is_success() {
            let why = serde_json::from_slice::<Problem>(&bytes)
                .map(|p| {
                    let en = p
                        .errors
                        .first()
                        .map(|e| e.message_en.clone())
                        .unwrap_or_default();
                    format!("{} — {}", p.detail.unwrap_or(p.title), en)
                })
                .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned());
            bail!("{} ({})", why, status.as_u16());
        }
        Ok(Some(
            serde_json::from_slice(&bytes).context("the platform's answer is not JSON")?,
        ))
    }

    async fn get(&self, path: &str) -> anyhow::Result<Option<Value>> {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    async fn post(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> anyhow::Result<Option<Value>> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(body))
            .await
    }
}

fn devices(k: &KioskStatus) -> String {
    let Some(d) = &k.devices else {
        return "-".into();
    };
    let s = |name: &str, v: api::DeviceState| -> Option<String> {
        let word = serde_json::to_value(v)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        (v != api::DeviceState::Ok && v != api::DeviceState::None).then(|| format!("{name}:{word}"))
    };
    let bad: Vec<String> = [
        s("printer", d.printer),
        s("reader", d.reader),
        s("camera", d.camera),
        s("scanner", d.scanner),
    ]
    .into_iter()
    .flatten()
    .collect();
    if bad.is_empty() {
        "ok".into()
    } else {
        bad.join(",")
    }
}

fn ago(secs: Option<u64>) -> String {
    match secs {
        None => "never".into(),
        Some(s) if s < 120 => format!("{s}s ago"),
        Some(s) if s < 7200 => format!("{}m ago", s / 60),
        Some(s) if s < 172_800 => format!("{}h ago", s / 3600),
        Some(s) => format!("{}d ago", s / 86400),
    }
}

fn state(k: &KioskStatus) -> &'static str {
    if k.revoked {
        "revoked"
    } else if !k.enrolled {
        "not enrolled"
    } else if k.online {
        "online"
    } else {
        "offline"
    }
}

fn table(rows: &[Vec<String>]) {
    let cols = rows.first().map(Vec::len).unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            rows.iter()
                .map(|r| r.get(i).map(|c| c.chars().count()).unwrap_or(0))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w.saturating_sub(c.chars().count()))))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
}

fn print_commands(cmds: &[FleetCommand]) {
    let mut rows = vec![vec![
        "command".to_string(),
        "kiosk".into(),
        "kind".into(),
        "force".into(),
        "status".into(),
        "issued".into(),
        "expires".into(),
        "result".into(),
    ]];
    for c in cmds {
        rows.push(vec![
            c.id.clone(),
            c.kiosk_id.clone(),
            c.kind.as_str().into(),
            if c.force { "yes" } else { "no" }.into(),
            c.status.as_str().into(),
            c.issued_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            c.expires_at.format("%H:%M:%S").to_string(),
            c.result.clone().unwrap_or_default(),
        ]);
    }
    table(&rows);
}

async fn issue(
    p: &Platform,
    json: bool,
    kind: CommandKind,
    kiosk: Option<String>,
    hall: Option<String>,
    force: bool,
    ttl: Option<u32>,
) -> anyhow::Result<()> {
    if kiosk.is_some() == hall.is_some() {
        bail!("name one kiosk, or one hall with --hall");
    }
    let body = IssueCommand {
        kind,
        kiosk_id: kiosk,
        hall,
        force,
        ttl_secs: ttl,
    };
    let v = p
        .post(api::FLEET_COMMANDS, &body)
        .await?
        .unwrap_or_default();
    if json {
        println!("{v:#}");
        return Ok(());
    }
    let cmds: Vec<FleetCommand> = serde_json::from_value(v).context("unexpected answer")?;
    print_commands(&cmds);
    if matches!(kind, CommandKind::RestartApp | CommandKind::Reboot) && !force {
        eprintln!(
            "the kiosk carries it out once the citizen using it has finished (--now: at once)"
        );
    }
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let base = cli
        .platform
        .or_else(|| std::env::var("KIOSKCTL_PLATFORM").ok())
        .unwrap_or_else(|| "http://127.0.0.1:8780".into())
        .trim_end_matches('/')
        .to_string();
    let token = cli
        .token
        .or_else(|| std::env::var("KIOSKCTL_TOKEN").ok())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .context(
            "no token: pass --token or set KIOSKCTL_TOKEN (hall-platform fleet token create)",
        )?;
    if let Some(ca) = cli
        .ca_file
        .or_else(|| std::env::var_os("KIOSKCTL_CA_FILE").map(Into::into))
    {
        let pem = std::fs::read(&ca).with_context(|| format!("--ca-file {}", ca.display()))?;
        hall_client::link::set_private_ca(&pem)
            .with_context(|| format!("--ca-file {}", ca.display()))?;
    }
    let http = hall_client::link::builder(&base)
        .context("--platform")?
        .timeout(Duration::from_secs(20))
        .build()
        .context("HTTP client")?;
    let p = Platform { base, token, http };
    let json = cli.json;
    match cli.command {
        Command::List => {
            let v = p.get(api::FLEET_KIOSKS).await?.unwrap_or_default();
            if json {
                println!("{v:#}");
                return Ok(());
            }
            let kiosks: Vec<KioskStatus> =
                serde_json::from_value(v).context("unexpected answer")?;
            let mut rows = vec![vec![
                "id".to_string(),
                "hall".into(),
                "state".into(),
                "last seen".into(),
                "version".into(),
                "devices".into(),
                "in use".into(),
                "help".into(),
            ]];
            for k in &kiosks {
                rows.push(vec![
                    k.kiosk_id.clone(),
                    k.hall.clone(),
                    state(k).into(),
                    ago(k.last_seen_secs_ago),
                    k.version.clone().unwrap_or_else(|| "-".into()),
                    devices(k),
                    if k.in_use { "yes" } else { "no" }.into(),
                    if k.needs_help {
                        format!("NEEDS HELP {}", k.help_note.clone().unwrap_or_default())
                            .trim_end()
                            .to_string()
                    } else {
                        "-".into()
                    },
                ]);
            }
            table(&rows);
        }
        Command::Show { kiosk } => {
            let v = p
                .get(&api::fleet_kiosk_path(&kiosk))
                .await?
                .unwrap_or_default();
            if json {
                println!("{v:#}");
                return Ok(());
            }
            let k: KioskStatus = serde_json::from_value(v).context("unexpected answer")?;
            println!("kiosk       {}", k.kiosk_id);
            println!("hall        {}", k.hall);
            println!("state       {}", state(&k));
            println!("last seen   {}", ago(k.last_seen_secs_ago));
            println!("version     {}", k.version.as_deref().unwrap_or("-"));
            println!(
                "uptime      {}",
                k.uptime_secs
                    .map(|u| format!("{}h {}m", u / 3600, (u % 3600) / 60))
                    .unwrap_or_else(|| "-".into())
            );
            println!("boot id     {}", k.boot_id.as_deref().unwrap_or("-"));
            println!("devices     {}", devices(&k));
            println!("in use      {}", if k.in_use { "yes" } else { "no" });
            println!("last error  {}", k.last_error.as_deref().unwrap_or("-"));
            println!(
                "help        {}",
                if k.needs_help {
                    format!("NEEDS HELP {}", k.help_note.as_deref().unwrap_or(""))
                } else {
                    "-".into()
                }
            );
            if !k.commands.is_empty() {
                println!();
                print_commands(&k.commands);
            }
        }
        Command::Restart {
            kiosk,
            hall,
            now,
            ttl,
        } => issue(&p, json, CommandKind::RestartApp, kiosk, hall, now, ttl).await?,
        Command::Reboot {
            kiosk,
            hall,
            now,
            ttl,
        } => issue(&p, json, CommandKind::Reboot, kiosk, hall, now, ttl).await?,
        Command::Identify { kiosk, hall, ttl } => {
            issue(&p, json, CommandKind::Identify, kiosk, hall, false, ttl).await?
        }
        Command::HelpDone { kiosk } => {
            p.post(
                &api::fleet_kiosk_help_clear_path(&kiosk),
                &serde_json::json!({}),
            )
            .await?;
            println!("{kiosk}: call for help answered");
        }
        Command::Enrol {
            kiosk,
            hall,
            ttl_hours,
        } => {
            let v = p
                .post(
                    api::FLEET_ENROL_TOKENS,
                    &serde_json::json!({ "kiosk_id": kiosk, "hall": hall, "ttl_hours": ttl_hours }),
                )
                .await?
                .unwrap_or_default();
            if json {
                println!("{v:#}");
            } else {
                eprintln!("enrolment token for {kiosk} ({hall}); it is shown only now:");
                println!("{}", v["enrolment_token"].as_str().unwrap_or_default());
            }
        }
        Command::Revoke { kiosk } => {
            p.post(
                &api::fleet_kiosk_revoke_path(&kiosk),
                &serde_json::json!({}),
            )
            .await?;
            println!("{kiosk}: revoked");
        }
        Command::Cases { kiosk } => {
            let v = p
                .get(&api::fleet_kiosk_applications_path(&kiosk))
                .await?
                .unwrap_or_default();
            if json {
                println!("{v:#}");
                return Ok(());
            }
            let mut rows = vec![vec![
                "approval code".to_string(),
                "local reference".into(),
                "status".into(),
                "active".into(),
            ]];
            for c in v.as_array().into_iter().flatten() {
                rows.push(vec![
                    c["approval_code"].as_str().unwrap_or_default().into(),
                    c["local_reference"].as_str().unwrap_or_default().into(),
                    c["status"].to_string(),
                    if c["active"] == true { "yes" } else { "no" }.into(),
                ]);
            }
            table(&rows);
        }
        Command::Rollout(cmd) => rollout(&p, json, cmd).await?,
        Command::Whoami => {
            let v = p.get(api::FLEET_ME).await?.unwrap_or_default();
            if json {
                println!("{v:#}");
            } else {
                println!(
                    "{} ({})",
                    v["label"].as_str().unwrap_or_default(),
                    v["role"].as_str().unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    rt.block_on(run(cli))
}
