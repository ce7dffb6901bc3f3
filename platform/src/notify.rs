//! The fleet's changes, told to every platform instance: on PostgreSQL through LISTEN/NOTIFY
//! (a change on one instance reaches the consoles and the waiting kiosk polls of all), on SQLite
//! in process. Payloads: `fleet` (a kiosk's state, help call or commands changed) and
//! `cmd:KIOSK` (a command waits for that kiosk).

use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use tokio::sync::broadcast;

/// The channel every instance listens on.
pub const CHANNEL: &str = "hall_fleet";
/// The kiosk "id" of a command payload that wakes every waiting poll (after a reconnection).
pub const EVERY_KIOSK: &str = "*";

/// Where changes go on this instance.
#[derive(Clone)]
pub struct Local {
    pub fleet: broadcast::Sender<()>,
    pub commands: broadcast::Sender<String>,
}

impl Local {
    pub fn new() -> Self {
        Local {
            fleet: broadcast::Sender::new(64),
            commands: broadcast::Sender::new(1024),
        }
    }

    /// A payload as received: passed to this instance's listeners.
    pub fn deliver(&self, payload: &str) {
        // Nobody listening is no error.
        match payload.strip_prefix("cmd:") {
            Some(kiosk) => {
                let _ = self.commands.send(kiosk.to_string());
                let _ = self.fleet.send(());
            }
            None => {
                let _ = self.fleet.send(());
            }
        }
    }
}

impl Default for Local {
    fn default() -> Self {
        Self::new()
    }
}

/// Listens on PostgreSQL for the other instances' changes (and this one's) until `stopping`,
/// reconnecting after a lost connection; after each (re)connection every page and poll looks
/// again, since changes may have been missed meanwhile.
pub fn listen(url: String, local: Local, stopping: tokio::sync::watch::Receiver<bool>) {
    let spawned = std::thread::Builder::new()
        .name("fleet-listen".into())
        .spawn(move || {
            let mut first = true;
            while !*stopping.borrow() {
                match postgres::Client::connect(&url, postgres::NoTls) {
                    Ok(mut client) => {
                        if let Err(e) = client.batch_execute(&format!("LISTEN {CHANNEL}")) {
                            tracing::warn!(error = %e, "cannot listen for the fleet's changes");
                        } else {
                            if !first {
                                tracing::info!("listening for the fleet's changes again");
                            }
                            first = false;
                            local.deliver(&format!("cmd:{EVERY_KIOSK}"));
                            loop {
                                if *stopping.borrow() {
                                    return;
                                }
                                // A fresh iterator each time: one that timed out has ended.
                                let next = client
                                    .notifications()
                                    .timeout_iter(Duration::from_millis(500))
                                    .next();
                                match next {
                                    Ok(Some(n)) => {
                                        tracing::debug!(payload = n.payload(), "fleet change heard");
                                        local.deliver(n.payload());
                                    }
                                    Ok(None) => {}
                                    Err(e) => {
                                        tracing::warn!(error = %e, "the fleet's change listener lost its connection");
                                        break;
                                    }
                                }
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot connect to listen for the fleet's changes"),
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the fleet's change listener");
    }
}
