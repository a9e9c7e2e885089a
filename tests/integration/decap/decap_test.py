#!/usr/bin/python3
"""steer-decap against the real kernel: encapsulated traffic reaches real servers on a VIP.

Lab (two network namespaces, deleted on exit whatever happens):

  client ns sx-dc-PID                       backend ns sx-db-PID
  sxc0 10.99.0.1/24 fd99::1/64  <-- veth -->  sxb0 10.99.0.2/24 fd99::2/64, steer-decap here
  (scapy encapsulates, like steer's LB)       lo: VIPs 192.0.2.10/32, 2001:db8::10/128
                                              UDP echo + TCP servers on the VIPs

The client sends IPIP, 6in4, IP6IP6, 4in6 and GUE (over IPv4 and IPv6, both inner families)
from the inner client addresses 198.18.0.1 / 2001:db8:c::1, which the backend routes back via
the client's veth: replies leave the backend straight from the VIP (direct server return) and
are sniffed on the client's veth. Each case also checks the exact change of steer-decap's
counters. Then: plain traffic passes, non-local / malformed / wrong-port / spoofed packets are
not delivered (and counted), re-attach is idempotent, and after detach nothing is delivered
(this kernel has no ipip/fou: the program is what makes delivery work).

  decap_test.py --decap PATH/steer-decap --mode xdp|xdp-generic|tc|tc-fallback
Exit 0 if every check passed, 1 otherwise, 77 (skip) when not root.
"""
import argparse
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PEER = os.path.join(HERE, "decap_peer.py")
PY = "/usr/bin/python3"

VIP4, VIP6 = "192.0.2.10", "2001:db8::10"
CLIENT4, CLIENT6 = "198.18.0.1", "2001:db8:c::1"
CLI4, CLI6 = "10.99.0.1", "fd99::1"  # the client's veth = the encapsulating LB
BE4, BE6 = "10.99.0.2", "fd99::2"    # the backend's veth = outer destination
UDP_PORT, TCP_PORT = 5000, 80

INNER_OF = {"ipip": 4, "6in4": 6, "ip6ip6": 6, "4in6": 4}
OUTER_OF = {"ipip": 4, "6in4": 4, "gue4": 4, "ip6ip6": 6, "4in6": 6, "gue6": 6}
COUNTER_OF = {"ipip": "ipip", "6in4": "6in4", "ip6ip6": "ip6ip6", "4in6": "4in6",
              "gue4": "gue4", "gue6": "gue6"}


def sh(*cmd, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


class Peer:
    """A decap_peer.py process in a namespace, with its JSON lines on a queue."""

    def __init__(self, ns, args):
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns, PY, PEER] + args,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.lines.put(json.loads(line))
            except ValueError:
                self.lines.put({"event": "garbage", "line": line})

    def next(self, timeout):
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def wait(self, pred, timeout):
        """The first line matching pred within timeout; others are dropped."""
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                return None
            m = self.next(left)
            if m is not None and pred(m):
                return m

    def drain(self):
        while self.next(0) is not None:
            pass

    def call(self, **cmd):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        r = self.next(30)
        if r is None:
            raise RuntimeError(f"client did not answer {cmd}")
        if not r.get("ok"):
            raise RuntimeError(f"client failed {cmd}: {r.get('error')}")
        return r

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Test:
    def __init__(self, args):
        self.decap_bin = args.decap
        self.mode = args.mode
        pid = os.getpid()
        self.cns, self.bns = f"sx-dc-{pid}", f"sx-db-{pid}"
        self.peers = []
        self.failures = 0
        self.checks = 0
        self.sport = 40000

    # ---- reporting ----
    def check(self, cond, what, detail=""):
        self.checks += 1
        if cond:
            print(f"ok   {what}")
        else:
            self.failures += 1
            print(f"FAIL {what}" + (f": {detail}" if detail else ""))
        sys.stdout.flush()
        return cond

    # ---- lab ----
    def setup(self):
        c, b = self.cns, self.bns
        sh("ip", "netns", "add", c)
        sh("ip", "netns", "add", b)
        sh("ip", "link", "add", "sxc0", "netns", c, "type", "veth", "peer", "name", "sxb0",
           "netns", b)
        for ns in (c, b):
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", c, "addr", "add", f"{CLI4}/24", "dev", "sxc0")
        sh("ip", "-n", c, "addr", "add", f"{CLI6}/64", "dev", "sxc0", "nodad")
        sh("ip", "-n", b, "addr", "add", f"{BE4}/24", "dev", "sxb0")
        sh("ip", "-n", b, "addr", "add", f"{BE6}/64", "dev", "sxb0", "nodad")
        sh("ip", "-n", b, "addr", "add", f"{VIP4}/32", "dev", "lo")
        sh("ip", "-n", b, "addr", "add", f"{VIP6}/128", "dev", "lo")
        sh("ip", "-n", c, "link", "set", "sxc0", "up")
        sh("ip", "-n", b, "link", "set", "sxb0", "up")
        # What docs/decap.md asks of a backend.
        sh("ip", "netns", "exec", b, "sysctl", "-q", "-w",
           "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
           "net.ipv4.conf.sxb0.rp_filter=0", "net.ipv4.conf.lo.rp_filter=0",
           "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2")
        # Replies to the (inner) client addresses go back through the client's veth.
        sh("ip", "-n", b, "route", "add", "198.18.0.0/15", "via", CLI4)
        sh("ip", "-n", b, "-6", "route", "add", "2001:db8:c::/64", "via", CLI6)
        link = json.loads(sh("ip", "-n", b, "-j", "link", "show", "sxb0").stdout)
        self.backend_mac = link[0]["address"]

        self.server = Peer(b, ["server", "--vip4", VIP4, "--vip6", VIP6,
                               "--udp-port", str(UDP_PORT), "--tcp-port", str(TCP_PORT)])
        self.peers.append(self.server)
        self.client = Peer(c, ["client", "--iface", "sxc0", "--dst-mac", self.backend_mac,
                               "--client4", CLIENT4, "--client6", CLIENT6,
                               "--vip4", VIP4, "--vip6", VIP6,
                               "--outer4", f"{CLI4},{BE4}", "--outer6", f"{CLI6},{BE6}",
                               "--udp-port", str(UDP_PORT), "--tcp-port", str(TCP_PORT)])
        self.peers.append(self.client)
        for p, name in ((self.server, "server"), (self.client, "client")):
            if p.wait(lambda m: m.get("event") == "ready", 30) is None:
                raise RuntimeError(f"{name} did not start")

    def teardown(self):
        for p in self.peers:
            p.stop()
        for ns in (self.cns, self.bns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    # ---- steer-decap ----
    def decap(self, *args):
        return sh("ip", "netns", "exec", self.bns, self.decap_bin, *args, check=False)

    def attach(self, *extra):
        mode = "tc" if self.mode == "tc-fallback" else self.mode
        args = ["attach", "--dev", "sxb0", "--mode", mode, "--json"]
        if self.mode == "tc-fallback":
            args.append("--tc-redirect-fallback")
        r = self.decap(*args, *extra)
        if not self.check(r.returncode == 0, f"attach {' '.join(args[3:] + list(extra))}",
                          r.stderr.strip()):
            return None
        return json.loads(r.stdout)

    def status(self):
        r = self.decap("status", "--dev", "sxb0", "--json")
        if r.returncode != 0:
            raise RuntimeError(f"status failed: {r.stderr.strip()}")
        return json.loads(r.stdout)

    def counters(self):
        s = self.status()
        return s.get("counters", {})

    def check_deltas(self, what, before, expect):
        """expect: counter -> exact delta; every decap counter not named must not move."""
        after = self.counters()
        exact = {k: 0 for k in ("ipip", "6in4", "ip6ip6", "4in6", "gue4", "gue6",
                                "not_local", "malformed", "drop_source", "failed",
                                "tc_redirected")}
        exact.update(expect)
        bad = {k: after.get(k, 0) - before.get(k, 0) for k in exact
               if after.get(k, 0) - before.get(k, 0) != exact[k]}
        self.check(not bad, f"{what}: counters", f"unexpected deltas {bad}, wanted {expect}")

    def next_sport(self):
        self.sport += 1
        return self.sport

    def cross_family(self, kind, inner):
        return OUTER_OF.get(kind, inner) != inner

    def redirected(self, kind, inner, packets):
        if self.mode == "tc-fallback" and kind != "plain" and self.cross_family(kind, inner):
            return {"tc_redirected": packets}
        return {}

    # ---- cases ----
    def udp_case(self, kind, inner, delivered=True, expect=None, **opts):
        what = f"udp {kind} inner IPv{inner}" + (f" {opts}" if opts else "")
        sport = self.next_sport()
        payload = f"{self.mode}-{kind}-{inner}-{sport}"
        before = self.counters()
        self.server.drain()
        wait = 3 if delivered else 1
        r = self.client.call(cmd="udp", kind=kind, inner=inner, payload=payload, sport=sport,
                             wait=wait, **opts)
        event = self.server.wait(lambda m: m.get("event") == "udp" and
                                 m.get("payload") == payload, 2 if delivered else 0.3)
        client = CLIENT4 if inner == 4 else CLIENT6
        vip = VIP4 if inner == 4 else VIP6
        if delivered:
            if self.check(event is not None, f"{what}: delivered to the UDP server on the VIP"):
                self.check(event["src"] == client and event["vip"] == vip,
                           f"{what}: source and VIP as sent", str(event))
            echo = r["echo"]
            self.check(echo is not None and echo["src"] == vip and echo["dst"] == client and
                       echo["payload"] == "echo:" + payload,
                       f"{what}: echo comes back from the VIP to the client (DSR)", str(echo))
        else:
            self.check(event is None, f"{what}: not delivered", str(event))
        if expect is None:
            expect = {COUNTER_OF[kind]: 1} if kind in COUNTER_OF else {}
            expect.update(self.redirected(kind, inner, 1))
        self.check_deltas(what, before, expect)

    def tcp_case(self, kind, inner):
        what = f"tcp {kind} inner IPv{inner}"
        sport = self.next_sport()
        data = f"hello-{self.mode}-{kind}-{sport}"
        before = self.counters()
        self.server.drain()
        r = self.client.call(cmd="tcp", kind=kind, inner=inner, sport=sport, data=data)
        client = CLIENT4 if inner == 4 else CLIENT6
        vip = VIP4 if inner == 4 else VIP6
        sa = r["synack"]
        self.check(sa is not None and sa["src"] == vip and sa["dst"] == client and
                   sa["sport"] == TCP_PORT and sa["dport"] == sport,
                   f"{what}: SYN-ACK leaves the backend from the VIP to the client (DSR)", str(sa))
        event = self.server.wait(lambda m: m.get("event") == "tcp" and m.get("data") == data, 3)
        self.check(event is not None and event["src"] == client and event["vip"] == vip,
                   f"{what}: the TCP server accepted the connection and read the data", str(event))
        reply = r["reply"]
        self.check(reply is not None and reply["payload"] == "pong:" + data and
                   reply["src"] == vip,
                   f"{what}: the server's answer reaches the client from the VIP", str(reply))
        # SYN, data, RST: three encapsulated packets.
        expect = {COUNTER_OF[kind]: 3}
        expect.update(self.redirected(kind, inner, 3))
        self.check_deltas(what, before, expect)

    def run(self):
        s = self.attach()
        if s is None:
            return
        mode = "tc" if self.mode == "tc-fallback" else self.mode
        self.check(s["attached"] and s["mode"] == mode and s["gue_port"] == 6080 and
                   BE4 in s["destinations"] and BE6 in s["destinations"] and not s["allow"],
                   "status after attach: mode, GUE port, destinations = the device's addresses",
                   str(s))

        for kind in ("ipip", "6in4", "ip6ip6", "4in6"):
            self.udp_case(kind, INNER_OF[kind])
        for kind in ("gue4", "gue6"):
            for inner in (4, 6):
                self.udp_case(kind, inner)
        for kind, inner in (("ipip", 4), ("6in4", 6), ("ip6ip6", 6), ("4in6", 4),
                            ("gue4", 4), ("gue6", 6)):
            self.tcp_case(kind, inner)

        # Not steer's traffic: untouched.
        before = self.counters()
        self.udp_case("plain", 4, expect={})
        self.udp_case("plain", 6, expect={})
        for addr in (BE4, BE6):
            r = sh("ip", "netns", "exec", self.cns, "ping", "-c", "1", "-W", "2", addr,
                   check=False)
            self.check(r.returncode == 0, f"ping {addr} (host traffic) answered")
        after = self.counters()
        self.check(after["passed"] - before["passed"] >= 4, "plain traffic counted as passed",
                   f"{before['passed']} -> {after['passed']}")

        # Encapsulated but not for this host, malformed, or GUE on another port: passed on
        # untouched (and the kernel drops or refuses it).
        self.udp_case("ipip", 4, delivered=False, expect={"not_local": 1},
                      outer_dst="10.99.0.99")
        self.udp_case("ip6ip6", 6, delivered=False, expect={"not_local": 1},
                      outer_dst="fd99::99")
        self.udp_case("ipip", 4, delivered=False, expect={"malformed": 1}, truncate=14 + 20 + 10)
        self.udp_case("4in6", 4, delivered=False, expect={"malformed": 1}, truncate=14 + 40 + 12)
        self.udp_case("gue4", 4, delivered=False, expect={}, gue_port=6081)
        # An 802.1Q-tagged frame is decapsulated keeping its tag (XDP), or after the kernel
        # took the tag off (tc); this kernel has no VLAN devices, so it then drops it.
        self.udp_case("ipip", 4, delivered=False, expect={"ipip": 1}, vlan=100)
        self.udp_case("ip6ip6", 6, delivered=False, expect={"ip6ip6": 1}, vlan=100)

        # Allow list: only the LB's addresses may tunnel in; others are dropped. Re-attaching
        # replaces the program in place.
        old_id = self.status()["prog_id"]
        s = self.attach("--allow", f"{CLI4}/32", "--allow", "fd99::/64", "--gue-port", "7000",
                        "--dst", BE4, "--dst", BE6)
        if s is not None:
            self.check(s["prog_id"] != old_id and s["allow"] == [f"{CLI4}/32", "fd99::/64"] and
                       s["gue_port"] == 7000 and s["destinations"] == [BE4, BE6],
                       "re-attach replaces the program, with the new settings", str(s))
            self.udp_case("ipip", 4)
            self.udp_case("ip6ip6", 6)
            self.udp_case("gue4", 6, gue_port=7000)
            self.udp_case("ipip", 4, delivered=False, expect={"drop_source": 1},
                          outer_src="10.99.0.77")
            self.udp_case("4in6", 4, delivered=False, expect={"drop_source": 1},
                          outer_src="fd98::1")
        link = sh("ip", "-n", self.bns, "-d", "link", "show", "sxb0").stdout
        want = {"xdp": " xdp ", "xdp-generic": " xdpgeneric "}.get(mode)
        if want:
            # `ip link` puts the XDP mode among the link's attributes: "mtu 1500 xdp qdisc".
            self.check(want in link.splitlines()[0] and link.count("prog/xdp") == 1,
                       f"the kernel shows one {mode} program", link)
        else:
            self.check("prog/xdp" not in link, "no XDP program in tc mode", link)
            f = sh("tc", "-n", self.bns, "filter", "show", "dev", "sxb0", "ingress").stdout
            self.check("steer_decap_tc" in f, "tc ingress filter present", f)

        # Detach: the kernel alone cannot decapsulate.
        r = self.decap("detach", "--dev", "sxb0")
        self.check(r.returncode == 0 and "detached" in r.stdout, "detach", r.stderr)
        self.check(not self.status()["attached"], "status after detach: not attached")
        sport = self.next_sport()
        self.client.call(cmd="udp", kind="ipip", inner=4, payload="after-detach", sport=sport,
                         wait=0.5)
        self.check(self.server.wait(lambda m: m.get("payload") == "after-detach", 1) is None,
                   "after detach, IPIP is not delivered")
        r = self.decap("detach", "--dev", "sxb0")
        self.check(r.returncode == 0 and "no steer_decap" in r.stdout, "detach again is a no-op")
        link = sh("ip", "-n", self.bns, "-d", "link", "show", "sxb0").stdout
        f = sh("tc", "-n", self.bns, "filter", "show", "dev", "sxb0", "ingress", check=False).stdout
        self.check("prog/xdp" not in link and "steer_decap" not in f, "nothing left attached",
                   link + f)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--decap", required=True)
    p.add_argument("--mode", required=True, choices=["xdp", "xdp-generic", "tc", "tc-fallback"])
    args = p.parse_args()
    if os.geteuid() != 0:
        print("decap_test.py: needs root (network namespaces, BPF)", file=sys.stderr)
        return 77

    def on_signal(signum, _frame):
        raise SystemExit(f"killed by signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    t = Test(args)
    try:
        t.setup()
        t.run()
    except Exception as e:  # a broken lab is one failure, with its reason
        t.failures += 1
        print(f"FAIL {type(e).__name__}: {e}")
    finally:
        t.teardown()
    print(f"{t.checks - t.failures if t.failures <= t.checks else 0} of {t.checks} checks passed,"
          f" {t.failures} failed ({args.mode})")
    return 1 if t.failures else 0


if __name__ == "__main__":
    sys.exit(main())
