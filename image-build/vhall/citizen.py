"""The scripted citizen: touches on the touchscreen, the card on the reader, codes through the
scanner; every outcome checked on the receipt, on the platform and on the screen."""

import json
import re
import time

import escpos
from machine import KIOSK_ID, log
from qemu import last_screen

# The demo registry and fee notices of `hall-platform serve --demo` (platform/src/demo.rs).
PROJECT_CODE = "2026-420600-47-01-000123"
APPLICANT_PHONE = "13800138000"
PAYMENT_CODE = "42060026110200000183"
PAYMENT_TOTAL_FEN = 56_000
WALLET_OK = "134567890123456789"
ITEM = "建设工程规划许可证"
CASE_LATE = "2026110200000118"


class Failed(Exception):
    pass


class CutNow(Exception):
    """The moment chosen for a power cut has come (the walk stops where it is)."""


class Citizen:
    def __init__(self, hall):
        self.hall = hall
        self.vm = hall.vm
        self.console = hall.vm.console
        self.layout = hall.layout
        self.touches = 0
        self.rated = []
        # A power cut's moment (time.monotonic()); a walk stops there with CutNow.
        self.cut_at = None

    def _left(self, timeout):
        if self.cut_at is None:
            return timeout
        left = self.cut_at - time.monotonic()
        if left <= 0:
            raise CutNow()
        return min(timeout, left)

    def _timed_out(self, what):
        if self.cut_at is not None and time.monotonic() >= self.cut_at:
            raise CutNow()
        raise Failed(what)

    # --- seeing ---------------------------------------------------------------------------
    def screen(self):
        return last_screen(self.console)

    def wait_screen(self, name, timeout=60, since=None):
        if since is None and self.screen() == name:
            return
        line = self.console.wait(rf"screen shown.*screen={name}\b", self._left(timeout),
                                 since=since)
        if line is None:
            self._timed_out(f"waited {timeout} s for the {name} screen; the kiosk shows "
                            f"{self.screen()}")
        time.sleep(0.8)  # the frame after the change is on the display

    def wait_log(self, pattern, timeout=60, since=None, poll=0.1):
        line = self.console.wait(pattern, self._left(timeout), since=since, poll=poll)
        if line is None:
            self._timed_out(f"waited {timeout} s for the kiosk to log {pattern!r}")
        return line

    def shot(self, name):
        return self.hall.shot(name)

    # --- acting ---------------------------------------------------------------------------
    def press(self, layout_screen, label, then=None, timeout=60, settle=True):
        x, y = self.layout.centre(layout_screen, label)
        self._left(1)
        mark = self.console.mark()
        self.vm.qmp.touch(x, y)
        self.touches += 1
        if then:
            # A touch the emulated machine was too slow to take (libinput's button debounce
            # under emulation) leaves the screen as it was: touch again, as a person would.
            first = min(15, timeout)
            if self.console.wait(rf"screen shown.*screen={then}\b", self._left(first),
                                 since=mark) is None:
                log(f"no {then} screen after touching {label!r}: touching it again")
                self.vm.qmp.touch(x, y)
                self.touches += 1
                self.wait_screen(then, max(1, timeout - first), since=mark)
            time.sleep(0.8)
        elif settle:
            time.sleep(0.6)

    def type_keys(self, layout_screen, text):
        for c in text:
            if c.isalnum():
                self.press(layout_screen, c)

    def scan(self, code):
        self.vm.qmp.scan(code)

    def printed_since(self, offset):
        try:
            data = self.hall.printed.read_bytes()
        except FileNotFoundError:
            return b""
        return data[offset:]

    def printed_len(self):
        try:
            return self.hall.printed.stat().st_size
        except FileNotFoundError:
            return 0

    def wait_receipt(self, offset, timeout=60):
        """The bytes of one job printed after `offset` (complete once the paper is cut)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.printed_since(offset)
            if escpos.CUT in job:
                return job
            time.sleep(0.3)
        raise Failed(f"no receipt was printed within {timeout} s")

    # --- journeys ---------------------------------------------------------------------------
    def go_home(self):
        if self.screen() != "Home":
            self.wait_screen("Home", 60)

    def submit(self, shots=True, tag="", until_submit=False):
        """A submission with the ID card; returns (receipt bytes, idempotency key, pages), or
        with `until_submit` returns the moment 提交申请 was touched."""
        mark = self.console.mark()
        self.press("home", "办理申请", then="Identify")
        if shots:
            self.shot(f"identify{tag}")
        self.hall.reader.send("place")
        self.wait_screen("Items", 60)
        if shots:
            self.shot(f"items{tag}")
        self.press("items", ITEM, then="Materials")
        self.press("materials", "下一步", then="Capture")
        if shots:
            self.shot(f"capture{tag}")
        pages = 0
        while self.screen() == "Capture" and pages < 12:
            before = self.console.mark()
            self.press("capture", "拍照")
            self.wait_photo(before)
            if shots and pages == 0:
                self.shot(f"capture-photo{tag}")
            pages += 1
            self.press("capture", "下一份材料")
            time.sleep(1.5)
        self.wait_screen("Form", 30)
        self.type_keys("form", PROJECT_CODE)
        time.sleep(3)  # the registry's answer: the project's name and its organisation
        if shots:
            self.shot(f"form{tag}")
        self.press("form", "下一步")
        self.type_keys("form", APPLICANT_PHONE)
        self.press("form", "下一步", then="Review")
        if shots:
            self.shot(f"review{tag}")
        printed_at = self.printed_len()
        # Returning at once when cutting: the power cut's timing starts at the touch.
        self.press("review", "提交申请", settle=not until_submit)
        if until_submit:
            return None, None, pages
        shown = self.wait_log(r"submission shown to the applicant", 120, since=mark)
        key = re.search(r"key=\"?([0-9a-f-]{36})", shown)
        self.wait_screen("Submitted", 30, since=mark)
        receipt = self.wait_receipt(printed_at)
        if shots:
            self.shot(f"submitted{tag}")
        return receipt, (key.group(1) if key else None), pages

    def wait_photo(self, since, timeout=60):
        """A page was taken: the camera answered (or the kiosk said it could not)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.console.since(since):
                if "camera could not take a photo" in line:
                    raise Failed(f"the camera failed: {line}")
            if self.console.wait(r"screen shown.*screen=CameraError", 0.5, since=since):
                raise Failed("the kiosk shows the camera error screen")
            # The photo takes a moment on the emulated camera; the preview replaces the live
            # view. No log line marks it: give it time, then check the screen has not failed.
            if time.monotonic() > deadline - timeout + 6:
                return
            self._left(1)
        raise Failed("no photo")

    def finish(self, layout_screen, rating="非常满意", reason=None, label="完成"):
        """Ends a completed journey: 完成 (or `label`), then the 好差评 screen: a rating (and for
        a poor one a reason), or 跳过."""
        mark = self.console.mark()
        self.press(layout_screen, label)
        if self.hall.reader:
            self.hall.reader.send("remove")
        self.rate(mark, rating, reason)
        self.take_card_closes()

    def rate(self, mark, rating="跳过", reason=None):
        """On the rating screen that follows a completed journey (since `mark`): touches the
        rating, and the reason when asked; then waits for the home screen."""
        line = self.console.wait(r"screen shown.*screen=(Rating|Home)\b", self._left(40),
                                 since=mark)
        if line is None:
            self._timed_out(f"no rating or home screen; the kiosk shows {self.screen()}")
        if "screen=Rating" in line:
            time.sleep(0.8)
            self.rated.append(rating)
            self.press("rating", rating)
            if reason:
                time.sleep(1.0)
                self.press("rating-reason", reason)
        self.wait_screen("Home", 40, since=mark)

    def take_card_closes(self):
        """The reminder to take card and receipt stays over the home screen for 8 s (a touch
        would only close it): wait it out, so that the next touch reaches the screen."""
        time.sleep(self._left(9))


def check_submission(hall, receipt, key):
    r = escpos.decode(receipt)
    code = r.approval_code()
    if not code:
        raise Failed(f"no approval code on the receipt: {r.text[:400]!r}")
    if "张**" not in r.text or "张建国" in r.text:
        raise Failed("the receipt's applicant is not masked as 张**")
    if "420602195803120011" in r.text:
        raise Failed("the receipt carries the whole ID number")
    if "420***********0011" not in r.text:
        raise Failed("the receipt does not carry the masked ID number 420***********0011")
    if code not in r.qr_payloads_joined():
        raise Failed(f"the receipt's QR does not carry the code {code}: {r.qr}")
    rows = hall.platform.query(
        "SELECT c.approval_code, c.status, c.kiosk_id FROM cases c WHERE c.approval_code = ?",
        (code,))
    if len(rows) != 1 or rows[0][2] != KIOSK_ID:
        raise Failed(f"the platform holds {rows} for {code}")
    if key:
        keyed = hall.platform.query(
            "SELECT count(*) FROM idempotency_keys WHERE key = ? AND approval_code = ?",
            (f"{KIOSK_ID}:{key}", code))
        if keyed[0][0] != 1:
            raise Failed(f"the submission's key {key} is not on the platform once")
    return {"approval_code": code, "masked_name": True, "masked_id": True,
            "qr": True, "platform_rows": 1, "receipt_bytes": len(receipt)}


def check_journey_events(hall, timeout=120):
    """What the citizen did reached the platform through the kiosk's outbox, nothing personal:
    the three journeys started and finished, the submission rated 非常满意 (5), the payment
    不满意 (2) for 等待时间太长, the lookup's rating skipped."""
    deadline = time.monotonic() + timeout
    while True:
        rows = hall.platform.query(
            "SELECT kind, event, rating, reason FROM journey_events WHERE kiosk_id = ?",
            (KIOSK_ID,))
        finished = sorted(k for k, e, _, _ in rows if e == "finished")
        rated = sorted((k, r, why) for k, e, r, why in rows if e == "rated")
        if finished == ["lookup", "payment", "submission"] and len(rated) >= 2:
            break
        if time.monotonic() > deadline:
            raise Failed(f"the platform holds these journey events: {rows}")
        time.sleep(3)
    if rated != [("payment", 2, "too_slow"), ("submission", 5, None)]:
        raise Failed(f"the ratings on the platform: {rated}")
    log(f"journey events: {len(rows)} on the platform (3 journeys finished, 2 rated)")
    return {"events": len(rows), "finished": finished, "rated": rated}


def run_lookup(hall):
    """One lookup: a demo case's code scanned on the home screen opens its progress."""
    c = Citizen(hall)
    c.go_home()
    t0 = time.monotonic()
    mark = c.console.mark()
    c.scan(CASE_LATE)
    c.wait_screen("Progress", 120, since=mark)
    c.shot("lookup-progress")
    seconds = round(time.monotonic() - t0, 1)
    c.finish("progress", rating="跳过", label="结束办理")
    hall.result["phases"]["lookup"] = {"approval_code": CASE_LATE, "seconds": seconds}
    log(f"lookup: {CASE_LATE} scanned, its progress shown after {seconds} s")


def run_journeys(hall):
    c = Citizen(hall)
    results = {}
    c.go_home()

    # 1. A submission with the ID card.
    t0 = time.monotonic()
    receipt, key, pages = c.submit()
    (hall.out / "receipt-submission.bin").write_bytes(receipt)
    results["submission"] = check_submission(hall, receipt, key)
    results["submission"]["pages_photographed"] = pages
    results["submission"]["seconds"] = round(time.monotonic() - t0, 1)
    code = results["submission"]["approval_code"]
    log(f"submission: approval code {code} on the receipt (masked, QR) and on the platform")
    c.finish("submitted")

    # 2. A lookup by the code scanned from that receipt, on the home screen.
    t0 = time.monotonic()
    mark = c.console.mark()
    c.scan(code)
    c.wait_screen("Progress", 60, since=mark)
    c.shot("progress")
    results["lookup"] = {"approval_code": code, "seconds": round(time.monotonic() - t0, 1)}
    log("lookup: the scanned code opened its progress")
    c.finish("progress", rating="跳过", label="结束办理")

    # 3. A payment: the fee notice's code scanned, then a phone's payment code.
    t0 = time.monotonic()
    mark = c.console.mark()
    c.scan(PAYMENT_CODE)
    c.wait_screen("Payment", 60, since=mark)
    c.shot("payment")
    printed_at = c.printed_len()
    c.press("payment", "出示付款码", then="Paying")
    c.scan(WALLET_OK)
    c.wait_screen("Paid", 120, since=mark)
    receipt = c.wait_receipt(printed_at)
    (hall.out / "receipt-payment.bin").write_bytes(receipt)
    c.shot("paid")
    r = escpos.decode(receipt)
    notice = hall.platform.query(
        "SELECT status, paid_order_id FROM fee_notices WHERE payment_code = ?", (PAYMENT_CODE,))
    orders = hall.platform.query(
        "SELECT status, method FROM orders WHERE payment_code = ? AND status = 'paid'",
        (PAYMENT_CODE,))
    if notice[0][0] != "paid" or len(orders) != 1 or orders[0][1] != "scan":
        raise Failed(f"the platform's notice {notice}, paid orders {orders}")
    if "伍佰陆拾元整" not in r.text and "560.00" not in r.text:
        raise Failed("the payment receipt does not state the amount")
    results["payment"] = {"notice": "paid", "orders_paid": 1, "method": "scan",
                          "seconds": round(time.monotonic() - t0, 1)}
    log("payment: paid by a scanned payment code; notice paid once on the platform")
    c.finish("paid", rating="不满意", reason="等待时间太长")

    # 4. Help: the button raises a request the help desk sees, through the fleet path.
    mark = c.console.mark()
    c.press("home", "帮助")
    if c.console.wait(r"help requested at the kiosk", 15, since=mark) is None:
        log("no help request after touching 帮助: touching it again")
        c.press("home", "帮助")
        c.wait_log(r"help requested at the kiosk", 30, since=mark)
    time.sleep(1)
    c.shot("help")
    deadline = time.monotonic() + 60
    while True:
        k = json.loads(hall.kioskctl("--json", "show", KIOSK_ID))
        if k.get("needs_help"):
            break
        if time.monotonic() > deadline:
            raise Failed("the help desk never saw the help request")
        time.sleep(2)
    c.press("help", "知道了，我自己继续")
    results["help"] = {"seen_by_help_desk": True}
    log("help: the help desk sees the request (kioskctl show)")

    # 5. A help-desk restart: the command travels the fleet path; a new process starts.
    mark = c.console.mark()
    hall.kioskctl("restart", KIOSK_ID)
    t0 = time.monotonic()
    c.wait_log(r"fleet command received", 90, since=mark)
    c.wait_log(r"Started hall-kiosk\.service", 120, since=mark)
    c.wait_screen("Home", 60, since=mark)
    results["restart"] = {"seconds_to_home": round(time.monotonic() - t0, 1)}
    log(f"help-desk restart: the kiosk was back home in {results['restart']['seconds_to_home']} s")
    results["touches"] = c.touches
    results["journey_events"] = check_journey_events(hall)
    # The help desk sees every device working (a heartbeat every 30 s; a new process's first
    # one may come before its devices reported).
    deadline = time.monotonic() + 90
    while True:
        devices = json.loads(hall.kioskctl("--json", "show", KIOSK_ID)).get("devices") or {}
        if devices and all(v == "ok" for v in devices.values()):
            break
        if time.monotonic() > deadline:
            raise Failed(f"the help desk sees the devices as {devices}")
        time.sleep(3)
    results["devices_seen_by_help_desk"] = devices
    hall.result["phases"]["journeys"] = results
    return results
