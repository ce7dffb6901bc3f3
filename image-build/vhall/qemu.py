"""The virtual hall's machine: QMP (screendumps, touches, scanner keys, hot-plug, power) and the
serial console, where the kiosk's journal is forwarded."""

import json
import os
import re
import socket
import time

# The display the kiosk draws on (virtio-gpu): usb-tablet coordinates are 0..32767 across it.
SCREEN_W, SCREEN_H = 1920, 1080
ABS_MAX = 32767

# QMP key names of the characters a barcode carries (a keyboard-wedge scanner types them).
QCODES = {str(d): str(d) for d in range(10)}
QCODES.update({c: c for c in "abcdefghijklmnopqrstuvwxyz"})
QCODES.update({"-": "minus", "\n": "ret", " ": "spc", "/": "slash", ".": "dot", ":": "semicolon"})


class QmpError(Exception):
    pass


class Qmp:
    """One QMP connection; events are kept in `events`."""

    def __init__(self, path, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise QmpError(f"no QMP socket at {path}")
                time.sleep(0.2)
        self.sock.settimeout(120)
        self.file = self.sock.makefile("rw", encoding="utf-8")
        self.events = []
        self.file.readline()  # the greeting
        self.call("qmp_capabilities")

    def call(self, execute, **arguments):
        msg = {"execute": execute}
        if arguments:
            msg["arguments"] = arguments
        self.file.write(json.dumps(msg) + "\n")
        self.file.flush()
        while True:
            line = self.file.readline()
            if not line:
                raise QmpError(f"QMP closed during {execute}")
            reply = json.loads(line)
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                raise QmpError(f"{execute}: {reply['error'].get('desc', reply['error'])}")
            if "return" in reply:
                return reply["return"]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # --- the screen -----------------------------------------------------------------------
    def screendump(self, path):
        self.call("screendump", filename=str(path), format="png")

    # --- the touchscreen (usb-tablet bound to the display "gpu") ---------------------------
    def touch(self, x, y, hold=0.15):
        ax = round(max(0, min(SCREEN_W - 1, x)) * ABS_MAX / (SCREEN_W - 1))
        ay = round(max(0, min(SCREEN_H - 1, y)) * ABS_MAX / (SCREEN_H - 1))
        move = [
            {"type": "abs", "data": {"axis": "x", "value": ax}},
            {"type": "abs", "data": {"axis": "y", "value": ay}},
        ]
        self.call("input-send-event", device="gpu", events=move)
        time.sleep(0.05)
        self.call("input-send-event", device="gpu",
                  events=move + [{"type": "btn", "data": {"down": True, "button": "left"}}])
        time.sleep(hold)
        self.call("input-send-event", device="gpu",
                  events=[{"type": "btn", "data": {"down": False, "button": "left"}}])

    # --- the scanner (usb-kbd bound to the display "gpu") ----------------------------------
    def scan(self, payload, gap=0.03):
        """Types `payload` and Enter as a keyboard-wedge scanner does."""
        for ch in payload + "\n":
            code = QCODES.get(ch.lower())
            if code is None:
                raise QmpError(f"the scanner cannot type {ch!r}")
            keys = [{"type": "qcode", "data": "shift"}] if ch.isupper() else []
            keys.append({"type": "qcode", "data": code})
            for k in keys:
                self.call("input-send-event", device="gpu",
                          events=[{"type": "key", "data": {"down": True, "key": k}}])
            for k in reversed(keys):
                self.call("input-send-event", device="gpu",
                          events=[{"type": "key", "data": {"down": False, "key": k}}])
            time.sleep(gap)


class Console:
    """The serial console log (a file qemu writes), read as it grows."""

    def __init__(self, path):
        self.path = path
        self.pos = 0
        self.lines = []

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return []
        # Only whole lines.
        end = data.rfind(b"\n")
        if end < 0:
            return []
        chunk = data[: end + 1]
        self.pos += len(chunk)
        new = chunk.decode("utf-8", "replace").splitlines()
        self.lines.extend(new)
        return new

    def mark(self):
        self.poll()
        return len(self.lines)

    def wait(self, pattern, timeout, since=None, fail=None, poll=0.1):
        """The first line from `since` (a mark) matching `pattern`; None on timeout.
        `fail`: a pattern that ends the wait at once (returned as ("fail", line))."""
        rx = re.compile(pattern)
        frx = re.compile(fail) if fail else None
        i = self.mark() if since is None else since
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            while i < len(self.lines):
                line = self.lines[i]
                i += 1
                if rx.search(line):
                    return line
                if frx and frx.search(line):
                    return ("fail", line)
            if time.monotonic() > deadline:
                return None
            time.sleep(poll)

    def since(self, mark):
        self.poll()
        return self.lines[mark:]


def screen_of(line):
    m = re.search(r"screen shown.*screen=(\w+)", line)
    return m.group(1) if m else None


def last_screen(console):
    console.poll()
    for line in reversed(console.lines):
        s = screen_of(line)
        if s:
            return s
    return None


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False
