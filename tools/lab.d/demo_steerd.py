#!/usr/bin/python3
"""The steerd part of the demo (tools/demo): steerd takes over a running lab, then an operator
drains a backend, a backend's server is killed and leaves, is started again and returns —
all seen through steerctl.

    STEER_LAB=demo tools/lab.d/demo_steerd.py      (the lab must be up: tools/lab up)

Starts steerd with `tools/lab steerd up` (it is stopped by `tools/lab down`).
"""
import collections
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "testing" / "lab"))
import lablib  # noqa: E402
from demo_text import lab_command, say, steerctl  # noqa: E402


class Demo:
    def __init__(self):
        self.lab = lablib.Lab.running()
        self.ns = self.lab.ns("client")
        self.clients = self.lab.client_v4()
        self.vip = self.lab.vip4
        self.v4 = {b["name"]: b["v4"] for b in self.lab.backends}

    def tool(self, *args):
        """tools/lab ARGS, printed with its output."""
        lab_command(self.lab, *args, timeout=60)

    def steerctl(self, *args, show=True, tail=None, keep=None):
        """steerctl ARGS on the lab's steerd, printed with its output (demo_text.steerctl);
        returns the output."""
        return steerctl(self.lab, *args, show=show, tail=tail, keep=keep)

    def show(self, what):
        return self.lab.steerd_show(what)

    def effective(self, vip, name):
        for b in self.show(f"backends {vip}")["backends"]:
            if b["address"] == self.v4[name]:
                return b["effective"]
        return None

    def wait_effective(self, vip, name, state, timeout=10):
        t0 = time.monotonic()
        lablib.wait_until(f"{name} {state} in {vip}",
                          lambda: self.effective(vip, name) == state, timeout, 0.005)
        return time.monotonic() - t0

    def gets(self, n, offset=0):
        pairs = [(self.clients[(offset + i) % len(self.clients)], self.vip) for i in range(n)]
        answers = lablib.http_many(self.ns, pairs)
        by = collections.Counter(a.backend or "FAILED" for a in answers)
        print(f"  {n} HTTP GETs through {self.vip}:80 answered by: " +
              ", ".join(f"{k} {by[k]}" for k in sorted(by)), flush=True)
        return by


def health_digest(text, history=3):
    """show health's text with only the last `history` results of each target."""
    out, block = [], []
    for line in text.rstrip("\n").split("\n"):
        if line and not line.startswith(" "):
            out += block[:1] + block[1:][-history:]
            block = [line]
        else:
            block.append(line)
    out += block[:1] + block[1:][-history:]
    return "\n".join(out)


def main():
    d = Demo()
    lablib.raise_nofile()
    t_start = time.monotonic()

    say("steerd takes over the lab: health checks every 100 ms (fall 3, rise 2); it pushes "
        "nothing until every backend has a verdict")
    d.tool("steerd", "up")
    lablib.wait_until("steerd warm", lambda: d.show("status").get("warm"), 15)
    d.steerctl("show", "status")
    d.steerctl("show", "backends", "web")

    victim = "b2"
    say(f"Drain {victim} ({d.v4[victim]}) on every VIP: its connections stay, new ones go "
        "elsewhere")
    conns = lablib.open_echo_conns(d.ns, [(d.clients[i % len(d.clients)], d.vip)
                                          for i in range(100)])
    on_victim = [c for c in conns if c.backend == victim]
    print(f"  100 long-lived echo connections open, {len(on_victim)} of them on {victim}")
    d.steerctl("backend", "drain", d.v4[victim])
    d.wait_effective("echo", victim, "drain")
    d.steerctl("show", "backends", "echo")
    still = sum(1 for name in lablib.ask_all(on_victim) if name == victim)
    print(f"  one more line on each of {victim}'s {len(on_victim)} connections: {still} answered "
          f"by {victim} (drained, not cut)")
    d.gets(200)
    d.steerctl("backend", "undrain", d.v4[victim])
    for c in conns:
        c.close()

    killed = "b3"
    say(f"Kill {killed}'s server process ({d.v4[killed]}): the checks fail, it leaves")
    t0 = time.monotonic()
    d.tool("backend", killed, "kill")
    d.wait_effective("web", killed, "down")
    print(f"  out of service {(time.monotonic() - t0) * 1000:.0f} ms after the kill began",
          flush=True)
    d.steerctl("show", "backends", "web")
    print("$ steerctl show health " + d.v4[killed] + "    (last 3 results per check)")
    print(health_digest(d.steerctl("show", "health", d.v4[killed], show=False)))
    d.gets(200, offset=50)

    say(f"Start {killed}'s server again: two good checks (rise 2) and it returns")
    t0 = time.monotonic()
    d.tool("backend", killed, "start")
    t_ready = time.monotonic()
    d.wait_effective("web", killed, "up")
    print(f"  back in service {(time.monotonic() - t0) * 1000:.0f} ms after the start began "
          f"(the server took {(t_ready - t0) * 1000:.0f} ms to bind its sockets)", flush=True)
    d.steerctl("show", "backends", "web")
    d.gets(200, offset=100)

    say("What steerd saw (show events; health changes of the other checks left out)")
    d.steerctl("show", "events", keep=lambda line: ":80/http" in line or "backend" in line or
               "warm-up" in line or "started" in line or "dataplane" in line)
    print(f"\n(steerd part: {time.monotonic() - t_start:.0f} s)")


if __name__ == "__main__":
    try:
        main()
    except (subprocess.CalledProcessError, AssertionError, OSError, lablib.ApiError,
            lablib.LabError) as e:
        print(f"demo_steerd: {e}", file=sys.stderr)
        sys.exit(1)
