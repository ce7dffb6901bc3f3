"""Power cuts: the machine is hard-reset (QMP system_reset: no shutdown, no sync) at random
moments during submissions. After each boot the data partition must mount clean and the kiosk
come back to its home screen by itself; over all cuts the platform must hold every submission
the citizen was shown exactly once and none they were not (the crash test's invariant,
tests/crash.rs, now through a real kernel, file system and power loss).

What the citizen was shown is read from the kiosk's journal on the serial console:
"submission shown to the applicant" follows the frame that shows the outcome; "telling the
applicant" comes just before the kiosk commits to telling (a cut between the two may end either
way); a submission sent but never told must not stay on the platform."""

import random
import re
import subprocess
import time

from citizen import Citizen, CutNow, Failed
from machine import KIOSK_ID, log

KEY = re.compile(r"key=\"?([0-9a-f-]{36})")
FS_TROUBLE = re.compile(r"EXT4-fs error|UNEXPECTED INCONSISTENCY|fsck.*(failed|error)|"
                        r"Failed to mount|Dependency failed for.*hall-kiosk", re.I)


def told_sets(lines):
    sent, telling, shown = set(), set(), set()
    for line in lines:
        m = KEY.search(line)
        if not m:
            continue
        if "submission shown to the applicant" in line:
            shown.add(m.group(1))
        elif "telling the applicant" in line:
            telling.add(m.group(1))
        elif "submission sent" in line:
            sent.add(m.group(1))
    return sent, telling, shown


# A cut takes under two minutes under emulation (the walk, the reset, the boot); the checks at
# the end about one. At least this many cuts run whatever the deadline.
CUT_SECONDS = 150
CLOSING_SECONDS = 120
MIN_CUTS = 3


def run(hall, cuts, seed=None, deadline=None):
    """`deadline` (seconds since the epoch): no new cut starts when it could not end before it
    (after `MIN_CUTS`); the cuts not run are reported."""
    seed = seed if seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    log(f"power cuts: {cuts} (seed {seed})")
    c = Citizen(hall)
    vm = hall.vm
    rounds = []
    for n in range(cuts):
        if (deadline is not None and n >= MIN_CUTS
                and time.time() + CUT_SECONDS + CLOSING_SECONDS > deadline):
            log(f"power cuts: {cuts - n} of {cuts} left out to end within the time limit")
            break
        c.go_home()
        mark = vm.console.mark()
        # Most cuts land around the sending: some the moment the platform has committed the
        # application (its log, on the host: the answer is on its way, the kiosk has not told
        # anyone yet), some on the kiosk's own "submission sent" line
        # (the request is on its way; the outbox holds the entry; the screen is not yet told:
        # the window the outbox exists for), some timed from the release of 提交申请 (the
        # outbox, the request, the platform's commit, the answer, the outbox again, the screen;
        # under emulation often under 0.1 s in all); the others anywhere in the journey.
        r = rng.random()
        mode = ("on_commit" if r < 0.3 else "on_sent" if r < 0.45 else
                "near_send" if r < 0.75 else "anywhere")
        delay = (rng.uniform(0.0, 0.05) if mode in ("on_commit", "on_sent") else
                 rng.uniform(0.0, 0.15) if mode == "near_send" else rng.uniform(5.0, 60.0))
        where = cut_during_submission(c, hall, mark, mode, delay)
        t_cut = time.monotonic()
        vm.qmp.call("system_reset")
        after = vm.console.mark()
        sent, telling, shown = told_sets(vm.console.lines[mark:after])
        outcome = ("shown" if shown else "told, not yet shown" if telling
                   else "sent, not told" if sent else "not sent")
        if hall.reader:
            hall.reader.send("remove")
        log(f"cut {n + 1}/{cuts}: {where} ({outcome})")
        ready = vm.console.wait(r"Started hall-kiosk\.service", 300, since=after)
        if ready is None:
            raise Failed(f"cut {n + 1}: the kiosk did not start again")
        home = vm.console.wait(r"screen shown.*screen=Home", 60, since=after)
        if home is None:
            raise Failed(f"cut {n + 1}: the kiosk did not come back to its home screen")
        back_s = time.monotonic() - t_cut
        trouble = [line for line in vm.console.since(after) if FS_TROUBLE.search(line)]
        if trouble:
            raise Failed(f"cut {n + 1}: file system trouble after the cut: {trouble[:3]}")
        replay = any("recovery complete" in line or "recovering journal" in line
                     for line in vm.console.since(after))
        rounds.append({"where": where, "submission": outcome, "back_home_s": round(back_s, 1),
                       "journal_replayed": replay})
        time.sleep(1)
        if n == 0:
            hall.shot("after-first-cut")

    # Let the outbox settle (told entries delivered, untold ones withdrawn), then power off
    # cleanly and look at the data partition and the outbox.
    time.sleep(30)
    verdict = invariant(hall)
    hall.result["phases"]["cuts"] = {"cuts": len(rounds), "asked": cuts, "seed": seed,
                                     "rounds": rounds, **verdict}
    log(f"power cuts: {verdict}")
    return verdict


def cut_during_submission(c, hall, mark, mode, delay):
    """Walks a submission and returns at the moment of the cut: `delay` s after the kiosk
    logged sending it (on_sent), after touching 提交申请 (near_send), or into the journey."""
    start = time.monotonic()
    if mode == "on_commit":
        log_path = hall.out / "platform.log"
        offset = log_path.stat().st_size
        c.submit(shots=False, until_submit=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with open(log_path, "rb") as f:
                f.seek(offset)
                if b"application accepted" in f.read():
                    break
            time.sleep(0.002)
        else:
            return "the platform logged no accepted application within 60 s"
        time.sleep(delay)
        return f"{delay:.3f} s after the platform committed the application"
    if mode == "on_sent":
        c.submit(shots=False, until_submit=True)
        if c.console.wait(r"submission sent", 60, since=mark, poll=0.005) is None:
            return "no 'submission sent' line within 60 s of touching 提交申请"
        time.sleep(delay)
        return f"{delay:.3f} s after the kiosk logged sending"
    if mode == "near_send":
        c.submit(shots=False, until_submit=True)
        time.sleep(delay)
        return f"{delay:.2f} s after touching 提交申请"
    c.cut_at = start + delay
    try:
        c.submit(shots=False)
        time.sleep(max(0.0, c.cut_at - time.monotonic()))
    except CutNow:
        pass
    finally:
        c.cut_at = None
    return f"{time.monotonic() - start:.1f} s into a submission"


def invariant(hall):
    vm = hall.vm
    # A clean power-off: the outbox is read from the disk afterwards.
    vm.qmp.call("system_powerdown")
    try:
        vm.proc.wait(120)
    except subprocess.TimeoutExpired:
        vm.qmp.call("quit")
    sent, telling, shown = told_sets(vm.console.lines)
    rows = hall.platform.query(
        "SELECT k.key, c.status FROM cases c JOIN idempotency_keys k "
        "ON k.approval_code = c.approval_code WHERE c.kiosk_id = ?", (KIOSK_ID,))
    scope = f"{KIOSK_ID}:"
    active = {}
    for key, status in rows:
        key = key[len(scope):] if key.startswith(scope) else key
        if status != 2:  # BLZT 2: withdrawn
            active[key] = active.get(key, 0) + 1
    problems = []
    for key in shown:
        if active.get(key) != 1:
            problems.append(f"shown {key} is on the platform {active.get(key, 0)} times")
    ambiguous = telling - shown
    for key, count in active.items():
        if key not in shown and key not in ambiguous:
            problems.append(f"{key} is on the platform but the citizen was never told")
        if count > 1:
            problems.append(f"{key} is on the platform {count} times")
    outbox_left = outbox_rows(hall)
    fsck = data_fsck(hall)
    if outbox_left:
        problems.append(f"{outbox_left} entries left in the outbox")
    if not fsck["clean"]:
        problems.append(f"the data partition is not clean: {fsck['output'][-300:]}")
    if problems:
        raise Failed("; ".join(problems))
    return {"sent": len(sent), "shown": len(shown), "cut_between_commit_and_screen":
            len(ambiguous), "active_cases": len(active), "outbox_left": outbox_left,
            "data_fsck_clean": fsck["clean"]}


def data_partition(hall):
    from machine import extract
    return extract(hall.disk, "hall-data", hall.out / "data.fs")


def data_fsck(hall):
    data = data_partition(hall)
    r = subprocess.run(["e2fsck", "-fn", str(data)], text=True, capture_output=True)
    return {"clean": r.returncode == 0, "output": r.stdout + r.stderr}


def outbox_rows(hall):
    import sqlite3
    data = hall.out / "data.fs"
    if not data.exists():
        data_partition(hall)
    dump = hall.out / "outbox-after.sqlite"
    for suffix in ("", "-wal", "-shm"):
        target = f"{dump}{suffix}"
        subprocess.run(["debugfs", "-R", f"dump /outbox.sqlite{suffix} {target}", str(data)],
                       capture_output=True)
    try:
        db = sqlite3.connect(str(dump))
        return db.execute("SELECT count(*) FROM outbox").fetchone()[0]
    except sqlite3.Error as e:
        raise Failed(f"the outbox cannot be read after the cuts: {e}")
