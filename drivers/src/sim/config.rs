//! What the simulators are started with: the faults a `sim:` URI can name, how the reader is
//! linked, and what goes wrong driving them.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::idcard::ReaderConfig;
use crate::scanner::ScannerConfig;
use crate::uri::DeviceUri;

/// What can go wrong driving the simulators.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("simulator state is unusable (a thread failed while holding it)")]
    Poisoned,
    #[error("unknown simulator fault `{0}`; known: {known}", known = SimFault::names())]
    UnknownFault(String),
    #[error("{0} is not a simulator address")]
    NotSim(String),
    #[error("simulator link: {0}")]
    Io(#[from] io::Error),
}

/// Faults a simulator can start with (`sim:?fault=paper-out,camera-missing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimFault {
    PaperOut,
    PaperNearEnd,
    CoverOpen,
    PrinterOffline,
    /// The printer answers nothing (unplugged).
    PrinterSilent,
    CameraMissing,
    /// The ID card reader answers nothing.
    ReaderSilent,
    /// The reader's security module failed its self-test (SW3 60).
    ReaderSamFault,
    /// Noise before every reader reply.
    ReaderNoise,
}

impl SimFault {
    pub const ALL: [SimFault; 9] = [
        SimFault::PaperOut,
        SimFault::PaperNearEnd,
        SimFault::CoverOpen,
        SimFault::PrinterOffline,
        SimFault::PrinterSilent,
        SimFault::CameraMissing,
        SimFault::ReaderSilent,
        SimFault::ReaderSamFault,
        SimFault::ReaderNoise,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SimFault::PaperOut => "paper-out",
            SimFault::PaperNearEnd => "paper-near-end",
            SimFault::CoverOpen => "cover-open",
            SimFault::PrinterOffline => "printer-offline",
            SimFault::PrinterSilent => "printer-silent",
            SimFault::CameraMissing => "camera-missing",
            SimFault::ReaderSilent => "reader-silent",
            SimFault::ReaderSamFault => "reader-sam-fault",
            SimFault::ReaderNoise => "reader-noise",
        }
    }

    pub fn from_name(name: &str) -> Result<SimFault, SimError> {
        SimFault::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| SimError::UnknownFault(name.to_string()))
    }

    fn names() -> String {
        SimFault::ALL.map(SimFault::name).join(", ")
    }
}

/// How the reader state machine and the simulated reader are connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderLink {
    /// An in-memory byte pipe.
    Memory,
    /// A pseudo-terminal pair: the bytes go through the kernel's tty layer, as with a USB
    /// serial reader.
    Pty,
}

/// How to start the simulators.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub faults: Vec<SimFault>,
    pub reader_link: ReaderLink,
    /// Printed bytes are also appended here.
    pub printer_file: Option<PathBuf>,
    pub reader: ReaderConfig,
    pub scanner: ScannerConfig,
    /// Time between camera frames while scanning (~5 fps).
    pub camera_interval: Duration,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            faults: Vec::new(),
            reader_link: ReaderLink::Memory,
            printer_file: None,
            reader: ReaderConfig::default(),
            scanner: ScannerConfig::default(),
            camera_interval: Duration::from_millis(200),
        }
    }
}

impl SimOptions {
    /// Options from a `sim:` URI (its faults).
    pub fn from_uri(uri: &DeviceUri) -> Result<SimOptions, SimError> {
        let DeviceUri::Sim { faults } = uri else {
            return Err(SimError::NotSim(uri.to_string()));
        };
        let faults = faults
            .iter()
            .map(|f| SimFault::from_name(f))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SimOptions {
            faults,
            ..SimOptions::default()
        })
    }
}
