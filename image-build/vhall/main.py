#!/usr/bin/env python3
"""The virtual hall (see image-build/virtual-hall for the options)."""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import (Binaries, Device, Kioskctl, Platform, Vm, kiosk_toml, log,  # noqa: E402
                     make_pki, provision)
from qemu import last_screen  # noqa: E402
import agent  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PHASES = ["boot", "lookup", "journeys", "faults", "cuts", "soak", "updates"]
BOARDS = {"amd64": "x86-kiosk", "arm64": "arm64-virt"}
# vivid: one device with one video capture node (/dev/video0), loaded at boot by
# systemd-modules-load; the journal on the console for the harness.
CMDLINE = ("systemd.journald.forward_to_console=1 modules-load=vivid vivid.n_devs=1 "
           "vivid.node_types=0x1")


class Hall:
    """Everything of one virtual hall run, torn down together."""

    def __init__(self, args):
        self.args = args
        self.out = Path(args.out).resolve()
        self.out.mkdir(parents=True, exist_ok=True)
        self.art = self.out / "screens"
        self.art.mkdir(exist_ok=True)
        self.result = {"phases": {}, "figures": {}}
        self.bins = Binaries(REPO, args.release_host, self.out / "bin")
        self.layout = Layout(self.bins, self.out / "layout")
        self.layout.prepare()
        self.image = Path(args.image) if args.image else self.build_image()
        pki = self.out / "pki"
        make_pki(pki)
        self.platform = Platform(self.bins, self.out, pki)
        token = self.platform.enrolment_token()
        self.kioskctl = Kioskctl(self.bins, self.platform, self.platform.helpdesk_token())
        self.platform.start()
        self.printed = self.out / "printed.bin"
        if self.printed.exists():
            self.printed.unlink()
        from machine import free_port
        self.printer_port = free_port()
        self.printer = self.start_printer()
        toml = self.out / "kiosk.toml"
        kiosk_toml(toml, self.platform.url, token, self.printer_port)
        self.disk = self.out / "disk.img"
        provision(self.image, self.disk, toml, pki / "ca.pem", CMDLINE)
        # The camera is removed from inside (faults phase): the test agent, in this copy only.
        agent.install(self.disk, self.out)
        self.agent = agent.Agent(self.out / "agent.sock")
        if "soak" in args.phases:
            import soak
            soak.root_before(self)
        self.vm = Vm(self.out, self.disk, args.idcard_pty, mem=args.mem, arch=args.arch,
                     accel=args.accel, extra=agent.qemu_args(self.out / "agent.sock"))
        self.reader = None

    def start_printer(self):
        return Device(self.bins, ["printer", "--listen", f"127.0.0.1:{self.printer_port}",
                                  "--capture", str(self.printed)], self.out / "printer.log")

    def build_image(self):
        board = BOARDS[self.args.arch]
        image = self.out / f"hall-{board}.img"
        cmd = [str(REPO / "image-build" / "build"), "--board", board, "--out", str(image)]
        if self.args.deb:
            cmd += ["--deb", self.args.deb]
        log(f"building the {board} image")
        subprocess.run(cmd, check=True)
        return image

    def boot(self):
        self.vm.start()
        if not self.args.idcard_pty:
            pty = self.vm.idcard_pty()
            if not pty:
                raise SystemExit("qemu made no pty for the ID card reader")
            subprocess.run(["stty", "-F", pty, "raw", "-echo", "115200"], check=False)
            self.reader = Device(self.bins, ["idcard", "--tty", pty], self.out / "idcard.log")
            log(f"ID card reader simulator on {pty}")

    def shot(self, name):
        path = self.art / f"{name}.png"
        self.vm.qmp.screendump(path)
        return path

    def close(self):
        if getattr(self, "agent", None):
            self.agent.close()
        for part in (self.vm, self.reader, self.printer, self.platform):
            if part is not None:
                try:
                    part.stop()
                except Exception as e:  # noqa: BLE001 - tear down the rest anyway
                    log(f"stopping {type(part).__name__}: {e}")
        # The kiosk's memory on the appliance, as it logs it with each screen: on the home
        # screen after boot, and the most it ever held (a submission with photos).
        import re
        rss = [(m.group(1), int(m.group(2)), int(m.group(3))) for m in
               (re.search(r"screen shown screen=(\w+) rss_kib=(\d+) peak_kib=(\d+)", line)
                for line in self.vm.console.lines) if m]
        if rss:
            self.result["figures"]["kiosk_rss_home_kib"] = next(
                (r for s, r, _ in rss if s == "Home"), None)
            self.result["figures"]["kiosk_peak_rss_kib"] = max(p for _, _, p in rss)
        (self.out / "result.json").write_text(json.dumps(self.result, indent=2,
                                                         ensure_ascii=False))
        # The figures scripts/bench-image reads.
        ready = self.result["figures"].get("power_on_to_ready_s")
        if ready is not None:
            (self.out / "result.env").write_text(
                f"IMAGE_BYTES={self.image.stat().st_size}\nBOOT_TO_READY_S={ready}\n")


class Layout:
    """Where each button of a screen is: the kiosk's own layout (its `screenshot --buttons`,
    the same Slint screens at 1920x1080), never guessed from pixels."""

    SCREENS = ["home", "identify", "items", "materials", "capture", "form", "review",
               "submitted", "progress", "payment", "paid", "help", "printer-error", "rating",
               "rating-reason"]

    def __init__(self, bins, out):
        self.bins, self.out = bins, out
        out.mkdir(parents=True, exist_ok=True)
        self.cache = {}

    def prepare(self):
        """Every screen's buttons, laid out by the kiosk's demo build of this tree (never a
        layout left from an earlier run)."""
        for stale in self.out.glob("*.json"):
            stale.unlink()
        for screen in self.SCREENS:
            self.buttons(screen)

    def buttons(self, screen):
        if screen not in self.cache:
            path = self.out / f"{screen}.json"
            if not path.exists():
                subprocess.run([self.bins["hall-kiosk"], "screenshot", "--screen", screen,
                                "--out", str(self.out / f"{screen}.png"), "--buttons", str(path)],
                               check=True, capture_output=True)
            self.cache[screen] = json.loads(path.read_text())
        return self.cache[screen]

    def centre(self, screen, label):
        for b in self.buttons(screen):
            if b["label"] == label:
                return b["x"] + b["w"] / 2, b["y"] + b["h"] / 2
        labels = sorted({b["label"] for b in self.buttons(screen)})
        raise KeyError(f"no button {label!r} on {screen}: {labels}")


def phase_boot(hall):
    vm = hall.vm
    hall.boot()
    line = vm.console.wait(r"Started hall-kiosk\.service", hall.args.timeout, since=0,
                           fail=r"Failed to start hall-kiosk|hall-kiosk\.service: Failed")
    if line is None or isinstance(line, tuple):
        raise SystemExit(f"the kiosk did not reach READY: {line}; see {vm.serial}")
    ready_s = time.monotonic() - vm.started
    log(f"hall-kiosk READY {ready_s:.1f} s after power-on ({vm.accel})")
    hall.result["figures"]["power_on_to_ready_s"] = round(ready_s, 1)
    enrolled = vm.console.wait(r"enrolled in the fleet", 60, since=0)
    if enrolled is None:
        raise SystemExit("the kiosk did not enrol with the platform")
    log("enrolled in the fleet over TLS with the hall's CA")
    if vm.console.wait(r"screen shown.*screen=Home", 30, since=0) is None:
        raise SystemExit("the kiosk logged no home screen")
    time.sleep(2)
    hall.shot("home")
    status = wait_kiosk_online(hall)
    # (The devices as the help desk sees them are checked after the journeys: the first
    # heartbeat may come before the devices reported.)
    hall.result["phases"]["boot"] = {"ready_s": round(ready_s, 1), "accel": vm.accel}
    return status


def wait_kiosk_online(hall, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            k = json.loads(hall.kioskctl("--json", "show", "vhall-01"))
            if k.get("online"):
                return k
        except (RuntimeError, ValueError):
            pass
        time.sleep(2)
    raise SystemExit("the help desk does not see the kiosk online")


def main():
    ap = argparse.ArgumentParser(description="the virtual hall")
    ap.add_argument("--image", help="an x86-kiosk image (default: built by image-build/build)")
    ap.add_argument("--deb", help="the kiosk package for the image build")
    ap.add_argument("--out", default=str(REPO / "target" / "virtual-hall"))
    ap.add_argument("--idcard-pty", help="the ID card reader's serial line: any emulator's or "
                                         "a real reader's pty (default: kiosk-sims' reader)")
    ap.add_argument("--phases", default="boot,journeys,faults,updates,cuts",
                    help=f"of {','.join(PHASES)} (lookup: one scripted lookup of a demo case; "
                         "soak: the boot test's checks, then a clean power-off; updates: "
                         "v2 installed and booted, an unsigned bundle refused, a broken v3 "
                         "rolled back, a power cut while installing)")
    ap.add_argument("--cuts", type=int, default=10, help="power cuts in the cuts phase")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--deadline", type=float, default=None,
                    help="seconds since the epoch: no power cut starts that could not end "
                         "before it (after the first three); CI's time limit")
    ap.add_argument("--soak", type=int, default=35,
                    help="soak phase: seconds the kiosk must keep running (over WatchdogSec)")
    ap.add_argument("--timeout", type=int, default=600, help="seconds to READY")
    ap.add_argument("--arch", choices=sorted(BOARDS), default="amd64",
                    help="amd64: the x86-kiosk image; arm64: the arm64-virt image under TCG")
    ap.add_argument("--accel", choices=["tcg", "kvm"], default="tcg",
                    help="tcg (default; software emulation) or kvm where it works")
    ap.add_argument("--mem", type=int, default=1536, help="the machine's memory, MiB")
    ap.add_argument("--release-host", action="store_true",
                    help="the host programs (platform, simulators) in the release profile")
    args = ap.parse_args()
    phases = [p for p in args.phases.split(",") if p]
    for p in phases:
        if p not in PHASES:
            ap.error(f"unknown phase {p} (of {','.join(PHASES)})")
    started = time.monotonic()
    hall = Hall(args)
    failed = None
    try:
        if "updates" in phases:
            import updates
            updates.prepare(hall)
        phase_boot(hall)
        if "lookup" in phases:
            import citizen
            citizen.run_lookup(hall)
        if "journeys" in phases:
            import citizen
            citizen.run_journeys(hall)
        if "faults" in phases:
            import faults
            faults.run(hall)
        # Field updates before the power cuts: the cuts fit what time is left (--deadline), and
        # then run on the updated system.
        if "updates" in phases:
            import updates
            updates.run_updates(hall)
        if "cuts" in phases:
            import powercut
            powercut.run(hall, args.cuts, args.seed, args.deadline)
        elif "soak" in phases:
            import soak
            soak.run(hall, args.soak)
    except (SystemExit, Exception) as e:  # noqa: BLE001 - reported, then torn down
        failed = str(e) or type(e).__name__
        import traceback
        traceback.print_exc()
        log(f"FAIL: {failed}")
        try:
            hall.shot("failure")
            hall.result["last_screen"] = last_screen(hall.vm.console)
        except Exception:  # noqa: BLE001
            pass
    finally:
        hall.result["wall_s"] = round(time.monotonic() - started, 1)
        hall.result["failed"] = failed
        hall.close()
    log(f"virtual hall {'FAILED' if failed else 'passed'} in {time.monotonic() - started:.0f} s;"
        f" artefacts in {hall.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
