//! The simulators of `kiosk-sims` attached to the drivers' byte links, and what the kiosk
//! expects to read from the simulated demo card.
//!
//! Only bytes cross from here to the simulators: no encoding code or constant of the drivers
//! reaches them.

use std::io;
use std::time::Duration;

use kiosk_sims::printer::Condition;
use kiosk_sims::scanner::{Suffix, scan_bytes};
pub use kiosk_sims::{PaperState, ReaderFault, SimCard, SimCardKind, SimIdCardReader, SimPrinter};

use crate::idcard::{CardKind, IdCard, ValidTo};
use crate::printer::PrinterStatus;
use crate::transport::{MemoryLink, Transport};

impl Transport for SimPrinter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.receive(bytes)
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        self.send(buf, timeout)
    }

    fn describe(&self) -> String {
        "simulated printer".to_string()
    }
}

/// The simulated printer's conditions in the driver's terms (for the simulator panel's health,
/// which is not a protocol exchange).
pub fn printer_status(c: Condition) -> PrinterStatus {
    PrinterStatus {
        offline: c.offline || c.cover_open || c.paper_out,
        cover_open: c.cover_open,
        paper_end_stop: c.paper_out,
        error: false,
        paper_near_end: c.paper_near_end || c.paper_out,
        paper_out: c.paper_out,
    }
}

/// A serial barcode scanner on an in-memory link: it sends each code with a CR LF suffix.
pub struct SimScanner {
    link: MemoryLink,
}

impl SimScanner {
    /// A scanner and the host end of its link (what the kiosk reads).
    pub fn pair() -> (SimScanner, MemoryLink) {
        let (host, device) = MemoryLink::pair();
        (SimScanner { link: device }, host)
    }

    /// Sends `payload` as if a barcode had been read.
    pub fn scan(&mut self, payload: &str) -> io::Result<()> {
        self.link.write(&scan_bytes(payload, Suffix::CrLf))
    }

    /// Sends raw bytes (noise, binary, partial lines).
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.link.write(bytes)
    }
}

/// What the kiosk must read from [`SimCard::demo`]: written out field by field, so a reading
/// that differs from the card shows in the tests that compare them.
pub fn demo_card() -> IdCard {
    IdCard {
        kind: CardKind::Resident,
        name: "张建国".into(),
        name_en: String::new(),
        sex_code: 1,
        nation: "汉".into(),
        birth: "19580312".into(),
        address: "湖北省襄阳市樊城区人民路18号3栋2单元501室".into(),
        id_number: "420602195803120011".into(),
        authority: "襄阳市公安局樊城分局".into(),
        valid_from: "20180312".into(),
        valid_to: ValidTo::LongTerm,
        travel_permit: String::new(),
        issue_count: String::new(),
        photo: kiosk_sims::idcard::demo_photo(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idcard::reader::parse_read_data;

    #[test]
    fn the_demo_card_reads_as_the_kiosk_expects() {
        let mut sim = SimIdCardReader::new();
        sim.place(SimCard::demo());
        let find = [0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x20, 0x01, 0x22];
        let select = [0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x20, 0x02, 0x21];
        let read = [0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x30, 0x01, 0x32];
        sim.handle(&find);
        sim.handle(&select);
        let reply = sim.handle(&read);
        assert_eq!(reply.len(), 1295);
        let card = parse_read_data(&reply[10..1294], false).unwrap();
        assert_eq!(card, demo_card());
        hall_domain::codes::validate_id_number(&card.id_number).unwrap();
    }

    #[test]
    fn printer_conditions_in_driver_terms() {
        let p = SimPrinter::new();
        assert_eq!(
            printer_status(p.condition().unwrap()).blocking_reason(),
            None
        );
        p.set_paper(PaperState::Out).unwrap();
        let s = printer_status(p.condition().unwrap());
        assert!(s.paper_out && s.paper_end_stop);
    }
}
