"""The harness's one hand inside the machine, for what no emulated bus can do from outside:
removing the camera. qemu has no USB video device, so the camera is the kernel's vivid driver,
and a camera unplugged is vivid's platform device unbound from its driver (the node vanishes and
open handles fail, as when a UVC camera's cable is pulled); plugged in again is bound again.

The agent is a small shell loop added to the virtual machine's copy of the disk only (a unit in
the root file system's copy, written with debugfs before the first boot), never to the image the
hall gets; it reads one word per line from a virtio serial port whose other end is a socket of
the harness, and does nothing else."""

import socket
import subprocess
import time

from machine import log, partition

PORT = "hall.vhall-agent"

SCRIPT = f"""#!/bin/sh
# The virtual hall's test agent (the VM's disk copy only; not part of the appliance).
port=/dev/virtio-ports/{PORT}
vivid() {{
    for d in /sys/bus/platform/devices/vivid*; do
        [ -e "$d" ] && basename "$d" && return
    done
}}
while :; do
    if [ -e "$port" ]; then
        while read -r word; do
            case "$word" in
                camera-out) vivid > /sys/bus/platform/drivers/vivid/unbind
                            echo "vhall-agent: camera-out $?" ;;
                camera-in)  vivid > /sys/bus/platform/drivers/vivid/bind
                            echo "vhall-agent: camera-in $?" ;;
            esac
        done < "$port"
    fi
    sleep 1
done
"""

UNIT = """[Unit]
Description=Virtual hall test agent (not part of the appliance)

[Service]
ExecStart=/usr/local/sbin/vhall-agent
StandardOutput=journal+console

[Install]
WantedBy=multi-user.target
"""


def qemu_args(sock):
    return ["-device", "virtio-serial-pci,id=vser",
            "-chardev", f"socket,id=vhagent,path={sock},server=on,wait=off",
            "-device", f"virtserialport,bus=vser.0,chardev=vhagent,name={PORT}"]


def install(disk, work):
    """Writes the agent and its unit into the root partition of the VM's disk copy."""
    # Slot A, the factory slot (an update to slot B is the image under test and gets no agent).
    offset = partition(disk, "hall-root-a")["offset"]
    script, unit = work / "vhall-agent", work / "vhall-agent.service"
    script.write_text(SCRIPT)
    script.chmod(0o755)
    unit.write_text(UNIT)
    unit.chmod(0o644)
    wants = "/etc/systemd/system/multi-user.target.wants"
    commands = "\n".join([
        "mkdir /usr/local/sbin",
        f"write {script} /usr/local/sbin/vhall-agent",
        f"write {unit} /etc/systemd/system/vhall-agent.service",
        f"mkdir {wants}",
        f"symlink {wants}/vhall-agent.service /etc/systemd/system/vhall-agent.service",
    ]) + "\n"
    r = subprocess.run(["debugfs", "-w", "-f", "-", f"{disk}?offset={offset}"], input=commands,
                       text=True, capture_output=True)
    check = subprocess.run(["debugfs", "-R", "stat /usr/local/sbin/vhall-agent",
                            f"{disk}?offset={offset}"], text=True, capture_output=True)
    if r.returncode != 0 or "Mode:  0755" not in check.stdout:
        raise SystemExit(f"agent: not written into the disk copy: {r.stderr[-300:]}"
                         f"{check.stdout[-300:]}")


class Agent:
    def __init__(self, sock):
        self.sock_path = sock
        self.sock = None

    def send(self, word, console, timeout=60):
        mark = console.mark()
        deadline = time.monotonic() + timeout
        while self.sock is None:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(str(self.sock_path))
                self.sock = s
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("agent: no socket")
                time.sleep(0.5)
        self.sock.sendall(f"{word}\n".encode())
        line = console.wait(rf"vhall-agent: {word} (\d+)", timeout, since=mark)
        if line is None:
            raise SystemExit(f"agent: no answer to {word}")
        log(f"agent: {line.strip()[-60:]}")
        if not line.rstrip().endswith(" 0"):
            raise SystemExit(f"agent: {word} failed in the guest: {line.strip()}")

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None
