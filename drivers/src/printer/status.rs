//! Real-time status (`DLE EOT n`) requests and replies, and the paper sensor (`GS r 1`).
//!
//! Every `DLE EOT` reply byte has the shape `0xx1xx10`:
//! * n = 1 (printer): bit 3 offline;
//! * n = 2 (offline cause): bit 2 cover open, bit 5 stopped at paper end, bit 6 error;
//! * n = 4 (paper sensor): bits 2–3 paper near end, bits 5–6 paper out.
//!
//! `GS r 1` is not real-time: the printer answers it after printing what came before, which
//! makes it a completion marker. Reply bits 0–1 paper near end, bits 2–3 paper out.

use std::fmt;

use crate::Health;

const DLE: u8 = 0x10;
const EOT: u8 = 0x04;

/// The `DLE EOT n` queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusQuery {
    /// n = 1
    Printer,
    /// n = 2
    OfflineCause,
    /// n = 3
    ErrorCause,
    /// n = 4
    PaperSensor,
}

impl StatusQuery {
    /// The queries a print job checks before it starts.
    pub const BEFORE_PRINT: [StatusQuery; 3] = [
        StatusQuery::Printer,
        StatusQuery::OfflineCause,
        StatusQuery::PaperSensor,
    ];

    pub fn n(self) -> u8 {
        match self {
            StatusQuery::Printer => 1,
            StatusQuery::OfflineCause => 2,
            StatusQuery::ErrorCause => 3,
            StatusQuery::PaperSensor => 4,
        }
    }

    pub fn from_n(n: u8) -> Option<StatusQuery> {
        match n {
            1 => Some(StatusQuery::Printer),
            2 => Some(StatusQuery::OfflineCause),
            3 => Some(StatusQuery::ErrorCause),
            4 => Some(StatusQuery::PaperSensor),
            _ => None,
        }
    }

    /// `10 04 n`.
    pub fn request(self) -> [u8; 3] {
        [DLE, EOT, self.n()]
    }
}

/// `GS r 1`: the paper sensor, answered after everything sent before it has been printed.
pub const PAPER_SENSOR_REQUEST: [u8; 3] = [0x1D, 0x72, 0x01];

/// Whether a byte has the shape of a `DLE EOT` reply (`0xx1xx10`).
pub fn is_status_byte(b: u8) -> bool {
    b & 0b1001_0011 == 0b0001_0010
}

/// Whether a byte has the shape of a `GS r 1` reply (bits 4 and 7 clear).
pub fn is_sensor_byte(b: u8) -> bool {
    b & 0b1001_0000 == 0
}

/// A reply byte that does not have the documented shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("printer status byte {0:#04x} does not have the shape 0xx1xx10")]
pub struct BadStatusByte(pub u8);

/// What the printer reported, accumulated over the queries made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PrinterStatus {
    pub offline: bool,
    pub cover_open: bool,
    /// Printing stopped because the paper ran out.
    pub paper_end_stop: bool,
    pub error: bool,
    pub paper_near_end: bool,
    pub paper_out: bool,
}

/// Why a printer cannot take a job, most specific first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotReady {
    CoverOpen,
    PaperOut,
    Error,
    Offline,
}

impl NotReady {
    pub fn zh(self) -> &'static str {
        match self {
            NotReady::CoverOpen => "打印机盖未关好",
            NotReady::PaperOut => "打印纸已用完",
            NotReady::Error => "打印机故障",
            NotReady::Offline => "打印机未就绪",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            NotReady::CoverOpen => "the printer cover is open",
            NotReady::PaperOut => "the printer is out of paper",
            NotReady::Error => "the printer reports an error",
            NotReady::Offline => "the printer is offline",
        }
    }
}

impl fmt::Display for NotReady {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.zh(), self.en())
    }
}

impl PrinterStatus {
    /// Takes the reply to one query into account.
    pub fn apply(&mut self, query: StatusQuery, byte: u8) -> Result<(), BadStatusByte> {
        if !is_status_byte(byte) {
            return Err(BadStatusByte(byte));
        }
        let bit = |n: u8| byte & (1 << n) != 0;
        match query {
            StatusQuery::Printer => self.offline = bit(3),
            StatusQuery::OfflineCause => {
                self.cover_open = bit(2);
                self.paper_end_stop = bit(5);
                self.error = bit(6);
            }
            StatusQuery::ErrorCause => {
                // Bits 3, 5, 6: auto-cutter, unrecoverable, auto-recoverable error. Bit 2 means
                // different things on different printers (recoverable error, black mark,
                // undefined) and is not acted on.
                self.error = self.error || byte & 0b0110_1000 != 0;
            }
            StatusQuery::PaperSensor => {
                // Near end is bits 2 and 3 (0x0C), paper out bits 5 and 6 (0x60). Either bit of
                // a pair counts: some printers report two sensors on the two bits, and a
                // printer without a near-end sensor answers 0x72 when the paper runs out.
                self.paper_near_end = byte & 0b0000_1100 != 0;
                self.paper_out = byte & 0b0110_0000 != 0;
            }
        }
        Ok(())
    }

    /// The status from the replies to n = 1, 2 and 4.
    pub fn from_replies(printer: u8, offline_cause: u8, paper: u8) -> Result<Self, BadStatusByte> {
        let mut s = Self::default();
        s.apply(StatusQuery::Printer, printer)?;
        s.apply(StatusQuery::OfflineCause, offline_cause)?;
        s.apply(StatusQuery::PaperSensor, paper)?;
        Ok(s)
    }

    /// Takes a `GS r 1` reply into account.
    pub fn apply_sensor(&mut self, byte: u8) {
        self.paper_near_end = self.paper_near_end || byte & 0b0000_0011 != 0;
        self.paper_out = self.paper_out || byte & 0b0000_1100 != 0;
    }

    /// Why a job must not be started, or `None` when the printer can finish one.
    pub fn blocking_reason(&self) -> Option<NotReady> {
        if self.cover_open {
            Some(NotReady::CoverOpen)
        } else if self.paper_out || self.paper_end_stop {
            Some(NotReady::PaperOut)
        } else if self.error {
            Some(NotReady::Error)
        } else if self.offline {
            Some(NotReady::Offline)
        } else {
            None
        }
    }

    pub fn health(&self) -> Health {
        match self.blocking_reason() {
            Some(r) => Health::Absent(r.to_string()),
            None if self.paper_near_end => {
                Health::Degraded("打印纸即将用完 (paper near end)".to_string())
            }
            None => Health::Ok,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        assert_eq!(StatusQuery::Printer.request(), [0x10, 0x04, 0x01]);
        assert_eq!(StatusQuery::OfflineCause.request(), [0x10, 0x04, 0x02]);
        assert_eq!(StatusQuery::ErrorCause.request(), [0x10, 0x04, 0x03]);
        assert_eq!(StatusQuery::PaperSensor.request(), [0x10, 0x04, 0x04]);
        for q in [
            StatusQuery::Printer,
            StatusQuery::OfflineCause,
            StatusQuery::ErrorCause,
            StatusQuery::PaperSensor,
        ] {
            assert_eq!(StatusQuery::from_n(q.n()), Some(q));
        }
        assert_eq!(StatusQuery::from_n(5), None);
    }

    #[test]
    fn a_ready_printer() {
        let s = PrinterStatus::from_replies(0x12, 0x12, 0x12).unwrap();
        assert_eq!(s, PrinterStatus::default());
        assert_eq!(s.blocking_reason(), None);
        assert_eq!(s.health(), Health::Ok);
    }

    #[test]
    fn parses_each_condition() {
        // Offline only.
        let s = PrinterStatus::from_replies(0x1A, 0x12, 0x12).unwrap();
        assert!(s.offline);
        assert_eq!(s.blocking_reason(), Some(NotReady::Offline));
        // Cover open (the printer is offline too, the cause is what matters).
        let s = PrinterStatus::from_replies(0x1A, 0x16, 0x12).unwrap();
        assert!(s.cover_open);
        assert_eq!(s.blocking_reason(), Some(NotReady::CoverOpen));
        // Stopped at paper end.
        let s = PrinterStatus::from_replies(0x1A, 0x32, 0x7E).unwrap();
        assert!(s.paper_end_stop && s.paper_out && s.paper_near_end);
        assert_eq!(s.blocking_reason(), Some(NotReady::PaperOut));
        // Error.
        let s = PrinterStatus::from_replies(0x1A, 0x52, 0x12).unwrap();
        assert_eq!(s.blocking_reason(), Some(NotReady::Error));
        // Near end: printable, degraded.
        let s = PrinterStatus::from_replies(0x12, 0x12, 0x1E).unwrap();
        assert!(s.paper_near_end && !s.paper_out);
        assert_eq!(s.blocking_reason(), None);
        assert!(matches!(s.health(), Health::Degraded(_)));
        // Paper out reported by the sensor alone.
        let s = PrinterStatus::from_replies(0x12, 0x12, 0x72).unwrap();
        assert_eq!(s.blocking_reason(), Some(NotReady::PaperOut));
        assert!(matches!(s.health(), Health::Absent(m) if m.contains("out of paper")));
    }

    #[test]
    fn rejects_bytes_of_the_wrong_shape() {
        assert_eq!(
            PrinterStatus::from_replies(0x00, 0x12, 0x12),
            Err(BadStatusByte(0x00))
        );
        for b in [0x13, 0x10, 0x02, 0x92, 0xFF] {
            assert!(!is_status_byte(b), "{b:02X}");
        }
        for b in [0x12, 0x16, 0x1A, 0x1E, 0x32, 0x52, 0x72, 0x7E] {
            assert!(is_status_byte(b), "{b:02X}");
        }
    }

    #[test]
    fn the_independent_simulators_replies_read_as_its_conditions() {
        use kiosk_sims::printer::Condition;
        let ready = Condition {
            connected: true,
            ..Condition::default()
        };
        let cases = [
            (ready, None, false),
            (
                Condition {
                    paper_near_end: true,
                    ..ready
                },
                None,
                true,
            ),
            (
                Condition {
                    paper_out: true,
                    ..ready
                },
                Some(NotReady::PaperOut),
                true,
            ),
            (
                Condition {
                    cover_open: true,
                    ..ready
                },
                Some(NotReady::CoverOpen),
                false,
            ),
            (
                Condition {
                    offline: true,
                    ..ready
                },
                Some(NotReady::Offline),
                false,
            ),
        ];
        for (c, blocked, near_end) in cases {
            let reply = |n| c.dle_eot_reply(n).unwrap();
            let got = PrinterStatus::from_replies(reply(1), reply(2), reply(4)).unwrap();
            assert_eq!(got.blocking_reason(), blocked, "{c:?}");
            assert_eq!(got.paper_near_end, near_end, "{c:?}");
            let mut sensor = PrinterStatus::default();
            sensor.apply_sensor(c.gs_r_reply());
            assert_eq!(sensor.paper_out, c.paper_out, "{c:?}");
        }
    }

    /// Replies as the public sources give them: python-escpos's masks (0x12 ready, 0x1A offline,
    /// 0x1E near end, 0x72 out), Epson's and node-escpos's tables, escpos-rs's parse tests.
    #[test]
    fn published_status_bytes() {
        let paper = |b: u8| {
            let mut s = PrinterStatus::default();
            s.apply(StatusQuery::PaperSensor, b).unwrap();
            (s.paper_near_end, s.paper_out)
        };
        assert_eq!(paper(0x12), (false, false));
        assert_eq!(paper(0x1E), (true, false));
        assert_eq!(paper(0x72), (false, true), "no near-end sensor");
        assert_eq!(paper(0x7E), (true, true));
        let mut s = PrinterStatus::default();
        s.apply(StatusQuery::Printer, 0x1A).unwrap();
        assert_eq!(s.blocking_reason(), Some(NotReady::Offline));
        // escpos-rs: 0x5E = cover open, paper fed by the button, error.
        let mut s = PrinterStatus::default();
        s.apply(StatusQuery::OfflineCause, 0x5E).unwrap();
        assert!(s.cover_open && s.error);
        // n = 3, bit 2 alone (model-dependent) is not an error; bit 3 (auto-cutter) is.
        let mut s = PrinterStatus::default();
        s.apply(StatusQuery::ErrorCause, 0x16).unwrap();
        assert!(!s.error);
        s.apply(StatusQuery::ErrorCause, 0x1A).unwrap();
        assert!(s.error);
    }

    #[test]
    fn paper_sensor_reply() {
        let mut s = PrinterStatus::default();
        s.apply_sensor(0x00);
        assert_eq!(s, PrinterStatus::default());
        s.apply_sensor(0x03);
        assert!(s.paper_near_end && !s.paper_out);
        s.apply_sensor(0x0F);
        assert_eq!(s.blocking_reason(), Some(NotReady::PaperOut));
        assert!(is_sensor_byte(0x0F) && !is_sensor_byte(0x12));
    }

    #[test]
    fn reasons_read_in_both_languages() {
        assert_eq!(
            NotReady::PaperOut.to_string(),
            "打印纸已用完 (the printer is out of paper)"
        );
    }
}
