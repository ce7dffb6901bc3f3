#!/usr/bin/env python3
"""Reads the QR corpus written by `cargo bench -p kiosk-drivers --bench qr` with zxing-cpp
(PyPI `zxing-cpp`) and zbar (Debian `libzbar0` + PyPI `pyzbar`), on the same PNG files, and
prints one JSON line per decoder and file: {"decoder", "file", "ok", "ms"}.

Usage: qr_compare.py CORPUS_DIR   (the directory holds manifest.tsv: file, condition, text)
A decoder that is not installed is reported once as {"decoder", "missing": reason}.
"""
import json
import os
import sys
import time

import numpy as np
from PIL import Image


def load_decoders():
    decoders = {}
    try:
        import zxingcpp

        def zx(img):
            res = zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode)
            return [r.text for r in res]

        decoders["zxing-cpp"] = zx
    except Exception as e:  # noqa: BLE001 - report any import failure
        print(json.dumps({"decoder": "zxing-cpp", "missing": str(e)}))
    try:
        from pyzbar import pyzbar

        def zb(img):
            res = pyzbar.decode(img, symbols=[pyzbar.ZBarSymbol.QRCODE])
            return [r.data.decode("utf-8", "replace") for r in res]

        decoders["zbar"] = zb
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"decoder": "zbar", "missing": str(e)}))
    return decoders


def main():
    corpus = sys.argv[1]
    decoders = load_decoders()
    with open(os.path.join(corpus, "manifest.tsv"), encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    for name, text_expected in ((r[0], r[2]) for r in rows):
        img = np.asarray(Image.open(os.path.join(corpus, name)).convert("L"))
        for dname, dec in decoders.items():
            dec(img)  # warm caches the same way for every decoder
            t = time.perf_counter()
            texts = dec(img)
            ms = (time.perf_counter() - t) * 1000.0
            print(json.dumps({"decoder": dname, "file": name, "ok": text_expected in texts, "ms": ms}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
