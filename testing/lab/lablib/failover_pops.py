"""The two-PoP failover of `tools/failover --pops 2`: PoP a's backends die and come back, on
the lab of lablib.pops (two PoPs, a transit, steerd with DNS on each); each stage timed from
what the parts say themselves (steerd's events and BGP history, the router kernel's routes
through netlink, a client's TCP connections, DNS answers on the wire).

withdraw: t0 = just before SIGKILL of PoP a's servers. Milestones:
  detection     a's steerd: the last backend "up -> down" that made web unhealthy
  decision      a's steerd: the BGP decision "withdrawn" for the anycast VIP
  route         a's router: the kernel's route to the anycast VIP goes via the transit
  served_by_b   a client in a's region: the first new TCP connection to the anycast VIP (GET /,
                200) started at or after t0 that succeeds, i.e. served by b (a's servers are
                dead; a connection is tried every 5 ms)
  dns_detect    a's steerd: the health change that made web-u (a's unicast VIP, what a's DNS
                answers for a) unhealthy: the detection that DNS follows
  dns_a         a's responder (anycast DNS address, asked from a's client network): the first
                answer for web that no longer names a's unicast VIP (when it was received; a
                query every 2 ms)
  b_detects     b's steerd: its probe of a's unicast VIP "up -> down"
  dns_b         b's responder, asked with ECS = a's client network: the first answer without
                a's address
announce: t0' = the first of a's servers ready again (inotify on its ready file). Milestones:
  detection, decision (announced), route (a's router via its own LB again), dns_a (names a's
  address again), b_detects ("down -> up"), dns_b (names a's again).

Polls are bounded (a DNS query every 2 ms per responder, a TCP connection every 5 ms, each
for at most the run's bound); every socket lives in a client namespace of the lab."""
import os
import signal
import socket
import threading
import time

import dns.edns
import dns.exception
import dns.message
import dns.rdatatype

from . import failover as fo
from .namespaces import netns
from .pops import ANYCAST_VIP, DNS_ADDRESS, POPS, UNICAST_VIP, ZONE, TwoPops, client_net
from .routes import RouteWatch
from .util import pid_alive, wait_until

SERVICE = "web"
TARGET_ANYCAST_MS = 500     # unreachable -> served by b, p99
TARGET_DNS_AFTER_MS = 10    # detection -> DNS answer changed, p99
POLL_DNS_S = 0.002
POLL_TCP_S = 0.005

STAGES = {
    "withdraw": [
        ("t0 → a detects (the last backend's 'up -> down')", "t0", "detection"),
        ("a detects → BGP decision (withdrawn)", "detection", "decision"),
        ("BGP decision → a's router routes the anycast VIP to the transit", "decision", "route"),
        ("**t0 → a client's new TCP connection served by b (anycast)**", "t0", "served_by_b"),
        ("a detects (web-u) → a's DNS answer no longer names a", "dns_detect", "dns_a"),
        ("t0 → b's probes see a down", "t0", "b_detects"),
        ("b detects → b's DNS answer no longer names a", "b_detects", "dns_b"),
        ("t0 → both PoPs' DNS answers without a", "t0", "dns_both"),
    ],
    "announce": [
        ("t0' → a detects (the first backend's 'down -> up')", "t0", "detection"),
        ("a detects → BGP decision (announced)", "detection", "decision"),
        ("BGP decision → a's router routes the anycast VIP to its LB again", "decision", "route"),
        ("a detects (web-u) → a's DNS answer names a again", "dns_detect", "dns_a"),
        ("t0' → b's probes see a up", "t0", "b_detects"),
        ("b detects → b's DNS answer names a again", "b_detects", "dns_b"),
        ("t0' → both PoPs' DNS answers with a", "t0", "dns_both"),
    ],
}


class Poll(threading.Thread):
    """Runs `attempt()` in namespace `ns` every `step` seconds from now until it returns True or
    `bound` seconds pass; `.t`: the wall time the first successful attempt started (at_end:
    ended, i.e. its answer came; None while none succeeded)."""

    def __init__(self, ns, attempt, step, bound, at_end=False):
        super().__init__(daemon=True)
        self.ns, self.attempt, self.step, self.bound = ns, attempt, step, bound
        self.at_end = at_end
        self.t = None
        self.tries = 0
        self.stop = False
        self.start()

    def run(self):
        deadline = time.time() + self.bound
        with netns(self.ns):
            while not self.stop and time.time() < deadline:
                t = time.time()
                self.tries += 1
                try:
                    if self.attempt():
                        self.t = time.time() if self.at_end else t
                        return
                except OSError:
                    pass
                time.sleep(self.step)

    def result(self, what):
        self.join()
        if self.t is None:
            raise fo.RunError(f"{what}: not within {self.bound:.1f} s ({self.tries} tries)")
        return self.t


def dns_answer(ecs=None, timeout=0.05, server=DNS_ADDRESS, with_ttl=False):
    """The A addresses the responder on the anycast DNS address (or `server`) gives for web
    (with ECS `ecs`, a prefix); None when it did not answer in time. with_ttl: (addresses,
    the answer's TTL)."""
    q = dns.message.make_query(f"{SERVICE}.{ZONE}", dns.rdatatype.A, use_edns=0)
    if ecs:
        net, length = ecs.split("/")
        q.use_edns(0, options=[dns.edns.ECSOption(net, int(length))])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(q.to_wire(), (server, 53))
        r = dns.message.from_wire(s.recv(4096))
    except (OSError, dns.exception.DNSException):
        return None
    finally:
        s.close()
    addrs = sorted(rd.address for rr in r.answer for rd in rr if rr.rdtype == dns.rdatatype.A)
    if with_ttl:
        return addrs, min((rr.ttl for rr in r.answer), default=None)
    return addrs


def http_ok():
    s = socket.create_connection((ANYCAST_VIP, 80), timeout=0.2)
    try:
        s.settimeout(0.5)
        s.sendall(b"GET / HTTP/1.0\r\nHost: web\r\n\r\n")
        return s.recv(256).startswith(b"HTTP/1.0 200")
    finally:
        s.close()


class PopsFailover:
    def __init__(self, pops, args, routes):
        self.pops, self.args, self.routes = pops, args, routes
        self.a, self.b = pops.pops["a"], pops.pops["b"]
        self.names = [x["name"] for x in self.a.info["backends"]]
        check_s = (args.interval * (args.fall + 1) + args.timeout) / 1000
        self.bound = check_s + 5
        self.ns_client = {p: pops.pops[p].ns("client") for p in POPS}

    # -- observations

    def unit(self, lab, vip=SERVICE):
        units = lab.steerd_show(f"bgp {vip}")["units"]
        if len(units) != 1:
            raise fo.RunError(f"show bgp {vip}: {len(units)} units")
        return units[0]

    def probe_event(self, change, t0):
        """b's event "<a's unicast VIP>:80/http <change>" at or after t0 (the first)."""
        prefix = f"{UNICAST_VIP['a']}:80/"
        for e in self.b.steerd_events():
            t = e["at_unix_us"] / 1e6
            if t >= t0 and e["text"].startswith(prefix) and f" {change}" in e["text"]:
                return t
        return None

    def a_milestones(self, direction, t0, route):
        deadline = time.monotonic() + 3
        while True:
            try:
                events = self.a.steerd_events()
                pushes = self.a.steerd_show("status")["dataplane"]["recent_pushes"]
                m = fo.milestones(direction, t0, events, self.unit(self.a), pushes, route)
                u = fo.milestones(direction, t0, events, self.unit(self.a, "web-u"), pushes,
                                  route)
                m["dns_detect"] = u["detection"]
                return m
            except fo.RunError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    # -- the lab

    def settle(self, timeout=20.0):
        dead = [n for n in self.names if not pid_alive(self.a.server_pid(n) or -1)]
        for n in dead:
            self.a.server_start(n)
        self.pops.wait_ready(timeout)
        wait_until("a's DNS answer names a", lambda: dns_in(self.ns_client["a"]) ==
                   [UNICAST_VIP["a"]] or None, timeout, 0.02)

    # -- runs

    def withdraw(self, rng):
        time.sleep(self.args.interval / 1000 * (1 + rng.random()))
        pids = [self.a.server_pid(n) for n in self.names]
        if not all(p and pid_alive(p) for p in pids):
            raise fo.RunError(f"not every server of a is running before the kill: {pids}")
        t0 = time.time()
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        for n, pid in zip(self.names, pids):
            wait_until(f"servers on a's {n} gone", lambda p=pid: not pid_alive(p), 5)
            (self.a.run_dir / f"{n}.ready").unlink(missing_ok=True)
        b_addr = UNICAST_VIP["b"]
        polls = {
            # a's servers are dead: a connection that succeeds is b's.
            "served_by_b": Poll(self.ns_client["a"], http_ok, POLL_TCP_S, self.bound),
            "dns_a": Poll(self.ns_client["a"], lambda: dns_answer() == [b_addr], POLL_DNS_S,
                          self.bound, at_end=True),
            "dns_b": Poll(self.ns_client["b"], lambda: dns_answer(client_net("a")) == [b_addr],
                          POLL_DNS_S, self.bound, at_end=True),
        }
        try:
            route = self.routes.wait_for("v4", {"172.16.1.1"}, after=t0, timeout=self.bound)
        except AssertionError as e:
            raise fo.RunError(f"a's router did not turn to the transit: {e}")
        m = {k: p.result(k) for k, p in polls.items()}
        m.update(self.a_milestones("withdraw", t0, route))
        wait_until("b's probe event", lambda: self.probe_event("up -> down", t0), 5, 0.02)
        m["b_detects"] = self.probe_event("up -> down", t0)
        m["dns_both"] = max(m["dns_a"], m["dns_b"])
        return m

    def announce(self):
        a_addr = UNICAST_VIP["a"]
        with fo.ReadyWatch(self.a.run_dir, self.names) as ready:
            t_start = time.time()
            polls = {
                "dns_a": Poll(self.ns_client["a"], lambda: dns_answer() == [a_addr], POLL_DNS_S,
                              self.bound + 10, at_end=True),
                "dns_b": Poll(self.ns_client["b"],
                              lambda: dns_answer(client_net("a")) == [a_addr], POLL_DNS_S,
                              self.bound + 10, at_end=True),
            }
            for n in self.names:
                self.a.server_start(n)
            if not ready.wait_all(10):
                raise fo.RunError(f"ready files seen: {sorted(ready.times)} of {self.names}")
        t0, _ = ready.first()
        try:
            route = self.routes.wait_for("v4", {"lb1"}, after=t_start, timeout=self.bound + 10)
        except AssertionError as e:
            raise fo.RunError(f"a's router did not come back to its LB: {e}")
        m = {k: p.result(k) for k, p in polls.items()}
        m.update(self.a_milestones("announce", t0, route))
        wait_until("b's probe event", lambda: self.probe_event("down -> up", t0), 5, 0.02)
        m["b_detects"] = self.probe_event("down -> up", t0)
        m["dns_both"] = max(m["dns_a"], m["dns_b"])
        return m


def dns_in(ns):
    out = []
    with netns(ns):
        out = dns_answer(timeout=0.5)
    return out


def record(direction, run, m):
    return {"direction": direction, "run": run, "t0_unix": round(m["t0"], 6),
            "at_ms": {k: round((m[k] - m["t0"]) * 1000, 2) for k in m
                      if isinstance(m[k], float) and k != "t0"},
            "ms": {f"{a}->{b}": round((m[b] - m[a]) * 1000, 2) for _, a, b in STAGES[direction]},
            "backend": m.get("backend")}


def table(direction, runs):
    done = [r["ms"] for r in runs if r["direction"] == direction]
    lines = ["| stage | p50 ms | p99 ms | max ms | n |", "|---|---:|---:|---:|---:|"]
    for label, a, b in STAGES[direction]:
        values = [ms[f"{a}->{b}"] for ms in done]
        if not values:
            lines.append(f"| {label} | - | - | - | 0 |")
            continue
        lines.append(f"| {label} | {fo.percentile(values, 50):.1f} | "
                     f"{fo.percentile(values, 99):.1f} | {max(values):.1f} | {len(values)} |")
    return "\n".join(lines)


def targets(args, runs):
    """The issue's targets against the withdraw runs: lines of text."""
    w = [r["ms"] for r in runs if r["direction"] == "withdraw"]
    if not w:
        return ["no completed withdraw run"]
    out = []
    p99 = fo.percentile([x["t0->served_by_b"] for x in w], 99)
    out.append(f"anycast VIP unreachable -> served by b: p99 {p99:.1f} ms (target <= "
               f"{TARGET_ANYCAST_MS} ms){'' if p99 <= TARGET_ANYCAST_MS else ': MISSED'}")
    for key, who in (("dns_detect->dns_a", "a"), ("b_detects->dns_b", "b")):
        p = fo.percentile([x[key] for x in w], 99)
        out.append(f"{who}'s DNS answer changed after {who}'s detection: p99 {p:.1f} ms (target "
                   f"<= {TARGET_DNS_AFTER_MS} ms){'' if p <= TARGET_DNS_AFTER_MS else ': MISSED'}")
    bound = args.interval * args.fall + args.timeout
    p = fo.percentile([x["t0->b_detects"] for x in w], 99)
    out.append(f"b's probes see a down: p99 {p:.1f} ms after the failure (bound: interval x fall "
               f"+ timeout = {bound} ms, plus the probe phase: up to one interval more)")
    return out


def run_pops(args, command):
    """tools/failover --pops 2: returns (runs, failures, config text)."""
    import random
    rng = random.Random(args.seed)
    runs, failures = [], []
    started = time.monotonic()
    pops = TwoPops(args.prefix, backends=2, any_prefix=True, interval=args.interval,
                   timeout=args.timeout, rise=args.rise, fall=args.fall)
    conf = (f"two PoPs (tools/lab up --pops 2, prefix {args.prefix}): a (clients "
            f"{client_net('a')}, region eu) and b ({client_net('b')}, us), each: router (BIRD), "
            f"LB host (steer-dataplane, steerd with DNS, BIRD), 2 backends; a transit (BIRD, AS "
            f"65100) joining the routers. Anycast VIP {ANYCAST_VIP}, unicast VIPs "
            f"{UNICAST_VIP['a']} (a) / {UNICAST_VIP['b']} (b), anycast DNS {DNS_ADDRESS}. steerd "
            f"http checks: interval {args.interval} ms, timeout {args.timeout} ms, rise "
            f"{args.rise}, fall {args.fall}; [bgp] announce_hold_ms 0, min_interval_ms 0. DNS: "
            f"service web answers the nearest healthy PoP's unicast VIP (1 address); each PoP "
            f"probes the other's unicast VIP with the same check.")
    with pops:
        with RouteWatch(pops.pops["a"], dsts=[ANYCAST_VIP]) as routes:
            f = PopsFailover(pops, args, routes)
            f.settle()
            print(f"two PoPs up, steerd warm, DNS sees both; {args.runs} runs", flush=True)
            for i in range(1, args.runs + 1):
                if time.monotonic() - started > args.max_seconds:
                    failures.append({"run": i, "direction": "-", "error": "--max-seconds reached"})
                    break
                for direction in ("withdraw", "announce"):
                    try:
                        if direction == "withdraw":
                            f.settle()
                            m = f.withdraw(rng)
                        else:
                            m = f.announce()
                    except (fo.RunError, AssertionError, OSError) as e:
                        failures.append({"run": i, "direction": direction, "error": str(e)})
                        print(f"  run {i:2} {direction}: FAILED: {e}", flush=True)
                        f.settle()
                        break
                    rec = record(direction, i, m)
                    runs.append(rec)
                    at = rec["at_ms"]
                    extra = (f", served by b {at['served_by_b']:6.1f}"
                             if direction == "withdraw" else "")
                    print(f"  run {i:2} {direction:8}: a detects {at['detection']:6.1f}, route "
                          f"{at['route']:6.1f}{extra}, DNS a {at['dns_a']:6.1f}, b detects "
                          f"{at['b_detects']:6.1f}, DNS b {at['dns_b']:6.1f} ms", flush=True)
    return runs, failures, conf
