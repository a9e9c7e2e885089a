#!/usr/bin/python3
"""The BGP part of the demo (tools/demo): two LB hosts announce the VIPs to the router through
BIRD, steered by steerd; an LB whose dataplane dies leaves the router's route and returns, a
PoP whose backends all die leaves it completely and returns, and an operator drains one LB.

    STEER_LAB=demo STEER_BUILD=build tools/lab.d/demo_bgp.py [--keep]

Builds its own lab (tools/lab up --bgp --lbs 2, replacing a lab of the same prefix) and tears
it down at the end, also on failure or Ctrl-C (--keep: leave it up). Timings come from the
router kernel's routes (netlink: lablib.RouteWatch).
"""
import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "testing" / "lab"))
import lablib  # noqa: E402
from demo_text import lab_command, say, steerctl  # noqa: E402

BACKENDS = ["b1", "b2", "b3", "b4"]
HOLD_MS = lablib.STEERD_BGP_DEFAULTS["announce_hold_ms"]
DRAIN_MS = lablib.STEERD_BGP_DEFAULTS["drain_ms"]


def ms(t):
    return f"{t * 1000:.0f} ms"


class Demo:
    def __init__(self):
        self.lab = lablib.Lab(lablib.default_prefix(), bgp=True, lbs=2, any_prefix=True)
        self.routes = None

    def tool(self, *args, show=True, keep=None):
        """tools/lab ARGS (printed with its output, or the lines keep(line) accepts)."""
        return lab_command(self.lab, *args, show=show, keep=keep)

    def steerctl(self, *args, lb="lb1"):
        steerctl(self.lab, *args, lb=lb)

    def route(self):
        out = self.tool("route", "v4", show=False)
        print("$ tools/lab route v4\n" + (out.rstrip("\n") or "(no route to the VIP)"), flush=True)

    def route_of(self, want, after, timeout=15.0):
        """Seconds from `after` until the router's IPv4 route goes via exactly `want`."""
        return self.routes.wait_for("v4", want, after=after, timeout=timeout) - after

    def gets(self, n=200):
        """n HTTP GETs from the client through the VIP: who answered, which LB carried them."""
        clients = self.lab.client_v4()
        before = {lb: self.lab.link_counters("router", f"to-{lb}")[1] for lb in ("lb1", "lb2")}
        answers = lablib.http_many(self.lab.ns("client"),
                                   [(clients[i % len(clients)], self.lab.vip4) for i in range(n)],
                                   timeout=5.0)
        by = collections.Counter(a.backend or "FAILED" for a in answers)
        sent = {lb: self.lab.link_counters("router", f"to-{lb}")[1] - before[lb]
                for lb in before}
        print(f"  {n} HTTP GETs through {self.lab.vip4}:80 answered by: "
              + ", ".join(f"{k} {by[k]}" for k in sorted(by))
              + f"; the router sent {sent['lb1']} packets to lb1, {sent['lb2']} to lb2",
              flush=True)
        return by

    def bird_route_lines(self):
        """The lines of the router's `show route all` for the VIP that say who and what."""
        out = self.lab.bird("router", "show", "route", "all", f"{self.lab.vip4}/32")
        keep = ("unicast", "via ", "BGP.as_path", "BGP.community")
        return [line.rstrip() for line in out.splitlines() if any(k in line for k in keep)]

    def kill_servers(self):
        pids = [self.lab.server_pid(n) for n in BACKENDS]
        t0 = time.time()
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        for n, pid in zip(BACKENDS, pids):
            lablib.wait_until(f"servers on {n} gone", lambda p=pid: not lablib.pid_alive(p), 5)
            (self.lab.run_dir / f"{n}.ready").unlink(missing_ok=True)
        return t0

    def start_servers(self):
        procs = [subprocess.Popen([str(lablib.LAB_TOOL), "backend", n, "start"],
                                  env=self.lab.env(), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
                 for n in BACKENDS]
        if any(p.wait(timeout=30) != 0 for p in procs):
            raise lablib.LabError("a backend's servers did not start")


def main(d):
    lab = d.lab
    t_start = time.monotonic()
    say("BGP: two LB hosts, each with steer-dataplane, steerd and BIRD; the router learns the "
        "VIPs from both (eBGP) and spreads flows over them (ECMP)")
    d.tool("up", "--bgp", "--lbs", "2", keep=lambda line: " up in " in line)
    lab.attach()
    for lb in ("lb1", "lb2"):
        d.tool("steerd", "--lb", lb, "up", "--bgp")
    for lb in ("lb1", "lb2"):
        lab.wait_warm(lb=lb)
    d.routes = lablib.RouteWatch(lab, dsts=[lab.vip4, lab.vip6])
    d.route_of(["lb1", "lb2"], after=0)
    d.tool("route")
    d.steerctl("show", "bgp")
    d.gets()

    say("PoP failure on lb1: its steer-dataplane dies; steerd withdraws lb1's routes at once "
        "(an LB that black-holes is worse than one that is gone)")
    pid = lab.dataplane_pid("lb1")
    t0 = time.time()
    os.kill(pid, signal.SIGKILL)
    print(f"  SIGKILL to lb1's steer-dataplane (pid {pid}): the router's route is via lb2 only "
          f"{ms(d.route_of(['lb2'], t0))} later", flush=True)
    lablib.wait_until("lb1's dataplane gone", lambda: not lablib.pid_alive(pid), 5)
    d.route()
    d.steerctl("show", "bgp")
    d.gets()

    say(f"lb1's dataplane starts again: steerd gives it its state, holds {HOLD_MS} ms "
        "(announce_hold_ms), and announces")
    t0 = time.time()
    d.tool("dataplane", "--lb", "lb1", "start", show=False)
    print("$ tools/lab dataplane --lb lb1 start")
    print(f"  route via lb1 and lb2 again {ms(d.route_of(['lb1', 'lb2'], t0))} after the start "
          f"began (DPDK start-up, the push, the hold-down)", flush=True)
    d.route()

    say("Every backend of the PoP dies: the health checks fail on both LBs, both withdraw, and "
        "the VIP leaves the router")
    t0 = d.kill_servers()
    gone = d.route_of([], t0)
    first = [t for t, nh in d.routes.history("v4") if t >= t0 and len(nh) == 1]
    one = f" (one LB left after {ms(first[0] - t0)})" if first else ""
    print(f"  SIGKILL to the four backends' servers: the route is gone {ms(gone)} later{one}",
          flush=True)
    d.route()
    d.steerctl("show", "bgp")
    a = lablib.run(lablib.http_get(lab.ns("client"), lab.client_v4()[0], lab.vip4, timeout=2))
    print(f"  a GET through {lab.vip4}:80 now: {a.error or 'answered?!'}", flush=True)

    say(f"The servers start again: two good checks (rise 2), the {HOLD_MS} ms hold-down, and both "
        "LBs announce again")
    t0 = time.time()
    d.start_servers()
    print(f"  route via lb1 and lb2 {ms(d.route_of(['lb1', 'lb2'], t0))} after the servers were "
          f"started", flush=True)
    d.route()
    d.gets()

    say(f"Graceful drain of lb1: lb1 announces with a longer AS path (the router prefers lb2), "
        f"then withdraws after drain_ms ({DRAIN_MS} ms)")
    t0 = time.time()
    d.steerctl("bgp", "drain", "web")
    d.route_of(["lb2"], t0)
    lablib.wait_until("lb1's drained path at the router",
                      lambda: any("65001 65001" in line for line in d.bird_route_lines()), 5)
    print(f"$ tools/lab bird router birdc show route all {lab.vip4}/32     (who, path, community)")
    print("\n".join(d.bird_route_lines()), flush=True)
    d.route()
    lablib.wait_until("lb1's path withdrawn at the router",
                      lambda: not any("to-lb1" in line for line in d.bird_route_lines()),
                      DRAIN_MS / 1000 + 5, 0.01)
    print(f"  lb1's path withdrawn at the router {ms(time.time() - t0)} after the drain began:",
          flush=True)
    print("\n".join(d.bird_route_lines()), flush=True)
    t0 = time.time()
    d.steerctl("bgp", "undrain", "web")
    print(f"  route via lb1 and lb2 again {ms(d.route_of(['lb1', 'lb2'], t0))} after the undrain "
          f"(the hold-down)", flush=True)
    d.route()
    print(f"\n(BGP part: {time.monotonic() - t_start:.0f} s)")


if __name__ == "__main__":
    keep = "--keep" in sys.argv[1:]

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    demo = Demo()
    lablib.raise_nofile()
    rc = 0
    try:
        main(demo)
    except Exception as e:  # whatever went wrong: say it, show the logs, tear down
        print(f"demo_bgp: {type(e).__name__}: {e}", file=sys.stderr)
        if demo.lab.run_dir.exists():
            demo.lab.print_logs(lines=10)
        rc = 1
    except KeyboardInterrupt:
        print("demo_bgp: interrupted", file=sys.stderr)
        rc = 130
    finally:
        if demo.routes:
            demo.routes.stop()
        if not keep:
            demo.lab.down()
    sys.exit(rc)
