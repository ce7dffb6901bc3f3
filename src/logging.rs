//! Logs go to standard error (journald picks them up under systemd). Personal data is never
//! logged: events carry screens, codes of errors and counts, not names, ID numbers or phones.

/// Sets up `tracing`; `RUST_LOG` overrides the default level.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
