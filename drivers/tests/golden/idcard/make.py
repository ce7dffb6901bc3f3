#!/usr/bin/env python3
"""Golden byte vectors of the ID card reader protocol (SAM, GA 467 family).

A third implementation, written from the public descriptions listed in drivers/PROTOCOLS.md and
sharing nothing with the driver (Rust, drivers/src/idcard) or the simulator (Rust,
sims/src/idcard). It writes the .hex files beside it; both Rust sides are tested against them
separately. Run it again only when a source changes a fact, and say which in PROTOCOLS.md.

    python3 drivers/tests/golden/idcard/make.py
"""
import pathlib
import tomllib

HERE = pathlib.Path(__file__).parent
SYNC = bytes.fromhex("AAAAAA9669")


def frame(body: bytes) -> bytes:
    """SYNC, LEN (big-endian, bytes after LEN including CHK), body, CHK (XOR of LEN and body)."""
    length = (len(body) + 1).to_bytes(2, "big")
    chk = 0
    for b in length + body:
        chk ^= b
    return SYNC + length + body + bytes([chk])


def ucs2(text: str, size: int) -> bytes:
    raw = text.encode("utf-16-le")
    assert len(raw) <= size, (text, size)
    return raw + " ".encode("utf-16-le") * ((size - len(raw)) // 2)


# (offset, bytes, field) per card type flag; see PROTOCOLS.md for the sources.
LAYOUTS = {
    " ": [(0, 30, "name"), (30, 2, "sex"), (32, 4, "nation"), (36, 16, "birth"),
          (52, 70, "address"), (122, 36, "number"), (158, 30, "authority"),
          (188, 16, "valid_from"), (204, 16, "valid_to"), (220, 36, "reserved")],
    "J": [(0, 30, "name"), (30, 2, "sex"), (32, 4, "reserved"), (36, 16, "birth"),
          (52, 70, "address"), (122, 36, "number"), (158, 30, "authority"),
          (188, 16, "valid_from"), (204, 16, "valid_to"), (220, 18, "travel_permit"),
          (238, 4, "issue_count"), (242, 6, "reserved"), (248, 2, "flag"), (250, 6, "reserved")],
    "I": [(0, 120, "name_en"), (120, 2, "sex"), (122, 30, "number"), (152, 6, "nationality"),
          (158, 30, "name"), (188, 16, "valid_from"), (204, 16, "valid_to"), (220, 16, "birth"),
          (236, 4, "version"), (240, 8, "authority_code"), (248, 2, "flag"), (250, 6, "reserved")],
    "Y": [(0, 30, "name"), (30, 2, "sex"), (32, 4, "issue_count"), (36, 16, "birth"),
          (52, 70, "name_en"), (122, 36, "number"), (158, 30, "reserved"), (188, 16, "valid_from"),
          (204, 16, "valid_to"), (220, 22, "name_en_more"), (242, 6, "nationality"),
          (248, 2, "flag"), (250, 6, "previous_link")],
}


def text_block(card: dict) -> bytes:
    flag = card.get("flag", " ")
    fields = dict(card, flag=flag)
    if flag == "Y":
        # The English name: characters 1-35 at 52, 36-46 at 220.
        fields["name_en"], fields["name_en_more"] = card["name_en"][:35], card["name_en"][35:]
    layout = LAYOUTS[flag]
    block = bytearray(ucs2("", 256))
    for offset, size, name in layout:
        if name == "reserved":
            continue
        block[offset:offset + size] = ucs2(fields.get(name, ""), size)
    return bytes(block)


def photo() -> bytes:
    # An opaque 1024-byte stand-in for the WLT photo: its content is not interpreted.
    return bytes((i * 37 + 11) & 0xFF for i in range(1024))


def hexfile(name: str, data: bytes, comment: str) -> None:
    lines = [f"# {c}" for c in comment.strip().splitlines()]
    lines.append(f"# {len(data)} bytes")
    for i in range(0, len(data), 16):
        lines.append(" ".join(f"{b:02X}" for b in data[i:i + 16]))
    (HERE / name).write_text("\n".join(lines) + "\n")


def main() -> None:
    cards = tomllib.loads((HERE / "cards.toml").read_text())
    for key, card in cards.items():
        hexfile(f"text-{key}.hex", text_block(card),
                f"Text block of cards.toml [{key}]: UCS-2 little-endian, padded with spaces.")
    requests = {
        "reset-sam": "10FF", "sam-status": "11FF", "sam-id": "12FF", "find-card": "2001",
        "select-card": "2002", "read": "3001", "read-fingerprint": "3010",
    }
    for name, body in requests.items():
        hexfile(f"request-{name}.hex", frame(bytes.fromhex(body)), f"Request {body[:2]} {body[2:]}.")
    for name, sw3 in {"ok": 0x90, "no-card": 0x80, "select-failed": 0x81,
                      "read-failed": 0x41, "no-content": 0x91, "sam-fault": 0x60}.items():
        hexfile(f"reply-{name}.hex", frame(bytes([0, 0, sw3])), f"Reply SW1 SW2 SW3 = 00 00 {sw3:02X}.")
    hexfile("reply-found.hex", frame(bytes([0, 0, 0x9F]) + bytes(4)),
            "Card found (9F) with its 4-byte chip management number.")
    hexfile("reply-selected.hex", frame(bytes([0, 0, 0x90]) + bytes(8)),
            "Card selected (90) with 8 data bytes.")
    resident = text_block(cards["resident"])
    data = (256).to_bytes(2, "big") + (1024).to_bytes(2, "big") + resident + photo()
    hexfile("reply-read-resident.hex", frame(bytes([0, 0, 0x90]) + data),
            "Read reply (30 01) for cards.toml [resident]: 00 00 90 | 01 00 | 04 00 | text | photo.\n"
            "Lengths big-endian like LEN; 1295 bytes in all.")
    data = ((256).to_bytes(2, "big") + (1024).to_bytes(2, "big") + (1024).to_bytes(2, "big")
            + resident + photo() + bytes(1024))
    hexfile("reply-read-fingerprint-resident.hex", frame(bytes([0, 0, 0x90]) + data),
            "Read reply (30 10) for cards.toml [resident]: three big-endian lengths,\n"
            "text, photo, fingerprint (1024 zero bytes).")


if __name__ == "__main__":
    main()
