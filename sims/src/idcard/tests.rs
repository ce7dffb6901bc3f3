use super::*;

/// Request frames as the public descriptions print them.
const SAM_STATUS: [u8; 10] = [0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x11, 0xFF, 0xED];
const FIND: [u8; 10] = [0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x20, 0x01, 0x22];
const SELECT: [u8; 10] = [0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x20, 0x02, 0x21];
const READ: [u8; 10] = [0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x30, 0x01, 0x32];
const READ_FP: [u8; 10] = [0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x30, 0x10, 0x23];
const SAM_ID: [u8; 10] = [0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x12, 0xFF, 0xEE];

fn status_of(reply: &[u8]) -> u8 {
    assert!(reply.len() >= 11, "{reply:02X?}");
    reply[9]
}

#[test]
fn the_status_reply_as_published() {
    let mut sim = SimIdCardReader::new();
    assert_eq!(
        sim.handle(&SAM_STATUS),
        [
            0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x04, 0x00, 0x00, 0x90, 0x94
        ]
    );
}

#[test]
fn find_select_read_and_the_card_must_leave() {
    let mut sim = SimIdCardReader::new();
    assert_eq!(status_of(&sim.handle(&FIND)), 0x80);
    assert_eq!(status_of(&sim.handle(&SELECT)), 0x81);
    sim.place(SimCard::demo());
    assert_eq!(status_of(&sim.handle(&READ)), 0x41, "read before select");
    assert_eq!(status_of(&sim.handle(&FIND)), 0x9F);
    assert_eq!(status_of(&sim.handle(&SELECT)), 0x90);
    let reply = sim.handle(&READ);
    assert_eq!(reply.len(), 1295);
    assert_eq!(
        &reply[..14],
        &[
            0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x05, 0x08, 0x00, 0x00, 0x90, 0x01, 0x00, 0x04, 0x00
        ]
    );
    assert_eq!(&reply[14..270], &SimCard::demo().text_block().unwrap());
    let chk = reply[5..1294].iter().fold(0u8, |x, b| x ^ b);
    assert_eq!(reply[1294], chk);
    assert_eq!(
        status_of(&sim.handle(&FIND)),
        0x80,
        "read cards are not found again"
    );
    sim.remove();
    sim.place(SimCard::demo());
    assert_eq!(status_of(&sim.handle(&FIND)), 0x9F);
}

#[test]
fn fingerprint_read_has_three_big_endian_lengths() {
    let mut sim = SimIdCardReader::new();
    sim.place(SimCard::demo());
    sim.handle(&FIND);
    sim.handle(&SELECT);
    let reply = sim.handle(&READ_FP);
    assert_eq!(reply.len(), 7 + 3 + 6 + 256 + 1024 + 1024 + 1);
    assert_eq!(&reply[5..7], &[0x09, 0x0A]);
    assert_eq!(&reply[10..16], &[0x01, 0x00, 0x04, 0x00, 0x04, 0x00]);
}

#[test]
fn sam_id_bad_checksum_bad_command_bad_length() {
    let mut sim = SimIdCardReader::new();
    let id = sim.handle(&SAM_ID);
    assert_eq!((status_of(&id), id.len()), (0x90, 11 + 16));
    let mut bad = FIND;
    bad[9] ^= 1;
    assert_eq!(status_of(&sim.handle(&bad)), 0x10);
    let unknown = [0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x77, 0x01, 0x75];
    assert_eq!(status_of(&sim.handle(&unknown)), 0x21);
    let huge = [0xAA, 0xAA, 0xAA, 0x96, 0x69, 0xFF, 0xFF];
    assert_eq!(status_of(&sim.handle(&huge)), 0x11);
    // The sim resynchronises on the next frame.
    assert_eq!(status_of(&sim.handle(&SAM_STATUS)), 0x90);
}

#[test]
fn requests_in_pieces_and_several_at_once_and_noise() {
    let mut sim = SimIdCardReader::new();
    assert!(sim.handle(&SAM_STATUS[..4]).is_empty());
    assert_eq!(status_of(&sim.handle(&SAM_STATUS[4..])), 0x90);
    let mut two = vec![0x13, 0x00, 0xAA];
    two.extend(SAM_STATUS);
    two.extend(FIND);
    assert_eq!(sim.handle(&two).len(), 22);
}

#[test]
fn damaged_card_and_refinding_readers() {
    let mut sim = SimIdCardReader::new();
    sim.place(SimCard::demo());
    sim.set_read_status(Some(0x31));
    sim.handle(&FIND);
    sim.handle(&SELECT);
    assert_eq!(status_of(&sim.handle(&READ)), 0x31);
    assert_eq!(status_of(&sim.handle(&FIND)), 0x9F);
    sim.set_read_status(None);
    sim.set_refind_read_card(true);
    sim.handle(&SELECT);
    assert_eq!(status_of(&sim.handle(&READ)), 0x90);
    assert_eq!(
        status_of(&sim.handle(&FIND)),
        0x9F,
        "this reader keeps finding it"
    );
}

#[test]
fn injects_faults() {
    let mut sim = SimIdCardReader::new();
    sim.inject(ReaderFault::BadChecksum);
    sim.inject(ReaderFault::Garbage);
    sim.inject(ReaderFault::Truncated);
    sim.inject(ReaderFault::Status(0x60));
    sim.inject(ReaderFault::Silent);
    let good = sim.handle(&[]);
    assert!(good.is_empty());
    let r = sim.handle(&SAM_STATUS);
    assert_eq!(r[10], 0x94 ^ 0x5A);
    let r = sim.handle(&SAM_STATUS);
    assert_eq!(&r[..7], &[0x00, 0xFF, 0xAA, 0x13, 0x96, 0xAA, 0xAA]);
    assert_eq!(sim.handle(&SAM_STATUS).len(), 5);
    assert_eq!(status_of(&sim.handle(&SAM_STATUS)), 0x60);
    assert!(sim.handle(&SAM_STATUS).is_empty());
    assert_eq!(
        status_of(&sim.handle(&SAM_STATUS)),
        0x90,
        "one-shot faults are used up"
    );
    sim.set_fault(Some(ReaderFault::Silent));
    assert!(sim.handle(&SAM_STATUS).is_empty());
    sim.set_fault(None);
    assert_eq!(status_of(&sim.handle(&SAM_STATUS)), 0x90);
    assert_eq!(sim.requests(), 8);
}
