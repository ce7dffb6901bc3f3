#!/usr/bin/env python3
"""What the OS image takes from a board profile (board/NAME.toml).

    board.py PROFILE.toml arch         Debian architecture of the board
    board.py PROFILE.toml display-env  systemd EnvironmentFile for the kiosk (linuxkms settings)
    board.py PROFILE.toml touch-rules  udev rule rotating touch with the display
    board.py PROFILE.toml video-arg    kernel argument forcing the profile's mode on its output
    board.py PROFILE.toml kiosk-base   [display] and [devices] of the kiosk's configuration
"""
import sys
import tomllib

# libinput's calibration matrices for a touchscreen turned clockwise with the display
# (the same as kiosk_drivers::board::touch_calibration_matrix).
MATRIX = {
    0: "1 0 0 0 1 0",
    90: "0 -1 1 1 0 0",
    180: "-1 0 1 0 -1 1",
    270: "0 1 0 -1 0 1",
}


def toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], "rb") as f:
        p = tomllib.load(f)
    what = sys.argv[2]
    display = p["display"]
    rotation = int(display.get("rotation", 0))
    if rotation not in MATRIX:
        print(f"display.rotation {rotation}: expected 0, 90, 180 or 270", file=sys.stderr)
        return 1
    if what == "arch":
        print("amd64" if p["name"].startswith("x86") else "arm64")
    elif what == "display-env":
        print(f"# From board/{p['name']}.toml: {p['description']}")
        print("SLINT_BACKEND=linuxkms-software")
        # The start script drops it when that output is not connected (first connected wins).
        print(f"SLINT_DRM_OUTPUT={display['output']}")
        print(f"SLINT_KMS_ROTATION={rotation}")
    elif what == "touch-rules":
        print(f"# Touch turns with the display: board/{p['name']}.toml rotates it {rotation} degrees")
        print("# clockwise (SLINT_KMS_ROTATION), which does not rotate input; libinput does.")
        print(
            'ACTION!="remove", SUBSYSTEM=="input", KERNEL=="event[0-9]*", '
            'ENV{ID_INPUT_TOUCHSCREEN}=="1", '
            f'ENV{{LIBINPUT_CALIBRATION_MATRIX}}="{MATRIX[rotation]}"'
        )
    elif what == "video-arg":
        mode = display.get("mode")
        if mode:
            print(f"video={display['output']}:{mode}")
    elif what == "kiosk-base":
        print("[display]")
        print("fullscreen = true")
        print("sim_panel = false")
        print()
        print("[devices]")
        for k in ("idcard", "scanner", "printer", "camera"):
            print(f"{k} = {toml_str(p['devices'][k])}")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
