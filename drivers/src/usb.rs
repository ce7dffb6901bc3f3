//! USB bulk transport (`usb://VID:PID`) over `nusb`, pure Rust (usbfs, no libusb).
//!
//! USB ID card readers carry the same SAM frames as the serial ones over bulk endpoints in
//! 64-byte packets: split across OUT 0x02/0x06 and IN 0x81/0x85 (header / body, see
//! [`crate::usb_split`]), or whole over one pair; USB receipt printers are
//! the printer class (7) with a bulk OUT and usually a bulk IN for status replies. The choice
//! of interface and endpoints is pure code over the configuration descriptor, unit-tested on
//! descriptor bytes; the transport claims the interface (detaching a kernel driver such as
//! `usblp`) and moves bytes in max-packet-size chunks.

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use nusb::MaybeFuture;
use nusb::descriptors::{ConfigurationDescriptor, TransferType};
use nusb::transfer::{Buffer, Bulk, Direction, In, Out, TransferError};

use crate::transport::Transport;
use crate::usb_split::{Framing, NextRead, SPLIT_ENDPOINTS, SplitReader, split_request};

/// Endpoint addresses the GA 467 family of USB readers uses, in order of preference.
pub const IDCARD_ENDPOINTS: [(u8, u8); 2] = [(0x02, 0x81), (0x06, 0x85)];

/// The bulk pipe chosen on a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkPipe {
    pub interface: u8,
    pub alt_setting: u8,
    pub out_address: u8,
    pub out_packet: usize,
    /// `None` when the interface has no bulk IN (a printer that cannot answer).
    pub in_address: Option<u8>,
    pub in_packet: usize,
}

/// One bulk endpoint as the descriptor gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkEndpoint {
    pub address: u8,
    pub max_packet: usize,
}

/// An interface alternate setting with its bulk endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInfo {
    pub number: u8,
    pub alt_setting: u8,
    pub class: u8,
    pub outs: Vec<BulkEndpoint>,
    pub ins: Vec<BulkEndpoint>,
}

/// The bulk endpoints of every interface of a configuration.
pub fn interfaces(config: &ConfigurationDescriptor<'_>) -> Vec<InterfaceInfo> {
    config
        .interface_alt_settings()
        .map(|alt| {
            let mut info = InterfaceInfo {
                number: alt.interface_number(),
                alt_setting: alt.alternate_setting(),
                class: alt.class(),
                outs: Vec::new(),
                ins: Vec::new(),
            };
            for ep in alt.endpoints() {
                if ep.transfer_type() != TransferType::Bulk {
                    continue;
                }
                let e = BulkEndpoint {
                    address: ep.address(),
                    max_packet: ep.max_packet_size().max(1),
                };
                match ep.direction() {
                    Direction::Out => info.outs.push(e),
                    Direction::In => info.ins.push(e),
                }
            }
            info
        })
        .collect()
}

/// Chooses the bulk pipe: the first `preferred` (OUT, IN) address pair some interface has;
/// otherwise a printer-class interface (7) when `printer`; otherwise the first interface with
/// a bulk OUT (and its first bulk IN, if any).
pub fn choose_pipe(
    ifaces: &[InterfaceInfo],
    preferred: &[(u8, u8)],
    printer: bool,
) -> Option<BulkPipe> {
    let pipe = |i: &InterfaceInfo, out: BulkEndpoint, inp: Option<BulkEndpoint>| BulkPipe {
        interface: i.number,
        alt_setting: i.alt_setting,
        out_address: out.address,
        out_packet: out.max_packet,
        in_address: inp.map(|e| e.address),
        in_packet: inp.map_or(64, |e| e.max_packet),
    };
    for &(o, n) in preferred {
        for i in ifaces {
            let out = i.outs.iter().find(|e| e.address == o);
            let inp = i.ins.iter().find(|e| e.address == n);
            if let (Some(out), Some(inp)) = (out, inp) {
                return Some(pipe(i, *out, Some(*inp)));
            }
        }
    }
    let usable = |i: &&InterfaceInfo| !i.outs.is_empty();
    let chosen = if printer {
        ifaces
            .iter()
            .filter(usable)
            .find(|i| i.class == 7)
            .or_else(|| ifaces.iter().find(usable))
    } else {
        ifaces.iter().find(usable)
    }?;
    Some(pipe(chosen, chosen.outs[0], chosen.ins.first().copied()))
}

/// Splits a write into transfers of at most `packet` bytes (the readers expect 64-byte
/// packets, one frame spread over several).
pub fn chunks(bytes: &[u8], packet: usize) -> impl Iterator<Item = &[u8]> {
    bytes.chunks(packet.max(1))
}

fn usb_err(what: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("{what}: {e}"))
}

fn transfer_err(e: TransferError) -> io::Error {
    match e {
        TransferError::Disconnected => io::Error::new(
            io::ErrorKind::NotConnected,
            "USB 设备已拔出 (the USB device was unplugged)",
        ),
        other => io::Error::from(other),
    }
}

/// The second endpoint pair of a reader that splits its frames.
struct Split {
    body_out: nusb::Endpoint<Bulk, Out>,
    body_in: nusb::Endpoint<Bulk, In>,
    reader: SplitReader,
}

/// Sends `bytes` on `ep` in packets of at most `packet` bytes.
fn send(
    ep: &mut nusb::Endpoint<Bulk, Out>,
    bytes: &[u8],
    packet: usize,
    timeout: Duration,
) -> io::Result<()> {
    for chunk in chunks(bytes, packet) {
        let mut buf = Buffer::new(chunk.len());
        buf.extend_from_slice(chunk);
        let done = ep.transfer_blocking(buf, timeout);
        if let Err(e) = done.status {
            return Err(transfer_err(e));
        }
    }
    Ok(())
}

/// Waits up to `timeout` for bytes on `ep` (a transfer of `len` bytes rounded up to whole
/// packets; one that times out stays pending and is collected by the next call).
fn receive(
    ep: &mut nusb::Endpoint<Bulk, In>,
    len: usize,
    packet: usize,
    timeout: Duration,
) -> io::Result<Vec<u8>> {
    if ep.pending() == 0 {
        let packet = packet.max(1);
        ep.submit(Buffer::new(len.max(1).div_ceil(packet) * packet));
    }
    let Some(done) = ep.wait_next_complete(timeout) else {
        return Ok(Vec::new());
    };
    match done.status {
        Ok(()) => Ok(done.buffer[..done.actual_len.min(done.buffer.len())].to_vec()),
        Err(TransferError::Cancelled) => Ok(Vec::new()),
        Err(e) => Err(transfer_err(e)),
    }
}

/// A claimed USB interface with a bulk OUT and (usually) a bulk IN endpoint.
pub struct UsbBulkTransport {
    out: nusb::Endpoint<Bulk, Out>,
    inp: Option<nusb::Endpoint<Bulk, In>>,
    split: Option<Split>,
    pipe: BulkPipe,
    rx: VecDeque<u8>,
    name: String,
    write_timeout: Duration,
}

impl UsbBulkTransport {
    /// Opens the first device with this vendor and product id. `printer` prefers a
    /// printer-class interface; `preferred` lists (OUT, IN) endpoint pairs to look for first;
    /// `framing` says whether SAM frames are split across two endpoint pairs.
    pub fn open(
        vendor: u16,
        product: u16,
        preferred: &[(u8, u8)],
        printer: bool,
        framing: Framing,
    ) -> io::Result<Self> {
        let name = format!("usb {vendor:04x}:{product:04x}");
        let info = nusb::list_devices()
            .wait()
            .map_err(|e| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("cannot list USB devices (no USB bus?): {e}"),
                )
            })?
            .find(|d| d.vendor_id() == vendor && d.product_id() == product)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!(
                        "未找到 USB 设备 (no USB device {vendor:04x}:{product:04x} is plugged in)"
                    ),
                )
            })?;
        let device = info.open().wait().map_err(|e| {
            let kind = match e.kind() {
                nusb::ErrorKind::PermissionDenied => io::ErrorKind::PermissionDenied,
                nusb::ErrorKind::Busy => io::ErrorKind::ResourceBusy,
                _ => io::ErrorKind::Other,
            };
            io::Error::new(kind, format!("{name}: cannot open: {e}"))
        })?;
        let config = device
            .active_configuration()
            .map_err(|e| usb_err(&name, e))?;
        let ifaces = interfaces(&config);
        let pipe = choose_pipe(&ifaces, preferred, printer).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::Unsupported,
                format!("{name}: no interface with a bulk OUT endpoint"),
            )
        })?;
        let iface = device
            .detach_and_claim_interface(pipe.interface)
            .wait()
            .map_err(|e| {
                usb_err(
                    &format!("{name}: cannot claim interface {}", pipe.interface),
                    e,
                )
            })?;
        if pipe.alt_setting != 0 {
            iface
                .set_alt_setting(pipe.alt_setting)
                .wait()
                .map_err(|e| usb_err(&name, e))?;
        }
        let out = iface
            .endpoint::<Bulk, Out>(pipe.out_address)
            .map_err(|e| usb_err(&name, e))?;
        let inp = match pipe.in_address {
            Some(a) => Some(
                iface
                    .endpoint::<Bulk, In>(a)
                    .map_err(|e| usb_err(&name, e))?,
            ),
            None => None,
        };
        let chosen = ifaces
            .iter()
            .find(|i| i.number == pipe.interface && i.alt_setting == pipe.alt_setting);
        let addresses = |eps: &[BulkEndpoint]| eps.iter().map(|e| e.address).collect::<Vec<_>>();
        let splits =
            chosen.is_some_and(|i| framing.splits(&addresses(&i.outs), &addresses(&i.ins)));
        let split = if splits {
            let [_, body_out, _, body_in] = SPLIT_ENDPOINTS;
            Some(Split {
                body_out: iface
                    .endpoint::<Bulk, Out>(body_out)
                    .map_err(|e| usb_err(&name, e))?,
                body_in: iface
                    .endpoint::<Bulk, In>(body_in)
                    .map_err(|e| usb_err(&name, e))?,
                reader: SplitReader::new(),
            })
        } else {
            None
        };
        tracing::info!(device = %name, ?pipe, split = split.is_some(), "USB bulk link open");
        Ok(Self {
            out,
            inp,
            split,
            pipe,
            rx: VecDeque::new(),
            name,
            write_timeout: Duration::from_secs(5),
        })
    }

    pub fn pipe(&self) -> BulkPipe {
        self.pipe
    }
}

impl Transport for UsbBulkTransport {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let (packet, timeout) = (self.pipe.out_packet, self.write_timeout);
        match self.split.as_mut() {
            Some(split) => {
                // A new request: any reply still awaited is abandoned.
                split.reader.reset();
                let (header, body) = split_request(bytes);
                send(&mut self.out, header, packet, timeout)?;
                send(&mut split.body_out, body, packet, timeout)
            }
            None => send(&mut self.out, bytes, packet, timeout),
        }
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        if self.rx.is_empty() {
            let Some(inp) = self.inp.as_mut() else {
                std::thread::sleep(timeout.min(Duration::from_secs(1)));
                return Ok(0);
            };
            let packet = self.pipe.in_packet;
            let data = match self.split.as_mut() {
                Some(split) => match split.reader.next() {
                    NextRead::Header => {
                        let data = receive(inp, packet, packet, timeout)?;
                        split.reader.on_header(&data);
                        data
                    }
                    NextRead::Body(left) => {
                        let data = receive(&mut split.body_in, left, packet, timeout)?;
                        split.reader.on_body(&data);
                        data
                    }
                },
                // Several packets per transfer; the transfer ends at a short packet.
                None => receive(inp, packet * 8, packet, timeout)?,
            };
            if data.is_empty() {
                return Ok(0);
            }
            self.rx.extend(data);
        }
        let n = buf.len().min(self.rx.len());
        for (slot, b) in buf.iter_mut().zip(self.rx.drain(..n)) {
            *slot = b;
        }
        Ok(n)
    }

    fn can_reply(&self) -> bool {
        self.inp.is_some()
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A configuration descriptor as a GA 467 USB reader reports it: one vendor-class
    /// interface with bulk OUT 0x02 / IN 0x81 and a second pair OUT 0x06 / IN 0x85, 64-byte
    /// packets.
    fn reader_config() -> Vec<u8> {
        let mut d = vec![9, 2, 0, 0, 1, 1, 0, 0x80, 50];
        d.extend([9, 4, 0, 0, 4, 0xFF, 0, 0, 0]);
        for addr in [0x06u8, 0x85, 0x02, 0x81] {
            d.extend([7, 5, addr, 2, 64, 0, 0]);
        }
        let total = d.len() as u16;
        d[2..4].copy_from_slice(&total.to_le_bytes());
        d
    }

    /// A printer: interface 0 is vendor-specific with an interrupt endpoint, interface 1 is
    /// the printer class with bulk OUT 0x01 and bulk IN 0x82.
    fn printer_config() -> Vec<u8> {
        let mut d = vec![9, 2, 0, 0, 2, 1, 0, 0xC0, 50];
        d.extend([9, 4, 0, 0, 2, 0xFF, 0, 0, 0]);
        d.extend([7, 5, 0x83, 3, 8, 0, 10]);
        d.extend([7, 5, 0x04, 2, 64, 0, 0]);
        d.extend([9, 4, 1, 0, 2, 7, 1, 2, 0]);
        d.extend([7, 5, 0x01, 2, 0, 2, 0]);
        d.extend([7, 5, 0x82, 2, 0, 2, 0]);
        let total = d.len() as u16;
        d[2..4].copy_from_slice(&total.to_le_bytes());
        d
    }

    #[test]
    fn finds_the_readers_preferred_endpoints() {
        let bytes = reader_config();
        let config = ConfigurationDescriptor::new(&bytes).unwrap();
        let ifaces = interfaces(&config);
        assert_eq!(ifaces.len(), 1);
        assert_eq!(ifaces[0].outs.len(), 2);
        let pipe = choose_pipe(&ifaces, &IDCARD_ENDPOINTS, false).unwrap();
        assert_eq!(
            pipe,
            BulkPipe {
                interface: 0,
                alt_setting: 0,
                out_address: 0x02,
                out_packet: 64,
                in_address: Some(0x81),
                in_packet: 64,
            }
        );
        // Without the preference, the first endpoints listed.
        let any = choose_pipe(&ifaces, &[], false).unwrap();
        assert_eq!((any.out_address, any.in_address), (0x06, Some(0x85)));
    }

    #[test]
    fn a_printer_uses_its_printer_class_interface() {
        let bytes = printer_config();
        let config = ConfigurationDescriptor::new(&bytes).unwrap();
        let ifaces = interfaces(&config);
        let pipe = choose_pipe(&ifaces, &[], true).unwrap();
        assert_eq!(pipe.interface, 1);
        assert_eq!(pipe.out_address, 0x01);
        assert_eq!(pipe.in_address, Some(0x82));
        assert_eq!(pipe.out_packet, 512);
        // The interrupt endpoint is never taken for bulk.
        assert!(ifaces[0].ins.is_empty());
        // Not asked for a printer: the first interface with a bulk OUT.
        assert_eq!(choose_pipe(&ifaces, &[], false).unwrap().interface, 0);
        assert_eq!(choose_pipe(&[], &IDCARD_ENDPOINTS, true), None);
    }

    #[test]
    fn frames_go_out_in_64_byte_packets() {
        let frame = vec![0xAAu8; 150];
        let sizes: Vec<usize> = chunks(&frame, 64).map(<[u8]>::len).collect();
        assert_eq!(sizes, [64, 64, 22]);
        assert_eq!(chunks(&[], 64).count(), 0);
        assert_eq!(chunks(&[1, 2], 0).count(), 2);
    }

    #[test]
    fn a_missing_device_is_a_clear_error() {
        // This machine has no USB bus, or no such device: either way, an error that says so.
        let e = UsbBulkTransport::open(0xFFFE, 0xFFFE, &IDCARD_ENDPOINTS, false, Framing::Auto)
            .err()
            .unwrap();
        assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
        assert!(e.to_string().contains("USB"), "{e}");
    }
}
