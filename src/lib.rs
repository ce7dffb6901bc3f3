//! The hall kiosk: session state machines, the platform client, device wiring and the Slint UI.
//!
//! Flow is one-way: device drivers → [`kiosk_drivers::DeviceEvent`] → [`session::Session`] →
//! [`session::ViewModel`] → Slint. The UI never calls a driver and the session never touches
//! Slint.
//!
//! The `demo` feature adds the demo hall ([`demo`]: the embedded reference platform and the
//! simulator panel), `drill` and `screenshot`; without it the kiosk is the appliance, a client of
//! the hall's platform.

pub mod app;
pub mod client;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod devices;
pub mod diag;
#[cfg(feature = "demo")]
pub mod drill;
pub mod fleet;
pub mod fonts;
pub mod headless;
pub mod journeys;
pub mod logging;
pub mod outbox;
pub mod pinyin;
pub mod run;
#[cfg(feature = "demo")]
pub mod screenshot;
pub mod session;
pub mod systemd;
pub mod ui;
pub mod update;
pub mod voice;
