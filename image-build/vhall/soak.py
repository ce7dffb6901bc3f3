"""The boot test's checks (image-build/boot-test): the kiosk keeps running past its watchdog,
stops cleanly at power-off, the root partition is never written, the enrolment token and the
provisioning file are gone from the boot partition, and the configuration and outbox are on the
data partition."""

import hashlib
import os
import re
import subprocess
import time

from machine import extract, log, partition


class Failed(Exception):
    pass




def part_sha256(disk, part):
    h = hashlib.sha256()
    with open(disk, "rb") as f:
        f.seek(part["start"] * 512)
        left = part["size"] * 512
        while left > 0:
            chunk = f.read(min(left, 1 << 20))
            if not chunk:
                break
            h.update(chunk)
            left -= len(chunk)
    return h.hexdigest()


def root_before(hall):
    """The root partition's digest before the boot (call before starting the machine)."""
    hall.root_sha = part_sha256(hall.disk, partition(hall.disk, "hall-root-a"))


def run(hall, soak_s):
    vm = hall.vm
    mark = vm.console.mark()
    time.sleep(soak_s)
    since = vm.console.since(mark)
    if any(re.search(r"hall-kiosk\.service: (Watchdog timeout|Main process exited)", line)
           for line in since):
        raise Failed("the kiosk was killed or stopped while it ran")
    if any("Started hall-kiosk.service" in line for line in since):
        raise Failed("the kiosk was started again while it ran")
    log(f"soak: running {soak_s} s after READY with no watchdog timeout and no restart")
    vm.qmp.call("system_powerdown")
    try:
        vm.proc.wait(90)
    except subprocess.TimeoutExpired:
        raise Failed("no clean shutdown within 90 s")
    clean = any(re.search(r"(Stopped|Deactivated successfully).*hall-kiosk\.service|"
                          r"hall-kiosk\.service: Deactivated successfully", line)
                for line in vm.console.since(0))
    esp = f"{hall.disk}@@1M"
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    listing = subprocess.run(["mdir", "-b", "-i", esp, "::/"], text=True, capture_output=True,
                             env=env).stdout.split()
    if "::/kiosk.toml" in listing:
        raise Failed("kiosk.toml (with its enrolment token) is still on the boot partition")
    if "::/hall-ca.pem" in listing:
        raise Failed("the hall's CA was not taken off the boot partition")
    if getattr(hall, "root_sha", None) and \
            part_sha256(hall.disk, partition(hall.disk, "hall-root-a")) != hall.root_sha:
        raise Failed("the root partition changed during the boot")
    data = extract(hall.disk, "hall-data", hall.out / "data.fs")
    fsck = subprocess.run(["e2fsck", "-fn", str(data)], text=True, capture_output=True)
    ls = subprocess.run(["debugfs", "-R", "ls -l /", str(data)], text=True,
                        capture_output=True).stdout
    for name in ("kiosk.toml", "outbox.sqlite", "hall-ca.pem", "fleet-credential"):
        if not re.search(rf" {re.escape(name)}\s*$", ls, re.M):
            raise Failed(f"no {name} on the data partition:\n{ls}")
    config = subprocess.run(["debugfs", "-R", "cat /kiosk.toml", str(data)], text=True,
                            capture_output=True).stdout
    if "enrolment_token" in config:
        raise Failed("the enrolment token is still in the kiosk's configuration")
    data.unlink()
    result = {"soak_s": soak_s, "clean_stop": clean, "root_unchanged": True,
              "boot_partition_emptied": True, "data_fsck_clean": fsck.returncode == 0}
    if fsck.returncode != 0:
        raise Failed(f"the data partition is not clean after a clean power-off: "
                     f"{fsck.stdout[-300:]}")
    hall.result["phases"]["soak"] = result
    log("soak: clean stop; root untouched; token and CA taken off the boot partition; "
        "configuration, credential and outbox on a clean data partition")
    return result
