"""Helpers of tools/failover: when the backends' servers become ready (inotify), the
milestones of one withdraw or announce run read from steerd, and the summary tables.

Every time is a wall-clock time (time.time(), seconds; steerd's *_unix_us fields are the same
clock in microseconds): steerd, the route watcher and this process run on one machine.
"""
import ctypes
import math
import os
import re
import select
import struct
import sys
import threading
import time

# ---------------------------------------------------------------------------------------------
# ReadyWatch: inotify on the lab's run directory.

IN_CREATE, IN_MOVED_TO = 0x100, 0x80
_libc = ctypes.CDLL(None, use_errno=True)


class ReadyWatch:
    """Stamps the creation of each `<backend>.ready` file in `directory` with time.time() when
    the kernel's notification is read (a thread blocked in poll(); the GIL switch interval is
    lowered while the watch runs so the stamp is not held back by the main thread). servers.py
    creates the file after every one of its sockets listens, so the stamp is at or a little
    after the moment the backend could answer a health check. Use as a context manager."""

    def __init__(self, directory, names):
        self.names = {f"{n}.ready": n for n in names}
        self.times = {}
        self._cond = threading.Condition()
        self._fd = _libc.inotify_init1(os.O_CLOEXEC | os.O_NONBLOCK)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if _libc.inotify_add_watch(self._fd, str(directory).encode(), IN_CREATE | IN_MOVED_TO) < 0:
            err = ctypes.get_errno()
            os.close(self._fd)
            raise OSError(err, f"inotify_add_watch {directory}")
        self._stop_r, self._stop_w = os.pipe()
        self._switch = None
        self._thread = threading.Thread(target=self._read, daemon=True)

    def __enter__(self):
        self._switch = sys.getswitchinterval()
        sys.setswitchinterval(0.0002)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        os.write(self._stop_w, b"x")
        self._thread.join(timeout=5)
        for fd in (self._fd, self._stop_r, self._stop_w):
            os.close(fd)
        sys.setswitchinterval(self._switch)
        return False

    def _read(self):
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)
        poller.register(self._stop_r, select.POLLIN)
        while True:
            ready = {fd for fd, _ in poller.poll()}
            t = time.time()
            if self._stop_r in ready:
                return
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                continue
            off = 0
            with self._cond:
                while off + 16 <= len(data):
                    _, mask, _, length = struct.unpack_from("iIII", data, off)
                    name = data[off + 16:off + 16 + length].split(b"\0", 1)[0].decode()
                    off += 16 + length
                    if name in self.names and self.names[name] not in self.times:
                        self.times[self.names[name]] = t
                self._cond.notify_all()

    def first(self):
        """(time, backend) of the first ready file seen, or (None, None)."""
        with self._cond:
            if not self.times:
                return None, None
            name = min(self.times, key=self.times.get)
            return self.times[name], name

    def wait_all(self, timeout):
        with self._cond:
            return self._cond.wait_for(lambda: len(self.times) == len(self.names), timeout)


# ---------------------------------------------------------------------------------------------
# Milestones of one run, from steerd's `show events`, `show bgp web` and `show status`.

def _s(us):
    return us / 1e6


class RunError(Exception):
    """A run whose milestones are not all there (reported as a failed run)."""


def _health_events(events, port, change):
    pat = re.compile(rf"^(\S+):{port}/\S+ {change}(?::|$)")
    out = []
    for e in events:
        m = pat.match(e["text"])
        if m:
            out.append((_s(e["at_unix_us"]), m.group(1), e["text"]))
    return out


def decision_of(unit, state, after):
    """The first history entry of `unit` (show bgp) that moved it to `state` at or after
    `after`: (at, confirmed or None, why), or None."""
    for h in unit["history"]:
        if h["state"] == state and _s(h["at_unix_us"]) >= after:
            conf = _s(h["confirmed_unix_us"]) if h["confirmed_unix_us"] else None
            return _s(h["at_unix_us"]), conf, h["why"]
    return None


def milestones(direction, t0, events, unit, pushes, route_t, port=80):
    """The milestone times (seconds) of one run: t0, detection, dataplane, decision,
    confirmed, route; plus what they are made of. direction "withdraw" or "announce".

    withdraw: detection = the last "<backend>:<port>/<check> up -> down" at or after t0 and at
    or before the decision to withdraw (the one that made the VIP unhealthy); dataplane = the
    last push the dataplane acknowledged at or after detection (nothing changes after it, so
    an earlier acknowledgement was of a push already in flight at detection).
    announce: detection = the first "down -> up" at or after t0; dataplane = the first push
    acknowledged at or after detection (nothing changed for a while before it: no push was in
    flight)."""
    state = "withdrawn" if direction == "withdraw" else "announced"
    d = decision_of(unit, state, t0)
    if d is None:
        raise RunError(f"no BGP decision '{state}' after t0 in show bgp's history")
    decision, confirmed, why = d
    if direction == "withdraw":
        changes = [e for e in _health_events(events, port, "up -> down") if t0 <= e[0] <= decision]
        if not changes:
            raise RunError("no backend 'up -> down' event between t0 and the BGP decision")
        detection, backend, _ = changes[-1]
    else:
        changes = [e for e in _health_events(events, port, "down -> up") if t0 <= e[0] <= decision]
        if not changes:
            raise RunError("no backend 'down -> up' event between t0 and the BGP decision")
        detection, backend, _ = changes[0]
    acks = [_s(p["acked_unix_us"]) for p in pushes if _s(p["acked_unix_us"]) >= detection]
    if not acks:
        raise RunError("no push acknowledged by the dataplane after detection")
    dataplane = acks[-1] if direction == "withdraw" else acks[0]
    if confirmed is None:
        raise RunError("BIRD never confirmed the decision (confirmed_unix_us = 0)")
    return {"t0": t0, "detection": detection, "dataplane": dataplane, "decision": decision,
            "confirmed": confirmed, "route": route_t, "backend": backend,
            "health_changes": len(changes), "pushes_after_detection": len(acks), "why": why}


# Rows of the table: (label, from, to); the milestones' names as in milestones().
STAGES = {
    "withdraw": [
        ("t0 → detection (the last backend's 'up -> down')", "t0", "detection"),
        ("detection → dataplane updated (push acknowledged)", "detection", "dataplane"),
        ("detection → BGP decision (withdrawn)", "detection", "decision"),
        ("BGP decision → BIRD confirmed (disable answered)", "decision", "confirmed"),
        ("BGP decision → route gone at the router's kernel", "decision", "route"),
        ("**t0 → route gone at the router (total)**", "t0", "route"),
    ],
    "announce": [
        ("t0' → detection (the first backend's 'down -> up')", "t0", "detection"),
        ("detection → dataplane updated (push acknowledged)", "detection", "dataplane"),
        ("detection → BGP decision (announced)", "detection", "decision"),
        ("BGP decision → BIRD confirmed (enable answered)", "decision", "confirmed"),
        ("BGP decision → route back at the router's kernel", "decision", "route"),
        ("**t0' → route back at the router (total)**", "t0", "route"),
    ],
}
# The dataplane's push and the BGP decision both follow detection; BIRD answers steerd and
# sends the BGP update at about the same time (the router may have it before steerd reads the
# answer): those rows start from the same milestone instead of forming a chain.


def stage_ms(m, a, b):
    return round((m[b] - m[a]) * 1000, 2)


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    v = sorted(values)
    return v[max(0, math.ceil(p / 100 * len(v)) - 1)]


def table(direction, runs):
    """The markdown table of one direction over the runs that completed."""
    done = [r["ms"] for r in runs if r["direction"] == direction and "ms" in r]
    lines = ["| stage | p50 ms | p99 ms | max ms | n |", "|---|---:|---:|---:|---:|"]
    for label, a, b in STAGES[direction]:
        key = f"{a}->{b}"
        values = [ms[key] for ms in done]
        if not values:
            lines.append(f"| {label} | - | - | - | 0 |")
            continue
        lines.append(f"| {label} | {percentile(values, 50):.1f} | {percentile(values, 99):.1f} | "
                     f"{max(values):.1f} | {len(values)} |")
    return "\n".join(lines)


def run_record(direction, run, m):
    """The JSON record of a completed run: milestones as offsets from t0 and the stages."""
    return {"direction": direction, "run": run, "t0_unix": round(m["t0"], 6),
            "at_ms": {k: round((m[k] - m["t0"]) * 1000, 2)
                      for k in ("detection", "dataplane", "decision", "confirmed", "route")},
            "ms": {f"{a}->{b}": stage_ms(m, a, b) for _, a, b in STAGES[direction]},
            "backend": m["backend"], "health_changes": m["health_changes"],
            "pushes_after_detection": m["pushes_after_detection"], "why": m["why"]}
