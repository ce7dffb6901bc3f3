//! `hall-platform console user …`: the web console's accounts.

use std::io::BufRead;

use anyhow::{Context, bail};
use hall_platform::clock::Clock;
use hall_platform::console_rules::{self as rules, ConsoleRole};
use hall_platform::store::console as rows;

use crate::args::ConsoleUserCommand;

pub(crate) fn run(cmd: ConsoleUserCommand) -> anyhow::Result<()> {
    match cmd {
        ConsoleUserCommand::Add {
            db,
            name,
            role,
            password_stdin,
        } => {
            let name = name.trim().to_string();
            anyhow::ensure!(
                rules::valid_name(&name),
                "--name: 1 to 64 letters, digits, '.', '-', '_' or '@'"
            );
            let role = ConsoleRole::parse(&role).context("--role: helpdesk, manager or admin")?;
            let (password, made) = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .context("reading the password from standard input")?;
                let password =
                    zeroize::Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_string());
                if let Some((_, en)) = rules::password_problem(&password, &name) {
                    bail!("{en}");
                }
                (password, false)
            } else {
                (zeroize::Zeroizing::new(rules::first_password()), true)
            };
            let phc = rules::hash_password(&password)?;
            let store = db.open()?;
            let clock = Clock::new(None);
            store.write_blocking(|c| rows::put_user(c, &name, role, &phc, made, clock.now()))?;
            if made {
                eprintln!(
                    "console user {name} ({}): a first password, to be changed at the first \
                     sign-in; it is shown only now:",
                    role.as_str()
                );
                println!("{}", password.as_str());
            } else {
                eprintln!("console user {name} ({}) saved", role.as_str());
            }
        }
        ConsoleUserCommand::List { db } => {
            let store = db.open()?;
            let now_ms = Clock::new(None).millis();
            for (u, locked) in store.read_blocking(|c| rows::users(c, now_ms))? {
                println!(
                    "{:<24} {:<9} {}{}",
                    u.name,
                    u.role.as_str(),
                    if u.must_change {
                        "must change password "
                    } else {
                        ""
                    },
                    if locked { "locked" } else { "" }
                );
            }
        }
    }
    Ok(())
}
