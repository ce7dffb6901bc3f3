"""Device faults in the real stack: the USB ID card reader unplugged and plugged in again
mid-session (QMP device_del / device_add: the guest's USB and ftdi_sio drivers, udev's
/dev/hall/idcard), the network printer's TCP peer gone (the kiosk's printer-error path), and the
camera removed on the capture screen and plugged in again (vivid unbound and bound by the test
agent: the node vanishes under the kiosk, as a UVC camera's does when its cable is pulled)."""

import json
import time

from citizen import ITEM, Citizen, Failed
from machine import KIOSK_ID, Vm, log


def device_health(hall):
    k = json.loads(hall.kioskctl("--json", "show", KIOSK_ID))
    return k.get("devices") or {}


def reader_unplugged(hall, c):
    vm = hall.vm
    c.go_home()
    c.press("home", "办理申请", then="Identify")
    mark = vm.console.mark()
    vm.qmp.call("device_del", id="idcard-reader")
    absent = c.wait_log(r"device absent.*(idcard|ID card|reader)|"
                        r"(idcard|ID card|reader).*device absent", 60, since=mark)
    time.sleep(1.5)
    c.shot("reader-unplugged")
    log(f"reader unplugged: {absent.strip()[-120:]}")
    mark = vm.console.mark()
    args = dict(kv.split("=", 1) for kv in Vm.IDCARD_DEV.split(","))
    vm.qmp.call("device_add", **args)
    ok = c.wait_log(r"device ok.*(idcard|ID card|reader)|(idcard|ID card|reader).*device ok",
                    90, since=mark)
    log(f"reader plugged in again: {ok.strip()[-120:]}")
    # Recovered by itself: the card is read on the same screen.
    hall.reader.send("place")
    c.wait_screen("Items", 90, since=mark)
    c.shot("reader-recovered")
    hall.reader.send("remove")
    back_home(c)
    return {"absent_logged": True, "recovered_and_read": True}


def camera_removed(hall, c):
    vm = hall.vm
    c.go_home()
    c.press("home", "办理申请", then="Identify")
    hall.reader.send("place")
    c.wait_screen("Items", 60)
    c.press("items", ITEM, then="Materials")
    c.press("materials", "下一步", then="Capture")
    mark = vm.console.mark()
    hall.agent.send("camera-out", vm.console)
    absent = c.wait_log(r"device absent.*camera|camera.*device absent", 60, since=mark)
    time.sleep(1.5)
    c.shot("camera-removed")
    log(f"camera removed: {absent.strip()[-120:]}")
    mark = vm.console.mark()
    hall.agent.send("camera-in", vm.console)
    ok = c.wait_log(r"device ok.*camera|camera.*device ok", 90, since=mark)
    log(f"camera plugged in again: {ok.strip()[-120:]}")
    # Recovered by itself: a page is taken on the same screen.
    if c.screen() != "Capture":
        raise Failed(f"after the camera came back the kiosk shows {c.screen()}, not Capture")
    before = vm.console.mark()
    c.press("capture", "拍照")
    c.wait_photo(before)
    c.shot("camera-recovered")
    back_home(c, ("capture", "items", "identify"))
    return {"absent_logged": True, "recovered_and_photographed": True}


def back_home(c, screens=("items", "identify")):
    """Ends a session the way a citizen walks away: the inactivity limit, or 结束办理."""
    mark = c.console.mark()
    for screen in screens:
        try:
            c.press(screen, "结束办理")
            break
        except KeyError:
            continue
    if c.console.wait(r"screen shown.*screen=Home", 20, since=mark) is None:
        c.wait_screen("Home", 200, since=mark)
    c.take_card_closes()


def printer_gone(hall, c, code):
    vm = hall.vm
    c.go_home()
    hall.printer.stop()
    log("printer: its TCP peer is gone")
    mark = vm.console.mark()
    c.scan(code)
    c.wait_screen("Progress", 60, since=mark)
    c.press("progress", "打印进度单")
    c.wait_screen("PrinterError", 90, since=mark)
    c.shot("printer-error")
    log("printer: the kiosk shows the printer-error screen")
    # The printer comes back; the session ends normally.
    hall.printer = hall.start_printer()
    mark = vm.console.mark()
    # 结束办理 (on the printer-error screen as on the progress screen): the lookup was done, so
    # the rating screen follows (跳过), then home. A touch the emulated machine missed is
    # touched again, as a person would.
    c.press("printer-error", "结束办理")
    if c.console.wait(r"screen shown.*screen=(Rating|Home)\b", 15, since=mark) is None:
        log("no screen after touching 结束办理: touching it again")
        c.press("printer-error", "结束办理")
    c.rate(mark, "跳过")
    return {"printer_error_screen": True}


def run(hall):
    c = Citizen(hall)
    results = {}
    if hall.reader is None:
        log("faults: the reader is an outside one (--idcard-pty); unplugging it is skipped")
    else:
        results["reader_unplugged"] = reader_unplugged(hall, c)
    code = (hall.result["phases"].get("journeys", {}).get("submission", {})
            .get("approval_code"))
    if code is None:
        raise Failed("the printer fault needs a case: run the journeys phase first")
    results["printer_gone"] = printer_gone(hall, c, code)
    if hall.reader is not None and getattr(hall, "agent", None) is not None:
        results["camera_removed"] = camera_removed(hall, c)
    hall.result["phases"]["faults"] = results
    return results
