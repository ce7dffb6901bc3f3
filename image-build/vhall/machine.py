"""The virtual hall's pieces on the host: binaries, the hall's private CA, the platform (TLS,
sealing keys, enrolment and help-desk tokens), the device simulators, the provisioned disk and
qemu with the devices on USB."""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from qemu import Console, Qmp

KIOSK_ID = "vhall-01"
HALL = "虚拟大厅 工程建设项目审批专区"
# The emulated devices as the guest's kernel names them (see the README's virtual hall).
SCANNER_BY_ID = "/dev/input/by-id/usb-QEMU_QEMU_USB_Keyboard_SCANNER-event-kbd"
GATEWAY = "10.0.2.2"  # the host, from qemu's user network


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, **kw)


class Binaries:
    """The host's programs: the platform, kioskctl, the device simulators and (for the button
    layout) the kiosk's demo build. Built by cargo every run (a no-op when fresh), in the dev
    profile the test run has already built (`--release-host` for the release profile): they run
    on the host, where their speed is not what is measured."""

    NAMES = ["hall-platform", "kioskctl", "kiosk-sim-devices", "hall-kiosk"]

    def __init__(self, repo, release, keep):
        self.repo = repo
        target = Path(os.environ.get("CARGO_TARGET_DIR", repo / "target"))
        built = target / ("release" if release else "debug")
        log(f"building the host programs ({'release' if release else 'dev'} profile)")
        # The demo build (default features) of the kiosk: its `screenshot` lays the screens out.
        run(["cargo", "build", *(["--release"] if release else []),
             "-p", "hall-platform", "--bin", "hall-platform", "--bin", "kioskctl",
             "-p", "kiosk-sims", "--bin", "kiosk-sim-devices",
             "-p", "hall-kiosk", "--bin", "hall-kiosk"], cwd=repo)
        # Copies for this run: a later build in the same target directory (another checkout's)
        # must not change the programs under a run that lasts half an hour.
        self.dir = keep
        keep.mkdir(parents=True, exist_ok=True)
        for name in self.NAMES:
            shutil.copy2(built / name, keep / name)

    def __getitem__(self, name):
        return str(self.dir / name)


def make_pki(out):
    """The hall's private CA and the platform's certificate for the address kiosks use."""
    out.mkdir(parents=True, exist_ok=True)
    ossl = lambda *a: run(["openssl", *a], cwd=out, capture_output=True)  # noqa: E731
    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", "ca.key", "-out", "ca.pem", "-days", "30", "-subj", "/CN=Virtual hall CA")
    ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=hall-platform")
    (out / "ext.cnf").write_text(
        f"subjectAltName=IP:{GATEWAY},IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n")
    ossl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", "server.pem", "-days", "30", "-extfile", "ext.cnf")
    os.chmod(out / "server.key", 0o600)
    return out / "ca.pem"


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Platform:
    """hall-platform serve over TLS with sealing keys, on the host's loopback (the guest reaches
    it as 10.0.2.2)."""

    def __init__(self, bins, out, pki):
        self.bins, self.out = bins, out
        self.db = out / "platform.sqlite3"
        for p in out.glob("platform.sqlite3*"):
            # The database and its release bundles (platform.sqlite3.releases/) of a run before.
            shutil.rmtree(p) if p.is_dir() else p.unlink()
        self.keys = out / "seal-keys.toml"
        with open(self.keys, "w") as f:
            run([bins["hall-platform"], "seal", "keygen"], stdout=f)
        os.chmod(self.keys, 0o600)
        self.port = free_port()
        self.url = f"https://{GATEWAY}:{self.port}/"
        self.local = f"https://127.0.0.1:{self.port}"
        self.ca = pki / "ca.pem"
        self.args = [bins["hall-platform"], "serve", "--db", f"sqlite://{self.db}",
                     "--seal-keys", str(self.keys), "--listen", f"127.0.0.1:{self.port}",
                     "--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server.key"),
                     # The demo registry (the project code the citizen types) and the simulated
                     # payer: a payment needs a provider, and the reference platform has only it.
                     "--demo"]
        self.proc = None

    def dbarg(self):
        return ["--db", f"sqlite://{self.db}", "--seal-keys", str(self.keys)]

    def start(self):
        log_file = open(self.out / "platform.log", "a")
        self.proc = subprocess.Popen(self.args, stdout=log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if "listening on https://" in (self.out / "platform.log").read_text():
                return
            if self.proc.poll() is not None:
                raise SystemExit(f"the platform stopped: see {self.out / 'platform.log'}")
            time.sleep(0.2)
        raise SystemExit("the platform did not start within 60 s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def enrolment_token(self):
        r = run([self.bins["hall-platform"], "fleet", "enrol-token", *self.dbarg(),
                 "--kiosk", KIOSK_ID, "--hall", HALL], capture_output=True)
        return r.stdout.strip().split()[-1]

    def helpdesk_token(self):
        r = run([self.bins["hall-platform"], "fleet", "token", "create", *self.dbarg(),
                 "--role", "helpdesk", "--label", "virtual-hall"], capture_output=True)
        return r.stdout.strip().split()[-1]

    def query(self, sql, args=()):
        db = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()


class Kioskctl:
    def __init__(self, bins, platform, token):
        self.cmd = [bins["kioskctl"], "--platform", platform.local, "--ca-file", str(platform.ca),
                    "--token", token]

    def __call__(self, *args):
        r = subprocess.run([*self.cmd, *args], text=True, capture_output=True)
        if r.returncode != 0:
            raise RuntimeError(f"kioskctl {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def kiosk(self):
        rows = json.loads(self("--json", "list"))
        for k in rows if isinstance(rows, list) else rows.get("kiosks", []):
            if k.get("kiosk_id", k.get("id")) == KIOSK_ID:
                return k
        return None


class Device:
    """A simulator process of kiosk-sims, driven through its standard input."""

    def __init__(self, bins, args, log_path):
        self.log_path = log_path
        self.log = open(log_path, "a")
        self.proc = subprocess.Popen([bins["kiosk-sim-devices"], *args], stdin=subprocess.PIPE,
                                     stdout=self.log, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 10
        while "ready" not in Path(log_path).read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"device simulator did not start: {log_path}")
            time.sleep(0.05)

    def send(self, line):
        if self.proc.poll() is None:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def partition(disk, name):
    """The partition of that GPT name (hall-boot, hall-env, hall-root-a, hall-root-b, hall-data)
    in sfdisk's terms, with its byte offset and length."""
    table = json.loads(subprocess.run(["sfdisk", "-J", str(disk)], check=True, text=True,
                                      capture_output=True).stdout)["partitiontable"]
    parts = [p for p in table["partitions"] if p.get("name") == name]
    if len(parts) != 1:
        raise SystemExit(f"{disk} has no single partition named {name}")
    sector = table.get("sectorsize", 512)
    return dict(parts[0], offset=parts[0]["start"] * sector, length=parts[0]["size"] * sector)


def extract(disk, name, dest):
    """A copy of one partition of the disk, as a file."""
    p = partition(disk, name)
    run(["dd", f"if={disk}", f"of={dest}", "bs=512", f"skip={p['start']}", f"count={p['size']}",
         "conv=sparse", "status=none"])
    return dest


def provision(image, disk, kiosk_toml, ca_pem, cmdline_extra):
    """A copy of the image with kiosk.toml and the hall's CA on its boot partition, the way an
    operator provisions a kiosk, and the console options for the harness (GRUB's hall_extra)."""
    run(["cp", "--sparse=always", str(image), str(disk)])
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    esp = f"{disk}@@1M"
    conf = disk.parent / "grub.cfg"
    with open(conf, "w") as f:
        run(["mtype", "-i", esp, "::/EFI/hall/grub.cfg"], stdout=f, env=env)
    text = conf.read_text()
    if 'set hall_extra=""' not in text:
        raise SystemExit("the image's grub.cfg has no hall_extra line to add console options to")
    conf.write_text(text.replace('set hall_extra=""', f'set hall_extra="{cmdline_extra}"'))
    run(["mcopy", "-o", "-i", esp, str(conf), "::/EFI/hall/grub.cfg"], env=env)
    run(["mcopy", "-o", "-i", esp, str(kiosk_toml), "::/kiosk.toml"], env=env)
    run(["mcopy", "-o", "-i", esp, str(ca_pem), "::/hall-ca.pem"], env=env)


def kiosk_toml(path, platform_url, token, printer_port):
    path.write_text(f"""[kiosk]
id = "{KIOSK_ID}"
hall = "{HALL}"

[platform]
url = "{platform_url}"
ca_file = "/var/lib/hall-kiosk/hall-ca.pem"

[fleet]
enrolment_token = "{token}"

[display]
fullscreen = true
sim_panel = false

[devices]
idcard = "serial:///dev/hall/idcard?baud=115200"
scanner = "evdev://{SCANNER_BY_ID}"
printer = "tcp://{GATEWAY}:{printer_port}"
camera = "v4l2:///dev/video0"

[update]
# The bundle over qemu's user network as fast as it goes; the trial's health check within
# 150 s (the boot guard waits 120 s more: the kiosk writes both into its trial file).
max_download_kbps = 400000
health_secs = 150
""")


class Vm:
    """qemu with the kiosk's disk, virtio-gpu at 1920x1080 and the hall's USB devices."""

    IDCARD_DEV = "driver=usb-serial,bus=xhci.0,chardev=idcard,serial=IDCARD,id=idcard-reader"

    def __init__(self, out, disk, idcard_pty=None, mem=1536, arch="amd64", accel="tcg",
                 extra=()):
        self.out = out
        self.serial = out / "serial.log"
        self.qmp_path = out / "qmp.sock"
        for p in (self.serial, self.qmp_path):
            if p.exists():
                p.unlink()
        # KVM only when asked: a /dev/kvm that opens may still fail to run a guest (nested).
        native = os.uname().machine == ("x86_64" if arch == "amd64" else "aarch64")
        if accel == "kvm" and not (native and os.access("/dev/kvm", os.W_OK)):
            raise SystemExit("--accel kvm: no usable /dev/kvm for this architecture")
        self.accel = accel
        chardev = (f"serial,id=idcard,path={idcard_pty}" if idcard_pty
                   else "pty,id=idcard")
        if arch == "amd64":
            shutil.copy("/usr/share/OVMF/OVMF_VARS_4M.fd", out / "vars.fd")
            machine = ["qemu-system-x86_64", "-machine", "q35", "-accel", accel, "-cpu", "max",
                       "-drive", "if=pflash,format=raw,readonly=on,"
                                 "file=/usr/share/OVMF/OVMF_CODE_4M.fd"]
        else:
            # AAVMF's variable store must be as large as its code (64 MiB).
            shutil.copy("/usr/share/AAVMF/AAVMF_VARS.fd", out / "vars.fd")
            machine = ["qemu-system-aarch64", "-machine", "virt", "-accel", accel,
                       "-cpu", "max,pauth-impdef=on" if accel == "tcg" else "host",
                       "-drive", "if=pflash,format=raw,readonly=on,"
                                 "file=/usr/share/AAVMF/AAVMF_CODE.fd"]
        self.args = [
            *machine, "-smp", "2", "-m", str(mem),
            "-drive", f"if=pflash,format=raw,file={out / 'vars.fd'}",
            "-drive", f"file={disk},format=raw,if=virtio,cache=writeback",
            "-vga", "none", "-device", "virtio-gpu-pci,xres=1920,yres=1080,id=gpu",
            "-nic", "user,model=virtio-net-pci",
            "-device", "qemu-xhci,id=xhci",
            "-chardev", chardev,
            "-device", self.IDCARD_DEV.replace("driver=", ""),
            # Bound to the display, so that QMP input events reach them (and not the PS/2
            # keyboard): the scanner's keys and the touches.
            "-device", "usb-kbd,bus=xhci.0,serial=SCANNER,id=scanner,display=gpu",
            "-device", "usb-tablet,bus=xhci.0,id=touch,display=gpu",
            # No text consoles (qemu's default monitor and parallel port are text consoles
            # with -display none): screendump and input go to the one graphic console.
            "-display", "none", "-monitor", "none", "-parallel", "none",
            "-serial", f"file:{self.serial}",
            "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
            *extra,
        ]
        self.proc = None
        self.qmp = None
        self.console = Console(self.serial)

    def start(self):
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.args, stdout=open(self.out / "qemu.log", "w"),
                                     stderr=subprocess.STDOUT)
        self.qmp = Qmp(str(self.qmp_path))

    def idcard_pty(self):
        for c in self.qmp.call("query-chardev"):
            if c["label"] == "idcard" and c["filename"].startswith("pty:"):
                return c["filename"][4:]
        return None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                self.qmp.call("quit")
            except Exception:  # noqa: BLE001 - qemu may already be going
                pass
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.qmp:
            self.qmp.close()
