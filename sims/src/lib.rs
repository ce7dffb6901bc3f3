//! Device simulators: the device side of each protocol, written from the public descriptions of
//! the devices (see `drivers/PROTOCOLS.md`), not from the drivers.
//!
//! Nothing here is shared with `kiosk-drivers`: every frame, status byte and text-block offset
//! is written out again, so a mistake in a driver shows up as a disagreement in a test instead
//! of being agreed with. Both sides are also tested, separately, against the golden byte vectors
//! in `drivers/tests/golden/`.

pub mod golden;
pub mod idcard;
pub mod printer;
pub mod scanner;

pub use idcard::{ReaderFault, SimCard, SimCardKind, SimIdCardReader};
pub use printer::{PaperState, SimPrinter};
