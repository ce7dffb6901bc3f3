//! Second-generation ID card reader (SAM module, GA 467 family).
//!
//! `frame` encodes requests and parses replies with resynchronisation; `text` decodes the 256-byte
//! text block of every card layout; `reader` is the find → select → read state machine.

pub mod frame;
pub mod reader;
pub mod text;
pub mod trace;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use zeroize::{Zeroize, ZeroizeOnDrop};

pub use frame::{Command, Frame, FrameError, FrameParser, ReaderStatus};
pub use reader::{Reader, ReaderConfig, ReaderOutput};
pub use text::{decode_text, nation_code, nation_name, sex_name};

use crate::Health;
use crate::transport::Transport;

/// Which document was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Zeroize)]
pub enum CardKind {
    Resident,
    /// Hong Kong / Macao / Taiwan residence permit (`J`).
    HkMoTwPermit,
    /// Foreign permanent-resident card, 2017 layout (`I`).
    ForeignPermanent2017,
    /// Foreign permanent-resident card, 2023 layout (`Y`).
    ForeignPermanent2023,
}

/// End of validity: a date, or 长期 (long-term).
#[derive(Debug, Clone, PartialEq, Eq, Zeroize)]
pub enum ValidTo {
    Date(String),
    LongTerm,
}

/// The text of a card as read. Personal data: wiped from memory when dropped, and never shown
/// by `Debug` (only the card kind is).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct IdCard {
    pub kind: CardKind,
    /// Chinese name (for foreign cards, the Chinese name when the card has one).
    pub name: String,
    /// English name (foreign cards only; empty otherwise).
    pub name_en: String,
    /// GB/T 2261.1 sex code: 0 unknown, 1 male, 2 female, 9 unstated.
    pub sex_code: u8,
    /// Nation name (民族) for resident cards; nationality code for foreign cards.
    pub nation: String,
    /// YYYYMMDD.
    pub birth: String,
    pub address: String,
    /// ID number, or permit number for foreign cards.
    pub id_number: String,
    pub authority: String,
    /// YYYYMMDD.
    pub valid_from: String,
    pub valid_to: ValidTo,
    /// HK/Macao/Taiwan permits: travel permit number and issue count.
    pub travel_permit: String,
    pub issue_count: String,
    /// The WLT-compressed photo, kept opaque.
    pub photo: Vec<u8>,
}

impl fmt::Debug for IdCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdCard")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl IdCard {
    /// The sex as printed on the card (男, 女…).
    pub fn sex_name(&self) -> &'static str {
        text::sex_name(self.sex_code)
    }
}

/// Runs a reader state machine over a byte link until `stop` is set or the link fails: sends
/// what [`Reader::poll`] asks, feeds what arrives to [`Reader::on_bytes`], and hands every
/// output to `emit`. A link failure is reported as [`Health::Absent`] and returned.
pub fn run(
    link: &mut dyn Transport,
    reader: &mut Reader,
    stop: &AtomicBool,
    emit: &mut dyn FnMut(ReaderOutput),
) -> std::io::Result<()> {
    const MAX_WAIT: Duration = Duration::from_millis(50);
    let mut buf = vec![0u8; 2048];
    let result = loop {
        if stop.load(Ordering::Relaxed) {
            break Ok(());
        }
        if let Some(request) = reader.poll(Instant::now())
            && let Err(e) = link.write(&request)
        {
            break Err(e);
        }
        for out in reader.take_outputs() {
            emit(out);
        }
        let wait = reader
            .next_wakeup()
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or(MAX_WAIT)
            .min(MAX_WAIT);
        match link.read(&mut buf, wait) {
            Ok(0) => {}
            Ok(n) => {
                for out in reader.on_bytes(&buf[..n]) {
                    emit(out);
                }
            }
            Err(e) => break Err(e),
        }
    };
    buf.zeroize();
    if let Err(e) = &result {
        tracing::warn!(link = %link.describe(), error = %e, "id card reader link failed");
        emit(ReaderOutput::Health(Health::Absent(format!(
            "读卡器连接中断 (reader link lost: {e})"
        ))));
    }
    result
}
