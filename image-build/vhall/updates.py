"""Field updates in the virtual hall: the kiosk (booted from the image's slot A, v1) is offered
releases by the platform and updates itself through RAUC, as a hall's kiosk would.

  v2          signed, made from the image's own root with another version: downloaded, installed
              into slot B while idle, booted, found healthy, marked good.
  reset       the machine reset while v2 is starting (before it is marked good): the next boot
              passes over B to v1 in A, whose boot guard returns to B (v2 was never marked bad).
  grubenv     GRUB's environment overwritten with noise: GRUB boots from the guard's copy of the
              last good boot's state (B), and the guard puts grubenv back.
  unsigned    a bundle with no signature: refused by the kiosk's RAUC, nothing written.
  v3 broken   signed, but its kiosk never starts: installed into slot A, booted, not found healthy
              within the trial's time, so the boot guard marks it bad and the machine returns to
              v2 by itself; the kiosk reports the rollback and why, the rollout stops.
  v4 cut      signed: the power is cut while RAUC writes the slot; the kiosk comes back on v2,
              working, and says the installation did not finish.

Each release's root is the image's own root file system with /etc/hall-release changed (and for
v3 the kiosk's unit masked) with debugfs: minutes instead of an image build per version."""

import json
import os
import re
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from machine import KIOSK_ID, log, partition, run

REPO = Path(__file__).resolve().parent.parent.parent


class Failed(Exception):
    pass


class Updates:
    def __init__(self, hall):
        self.hall = hall
        self.work = hall.out / "updates"
        self.work.mkdir(exist_ok=True)
        self.releases = self.work / "releases"
        self.platform = hall.platform
        r = run([hall.bins["hall-platform"], "fleet", "token", "create", *self.platform.dbarg(),
                 "--role", "admin", "--label", "virtual-hall-releases"], capture_output=True)
        self.token = r.stdout.strip().split()[-1]
        self.tls = ssl.create_default_context(cafile=str(self.platform.ca))
        self.base = None
        self.figures = {}

    # --- the platform's API, as an admin ---------------------------------------------------
    def api(self, method, path, body=None):
        req = urllib.request.Request(
            self.platform.local + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}",
                     "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self.tls, timeout=30) as r:
                data = r.read()
                return json.loads(data) if data else None
        except urllib.error.HTTPError as e:
            raise Failed(f"{method} {path}: {e.code} {e.read().decode(errors='replace')[:300]}")

    def kiosk_system(self):
        k = json.loads(self.hall.kioskctl("--json", "show", KIOSK_ID))
        return k.get("system") or {}

    # --- releases ---------------------------------------------------------------------------
    def base_root(self):
        """The image's slot A file system (as long as the file system), the base of every
        release made here."""
        if self.base is None:
            p = partition(self.hall.image, "hall-root-a")
            self.base = self.work / "root-v1.ext4"
            with open(self.hall.image, "rb") as f:
                f.seek(p["offset"] + 1024)
                sb = f.read(1024)
            blocks = int.from_bytes(sb[4:8], "little")
            size = blocks * (1024 << int.from_bytes(sb[24:28], "little"))
            run(["dd", f"if={self.hall.image}", f"of={self.base}", "bs=1M",
                 f"skip={p['offset']}", f"count={size}", "iflag=skip_bytes,count_bytes",
                 "conv=sparse", "status=none"])
            text = subprocess.run(["debugfs", "-R", "cat /etc/hall-release", str(self.base)],
                                  text=True, capture_output=True).stdout
            self.v1 = next((line.split("=", 1)[1] for line in text.splitlines()
                            if line.startswith("VERSION=")), None)
            if not self.v1:
                raise Failed("the image's root has no VERSION in /etc/hall-release")
        return self.base

    def make_release(self, version, broken=False):
        """A signed bundle of the image's root with `version` (and the kiosk masked if broken);
        its description's path."""
        base = self.base_root()
        root = self.work / f"root-{version}.ext4"
        run(["cp", "--sparse=always", str(base), str(root)])
        text = subprocess.run(["debugfs", "-R", "cat /etc/hall-release", str(base)], text=True,
                              capture_output=True).stdout
        release = self.work / f"hall-release-{version}"
        release.write_text("".join(
            (f"VERSION={version}\n" if line.startswith("VERSION=") else line + "\n")
            for line in text.splitlines()))
        commands = ["rm /etc/hall-release", f"write {release} /etc/hall-release"]
        if broken:
            commands.append("symlink /etc/systemd/system/hall-kiosk.service /dev/null")
        r = subprocess.run(["debugfs", "-w", "-f", "-", str(root)], input="\n".join(commands),
                           text=True, capture_output=True)
        if r.returncode != 0:
            raise Failed(f"debugfs on the {version} root: {r.stderr}")
        started = time.monotonic()
        run([str(REPO / "scripts" / "release"), "--root-fs", str(root), "--out",
             str(self.releases)], capture_output=True)
        self.figures[f"bundle_{version}_s"] = round(time.monotonic() - started, 1)
        root.unlink()
        return self.releases / f"{version}.json"

    def make_unsigned(self, version):
        """A bundle without a signature (the manifest and a root in a squashfs), with a
        description as scripts/release would write it."""
        d = self.work / "unsigned"
        d.mkdir(exist_ok=True)
        run(["dd", "if=/dev/urandom", f"of={d / 'rootfs.ext4'}", "bs=1M", "count=4",
             "status=none"])
        (d / "manifest.raucm").write_text(
            f"[update]\ncompatible=hall-kiosk-x86-kiosk\nversion={version}\n\n"
            "[image.rootfs]\nfilename=rootfs.ext4\n")
        self.releases.mkdir(exist_ok=True)
        bundle = self.releases / f"{version}.raucb"
        run(["mksquashfs", str(d), str(bundle), "-all-root", "-noappend", "-quiet"],
            capture_output=True)
        import hashlib
        data = bundle.read_bytes()
        desc = self.releases / f"{version}.json"
        desc.write_text(json.dumps({
            "version": version, "compatible": "hall-kiosk-x86-kiosk",
            "root_sha256": hashlib.sha256((d / "rootfs.ext4").read_bytes()).hexdigest(),
            "bundle": bundle.name, "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}))
        return desc

    def add(self, desc):
        run([self.hall.bins["hall-platform"], "release", "add", str(desc),
             *self.platform.dbarg()], capture_output=True)
        return json.loads(desc.read_text())["version"]

    def roll_out(self, version):
        r = self.api("POST", "/api/v1/fleet/rollouts",
                     {"release": version, "kiosk_id": KIOSK_ID, "stop_on_failure": True})
        log(f"updates: {version} rolled out to {KIOSK_ID} (rollout {r['id']})")
        return r["id"]

    def rollout(self, rid):
        return self.api("GET", f"/api/v1/fleet/rollouts/{rid}")

    # --- waiting for the kiosk --------------------------------------------------------------
    def wait_update(self, release, states, timeout, seen=None):
        """Until the kiosk reports one of `states` for `release`; every state it reports on the
        way is logged (and kept in `seen`)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                system = self.kiosk_system()
            except RuntimeError:
                system = {}
            update = system.get("update") or {}
            now = (update.get("state"), update.get("percent"))
            if now != last:
                last = now
                log(f"updates: kiosk on {system.get('os_version')} slot {system.get('slot')}: "
                    f"{update.get('state')} {update.get('release', '')} "
                    f"{update.get('percent', '')} {update.get('reason', '')}")
                if seen is not None and update.get("state"):
                    seen.append(update.get("state"))
            if update.get("release") == release and update.get("state") in states:
                return system
            time.sleep(3)
        raise Failed(f"the kiosk did not report {'/'.join(states)} for {release} within "
                     f"{timeout} s (last: {last})")

    def wait_running(self, version, slot, since, timeout=300):
        """Until the kiosk says on the console which system it runs (the platform's view may
        still be the one from before a reset)."""
        pattern = (r"running system version=" + re.escape(version)
                   + r" slot=Some\(\"" + slot + r"\"\)")
        if self.hall.vm.console.wait(pattern, timeout, since=since) is None:
            raise Failed(f"the kiosk did not start on {version} in slot {slot}")

    def wait_home(self, since, timeout=600):
        line = self.hall.vm.console.wait(r"screen shown.*screen=Home", timeout, since=since)
        if line is None:
            raise Failed("the kiosk did not come back to its home screen")


RELEASES = [("2.0.0+vhall", False), ("2.1.0+unsigned", None), ("3.0.0+vhall-broken", True),
            ("4.0.0+vhall-cut", False)]


def prepare(hall):
    """Makes the releases while the machine boots and the citizen's journeys run (each bundle
    takes a minute or two of squashfs and signing): a thread, joined by run_updates."""
    import threading
    u = Updates(hall)
    u.made, u.error = {}, None

    def make():
        try:
            u.base_root()
            for version, broken in RELEASES:
                u.made[version] = (u.make_unsigned(version) if broken is None
                                   else u.make_release(version, broken))
            log(f"updates: {len(u.made)} releases made ({u.figures})")
        except Exception as e:  # noqa: BLE001 - reported when the phase starts
            u.error = e
    u.thread = threading.Thread(target=make, daemon=True)
    u.thread.start()
    hall.updates = u


def run_updates(hall):
    if not getattr(hall, "updates", None):
        prepare(hall)
    u = hall.updates
    u.thread.join()
    if u.error:
        raise Failed(f"the releases could not be made: {u.error}")
    v2, unsigned, v3, v4 = (u.add(u.made[v]) for v, _ in RELEASES)
    vm = hall.vm
    started = time.monotonic()
    result = {}
    # The first heartbeats may come before the updater has asked RAUC how the system stands.
    deadline = time.monotonic() + 120
    system = {}
    while time.monotonic() < deadline and not system.get("slot"):
        time.sleep(3)
        try:
            system = u.kiosk_system()
        except RuntimeError:
            pass
    if system.get("slot") != "A" or system.get("os_version") != u.v1:
        raise Failed(f"the kiosk does not report v1 ({u.v1}) on slot A: {system}")
    log(f"updates: the kiosk runs {u.v1} on slot A")

    # v2: installed while idle, booted, marked good.
    t = time.monotonic()
    rid = u.roll_out(v2)
    seen = []
    mark = vm.console.mark()
    system = u.wait_update(v2, ["booted"], 2400, seen)
    if system.get("slot") != "B" or system.get("os_version") != v2:
        raise Failed(f"after the update the kiosk reports {system}")
    published = json.loads(u.made[v2].read_text())["root_sha256"]
    if system.get("root_sha256") != published:
        raise Failed(f"the kiosk reports the root {system.get('root_sha256')}, the release "
                     f"published {published}")
    for state in ("downloading", "installing", "installed"):
        if state not in seen:
            log(f"updates: (the kiosk's {state} state fell between two heartbeats)")
    if vm.console.wait(r"Booting .Hall kiosk \(slot B\)", 5, since=mark) is None:
        raise Failed("GRUB did not start slot B")
    result["v2"] = {"seconds": round(time.monotonic() - t, 1), "states": seen,
                    "slot": system.get("slot"), "root_sha256": system.get("root_sha256")}
    ro = u.rollout(rid)
    if ro.get("done") != 1:
        raise Failed(f"the rollout does not count the kiosk done: {ro}")
    hall.shot("update-v2-home")
    log(f"updates: v2 booted from slot B and marked good in {result['v2']['seconds']} s")

    # v2 is the kiosk's system now, v1 still good in slot A. A reset the moment GRUB has started
    # B (before its boot guard could mark it good) makes the next boot pass over B to A; A's
    # guard sees B was never marked bad and no update was on trial, and returns to it.
    t = time.monotonic()
    mark = vm.console.mark()
    vm.qmp.call("system_reset")
    if vm.console.wait(r"Booting .Hall kiosk \(slot B\)", 120, since=mark) is None:
        raise Failed("after the reset GRUB did not start slot B")
    vm.qmp.call("system_reset")
    log("updates: reset while slot B was starting")
    if vm.console.wait(r"Booting .Hall kiosk \(slot A\)", 120, since=mark) is None:
        raise Failed("the boot after a reset in B's start did not pass over B to A")
    if vm.console.wait(r"hall-update-guard.*slot B was started and reset before it was marked "
                       r"good.*back to it \(1 of 3\)", 300, since=mark) is None:
        raise Failed("slot A's boot guard did not return to slot B")
    back = vm.console.mark()
    if vm.console.wait(r"Booting .Hall kiosk \(slot B\)", 300, since=back) is None:
        raise Failed("the machine did not restart into slot B")
    back = vm.console.mark()  # past the boot line: A's kiosk may have come up meanwhile
    u.wait_running(v2, "B", back)
    u.wait_home(back)
    system = u.wait_update(v2, ["booted"], 120)
    result["return_to_b"] = {"seconds": round(time.monotonic() - t, 1)}
    log(f"updates: back on v2 in slot B in {result['return_to_b']['seconds']} s after a reset "
        f"during its start")

    # GRUB's environment unreadable, as a power cut inside grub-editenv's rewrite can leave it:
    # the machine is stopped, grubenv overwritten with noise on the disk, and reset. GRUB takes
    # the state from the guard's copy of the last good boot (B), the guard puts grubenv back.
    t = time.monotonic()
    mark = vm.console.mark()
    vm.qmp.call("stop")
    env_part = partition(hall.disk, "hall-env")
    noise = u.work / "grubenv-noise"
    noise.write_bytes(bytes((i * 37 + 11) % 256 for i in range(1024)))
    run(["mcopy", "-o", "-i", f"{hall.disk}@@{env_part['offset']}", str(noise), "::/grubenv"],
        env=dict(os.environ, MTOOLS_SKIP_CHECK="1"))
    vm.qmp.call("system_reset")
    vm.qmp.call("cont")
    log("updates: grubenv made unreadable, machine reset")
    if vm.console.wait(r"Booting .Hall kiosk \(slot B\)", 120, since=mark) is None:
        raise Failed("with grubenv unreadable GRUB did not start slot B from the copy")
    if vm.console.wait(r"hall-update-guard.*GRUB's environment was unreadable: restored",
                       300, since=mark) is None:
        raise Failed("the boot guard did not put grubenv back from its copy")
    u.wait_running(v2, "B", mark)
    u.wait_home(mark)
    result["grubenv_restored"] = {"seconds": round(time.monotonic() - t, 1)}
    log(f"updates: grubenv restored from its copy, v2 in slot B, in "
        f"{result['grubenv_restored']['seconds']} s")

    # An unsigned bundle: refused, nothing written, still v2.
    rid = u.roll_out(unsigned)
    system = u.wait_update(unsigned, ["refused", "failed"], 600)
    update = system["update"]
    if update["state"] != "refused" or "ignature" not in update.get("reason", ""):
        raise Failed(f"the unsigned bundle was not refused for its signature: {update}")
    if system.get("os_version") != v2 or system.get("slot") != "B":
        raise Failed(f"after the unsigned bundle the kiosk reports {system}")
    ro = u.rollout(rid)
    if ro.get("state") != "stopped":
        raise Failed(f"the refusal did not stop the rollout: {ro}")
    result["unsigned"] = {"reason": update.get("reason")}
    log(f"updates: the unsigned bundle was refused: {update.get('reason')}")

    # v3, broken: the kiosk never starts; the boot guard returns to v2.
    t = time.monotonic()
    mark = vm.console.mark()
    rid = u.roll_out(v3)
    system = u.wait_update(v3, ["rolled_back"], 2400)
    if system.get("os_version") != v2 or system.get("slot") != "B":
        raise Failed(f"after the rollback the kiosk reports {system}")
    ro = u.rollout(rid)
    if ro.get("state") != "stopped" or ro.get("stopped_by_kiosk") != KIOSK_ID:
        raise Failed(f"the rollback did not stop the rollout: {ro}")
    if vm.console.wait(r"Booting .Hall kiosk \(slot A\)", 5, since=mark) is None:
        raise Failed("GRUB never started v3's slot A")
    if vm.console.wait(r"Booting .Hall kiosk \(slot B\)", 5, since=mark) is None:
        raise Failed("GRUB did not return to v2's slot B")
    result["v3"] = {"seconds": round(time.monotonic() - t, 1),
                    "reason": system["update"].get("reason")}
    hall.shot("update-v3-rolled-back-home")
    log(f"updates: v3 rolled back by itself in {result['v3']['seconds']} s: "
        f"{system['update'].get('reason')}")

    # v4: the power is cut while RAUC writes the slot.
    rid = u.roll_out(v4)
    u.wait_update(v4, ["installing"], 1200)
    time.sleep(5)
    mark = vm.console.mark()
    if any("4.0.0+vhall-cut.raucb` succeeded" in line for line in vm.console.lines):
        raise Failed("RAUC had finished installing v4 before the cut: no cut mid-install")
    log("updates: power cut while installing v4")
    vm.qmp.call("system_reset")
    u.api("POST", f"/api/v1/fleet/rollouts/{rid}", {"action": "stop"})
    if vm.console.wait(r"Booting .Hall kiosk \(slot B\)", 300, since=mark) is None:
        raise Failed("after the cut GRUB did not start v2's slot B")
    u.wait_home(mark)
    system = u.wait_update(v4, ["failed"], 300)
    if system.get("os_version") != v2 or system.get("slot") != "B":
        raise Failed(f"after the cut the kiosk reports {system}")
    if "interrupted" not in system["update"].get("reason", ""):
        raise Failed(f"after the cut the kiosk does not say the installation was interrupted: "
                     f"{system['update']}")
    result["cut"] = {"after": system.get("update")}
    hall.shot("update-cut-home")
    log(f"updates: after the cut the kiosk runs v2 from slot B: {system.get('update')}")
    result["seconds"] = round(time.monotonic() - started, 1)
    result["figures"] = u.figures
    hall.result["phases"]["updates"] = result
    return result
