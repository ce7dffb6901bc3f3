"""Reads the ESC/POS bytes a receipt printer received, from Epson's public command reference
(written here for the virtual hall, apart from the kiosk's drivers): the text (GB18030), the
QR codes' stored data, barcodes, raster images and the cut."""

import re

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
CUT = bytes([GS, ord("V")])


class Receipt:
    def __init__(self):
        self.text = ""
        self.qr = []
        self.barcodes = []
        self.rasters = 0
        self.cuts = 0
        self.unknown = []

    def qr_payloads_joined(self):
        return " ".join(self.qr)

    def approval_code(self):
        """The 16-digit approval code as printed (grouped by four, or whole)."""
        m = re.search(r"\b(\d{4}) ?(\d{4}) ?(\d{4}) ?(\d{4})\b", self.text)
        return "".join(m.groups()) if m else None


def decode(data: bytes) -> Receipt:
    r = Receipt()
    text = bytearray()
    i, n = 0, len(data)

    def arg(k):
        return data[i + k] if i + k < n else 0

    while i < n:
        b = data[i]
        if b == ESC:
            c = arg(1)
            if c == ord("@"):
                i += 2
            elif c in b"aEd!-MJ2 3GtR":
                i += 2 if c == ord("2") else 3
            elif c == ord("*"):  # bit image: m nL nH data
                m, cols = arg(2), arg(3) + 256 * arg(4)
                i += 5 + cols * (3 if m in (32, 33) else 1)
                r.rasters += 1
            else:
                r.unknown.append(("ESC", c))
                i += 2
        elif b == GS:
            c = arg(1)
            if c in b"!hwHfB":
                i += 3
            elif c in b"LW":
                i += 4
            elif c == ord("V"):
                m = arg(2)
                i += 4 if m in (65, 66, 97, 98, 103, 104) else 3
                r.cuts += 1
                text += b"\n"
            elif c == ord("k"):
                m = arg(2)
                if m >= 65:
                    length = arg(3)
                    r.barcodes.append(data[i + 4:i + 4 + length].decode("ascii", "replace"))
                    i += 4 + length
                else:
                    end = data.find(b"\x00", i + 3)
                    end = n if end < 0 else end
                    r.barcodes.append(data[i + 3:end].decode("ascii", "replace"))
                    i = end + 1
            elif c == ord("(") and arg(2) == ord("k"):
                length = arg(3) + 256 * arg(4)
                body = data[i + 5:i + 5 + length]
                # cn 49 (QR), fn 80: store the symbol's data (m = 48 follows).
                if len(body) >= 3 and body[0] == 49 and body[1] == 80:
                    r.qr.append(body[3:].decode("utf-8", "replace"))
                i += 5 + length
            elif c == ord("v") and arg(2) == ord("0"):
                width, height = arg(4) + 256 * arg(5), arg(6) + 256 * arg(7)
                i += 8 + width * height
                r.rasters += 1
                text += b"\n"
            elif c == ord("r") or c == ord("a"):
                i += 3
            else:
                r.unknown.append(("GS", c))
                i += 2
        elif b == FS:
            c = arg(1)
            i += 2 if c in b"&." else 3
        elif b == DLE and arg(1) == 0x04:
            i += 3
        else:
            text.append(b)
            i += 1
    r.text = text.decode("gb18030", "replace")
    return r


if __name__ == "__main__":
    import sys

    rec = decode(open(sys.argv[1], "rb").read())
    print(rec.text)
    print("QR:", rec.qr, "barcodes:", rec.barcodes, "rasters:", rec.rasters, "cuts:", rec.cuts)
