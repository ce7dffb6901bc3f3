#!/usr/bin/env python3
"""A few QMP commands to a running qemu:  qmp.py SOCKET screendump FILE [png|ppm] | powerdown | quit"""
import json
import socket
import sys


def main() -> int:
    path, cmd = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(path)
    f = s.makefile("rw")

    def call(execute, arguments=None):
        msg = {"execute": execute}
        if arguments:
            msg["arguments"] = arguments
        f.write(json.dumps(msg) + "\n")
        f.flush()
        while True:
            line = f.readline()
            if not line:
                raise SystemExit(f"qmp: connection closed during {execute}")
            reply = json.loads(line)
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise SystemExit(f"qmp: {execute}: {reply['error']}")

    json.loads(f.readline())  # the greeting
    call("qmp_capabilities")
    if cmd == "screendump":
        args = {"filename": sys.argv[3]}
        if len(sys.argv) > 4:
            args["format"] = sys.argv[4]
        call("screendump", args)
    elif cmd == "quit":
        call("quit")
    elif cmd == "powerdown":
        call("system_powerdown")
    else:
        raise SystemExit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
