#!/usr/bin/python3
"""steerd end to end on the netns lab: steerd (in the LB namespace) health-checks the lab's real
servers and drives the real steer-dataplane; steerctl talks to it. Servers are stopped, made
to hang, to answer 503, to flap; operators drain, disable, force up and re-weight; the file is
reloaded; the dataplane is killed and restarted; metrics are read.

  steerd_test.py CASE      run one case in its own lab (prefix "slsd-..."), torn down after
  steerd_test.py --list    the cases

Each case prints its checks and ends with "PASS <case> (<s>)" or "FAIL <case>: <reasons>";
the exit status is 0 only on PASS. The lab (and steerd with it) is torn down even when a case
fails or is killed by meson's timeout. Environment: STEER_BUILD (build directory).

The lab's steerd config (lablib.steerd_config): VIPs web (v4 :80, http check), echo (v4 :7 tcp,
tcp check), udp-echo (v4 :7 udp GUE, udp check), web6 and echo6 (the same on IPv6), backends
b1..b4 (10.0.1N.2 / fd00:1N::2); every check interval 100 ms, timeout 50 ms, rise 2, fall 3.
"""
import json
import os
import re
import signal
import socket
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "testing" / "lab"))
import lablib  # noqa: E402
from lab_test import QuietChecks, check_same, echo_sources, errors_of, run_in_lab  # noqa: E402
from lablib import Lab, http_many, open_echo_conns, udp_many, wait_until  # noqa: E402


INTERVAL_MS, TIMEOUT_MS, RISE, FALL = 100, 50, 2, 3
# A backend stopped or cut off is out of the dataplane within interval × fall + timeout
# + 20 ms (tools/detect-bench measures it); the tests allow more for process start-up noise
# on the shared cores.
DETECT_BOUND_S = (INTERVAL_MS * FALL + TIMEOUT_MS + 20) / 1000.0
DETECT_SLACK_S = 1.0

ADDR = {f"b{i}": (f"10.0.1{i}.2", f"fd00:1{i}::2") for i in range(1, 5)}
V4 = {n: a[0] for n, a in ADDR.items()}
V6 = {n: a[1] for n, a in ADDR.items()}
VIPS = {  # steerd VIP name -> (dataplane VIP address, proto, port)
    "web": ("192.0.2.10", "tcp", 80),
    "echo": ("192.0.2.10", "tcp", 7),
    "udp-echo": ("192.0.2.10", "udp", 7),
    "web6": ("2001:db8::10", "tcp", 80),
    "echo6": ("2001:db8::10", "tcp", 7),
}


def norm(address):
    f = lablib.fam(address)
    return socket.inet_ntop(f, socket.inet_pton(f, address))


def addr_of(name, vip):
    return V6[name] if VIPS[vip][0].count(":") else V4[name]


def pool(lab, vip, state=None):
    """{backend name: (state, weight)} of a steerd VIP in the dataplane's applied state."""
    got = lab.dp_pool(*VIPS[vip], state=state) or {}
    return {lab.backend_name(a): v for a, v in got.items()}


def names_in(lab, vip, state=None):
    return set(pool(lab, vip, state))


def dp_generation(lab):
    with lab.api() as api:
        return api.state()["generation"]


def steerd_desired(lab):
    """{steerd VIP: {backend address: (state, weight or None if drained)}} as steerd sees it
    (show backends): what its desired state puts in the dataplane."""
    out = {}
    for b in lab.steerd_show("backends")["backends"]:
        pools = out.setdefault(b["vip"], {})
        if b["effective"] != "down":
            pools[norm(b["address"])] = (b["effective"],
                                         b["weight"] if b["effective"] == "up" else None)
    return out


def dataplane_pools(lab):
    """The same shape as steerd_desired, read from the dataplane's applied state."""
    with lab.api() as api:
        state = api.state()
    out = {}
    for name, key in VIPS.items():
        got = lab.dp_pool(*key, state=state)
        if got is None:
            continue
        out[name] = {norm(a): (s, w if s == "up" else None) for a, (s, w) in got.items()}
    return out


def health_targets(lab, address=None):
    """{target key: target JSON} from steerd's show health."""
    doc = lab.steerd_show("health" + (f" {address}" if address else ""))
    return {t["target"]: t for t in doc["targets"]}


def health_events(lab, key):
    """steerd's events that are state changes of one health target."""
    return [e for e in lab.steerd_events() if e["text"].startswith(key + " ") and "->" in e["text"]]


def wait_pool(lab, vip, predicate, what, timeout=5.0, interval=0.005):
    """Polls the dataplane until predicate(set of backend names in the VIP) holds; the time it
    took (s)."""
    t0 = time.monotonic()
    wait_until(what, lambda: predicate(names_in(lab, vip)), timeout, interval)
    return time.monotonic() - t0


class DpWatch:
    """Polls the dataplane's state in a thread every `interval` s and keeps every generation
    seen: (wall ms first seen, wall ms of the poll before, generation, state)."""

    def __init__(self, lab, interval=0.005):
        self.lab, self.interval = lab, interval
        self.seen = []
        self.polls = 0
        self.error = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            with self.lab.api() as api:
                prev = time.time() * 1000
                while not self._stop.is_set():
                    st = api.state()
                    now = time.time() * 1000
                    self.polls += 1
                    if not self.seen or st["generation"] != self.seen[-1][2]:
                        self.seen.append((now, prev, st["generation"], st))
                    prev = now
                    time.sleep(self.interval)
        except Exception as e:  # reported by the case
            self.error = f"{type(e).__name__}: {e}"

    def start(self):
        self._thread.start()
        wait_until("the state watcher's first poll", lambda: self.seen or self.error, 5)
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(10)
        return self


def event_at(events, pattern):
    """The first event whose text matches `pattern` (regex), or None."""
    for e in events:
        if re.search(pattern, e["text"]):
            return e
    return None


def fmt(counter):
    return " ".join(f"{k} {counter[k]}" for k in sorted(counter))


def http_names(lab, n, offset=0, vip="v4"):
    """n HTTP GETs through the web VIP from n client addresses; (Counter of backends, errors)."""
    dst = lab.vip4 if vip == "v4" else lab.vip6
    srcs = lab.client_v4() if vip == "v4" else lab.client_v6()
    answers = http_many(lab.ns("client"),
                        [(srcs[(offset + i) % len(srcs)], dst) for i in range(n)],
                        timeout=5)
    return Counter(a.backend for a in answers if not a.error), errors_of(answers)


# --------------------------------------------------------------------------------------------
# Cases


def case_warmup_adoption(lab, c):
    """steerd started on a running lab pushes nothing until every backend has a first verdict
    (b4 hangs, so its verdict comes last); a killed and restarted steerd disturbs no
    established connection and leaves the dataplane's generation alone until warm-up is over."""
    ns = lab.ns("client")
    lab.http_mode("b4", "hang")
    conns = open_echo_conns(ns, [(s, lab.vip4) for s in echo_sources(lab, 80)])
    c.require(all(x.backend for x in conns), "80 long-lived echo connections opened (lab state)",
              "; ".join(f"{x.src}: {x.error}" for x in conns if not x.backend)[:300])
    expected = [x.backend for x in conns]
    c.check(set(expected) == {"b1", "b2", "b3", "b4"},
            f"they spread over b1..b4: {fmt(Counter(expected))}")
    g0 = dp_generation(lab)

    for round_, what in ((1, "first start"), (2, "restart after kill -9")):
        watch = DpWatch(lab).start()
        t_start = time.time() * 1000
        if round_ == 1:
            lab.steerd_up(warmup=5000)
        else:
            lab.steerd_up(keep_config=True)
        lab.wait_warm()
        time.sleep(0.5)
        watch.stop()
        c.require(watch.error is None, f"{what}: the state watcher ran", str(watch.error))
        events = lab.steerd_events()
        warm = event_at(events, r"^warm-up over")
        c.require(warm is not None, f"{what}: steerd reports the end of warm-up",
                  str([e["text"] for e in events][:5]))
        c.check("every backend has a health verdict" in warm["text"],
                f"{what}: warm-up ended on verdicts, not on max_ms", warm["text"])
        verdicts = [e for e in events if " unknown -> " in e["text"]]
        b4 = event_at(events, r"^10\.0\.14\.2:80/http unknown -> down: timeout")
        c.check(len(verdicts) == 20, f"{what}: 20 first verdicts (5 VIPs × 4 backends)",
                f"{len(verdicts)}")
        c.check(b4 is not None, f"{what}: the hanging b4 got 'down: timeout' from its http check")
        last_verdict = max((e["at_unix_ms"] for e in verdicts), default=0)
        c.check(warm["at_unix_ms"] >= last_verdict,
                f"{what}: warm-up ended after the last first verdict "
                f"({warm['at_unix_ms'] - t_start:.0f} ms after start; last verdict "
                f"{last_verdict - t_start:.0f} ms)")
        g_before = watch.seen[0][2]
        changes = watch.seen[1:]
        c.check(g_before == g0,
                f"{what}: the dataplane had generation {g0} when steerd started "
                f"({'the lab' if round_ == 1 else 'the first steerd'} applied it)", f"{g_before}")
        c.require(changes, f"{what}: steerd pushed once warm-up was over",
                  f"{watch.polls} polls, generation stayed {g_before}")
        first_seen, last_old, gen1, _ = changes[0]
        c.check(first_seen >= warm["at_unix_ms"],
                f"{what}: generation {g_before} held for {warm['at_unix_ms'] - t_start:.0f} ms, "
                f"until warm-up was over; {gen1} seen {first_seen - warm['at_unix_ms']:.1f} ms "
                f"after it ({watch.polls} polls of the dataplane's state)",
                f"changed {warm['at_unix_ms'] - first_seen:.1f} ms before warm-up ended")
        bad = []
        for _, _, gen, st in changes:
            if names_in(lab, "web", st) != {"b1", "b2", "b3"} or any(
                    names_in(lab, v, st) != {"b1", "b2", "b3", "b4"}
                    for v in ("echo", "udp-echo", "echo6")):
                bad.append((gen, {v: sorted(names_in(lab, v, st)) for v in VIPS}))
        c.check(not bad, f"{what}: every state pushed has b1..b4 in echo/udp-echo/echo6 and "
                "b1..b3 in web (b4 hangs): no healthy backend was pushed out for lack of a "
                f"verdict ({len(changes)} generation(s))", str(bad[:2]))
        st = lab.steerd_show("status")
        c.check(st["dataplane"]["pushed_generation"] == dp_generation(lab),
                f"{what}: steerd's pushed generation is the dataplane's",
                f"{st['dataplane']['pushed_generation']}")
        check_same(c, conns, expected, f"{what}")
        if round_ == 1:
            lab.steerd_kill()
            g_killed = dp_generation(lab)
            time.sleep(0.3)
            check_same(c, conns, expected, "steerd killed (the dataplane forwards on)")
            c.check(dp_generation(lab) == g_killed, "nothing changed the dataplane while steerd "
                    "was down")
            g0 = g_killed
    per, (bad_n, detail) = http_names(lab, 100)
    c.check(bad_n == 0 and "b4" not in per and set(per) == {"b1", "b2", "b3"},
            f"100 new HTTP GETs answered by b1..b3, none by the hanging b4: {fmt(per)}", detail)
    for x in conns:
        x.close()
    lab.http_mode("b4", "ok")


def case_server_stop(lab, c):
    """A backend whose server process stops leaves the dataplane (every VIP) with 'connection
    refused'; new connections avoid it, established ones elsewhere stay; started again it
    returns and takes new connections."""
    lab.steerd_up()
    lab.wait_warm()
    ns = lab.ns("client")
    conns = open_echo_conns(ns, [(s, lab.vip4) for s in echo_sources(lab, 60)])
    c.require(all(x.backend for x in conns), "60 long-lived echo connections opened")
    keep = [x for x in conns if x.backend != "b2"]

    t0 = time.monotonic()
    lab.server_stop("b2")
    took = wait_pool(lab, "web", lambda s: "b2" not in s, "b2 leaves web")
    c.check(took <= DETECT_BOUND_S + DETECT_SLACK_S,
            f"b2 stopped: out of web's dataplane table {took * 1000:.0f} ms after the stop "
            f"returned ({(time.monotonic() - t0) * 1000:.0f} ms after it began; bound "
            f"{DETECT_BOUND_S * 1000:.0f} ms + slack)")
    wait_until("b2 out of every VIP",
               lambda: all("b2" not in names_in(lab, v) for v in VIPS), 3)
    c.check(True, "b2 out of all five VIPs (http, tcp and udp checks)")
    for key in ("10.0.12.2:80/http", "10.0.12.2:7/tcp7", "[fd00:12::2]:80/http"):
        t = health_targets(lab, "10.0.12.2" if "[" not in key else "fd00:12::2").get(key)
        c.check(t is not None and t["state"] == "down" and "refused" in t["last_failure"],
                f"show health {key}: down, 'connection refused'",
                json.dumps({k: t[k] for k in ("state", "last_failure")}) if t else "missing")
    t = health_targets(lab, "10.0.12.2").get("10.0.12.2:7/udp7")
    c.check(t is not None and t["state"] == "down" and t["last_failure"],
            "show health 10.0.12.2:7/udp7: down with a reason",
            t["last_failure"] if t else "missing")
    ev = health_events(lab, "10.0.12.2:80/http")
    c.check(ev and re.search(r"up -> down: connection refused", ev[-1]["text"]),
            "show events: '10.0.12.2:80/http up -> down: connection refused'",
            ev[-1]["text"] if ev else "none")
    r = lab.steerctl("show", "backends", "web")
    line = next((l for l in r.stdout.splitlines() if "10.0.12.2" in l), "")
    c.check(r.returncode == 0 and "down" in line and "health check down" in line,
            "steerctl show backends web: 10.0.12.2 down, 'health check down'", line.strip())
    per, (bad_n, detail) = http_names(lab, 200)
    c.check(bad_n == 0 and "b2" not in per,
            f"200 new HTTP GETs all answered, none by b2: {fmt(per)}", detail)
    check_same(c, keep, [x.backend for x in keep], "b2 stopped: connections on b1/b3/b4")

    lab.server_start("b2")
    took = wait_pool(lab, "web", lambda s: "b2" in s, "b2 returns to web")
    c.check(True, f"b2 started: back in web's dataplane table after {took * 1000:.0f} ms")
    wait_until("b2 back in every VIP", lambda: all("b2" in names_in(lab, v) for v in VIPS), 3)
    c.check(pool(lab, "web")["b2"] == ("up", 1), "b2 is up with weight 1 again",
            str(pool(lab, "web").get("b2")))
    ev = health_events(lab, "10.0.12.2:80/http")
    c.check(ev and ev[-1]["text"].endswith("down -> up"),
            "show events: '10.0.12.2:80/http down -> up'", ev[-1]["text"] if ev else "none")
    per, (bad_n, detail) = http_names(lab, 200, offset=50)
    c.check(bad_n == 0 and per["b2"] > 0,
            f"200 new HTTP GETs all answered, b2 among them: {fmt(per)}", detail)
    for x in conns:
        x.close()


def case_hang_503(lab, c):
    """A server that accepts and never answers leaves the http-checked VIPs with reason
    timeout; one answering 503 leaves with 'HTTP 503'; both stay in the tcp-checked VIPs, and
    return when they answer 200 again."""
    lab.steerd_up()
    lab.wait_warm()
    for name, mode, reason in (("b3", "hang", f"timeout after {TIMEOUT_MS} ms"),
                               ("b2", "503", "HTTP 503")):
        a4, a6 = V4[name], V6[name]
        lab.http_mode(name, mode)
        took = wait_pool(lab, "web", lambda s: name not in s, f"{name} leaves web")
        c.check(took <= DETECT_BOUND_S + DETECT_SLACK_S,
                f"{name} http {mode}: out of web's dataplane table after {took * 1000:.0f} ms")
        wait_until(f"{name} leaves web6", lambda: name not in names_in(lab, "web6"), 3)
        time.sleep(0.3)
        c.check(all(name in names_in(lab, v) for v in ("echo", "udp-echo", "echo6")),
                f"{name} http {mode}: still in echo, udp-echo, echo6 (their checks pass)",
                str({v: sorted(names_in(lab, v)) for v in VIPS}))
        t = health_targets(lab, a4).get(f"{a4}:80/http")
        c.check(t is not None and t["state"] == "down" and t["last_failure"] == reason,
                f"show health {a4}: http down, reason '{reason}'",
                f"{t['state']}: {t['last_failure']!r}" if t else "missing")
        fails = [h for h in (t["history"] if t else []) if not h["ok"]]
        c.check(fails and all(h["reason"] == reason for h in fails[-FALL:]),
                f"its last {FALL} failed probes say '{reason}'",
                str([h["reason"] for h in fails[-FALL:]]))
        ev = health_events(lab, f"{a4}:80/http")
        c.check(ev and ev[-1]["text"] == f"{a4}:80/http up -> down: {reason}",
                f"show events: '{a4}:80/http up -> down: {reason}'",
                ev[-1]["text"] if ev else "none")
        t6 = health_targets(lab, a6).get(f"[{a6}]:80/http")
        c.check(t6 is not None and t6["state"] == "down", f"[{a6}]:80/http down too")
        per, (bad_n, detail) = http_names(lab, 150)
        c.check(bad_n == 0 and name not in per,
                f"150 HTTP GETs through web all answered, none by {name}: {fmt(per)}", detail)
        per6, (bad_n, detail) = http_names(lab, 60, vip="v6")
        c.check(bad_n == 0 and name not in per6,
                f"60 HTTP GETs through web6 all answered, none by {name}: {fmt(per6)}", detail)
        lab.http_mode(name, "ok")
        took = wait_pool(lab, "web", lambda s: name in s, f"{name} returns to web")
        wait_until(f"{name} back in web6", lambda: name in names_in(lab, "web6"), 3)
        c.check(True, f"{name} answers 200 again: back in web and web6 ({took * 1000:.0f} ms)")
        ev = health_events(lab, f"{a4}:80/http")
        c.check(ev and ev[-1]["text"] == f"{a4}:80/http down -> up",
                f"show events: '{a4}:80/http down -> up'", ev[-1]["text"] if ev else "none")
    per, (bad_n, detail) = http_names(lab, 200, offset=100)
    c.check(bad_n == 0 and set(per) == {"b1", "b2", "b3", "b4"},
            f"200 HTTP GETs all answered, by every backend again: {fmt(per)}", detail)


def case_flap(lab, c):
    """A backend alternating ok/fail faster than rise (2) and fall (3) stays where it is: no
    state change, no dataplane change, up or down; a pattern that does reach fall (2 ok, 3
    failed) does flip it, so the count is real."""
    lab.steerd_up()
    lab.wait_warm()
    key4, key6 = "10.0.12.2:80/http", "[fd00:12::2]:80/http"
    n4, n6 = len(health_events(lab, key4)), len(health_events(lab, key6))
    before = health_targets(lab, "10.0.12.2")[key4]
    watch = DpWatch(lab, interval=0.02).start()
    lab.http_mode("b2", "flap", 1, 1)  # per local address: 200, 503, 200, 503, ...
    time.sleep(3.0)
    watch.stop()
    after = health_targets(lab, "10.0.12.2")[key4]
    fails = after["failures"] - before["failures"]
    probes = after["probes"] - before["probes"]
    c.check(fails >= 8 and probes >= 2 * fails - 2,
            f"b2 flapping 1 ok / 1 failed for 3 s: {probes} probes, {fails} failed (every other)")
    hist = [h["ok"] for h in after["history"]][-10:]
    c.check(all(hist[i] != hist[i + 1] for i in range(len(hist) - 1)),
            "its recent results alternate ok / failed", str(hist))
    c.check(len(health_events(lab, key4)) == n4 and len(health_events(lab, key6)) == n6,
            f"no state change of {key4} or {key6} in show events")
    c.check(after["state"] == "up", "show health: still up", after["state"])
    out = [g for _, _, g, st in watch.seen if "b2" not in names_in(lab, "web", st)]
    c.check(watch.error is None and not out,
            f"b2 never left web's dataplane table ({len(watch.seen) - 1} generation change(s) "
            f"seen in {watch.polls} polls)", str(watch.error or out))

    # The control: 2 ok then 3 failed reaches fall=3 in each cycle, so it must flip.
    lab.http_mode("b2", "flap", 2, 3)
    time.sleep(3.0)
    flips = health_events(lab, key4)[n4:]
    c.check(len(flips) >= 4,
            f"control: 2 ok / 3 failed flips it ({len(flips)} state changes in 3 s)",
            str([e["text"] for e in flips[:4]]))
    lab.http_mode("b2", "ok")
    wait_pool(lab, "web", lambda s: "b2" in s, "b2 back in web")

    # A down backend flapping faster than rise stays down.
    key3 = "10.0.13.2:80/http"
    lab.http_mode("b3", "503")
    wait_pool(lab, "web", lambda s: "b3" not in s, "b3 leaves web")
    n3 = len(health_events(lab, key3))
    watch = DpWatch(lab, interval=0.02).start()
    lab.http_mode("b3", "flap", 1, 1)
    time.sleep(3.0)
    watch.stop()
    t3 = health_targets(lab, "10.0.13.2")[key3]
    back = [g for _, _, g, st in watch.seen if "b3" in names_in(lab, "web", st)]
    c.check(len(health_events(lab, key3)) == n3 and t3["state"] == "down" and not back,
            "b3 (down) flapping 1 ok / 1 failed for 3 s stays down and out of the dataplane",
            f"{t3['state']}, {len(health_events(lab, key3)) - n3} changes, back in {back}")
    lab.http_mode("b3", "ok")
    wait_pool(lab, "web", lambda s: "b3" in s, "b3 back in web")
    c.check(True, "b3 answering 200 again: back in web")


def admin_of(lab, vip, address):
    for b in lab.steerd_show(f"backends {vip}")["backends"]:
        if norm(b["address"]) == norm(address):
            return b
    raise KeyError(address)


def case_overrides(lab, c):
    """Operator overrides through steerctl: drain keeps established connections and takes no
    new ones, disable removes, force-up keeps a failing backend in, weight shows in the
    dataplane; each says who set it, and all survive a reload and a steerd restart."""
    lab.steerd_up()
    lab.wait_warm()
    ns = lab.ns("client")
    t_begin = time.time() * 1000
    conns = open_echo_conns(ns, [(s, lab.vip4) for s in echo_sources(lab, 100)])
    c.require(all(x.backend for x in conns), "100 long-lived echo connections opened")
    expected = [x.backend for x in conns]
    on_b2 = sum(1 for e in expected if e == "b2")
    c.require(on_b2 > 0, f"{on_b2} of them on b2")

    def ctl(*args):
        r = lab.steerctl(*args)
        c.check(r.returncode == 0 and not r.stderr,
                f"steerctl {' '.join(args)} → {r.stdout.strip()}", r.stderr.strip())
        return r

    ctl("backend", "drain", V4["b2"], "echo")
    wait_until("b2 drained in echo", lambda: pool(lab, "echo").get("b2", ("",))[0] == "drain", 3)
    c.check(pool(lab, "web")["b2"][0] == "up", "the drain is scoped: b2 still up in web")
    check_same(c, conns, expected, "b2 drained")
    new = open_echo_conns(ns, [(s, lab.vip4) for s in echo_sources(lab, 120, 100)])
    per = Counter(x.backend for x in new)
    c.check(all(x.backend for x in new) and "b2" not in per,
            f"120 new echo connections: all opened, none on the drained b2: {fmt(per)}")
    b = admin_of(lab, "echo", V4["b2"])
    c.check(b["admin"] and b["admin"]["state"] == "drain" and b["admin"]["uid"] == 0 and
            b["admin"]["user"] == "root" and b["admin"]["since_unix_ms"] >= t_begin - 1000 and
            b["effective"] == "drain" and "drained by root (uid 0)" in b["why"],
            "show backends echo: b2 drain, set by root (uid 0), with when", json.dumps(b["admin"]))

    ctl("backend", "disable", V4["b3"])
    v4_vips = ("web", "echo", "udp-echo")
    wait_until("b3 out of every IPv4 VIP",
               lambda: all("b3" not in names_in(lab, v) for v in v4_vips), 3)
    c.check(all("b3" in names_in(lab, v) for v in ("web6", "echo6")),
            f"b3 disabled (every VIP): {V4['b3']} out of web, echo, udp-echo; b3's IPv6 address "
            "(another backend) still in web6, echo6")
    on_b3 = [x for x in conns if x.backend == "b3"]
    conns = [x for x in conns if x.backend != "b3"]
    expected = [x.backend for x in conns]
    check_same(c, conns, expected, "b3 disabled: connections on b1, b2, b4")
    moved = [x for x, got in zip(on_b3, lablib.ask_all(on_b3)) if got != "b3"]
    c.check(on_b3 and len(moved) == len(on_b3),
            f"b3 disabled: its {len(on_b3)} connections are no longer served by b3 (flows moved)")
    b = admin_of(lab, "web", V4["b3"])
    c.check(b["effective"] == "down" and b["health"] == "up" and "disabled by root" in b["why"]
            and b["admin"]["scope"] == "*", "show backends: b3 healthy but down, disabled by root "
            "for every VIP", b["why"])

    lab.http_mode("b4", "503")
    wait_pool(lab, "web", lambda s: "b4" not in s, "b4 (503) leaves web")
    ctl("backend", "force-up", V4["b4"], "web")
    wait_pool(lab, "web", lambda s: "b4" in s, "b4 forced back into web")
    time.sleep(0.5)
    b = admin_of(lab, "web", V4["b4"])
    c.check("b4" in names_in(lab, "web") and b["health"] == "down" and b["effective"] == "up" and
            "forced up by root" in b["why"],
            "b4 answering 503, forced up: in web's dataplane table, health down", b["why"])

    ctl("backend", "weight", V4["b1"], "3", "web")
    wait_until("b1 weight 3 in web", lambda: pool(lab, "web").get("b1") == ("up", 3), 3)
    c.check(True, "b1 weight 3 on web: the dataplane has weight 3")
    with lab.api() as api:
        stats = api.stats()
    slots = {lab.backend_name(x["address"]): x["slots"] for x in stats["backends"]
             if x["vip"] == "192.0.2.10:80/tcp"}
    c.check(slots.get("b1", 0) > 2.5 * max(slots.get("b2", 1), 1),
            "b1 holds about 3× b2's Maglev slots in web", str(slots))

    expect = {"echo": ("b2", "drain"), "web": ("b4", "force-up")}
    want_pools = {v: pool(lab, v) for v in VIPS}
    ovr_path = lab.steerd_state_dir / "overrides.json"
    c.check(ovr_path.exists() and all(a in ovr_path.read_text() for a in
                                      (V4["b1"], V4["b2"], V4["b3"], V4["b4"])),
            f"the overrides are persisted in {ovr_path.name}")
    admins = {f'{b["vip"]} {b["address"]}': b["admin"] for b in
              lab.steerd_show("backends")["backends"] if b["admin"]}

    # A reload with a real change keeps them.
    text = lab.steerd_config_path.read_text().replace('region = "lab"', 'region = "lab-2"')
    lab.steerd_config_path.write_text(text)
    r = lab.steerctl("configure")
    c.check(r.returncode == 0 and "pop.region" in r.stdout, "steerctl configure (region changed)",
            r.stdout.strip() + r.stderr.strip())
    time.sleep(0.3)
    c.check({v: pool(lab, v) for v in VIPS} == want_pools,
            "after configure: the dataplane has the same overrides applied")
    # A restart (SIGTERM, start) keeps them too: read back from the state directory.
    lab.steerd_down()
    lab.steerd_up(keep_config=True)
    lab.wait_warm()
    time.sleep(0.3)
    got_pools = {v: pool(lab, v) for v in VIPS}
    c.check(got_pools == want_pools, "after a steerd restart: the same dataplane tables "
            "(b2 drained in echo, b3 out, b4 forced into web, b1 weight 3 in web)",
            json.dumps({v: got_pools[v] for v in VIPS if got_pools[v] != want_pools[v]}))
    again = {f'{b["vip"]} {b["address"]}': b["admin"] for b in
             lab.steerd_show("backends")["backends"] if b["admin"]}
    c.check(again == admins, f"after the restart: the same {len(admins)} overrides with who set "
            "them and when", json.dumps(again)[:300])
    for vip, (name, state) in expect.items():
        b = admin_of(lab, vip, V4[name])
        c.check(b["admin"]["state"] == state and b["admin"]["user"] == "root",
                f"show backends {vip}: {name} {state} by root")
    check_same(c, conns, expected, "after configure and restart (b2 drained all along)")

    for args in (("undrain", V4["b2"], "echo"), ("enable", V4["b3"]), ("auto", V4["b4"], "web"),
                 ("weight", V4["b1"], "default", "web")):
        ctl("backend", *args)
    lab.http_mode("b4", "ok")
    wait_until("every backend back everywhere, weight 1", lambda: all(
        pool(lab, v) == {n: ("up", 1) for n in ("b1", "b2", "b3", "b4")} for v in VIPS), 5)
    c.check(True, "undrain, enable, auto, weight default: every VIP has b1..b4 up, weight 1")
    left = json.loads(ovr_path.read_text())
    c.check(not (left.get("overrides") if isinstance(left, dict) else left),
            "no override left in the state file", ovr_path.read_text()[:200])
    for x in conns + new + on_b3:
        x.close()


def _config_errors(stderr, path, lines):
    """Every `path:LINE:COL:` of `lines` in stderr."""
    return all(re.search(rf"{re.escape(str(path))}:{n}:\d+: ", stderr) for n in lines)


def case_configure(lab, c):
    """Reloading the file (steerctl configure, SIGHUP) applies only what changed: an added
    backend and a new weight, while the other probe streams and connections go on; an invalid
    file is rejected with file:line:column and nothing changes."""
    info = lab.info
    path = lab.steerd_config_path
    path.write_text(lablib.steerd_config(info, backends=["b1", "b2", "b3"]))
    lab.steerd_up(keep_config=True)
    lab.wait_warm()
    c.check(all(names_in(lab, v) == {"b1", "b2", "b3"} for v in VIPS),
            "steerd with b1..b3: every VIP has b1..b3")
    conns = open_echo_conns(lab.ns("client"), [(s, lab.vip4) for s in echo_sources(lab, 40)])
    c.require(all(x.backend for x in conns), "40 long-lived echo connections opened")
    expected = [x.backend for x in conns]
    h0 = health_targets(lab)
    g0 = dp_generation(lab)

    path.write_text(lablib.steerd_config(info, weights={"b1": 2}))
    r = lab.steerctl("configure", "check", "--json")
    want = set()
    for v in VIPS:
        want.add(f"vip {v}: backend {addr_of('b4', v)} added")
        want.add(f"vip {v}: backend {addr_of('b1', v)} weight 1 -> 2")
    doc = json.loads(r.stdout) if r.returncode == 0 else {}
    got = set(l for l in doc.get("changes", "").splitlines() if l)
    c.check(r.returncode == 0 and got == want,
            "configure check: lists b4 added and b1 weight 1 -> 2 on each VIP, nothing else",
            f"{sorted(got ^ want)} {r.stderr.strip()}")
    time.sleep(0.3)
    c.check(dp_generation(lab) == g0, "configure check changed nothing in the dataplane")
    r = lab.steerctl("configure", "--json")
    doc = json.loads(r.stdout) if r.returncode == 0 else {}
    got = set(l for l in doc.get("changes", "").splitlines() if l)
    c.check(r.returncode == 0 and got == want and not doc.get("restart_needed"),
            "configure: applied exactly those changes", f"{sorted(got ^ want)} {r.stderr.strip()}")
    wait_until("b4 in every VIP", lambda: all("b4" in names_in(lab, v) for v in VIPS), 5)
    wait_until("b1 weight 2 everywhere",
               lambda: all(pool(lab, v).get("b1") == ("up", 2) for v in VIPS), 3)
    c.check(all(pool(lab, v) == {"b1": ("up", 2), "b2": ("up", 1), "b3": ("up", 1),
                                 "b4": ("up", 1)} for v in VIPS),
            "the dataplane: b4 added (once its checks passed), b1 weight 2, b2 b3 unchanged")
    h1 = health_targets(lab)
    kept = [k for k in h0 if h1.get(k, {}).get("since_unix_ms") == h0[k]["since_unix_ms"]
            and h1[k]["probes"] > h0[k]["probes"]]
    c.check(len(kept) == len(h0) == 15,
            f"the {len(h0)} existing probe streams went on (same 'since', probe counts growing)",
            f"{len(kept)} kept")
    new_keys = sorted(set(h1) - set(h0))
    c.check(len(new_keys) == 5 and all("14.2" in k or "fd00:14::2" in k for k in new_keys),
            "5 new probe streams, all b4's", str(new_keys))
    check_same(c, conns, expected, "after the reload")
    ev = event_at(lab.steerd_events(), r"^reload by root: ")
    c.check(ev is not None, "show events: 'reload by root: ...'", ev["text"][:80] if ev else "")

    # An invalid file: every error with file:line:column, nothing changes.
    g1 = dp_generation(lab)
    desired1 = steerd_desired(lab)
    good = path.read_text()
    bad = good.replace("[check.http]\ntype = \"http\"\nport = 80\npath = \"/\"\ninterval_ms = 100",
                       "[check.http]\ntype = \"http\"\nport = 80\npath = \"/\"\ninterval_ms = 20",
                       1).replace('protocol = "udp"', 'protocl = "udp"', 1)
    bad_lines = [i + 1 for i, l in enumerate(bad.splitlines())
                 if l == "interval_ms = 20" or l.startswith("protocl")]
    c.require(len(bad_lines) == 2 and bad != good,
              "an invalid file written (interval_ms = 20, a misspelt key)")
    path.write_text(bad)
    with lab.steerd() as sd:
        rep = sd.raw("configure")
    text = "\n".join(t for _, _, t in rep.lines)
    c.check(rep.code == 8005 and _config_errors(text, path, bad_lines),
            f"the daemon's reply to 'configure': 8005 with {path.name}:{bad_lines[0]}:COL and "
            f":{bad_lines[1]}:COL", str(rep.lines))
    for args in (("configure",), ("configure", "check")):
        r = lab.steerctl(*args)
        c.check(r.returncode == 1 and _config_errors(r.stderr, path, bad_lines) and
                not r.stdout and all(l.startswith("steerctl: ") and len(l) > 10
                                     for l in r.stderr.splitlines()),
                f"steerctl {' '.join(args)} on the invalid file: exit 1, "
                f"{path.name}:{bad_lines[0]}:COL and :{bad_lines[1]}:COL on stderr",
                f"exit {r.returncode}, stderr {r.stderr!r}")
    time.sleep(0.3)
    c.check(dp_generation(lab) == g1 and steerd_desired(lab) == desired1,
            "nothing changed (the dataplane's generation, steerd's desired state)")
    ev = event_at(reversed(lab.steerd_events()), r"^reload by root rejected: \d+ error")
    c.check(ev is not None, "show events: 'reload by root rejected: N error(s)'")

    # SIGHUP: the same, valid then invalid.
    path.write_text(lablib.steerd_config(info))
    os.kill(lab.steerd_pid(), signal.SIGHUP)
    wait_until("b1 weight 1 again after SIGHUP",
               lambda: all(pool(lab, v).get("b1") == ("up", 1) for v in VIPS), 5)
    ev = event_at(reversed(lab.steerd_events()), r"^reload by SIGHUP: ")
    c.check(ev is not None and "weight 2 -> 1" in ev["text"],
            "SIGHUP with b1's weight back to 1: applied, 'reload by SIGHUP'",
            ev["text"][:100] if ev else "no event")
    g2 = dp_generation(lab)
    desired2 = steerd_desired(lab)
    path.write_text(bad)
    os.kill(lab.steerd_pid(), signal.SIGHUP)
    wait_until("the rejected SIGHUP reload in show events", lambda: event_at(
        lab.steerd_events(), r"^reload by SIGHUP rejected: \d+ error"), 5)
    time.sleep(0.3)
    log = (lab.run_dir / "steerd.log").read_text()
    c.check(_config_errors(log, path, bad_lines) and "reload rejected" in log,
            "SIGHUP with the invalid file: rejected, the log has every file:line:column")
    c.check(dp_generation(lab) == g2 and steerd_desired(lab) == desired2,
            "nothing changed after the rejected SIGHUP")
    c.check(lab.steerd_pid() and lablib.pid_alive(lab.steerd_pid()), "steerd still runs")

    # Start-up-only keys: applied on restart, reported.
    path.write_text(lablib.steerd_config(info, warmup=4000))
    r = lab.steerctl("configure", "--json")
    doc = json.loads(r.stdout) if r.returncode == 0 else {}
    c.check(r.returncode == 0 and "warmup.max_ms" in json.dumps(doc.get("restart_needed")),
            "a changed warmup.max_ms is reported as needing a restart", r.stdout.strip())
    check_same(c, conns, expected, "after every reload")
    for x in conns:
        x.close()


def one_line_error(r):
    lines = r.stderr.splitlines()
    return len(lines) == 1 and lines[0].startswith("steerctl: ") and not r.stdout


def case_cli_errors(lab, c):
    """steerctl against steerd: every error path with its exit code (2 usage, 1 runtime) and
    one stderr line; the daemon's own reply codes; --json output parses."""
    lab.steerd_up()
    lab.wait_warm()
    sock_missing = lab.run_dir / "no-steerd.sock"
    cases = [
        (("frobnicate",), 2, r"unknown command 'frobnicate'", "unknown command"),
        (("show", "frobnicate"), 2, r"subcommand|frobnicate", "unknown show command"),
        (("backend", "frobnicate", V4["b1"]), 2, r"frobnicate", "unknown backend action"),
        (("backend", "drain", "10.0.11.300"), 2, r"'10\.0\.11\.300' is not an IP address",
         "bad address"),
        (("show", "health", "not-an-ip"), 2, r"not an IP address", "bad address (show health)"),
        (("backend", "weight", V4["b1"], "70000"), 2, r"70000", "bad weight"),
        (("backend", "drain", V4["b1"], "nosuchvip"), 1, r"no VIP 'nosuchvip'", "unknown VIP"),
        (("show", "vips", "nosuchvip"), 1, r"no VIP 'nosuchvip'", "unknown VIP (show vips)"),
        (("show", "backends", "nosuchvip"), 1, r"nosuchvip", "unknown VIP (show backends)"),
        (("backend", "drain", "10.9.9.9"), 1, r"10\.9\.9\.9 is not a backend",
         "address that is no backend"),
        (("configure", "frobnicate"), 2, r"frobnicate", "bad configure argument"),
    ]
    for args, code, pattern, what in cases:
        r = lab.steerctl(*args)
        c.check(r.returncode == code and one_line_error(r) and re.search(pattern, r.stderr),
                f"{what}: steerctl {' '.join(args)} → exit {code}, one line: "
                f"{r.stderr.strip()}", f"exit {r.returncode}, stdout {r.stdout[:80]!r}, "
                f"stderr {r.stderr!r}")
    # Permission denied: uid 65534 may read (socket mode 0666) but not change.
    for args in (("backend", "drain", V4["b1"]), ("configure",),
                 ("backend", "weight", V4["b1"], "5", "web")):
        r = lab.steerctl(*args, as_nobody=True)
        c.check(r.returncode == 1 and one_line_error(r) and "permission denied" in r.stderr,
                f"as uid 65534: steerctl {' '.join(args)} → exit 1, {r.stderr.strip()}",
                f"exit {r.returncode}, stderr {r.stderr!r}")
    r = lab.steerctl("show", "status", "--json", as_nobody=True)
    c.check(r.returncode == 0 and json.loads(r.stdout or "{}").get("warm") is True,
            "as uid 65534: show status works (reading is allowed)", r.stderr.strip())
    c.check(all(b["admin"] is None for b in lab.steerd_show("backends")["backends"]) and
            all(n == ("up", 1) for n in pool(lab, "web").values()),
            "nothing was changed by the refused requests")
    ev = [e["text"] for e in lab.steerd_events() if "65534" in e["text"]]
    c.check(not ev, "no event from uid 65534 (nothing it asked was done)", str(ev))
    # Daemon not running: a socket nobody listens on, then steerd's own after it stopped.
    r = lab.steerctl("show", "status", socket_path=sock_missing)
    c.check(r.returncode == 1 and one_line_error(r) and "is the daemon running?" in r.stderr,
            f"no daemon at {sock_missing.name}: exit 1, {r.stderr.strip()}", r.stderr)
    # The daemon's own codes on a raw connection.
    with lab.steerd() as s:
        c.check(s.greeting.startswith("steerd "), "greeting", s.greeting)
        for line, code in (("frobnicate", 9000), ("show frobnicate", 9000), ("show", 9001),
                           ("backend drain 10.0.11.300", 9001), ("backend drain", 9001),
                           ("backend drain 10.0.11.2 nosuchvip", 8004),
                           ("show flow tcp 198.18.0.1", 9001), ("configure now", 9001)):
            rep = s.raw(line)
            c.check(rep.code == code and len(rep.lines) == 1,
                    f"raw '{line}' → {rep.code} {rep.message}", str(rep.lines))
        h = s.raw("help")
        c.check(h.code == 0 and sum(1 for cd, _, _ in h.lines if cd == 1001) >= 3,
                "help: 1001 lines then 0000", str(h.lines[-1]))
        # Pipelined: three requests in one write, three replies in order.
        s.sock.sendall(b"show status\nshow vips\nshow events\n")
        docs = [s._read_reply().json() for _ in range(3)]
        c.check("dataplane" in docs[0] and "vips" in docs[1] and "events" in docs[2],
                "pipelined show status/vips/events: three replies in order")
    # --json output of every command parses.
    for args in (("show", "status"), ("show", "vips"), ("show", "vips", "web"),
                 ("show", "backends"), ("show", "backends", "echo"), ("show", "health"),
                 ("show", "health", V4["b1"]), ("show", "stats"), ("show", "events"),
                 ("show", "flow", "tcp", "198.18.0.1", "40000", lab.vip4, "80"),
                 ("configure", "check"), ("backend", "drain", V4["b2"], "web"),
                 ("backend", "undrain", V4["b2"], "web")):
        r = lab.steerctl(*args, "--json")
        try:
            doc = json.loads(r.stdout)
            ok = r.returncode == 0 and isinstance(doc, dict) and doc and not r.stderr
        except json.JSONDecodeError as e:
            ok, doc = False, str(e)
        c.check(ok, f"steerctl {' '.join(args)} --json: one JSON object",
                f"exit {r.returncode} {r.stderr.strip()} {str(doc)[:100]}")
    wait_until("b2 undrained in web", lambda: pool(lab, "web").get("b2") == ("up", 1), 3)
    time.sleep(0.1)
    r = lab.steerctl("show", "flow", "tcp", "198.18.0.1", "40000", lab.vip4, "80", "--json")
    with lab.api() as api:
        direct = api.flow("tcp", "198.18.0.1", 40000, lab.vip4, 80)
    c.check(r.returncode == 0 and json.loads(r.stdout).get("backend") == direct.get("backend"),
            "show flow through steerd = the dataplane's own flow answer", direct.get("backend"))
    r = lab.steerctl("plan", "--vip", "web", "--remove", V4["b3"])
    c.check(r.returncode == 0 and V4["b3"] in r.stdout and "moved" in r.stdout,
            "steerctl plan --vip web --remove b3 (live pool from steerd)", r.stderr.strip())
    # Text output of every show command: exit 0, nothing on stderr.
    for args in (("show", "status"), ("show", "vips"), ("show", "backends"), ("show", "health"),
                 ("show", "stats"), ("show", "events")):
        r = lab.steerctl(*args)
        c.check(r.returncode == 0 and r.stdout.strip() and not r.stderr,
                f"steerctl {' '.join(args)}: {len(r.stdout.splitlines())} lines", r.stderr)
    lab.steerd_down()
    r = lab.steerctl("show", "status")
    c.check(r.returncode == 1 and one_line_error(r) and "is the daemon running?" in r.stderr,
            f"steerd stopped: show status → exit 1, {r.stderr.strip()}", r.stderr)
    r = lab.steerctl("backend", "drain", V4["b1"])
    c.check(r.returncode == 1 and one_line_error(r), "steerd stopped: backend drain → exit 1",
            r.stderr)


def case_dataplane_restart(lab, c):
    """The dataplane killed: steerd reports it down within a second; an override set while it
    is down waits; the dataplane restarted (empty): steerd pushes its whole desired state
    again, and traffic flows."""
    lab.steerd_up()
    lab.wait_warm()
    st = lab.steerd_show("status")
    c.require(st["dataplane"]["health"] == "alive", "steerd sees the dataplane alive",
              st["dataplane"]["health"])
    old_pid = lab.dataplane_pid()
    t0 = time.monotonic()
    lab.dataplane_kill()
    t_killed = time.monotonic()
    st = wait_until("steerd reports the dataplane down",
                    lambda: (lambda s: s if s["dataplane"]["health"] == "down" else None)(
                        lab.steerd_show("status")), 5, 0.01)
    took = time.monotonic() - t_killed
    c.check(took <= 1.0, f"kill -9: steerd reports the dataplane down {took * 1000:.0f} ms after "
            f"it was gone ({(t_killed - t0) * 1000:.0f} ms to kill): "
            f"{st['dataplane']['reason']}")
    r = lab.steerctl("show", "status")
    line = next((l for l in r.stdout.splitlines() if l.startswith("dataplane")), "")
    c.check(r.returncode == 0 and "down" in line, "steerctl show status: dataplane down",
            line.strip())
    m = lab.metrics()
    c.check('steer_dataplane_health{state="down"} 1' in m, "metrics: dataplane health down")
    r = lab.steerctl("backend", "drain", V4["b2"])
    c.check(r.returncode == 0, "drain b2 while the dataplane is down: accepted (persisted)",
            r.stderr.strip())
    time.sleep(0.3)
    t1 = time.monotonic()
    lab.dataplane_start()
    new_pid = lab.dataplane_pid()
    c.check(new_pid and new_pid != old_pid, f"steer-dataplane restarted (pid {old_pid} → "
            f"{new_pid}) in {time.monotonic() - t1:.1f} s")
    want = steerd_desired(lab)
    c.check(all(want[v].get(V4["b2"], ("",))[0] == "drain" for v in ("web", "echo", "udp-echo"))
            and all(want[v].get(V6["b2"]) == ("up", 1) for v in ("web6", "echo6")),
            f"steerd's desired state has {V4['b2']} drained in web, echo, udp-echo", str(want))
    t2 = time.monotonic()
    wait_until("the dataplane's state = steerd's desired state",
               lambda: dataplane_pools(lab) == want, 10, 0.01)
    c.check(True, f"the restarted dataplane has steerd's desired state "
            f"{time.monotonic() - t2:.2f} s after its API answered (all 5 VIPs, {V4['b2']} "
            "drained)")
    def settled():
        s = lab.steerd_show("status")["dataplane"]
        ok = (s["health"] == "alive" and s.get("status", {}).get("pid") == new_pid and
              s["pushed_generation"] == dp_generation(lab))
        return s if ok else None

    st = wait_until("steerd: the dataplane alive, its pushed generation the new dataplane's",
                    settled, 5)
    c.check(dataplane_pools(lab) == want,
            "steerd: alive, its pushed generation is the new dataplane's "
            f"({st['pushed_generation']}), and the state is still its desired one")
    log = (lab.run_dir / "steerd.log").read_text()
    c.check(f"dataplane restarted (pid {old_pid} -> {new_pid})" in log,
            f"steerd's log: 'dataplane restarted (pid {old_pid} -> {new_pid}): pushing the state "
            "again'")
    ev = event_at(reversed(lab.steerd_events()), r"^dataplane alive")
    c.check(ev is not None, "show events: dataplane down, then alive again")
    with lab.api() as api:
        gen = api.state()["generation"]
        lablib.wait_switched(api, gen)
    per, (bad_n, detail) = http_names(lab, 100)
    c.check(bad_n == 0 and "b2" not in per and len(per) == 3,
            f"100 HTTP GETs through the restarted dataplane: all answered, none by the drained "
            f"b2: {fmt(per)}", detail)
    udp = udp_many(lab.ns("client"), [(s, lab.vip4) for s in lab.client_v4()[:40]])
    c.check(not errors_of(udp)[0], "40 UDP flows (GUE) answered too", errors_of(udp)[1])
    lab.steerctl("backend", "undrain", V4["b2"])
    wait_pool(lab, "web", lambda s: pool(lab, "web").get("b2", ("",))[0] == "up", "b2 undrained")
    c.check(True, "undrain b2: up again in the new dataplane")


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)$')


def parse_metrics(text):
    """{(name, labels string): value}; raises ValueError on a malformed line."""
    out, typed = {}, set()
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError(f"malformed sample line: {line!r}")
        if m.group(1) not in typed:
            raise ValueError(f"sample before its # TYPE: {line!r}")
        out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def metric(ms, name, **labels):
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for (n, l), v in ms.items():
        if n == name and (not labels or l == "{" + want + "}"):
            return v
    return None


def case_metrics(lab, c):
    """GET /metrics (in the LB namespace): per-VIP and per-backend counters that follow real
    traffic, health, drops by reason (one provoked: no backend), flow-table occupancy, the
    dataplane's generation and liveness."""
    lab.steerd_up()
    lab.wait_warm()
    try:
        ms0 = parse_metrics(lab.metrics())
        c.check(True, f"GET /metrics: {len(ms0)} samples, well-formed")
    except ValueError as e:
        c.require(False, "GET /metrics well-formed", str(e))
    n = 200
    per, (bad_n, _) = http_names(lab, n)
    c.require(bad_n == 0, f"{n} HTTP GETs through web")
    udp = udp_many(lab.ns("client"), [(s, lab.vip4) for s in lab.client_v4()[:50]])
    c.require(not errors_of(udp)[0], "50 UDP flows through udp-echo")
    conns = open_echo_conns(lab.ns("client"), [(s, lab.vip4) for s in echo_sources(lab, 30)])
    # Drops: every backend of echo6 disabled, then a connection to it: no backend.
    for b in ("b1", "b2", "b3", "b4"):
        lab.steerctl("backend", "disable", V6[b], "echo6")
    wait_until("echo6 empty", lambda: not names_in(lab, "echo6"), 3)
    cl = lablib.EchoConn(lab.ns("client"), lab.client_v6()[0], lab.vip6, 7)
    lablib.run(cl.open(timeout=1.0))
    cl.close()
    time.sleep(1.3)  # steerd polls the dataplane's stats once a second
    ms = parse_metrics(lab.metrics())
    with lab.api() as api:
        stats, state = api.stats(), api.state()
    vp = metric(ms, "steer_vip_packets_total", vip="web") or 0
    vp0 = metric(ms0, "steer_vip_packets_total", vip="web") or 0
    nf = (metric(ms, "steer_vip_new_flows_total", vip="web") or 0) - \
        (metric(ms0, "steer_vip_new_flows_total", vip="web") or 0)
    c.check(vp - vp0 >= 3 * n and nf >= n,
            f"steer_vip_packets_total{{vip=web}} +{vp - vp0:.0f}, new flows +{nf:.0f} "
            f"after {n} GETs")
    bp = {b: metric(ms, "steer_backend_packets_total", vip="web", backend=V4[b]) or 0
          for b in ("b1", "b2", "b3", "b4")}
    c.check(sum(bp.values()) == vp and all(bp[b] > 0 for b in per),
            "per-backend packets of web sum to the VIP's, every backend that answered counted",
            f"{bp} vs {vp}")
    c.check((metric(ms, "steer_vip_packets_total", vip="udp-echo") or 0) >= 50,
            "steer_vip_packets_total{vip=udp-echo} counts the UDP flows")
    for v in VIPS:
        for b in ("b1", "b2", "b3", "b4"):
            h = metric(ms, "steer_backend_health", vip=v, backend=addr_of(b, v))
            if h != 1:
                c.check(False, f"steer_backend_health{{vip={v},backend={b}}} = 1", str(h))
                break
    c.check(metric(ms, "steer_vip_healthy", vip="web") == 1 and
            metric(ms, "steer_vip_healthy", vip="echo6") == 0,
            "steer_vip_healthy: web 1, echo6 0 (every backend disabled)")
    c.check(all(metric(ms, "steer_backend_up", vip="echo6", backend=V6[b]) == 0
                for b in ("b1", "b2", "b3", "b4")), "steer_backend_up{vip=echo6} 0 (disabled)")
    drops = {l: v for (nm, l), v in ms.items() if nm == "steer_drops_total"}
    nb = metric(ms, "steer_drops_total", reason="no_backend") or 0
    c.check(len(drops) == len(stats["drops"]) and nb >= 1 and nb == stats["drops"]["no_backend"],
            f"steer_drops_total by reason: {len(drops)} reasons, no_backend {nb:.0f} (the "
            "connection to the empty echo6)", str(stats["drops"].get("no_backend")))
    fe = metric(ms, "steer_flow_table_entries", lcore="1")
    cap = metric(ms, "steer_flow_table_capacity", lcore="1")
    c.check(fe is not None and fe >= 30 and cap == 65536,
            f"flow table occupancy: {fe} of {cap} (30 echo connections open)")
    gen = metric(ms, "steer_dataplane_generation")
    c.check(gen == state["generation"] == metric(ms, "steer_dataplane_worker_generation",
                                                 lcore="1"),
            f"steer_dataplane_generation {gen} = the dataplane's = the worker's")
    c.check(metric(ms, "steer_dataplane_health", state="alive") == 1 and
            metric(ms, "steer_dataplane_worker_alive", lcore="1") == 1 and
            metric(ms, "steer_up") == 1, "liveness: steer_up 1, dataplane alive, worker alive")
    c.check((metric(ms, "steer_probes_total") or 0) > (metric(ms0, "steer_probes_total") or 0),
            "steer_probes_total grows")
    # A change shows: b2 stopped → its health 0, up 0.
    lab.server_stop("b2")
    wait_pool(lab, "web", lambda s: "b2" not in s, "b2 leaves web")
    ms = parse_metrics(lab.metrics())
    c.check(metric(ms, "steer_backend_health", vip="web", backend=V4["b2"]) == 0 and
            metric(ms, "steer_backend_up", vip="web", backend=V4["b2"]) == 0 and
            metric(ms, "steer_backend_weight", vip="web", backend=V4["b2"]) == 0,
            "b2 stopped: steer_backend_health/up/weight{vip=web,backend=b2} 0")
    c.check(metric(ms, "steer_dataplane_generation") > gen, "the generation grew with the push")
    lab.server_start("b2")
    for x in conns:
        x.close()


CASES = {
    "warmup-adoption": ("slsd-warm", case_warmup_adoption),
    "server-stop": ("slsd-stop", case_server_stop),
    "hang-503": ("slsd-hang", case_hang_503),
    "flap": ("slsd-flap", case_flap),
    "overrides": ("slsd-ovr", case_overrides),
    "configure": ("slsd-cfg", case_configure),
    "cli-errors": ("slsd-cli", case_cli_errors),
    "dataplane-restart": ("slsd-dp", case_dataplane_restart),
    "metrics": ("slsd-met", case_metrics),
}


def run_case(name):
    prefix, fn = CASES[name]
    return run_in_lab(name, Lab(prefix), fn, QuietChecks())


if __name__ == "__main__":
    sys.exit(lablib.case_main("steerd_test.py", CASES, run_case, sys.argv[1:]))
