#!/usr/bin/python3
"""lablib: what the integration tests (and tools/lab) need to drive the netns lab.

- Api: a client of the steer-dataplane API socket, written from the protocol description
  (common/framing.h, the contract) rather than from the server's code, so it checks the
  framing independently: the greeting, "CCCC-text" continuation lines, the final "CCCC text"
  line, JSON documents carried in 1000 lines, 8xxx/9xxx errors.
- netns(): run a block of Python inside a network namespace (setns on this thread); sockets
  created inside stay in that namespace, so one asyncio loop drives clients in the lab.
- Lab: bring a lab up and down with tools/lab (unique prefix per test), read its lab.json,
  build desired states, apply them and wait for every worker to switch.
- Clients: HTTP GETs, UDP echo flows, long-lived TCP line-echo connections, each reporting
  which backend answered; raw frames (AF_PACKET) for scapy-built packets; tcpdump captures and
  link counters for the DSR checks.
- steerd on the lab: a config written for it (steerd_config, with a [bgp] section on a --bgp
  lab), steerd started and stopped in an LB namespace, SteerdApi for its CLI socket, steerctl
  runs (also as uid 65534), metrics; backends' servers stopped, killed, started, switched to
  503 / hang / flap, links cut; the dataplane killed and restarted (all through tools/lab
  backend|dataplane|steerd).
- BGP labs (tools/lab up --bgp [--lbs 2]): BIRD on the router and on every LB host (birdc
  output, BirdApi on its control socket, start / stop / kill / restart / configure), the
  router kernel's routes to the VIPs (router_routes, wait_route) and RouteWatch, which
  timestamps every change of those routes (netlink, in a process of its own in the router's
  namespace).

Command line (used by tools/lab):
  lablib.py wait-api --socket PATH [--pid PID] [--timeout S]
  lablib.py apply --socket PATH [--check] FILE.json
  lablib.py api --socket PATH CMD...        (prints the reply's JSON, or its text)
  lablib.py probe --lab RUN/lab.json        (one request of each kind through the VIPs)
  lablib.py server --socket PATH CMD...     (a backend's servers: http ok|503|hang|flap, status)
  lablib.py steerd-config --lab RUN/lab.json [--lb LB] [--interval MS] [--timeout MS]
            [--rise N] [--fall N] [--warmup MS] [--vips A,B] [--backends b1,b2]
            [--bgp] [--bgp-set KEY=VALUE]...                (TOML on stdout)
  lablib.py wait-steerd --socket PATH [--pid PID] [--timeout S] [--warm]
  lablib.py route-watch --dst ADDRESS...    (run inside a namespace: one JSON line per change
                                             of the routes to the addresses; see RouteWatch)
"""
import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import re
import resource
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
LAB_TOOL = ROOT / "testing" / "lab" / "lab.sh"
RUN_PARENT = Path(os.environ.get("STEER_LAB_RUN", "/run/steer-lab"))

# --------------------------------------------------------------------------------------------
# The API socket protocol


class FramingError(Exception):
    """The server broke the line protocol."""


class ApiError(Exception):
    """An 8xxx (runtime) or 9xxx (request) error reply."""

    def __init__(self, code, message, request):
        super().__init__(f"{request!r}: {code} {message}")
        self.code = code
        self.message = message


_REPLY_LINE = re.compile(r"^(\d{4})([- ])(.*)$")


@dataclass
class Reply:
    lines: list = field(default_factory=list)  # (code, last, text)

    @property
    def code(self):
        return self.lines[-1][0]

    @property
    def message(self):
        return self.lines[-1][2]

    def text_of(self, code):
        return "\n".join(text for c, _, text in self.lines if c == code)

    def json(self):
        """The JSON document carried by the 1000 lines."""
        if not any(c == 1000 for c, _, _ in self.lines):
            raise FramingError(f"reply has no 1000 (JSON) lines: {self.lines!r}")
        text = self.text_of(1000)
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise FramingError(f"1000 lines are not one JSON document ({e}): {text[:200]!r}")


def parse_reply_line(line, previous_code):
    """(code, last, text) of one reply line; a line starting with a space continues the
    previous line's code (BIRD style)."""
    if line.startswith(" "):
        if previous_code is None:
            raise FramingError(f"continuation line without a previous code: {line!r}")
        return previous_code, False, line[1:]
    m = _REPLY_LINE.match(line)
    if not m:
        raise FramingError(f"malformed reply line (want 'DDDD-text' or 'DDDD text'): {line!r}")
    return int(m.group(1)), m.group(2) == " ", m.group(3)


class Api:
    """One connection to the dataplane API socket. Not thread-safe."""

    GREETING = r"steer-dataplane \S+ ready\."

    def __init__(self, path, timeout=10.0):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.buf = b""
        try:
            self.sock.connect(self.path)
            greeting = self._read_reply()
        except BaseException:
            self.sock.close()
            raise
        if len(greeting.lines) != 1 or greeting.code != 1:
            raise FramingError(f"greeting is not one 0001 line: {greeting.lines!r}")
        if not re.fullmatch(self.GREETING, greeting.message):
            raise FramingError(f"unexpected greeting: {greeting.message!r}")
        self.greeting = greeting.message

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _readline(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise FramingError(f"connection closed mid-reply (have {self.buf[:200]!r})")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        try:
            return line.decode("utf-8")
        except UnicodeDecodeError:
            raise FramingError(f"reply line is not UTF-8: {line[:200]!r}")

    def _read_reply(self):
        reply = Reply()
        code = None
        while True:
            line = self._readline()
            if line.startswith("+"):  # asynchronous notice: not part of the reply
                continue
            code, last, text = parse_reply_line(line, code)
            reply.lines.append((code, last, text))
            if last:
                return reply

    def request(self, line):
        """Sends one request line and returns its reply; raises ApiError on 8xxx/9xxx."""
        if "\n" in line or "\r" in line:
            raise ValueError("a request is one line")
        self.sock.sendall(line.encode() + b"\n")
        reply = self._read_reply()
        if reply.code >= 8000:
            raise ApiError(reply.code, reply.message, line[:80])
        if reply.code >= 1000:
            raise FramingError(f"reply to {line[:40]!r} ends with a data code: {reply.lines!r}")
        for code, _, _ in reply.lines[:-1]:
            if code >= 8000:
                raise FramingError(f"error code inside a successful reply: {reply.lines!r}")
        return reply

    def data(self, line, final="ok"):
        reply = self.request(line)
        if reply.code != 0 or (final is not None and reply.message != final):
            raise FramingError(f"{line[:40]!r}: want final '0000 {final}', got {reply.lines[-1]!r}")
        return reply.json()

    def apply(self, state):
        doc = state if isinstance(state, str) else json.dumps(state, separators=(",", ":"))
        return self.data("apply " + doc, final="applied")

    def state(self):
        return self.data("state")

    def stats(self):
        return self.data("stats")

    def status(self):
        return self.data("status")

    def flow(self, proto, src, sport, dst, dport):
        return self.data(f"flow {proto} {src} {sport} {dst} {dport}")

    def flow_backend(self, proto, src, sport, dst, dport):
        """The backend address the dataplane says this flow gets (None: no backend)."""
        return self.flow(proto, src, sport, dst, dport).get("backend")


def wait_switched(api, generation, timeout=5.0):
    """Waits until every worker reports `generation` (status); returns the last status."""
    deadline = time.monotonic() + timeout
    while True:
        st = api.status()
        workers = st.get("workers", [])
        if workers and all(w.get("generation") == generation for w in workers):
            return st
        if time.monotonic() > deadline:
            raise AssertionError(f"workers did not switch to generation {generation} in "
                                 f"{timeout} s: {workers}")
        time.sleep(0.02)


class SteerdApi(Api):
    """One connection to steerd's CLI socket: the same line protocol as the dataplane's API,
    with steerd's greeting."""

    GREETING = r"steerd \S+ ready\."

    def show(self, what):
        return self.data("show " + what)

    def raw(self, line):
        """The reply to `line`, whatever its code (no ApiError)."""
        self.sock.sendall(line.encode() + b"\n")
        return self._read_reply()


class BirdApi(Api):
    """One connection to a BIRD control socket (the same reply format: BIRD is where it comes
    from). request() raises ApiError on 8xxx/9xxx (e.g. 9001 for an unknown protocol name)."""

    GREETING = r"BIRD \S+ ready\."

    def protocols(self):
        """{name: {"proto", "table", "state", "since", "info"}} from `show protocols`."""
        reply = self.request("show protocols")
        out = {}
        for code, _, text in reply.lines:
            if code != 1002:
                continue
            cols = text.split(None, 4)
            if len(cols) < 5:
                continue
            name, proto, table, state, rest = cols
            # Since is "HH:MM:SS.mmm" (or a date and a time); Info follows it.
            m = re.match(r"(\S+(?: \d\d:\d\d:\d\d(?:\.\d+)?)?)\s*(.*)$", rest)
            since, info = (m.group(1), m.group(2).strip()) if m else (rest, "")
            out[name] = {"proto": proto, "table": table, "state": state, "since": since,
                         "info": info}
        return out


def wait_until(what, predicate, timeout=10.0, interval=0.02):
    """Calls predicate() until it returns something true; returns that. AssertionError naming
    `what` (and the last value) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s (last: {last!r})")
        time.sleep(interval)


def canonical_state(doc):
    """The comparable part of a state document: VIPs and their backends, order-free."""
    out = set()
    for v in doc.get("vips", []):
        backends = frozenset((socket.inet_pton(fam(b["address"]), b["address"]),
                              None if b.get("state") == "drain" else b.get("weight", 1),
                              b.get("state", "up"))
                             for b in v.get("backends", []) if b.get("state", "up") != "down")
        out.add((socket.inet_pton(fam(v["address"]), v["address"]), v.get("proto"),
                 v.get("port", 0), v.get("encap", "ipip"), backends))
    return out


def fam(address):
    return socket.AF_INET6 if ":" in address else socket.AF_INET


# --------------------------------------------------------------------------------------------
# Network namespaces

_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd):
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextlib.contextmanager
def netns(name):
    """Runs the block with this thread in network namespace `name` (ip netns). Sockets
    created in the block belong to that namespace for their whole life."""
    target = os.open(f"/run/netns/{name}", os.O_RDONLY | os.O_CLOEXEC)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(target)
        os.close(home)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --------------------------------------------------------------------------------------------
# The lab


class LabError(Exception):
    pass


def lab_lb(info, name="lb1"):
    """The entry of LB host `name` in lab.json's "lbs" (lab.json files without "lbs" describe
    lb1 only, in the top-level keys)."""
    for lb in info.get("lbs", []):
        if lb["name"] == name:
            return lb
    if name == "lb1" and "lbs" not in info:
        run = info["run_dir"]
        return dict(info["lb"], name="lb1", socket=info["socket"], bird_socket=None,
                    snippet=None, steerd_socket=f"{run}/steerd.sock", run_dir=run)
    raise KeyError(f"no LB {name!r} in lab {info.get('prefix')!r}")


def _family(family):
    """"v4" / "v6" from "v4", "v6", 4, 6, "ipv4", "ipv6"."""
    f = str(family).lower().removeprefix("ip")
    if f in ("4", "v4"):
        return "v4"
    if f in ("6", "v6"):
        return "v6"
    raise ValueError(f"family {family!r}: want v4 or v6")


class Lab:
    """A lab built by tools/lab with its own prefix. Use as a context manager: up on enter,
    down on exit (always), logs printed when the block failed. bgp=True: BIRD on the router
    and the LB hosts, no static VIP routes (tools/lab up --bgp); lbs=2: a second LB host."""

    def __init__(self, prefix, backends=4, afpacket=None, build=None, decap_mode=None,
                 bgp=False, lbs=1, any_prefix=False):
        # Tests use prefixes starting with "sl"; a tool or the demo (any_prefix) picks its own.
        if not prefix.startswith("sl") and not any_prefix:
            raise ValueError("test labs use a prefix starting with 'sl'")
        self.prefix = prefix
        self.backends_count = backends
        self.bgp = bgp
        self.lbs_count = lbs
        if afpacket is None:
            afpacket = os.environ.get("STEER_LAB_AFPACKET", "") not in ("", "0")
        self.afpacket = afpacket
        self.decap_mode = decap_mode or os.environ.get("STEER_LAB_DECAP_MODE", "xdp")
        self.build = build or os.environ.get("STEER_BUILD", str(ROOT / "build"))
        self.run_dir = RUN_PARENT / prefix
        self.info = None
        self.up_seconds = None

    def env(self):
        env = dict(os.environ)
        env["STEER_LAB"] = self.prefix
        env["STEER_BUILD"] = self.build
        return env

    def tool(self, *args, timeout=120, own_session=False):
        # own_session: not in our process group, so a group-wide kill (meson's timeout sends
        # SIGTERM, then SIGKILL half a second later) does not stop a teardown half-way.
        return subprocess.run([str(LAB_TOOL), *args], env=self.env(), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout, start_new_session=own_session)

    def up(self):
        args = ["up", "--backends", str(self.backends_count), "--decap-mode", self.decap_mode]
        if self.afpacket:
            args.append("--afpacket")
        if self.bgp:
            args.append("--bgp")
        if self.lbs_count != 1:
            args += ["--lbs", str(self.lbs_count)]
        t0 = time.monotonic()
        try:
            r = self.tool(*args, timeout=180)
        except subprocess.TimeoutExpired as e:
            raise LabError(f"tools/lab up timed out after 180 s:\n{e.output or ''}")
        self.up_seconds = time.monotonic() - t0
        if r.returncode != 0:
            raise LabError(f"tools/lab up failed (exit {r.returncode}):\n{r.stdout}")
        print(r.stdout.strip(), flush=True)
        self.info = json.loads((self.run_dir / "lab.json").read_text())
        return self

    def attach(self):
        """Uses the lab of this prefix that is already up (someone else's tools/lab up, e.g.
        the demo's) instead of building one: reads its lab.json; returns self."""
        self.info = json.loads((self.run_dir / "lab.json").read_text())
        return self

    def down(self):
        try:
            r = self.tool("down", timeout=120, own_session=True)
            if r.returncode != 0:
                print(f"tools/lab down failed (exit {r.returncode}):\n{r.stdout}", flush=True)
        except subprocess.TimeoutExpired:
            print("tools/lab down timed out", flush=True)

    def __enter__(self):
        self.down()  # leftovers of an earlier, killed run
        try:
            return self.up()
        except BaseException:
            self.down()
            raise

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.print_logs()
        self.down()
        return False

    def print_logs(self, lines=30):
        for path in sorted([*self.run_dir.glob("*.log"), *self.run_dir.glob("*/*.log")]):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            print(f"---- {path.relative_to(self.run_dir)} (last {len(text)} lines)", flush=True)
            for line in text:
                print(f"  {line}")
        sys.stdout.flush()

    # -- topology --------------------------------------------------------------------------

    def ns(self, node):
        if node in self.info["namespaces"]:
            return self.info["namespaces"][node]
        for b in self.info["backends"]:
            if b["name"] == node:
                return b["ns"]
        raise KeyError(node)

    @property
    def backends(self):
        return self.info["backends"]

    @property
    def vip4(self):
        return self.info["vips"]["v4"]

    @property
    def vip6(self):
        return self.info["vips"]["v6"]

    @property
    def socket_path(self):
        return self.info["socket"]

    def client_v4(self):
        return self.info["client"]["v4"]

    def client_v6(self):
        return self.info["client"]["v6"]

    def backend_name(self, address):
        """Backend name (b1...) for a backend address (v4 or v6); None when unknown."""
        if address is None:
            return None
        packed = socket.inet_pton(fam(address), address)
        for b in self.backends:
            for a in (b["v4"], b["v6"]):
                if socket.inet_pton(fam(a), a) == packed:
                    return b["name"]
        return None

    def backend(self, name):
        for b in self.backends:
            if b["name"] == name:
                return b
        raise KeyError(name)

    def lb(self, name="lb1"):
        """lab.json's entry of LB host `name` (ns, v4, v6, socket, bird_socket, snippet,
        router_iface, steerd_socket, run_dir)."""
        return lab_lb(self.info, name)

    @property
    def lb_names(self):
        return [lb["name"] for lb in self.info.get("lbs", [])] or ["lb1"]

    def api(self, timeout=10.0, lb="lb1"):
        """A connection to the dataplane API socket of LB host `lb`."""
        return Api(self.lb(lb)["socket"], timeout)

    def run(self, node, argv, timeout=30, check=True):
        return subprocess.run(["ip", "netns", "exec", self.ns(node), *argv], timeout=timeout,
                              check=check, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)

    # -- desired state ---------------------------------------------------------------------

    def state_doc(self, pool=None, echo=True):
        """The lab's five VIPs (v4 TCP 80/7 IPIP, v4 UDP 7 GUE, v6 TCP 80/7) with `pool`:
        a list of (name, weight, state) — default every backend, weight 1, up. IPv4 VIPs use
        the backends' IPv4 addresses, IPv6 VIPs their IPv6 ones."""
        if pool is None:
            pool = [(b["name"], 1, "up") for b in self.backends]

        def backends(family):
            return [{"address": self.backend(n)[family], "weight": w, "state": s}
                    for n, w, s in pool]

        v4, v6 = self.vip4, self.vip6
        gue = self.info["gue_port"]
        return {"vips": [
            {"address": v4, "proto": "tcp", "port": 80, "encap": "ipip", "echo": echo,
             "backends": backends("v4")},
            {"address": v4, "proto": "tcp", "port": 7, "encap": "ipip", "backends": backends("v4")},
            {"address": v4, "proto": "udp", "port": 7, "encap": "gue", "gue_port": gue,
             "backends": backends("v4")},
            {"address": v6, "proto": "tcp", "port": 80, "encap": "ipip", "echo": echo,
             "backends": backends("v6")},
            {"address": v6, "proto": "tcp", "port": 7, "encap": "ipip", "backends": backends("v6")},
        ]}

    def apply(self, state, lb="lb1"):
        """Applies `state` on LB host `lb`'s dataplane, checks `state` reads it back, waits
        until every worker uses it. Returns the new generation."""
        with self.api(lb=lb) as api:
            before = api.state().get("generation", 0)
            reply = api.apply(state)
            gen = reply["generation"]
            if gen <= before:
                raise AssertionError(f"apply: generation {gen} not above {before}")
            got = api.state()
            if got.get("generation") != gen:
                raise AssertionError(f"state generation {got.get('generation')} != applied {gen}")
            if canonical_state(got) != canonical_state(state):
                raise AssertionError(f"state read back differs from the one applied:\n"
                                     f"  applied: {json.dumps(state)}\n"
                                     f"  state:   {json.dumps(got)}")
            wait_switched(api, gen)
            return gen

    def apply_all(self, state):
        """apply(state) on every LB host; {lb: generation}."""
        return {lb: self.apply(state, lb=lb) for lb in self.lb_names}

    # -- counters ---------------------------------------------------------------------------

    def link_counters(self, node, iface):
        """(rx_packets, tx_packets) of an interface, from the kernel."""
        out = subprocess.run(["ip", "-n", self.ns(node), "-s", "-j", "link", "show", "dev", iface],
                             check=True, stdout=subprocess.PIPE, text=True).stdout
        st = json.loads(out)[0]["stats64"]
        return st["rx"]["packets"], st["tx"]["packets"]

    # -- backends' servers, the dataplane process, steerd ---------------------------------

    def lab_tool(self, *args, timeout=60):
        """tools/lab ARGS... for this lab; its output, or LabError with it."""
        args = [str(a) for a in args]
        r = self.tool(*args, timeout=timeout)
        if r.returncode != 0:
            raise LabError(f"tools/lab {' '.join(args)} failed (exit {r.returncode}):\n{r.stdout}")
        return r.stdout

    def server_command(self, name, line, timeout=5.0):
        """One command on backend `name`'s servers control socket; the JSON reply."""
        reply = server_request(self.run_dir / f"{name}.control", line, timeout)
        if not reply.get("ok"):
            raise LabError(f"{name} servers: {line!r}: {reply.get('error')}")
        return reply

    def http_mode(self, name, mode, ok=1, fail=1):
        """Switches backend `name`'s HTTP answers: "ok" (200), "503", "hang" (accept, never
        answer), "flap" (per local address `ok` answers 200, then `fail` answers 503, ...)."""
        line = f"http flap {ok} {fail}" if mode == "flap" else f"http {mode}"
        return self.server_command(name, line)

    def server_stop(self, name):
        """Stops backend `name`'s servers (SIGTERM; waits until the process is gone)."""
        self.lab_tool("backend", name, "stop")

    def server_kill(self, name):
        """SIGKILL to backend `name`'s servers; returns once the process is gone."""
        self.lab_tool("backend", name, "kill")

    def server_start(self, name, mode="ok"):
        """Starts backend `name`'s servers again (HTTP mode: ok, 503, hang, flap:OK:FAIL);
        returns once every socket is bound."""
        self.lab_tool("backend", name, "start", mode)

    def server_pid(self, name):
        try:
            return int((self.run_dir / f"servers-{name}.pid").read_text())
        except (OSError, ValueError):
            return None

    def cut(self, name):
        """Drops everything to and from backend `name` on the router (its link is cut)."""
        self.lab_tool("backend", name, "cut")

    def uncut(self, name):
        self.lab_tool("backend", name, "uncut")

    def dataplane_pid(self, lb="lb1"):
        try:
            return int((Path(self.lb(lb)["run_dir"]) / "dataplane.pid").read_text())
        except (OSError, ValueError):
            return None

    def dataplane_kill(self, lb="lb1"):
        """SIGKILL to LB host `lb`'s steer-dataplane; returns once it is gone."""
        self.lab_tool("dataplane", "--lb", lb, "kill")

    def dataplane_stop(self, lb="lb1"):
        """SIGTERM to LB host `lb`'s steer-dataplane; returns once it is gone."""
        self.lab_tool("dataplane", "--lb", lb, "stop")

    def dataplane_start(self, lb="lb1"):
        """Starts LB host `lb`'s steer-dataplane again on the same port; returns once its API
        answers. Its state is empty until someone applies one."""
        self.lab_tool("dataplane", "--lb", lb, "start", timeout=90)

    # steerd: lb1's files are in the run directory, lb2's in lb2/ (lab.json: lbs[].run_dir).

    @property
    def steerd_socket(self):
        return self.run_dir / "steerd.sock"

    @property
    def steerd_config_path(self):
        return self.run_dir / "steerd.toml"

    @property
    def steerd_state_dir(self):
        return self.run_dir / "steerd-state"

    def lb_run_dir(self, lb="lb1"):
        return Path(self.lb(lb)["run_dir"])

    def steerd_socket_of(self, lb="lb1"):
        return Path(self.lb(lb)["steerd_socket"])

    def steerd_up(self, keep_config=False, lb="lb1", bgp=None, **options):
        """Writes a steerd config for LB host `lb` (unless keep_config; options as
        steerd_config: interval, timeout, rise, fall, warmup, vips, backends; bgp: True or a
        dict of [bgp] keys, see steerd_config) and starts steerd in its namespace; returns
        once its CLI socket answers (warm-up may still be on)."""
        args = ["steerd", "--lb", lb, "up"]
        if keep_config:
            args.append("--keep-config")
        for k, v in options.items():
            if isinstance(v, (list, tuple)):
                v = ",".join(v)
            args += [f"--{k}", str(v)]
        if bgp:
            args.append("--bgp")
            for k, v in (bgp if isinstance(bgp, dict) else {}).items():
                args += ["--bgp-set", f"{k}={'' if v is None else toml_value(v)}"]
        self.lab_tool(*args, timeout=60)

    def steerd_down(self, lb="lb1"):
        self.lab_tool("steerd", "--lb", lb, "down")

    def steerd_kill(self, lb="lb1"):
        """SIGKILL to LB host `lb`'s steerd; returns once it is gone."""
        self.lab_tool("steerd", "--lb", lb, "kill")

    def steerd_pid(self, lb="lb1"):
        try:
            return int((self.lb_run_dir(lb) / "steerd.pid").read_text())
        except (OSError, ValueError):
            return None

    def steerd(self, timeout=10.0, lb="lb1"):
        """A connection to LB host `lb`'s steerd CLI socket."""
        return SteerdApi(self.steerd_socket_of(lb), timeout)

    def steerd_show(self, what, lb="lb1"):
        with self.steerd(lb=lb) as s:
            return s.show(what)

    def steerd_events(self, lb="lb1"):
        return self.steerd_show("events", lb=lb)["events"]

    def wait_warm(self, timeout=15.0, lb="lb1"):
        return wait_until(f"steerd of {lb} warm-up over",
                          lambda: self.steerd_show("status", lb=lb).get("warm"), timeout)

    @property
    def steerctl_path(self):
        return str(Path(self.build) / "tools" / "steerctl" / "steerctl")

    def steerctl(self, *args, as_nobody=False, socket_path=None, timeout=30, lb="lb1"):
        """Runs steerctl ARGS... -s <steerd socket of `lb`> (as uid/gid 65534 with as_nobody);
        the CompletedProcess (stdout and stderr apart, text)."""
        argv = [self.steerctl_path, *[str(a) for a in args], "-s",
                str(socket_path or self.steerd_socket_of(lb))]
        if as_nobody:
            argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
        return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=timeout)

    def metrics(self, port=9610, timeout=5.0, lb="lb1"):
        """GET /metrics from LB host `lb`'s steerd (127.0.0.1:PORT inside its namespace): the
        body."""
        with netns(self.ns(lb)):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        with s:
            s.settimeout(timeout)
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        head, _, body = data.decode(errors="replace").partition("\r\n\r\n")
        if not head.startswith("HTTP/1.") or " 200 " not in head.split("\r\n")[0] + " ":
            raise LabError(f"GET /metrics: {head[:200]!r}")
        return body

    # -- BGP: BIRD on the router and the LB hosts, the router's routes ---------------------

    def bird_socket(self, node):
        """BIRD's control socket on `node` (router, lb1, lb2) of a --bgp lab."""
        if not self.info.get("bgp"):
            raise LabError(f"lab {self.prefix} has no BGP (Lab(..., bgp=True))")
        path = (self.info["router_bird_socket"] if node == "router"
                else self.lb(node)["bird_socket"])
        return Path(path)

    def snippet_path(self, lb="lb1"):
        """The file LB host `lb`'s BIRD includes (steerd's [bgp] snippet)."""
        return Path(self.lb(lb)["snippet"])

    def bird(self, node, *words, check=True, timeout=10):
        """birdc -s <node's socket> WORDS...: its output (LabError when birdc fails and
        check)."""
        r = subprocess.run(["birdc", "-s", str(self.bird_socket(node)), *map(str, words)],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise LabError(f"birdc on {node}: {' '.join(map(str, words))}: {r.stdout.strip()}")
        return r.stdout

    def bird_api(self, node, timeout=10.0):
        """A connection to `node`'s BIRD control socket (BirdApi)."""
        return BirdApi(self.bird_socket(node), timeout)

    def bird_protocols(self, node):
        with self.bird_api(node) as b:
            return b.protocols()

    def bird_pid(self, node):
        try:
            return int((self.run_dir / node / "bird.pid").read_text())
        except (OSError, ValueError):
            return None

    def bird_start(self, node):
        """Starts BIRD on `node`; returns once its control socket answers (sessions may still
        be coming up: wait_bgp)."""
        self.lab_tool("bird", node, "start")

    def bird_stop(self, node):
        """SIGTERM to BIRD on `node` (it closes its sessions); returns once it is gone."""
        self.lab_tool("bird", node, "stop")

    def bird_kill(self, node):
        """SIGKILL to BIRD on `node`; returns once it is gone."""
        self.lab_tool("bird", node, "kill")

    def bird_restart(self, node):
        self.lab_tool("bird", node, "restart")

    def bird_configure(self, node):
        """birdc configure on `node` (LabError unless BIRD reconfigured)."""
        return self.lab_tool("bird", node, "configure")

    def wait_bgp(self, timeout=20.0, nodes=None):
        """Waits until every BGP session of the BIRDs on `nodes` (default: all) is
        established."""
        nodes = nodes or ["router", *self.lb_names]

        def down():
            out = []
            for node in nodes:
                try:
                    protos = self.bird_protocols(node)
                except (OSError, FramingError, ApiError) as e:
                    out.append(f"{node}: {e}")
                    continue
                out += [f"{node}/{n}: {p['state']} {p['info']}" for n, p in protos.items()
                        if p["proto"] == "BGP" and not p["info"].startswith("Established")]
            return out

        wait_until("BGP sessions established", lambda: not down() or None, timeout, 0.05)

    def lb_cut(self, lb):
        """Drops everything to and from LB host `lb` on the router (a dead host: BGP holds
        the routes until the hold time runs out)."""
        self.lab_tool("lb", lb, "cut")

    def lb_uncut(self, lb):
        self.lab_tool("lb", lb, "uncut")

    def router_route_json(self, family):
        """The router kernel's route to the VIP of `family` (ip -j route show), None when it
        has none."""
        family = _family(family)
        vip = self.info["vips"][family]
        r = subprocess.run(["ip", "-n", self.ns("router"), "-j",
                            "-4" if family == "v4" else "-6", "route", "show", vip],
                           check=True, stdout=subprocess.PIPE, text=True)
        routes = [x for x in json.loads(r.stdout or "[]") if x.get("type", "unicast") == "unicast"]
        return routes[0] if routes else None

    def router_nexthops(self, family):
        """[(gateway, dev)] of the router kernel's route to the VIP of `family`."""
        route = self.router_route_json(family)
        if route is None:
            return []
        hops = route.get("nexthops") or [route]
        return [(h.get("gateway"), h.get("dev")) for h in hops]

    def router_routes(self, family):
        """The nexthop addresses of the router kernel's route to the VIP of `family` ("v4" or
        "v6"): [] without a route, one per LB host announcing it."""
        return sorted(g for g, _ in self.router_nexthops(family) if g)

    def router_route_lbs(self, family):
        """The LB hosts (names) the router's route to the VIP of `family` goes to."""
        return {self.lb_of_router_iface(dev) for _, dev in self.router_nexthops(family)}

    def lb_of_router_iface(self, dev):
        for lb in self.info.get("lbs", []):
            if lb["router_iface"] == dev:
                return lb["name"]
        return dev

    def nexthop_set(self, family, nexthops):
        """A set of nexthop addresses from addresses and/or LB host names ("lb1")."""
        family = _family(family)
        out = set()
        for n in nexthops:
            if re.fullmatch(r"lb\d+", n):
                out.add(_norm(self.lb(n)[family]))
            else:
                out.add(_norm(n))
        return out

    def wait_route(self, family, nexthops, timeout=10.0, interval=0.005):
        """Waits until the router's route to the VIP of `family` has exactly `nexthops`
        (addresses or LB names; empty: no route); the seconds it took."""
        want = self.nexthop_set(family, nexthops)
        t0 = time.monotonic()
        while True:
            got = {_norm(g) for g in self.router_routes(family)}
            if got == want:
                return time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                raise AssertionError(f"router route to the {family} VIP: want via "
                                     f"{sorted(want) or 'nothing'}, still via "
                                     f"{sorted(got) or 'nothing'} after {timeout} s")
            time.sleep(interval)

    def dp_pool(self, address, proto, port, state=None):
        """{backend address: (state, weight)} of one VIP in the dataplane's applied state
        (None when the VIP is absent)."""
        if state is None:
            with self.api() as api:
                state = api.state()
        packed = socket.inet_pton(fam(address), address)
        for v in state.get("vips", []):
            if (socket.inet_pton(fam(v["address"]), v["address"]) == packed
                    and v.get("proto") == proto and v.get("port", 0) == port):
                return {b["address"]: (b.get("state", "up"), b.get("weight", 1))
                        for b in v.get("backends", [])}
        return None


# --------------------------------------------------------------------------------------------
# Clients (asyncio, sockets created inside the client namespace)

_LOOP = None


def run(coro):
    """Runs a coroutine on the module's one event loop (sockets outlive single calls)."""
    global _LOOP
    if _LOOP is None:
        raise_nofile()
        _LOOP = asyncio.new_event_loop()
    return _LOOP.run_until_complete(coro)


@dataclass
class Answer:
    proto: str
    src: str
    sport: int
    dst: str
    dport: int
    backend: str = None   # name of the backend that answered
    error: str = None
    text: str = ""

    def tuple(self):
        return (self.proto, self.src, self.sport, self.dst, self.dport)


def _client_socket(ns, family, kind, src):
    with netns(ns):
        s = socket.socket(family, kind)
    try:
        s.setblocking(False)
        s.bind((src, 0))
    except BaseException:
        s.close()
        raise
    return s


def _norm(address):
    return socket.inet_ntop(fam(address), socket.inet_pton(fam(address), address))


async def _recv_until(loop, s, done, limit=1 << 16):
    data = b""
    while not done(data):
        chunk = await loop.sock_recv(s, 4096)
        if not chunk:
            break
        data += chunk
        if len(data) > limit:
            break
    return data


async def http_get(ns, src, dst, port=80, timeout=10.0):
    """One HTTP/1.0 GET from src to dst:port; Answer.backend names who answered. Also checks
    the backend saw the real client address and the VIP as its local address (no NAT)."""
    loop = asyncio.get_running_loop()
    s = _client_socket(ns, fam(dst), socket.SOCK_STREAM, src)
    a = Answer("tcp", src, s.getsockname()[1], dst, port)
    try:
        await asyncio.wait_for(loop.sock_connect(s, (dst, port)), timeout)
        await loop.sock_sendall(s, b"GET / HTTP/1.0\r\nHost: lab\r\n\r\n")
        data = await asyncio.wait_for(_recv_until(loop, s, lambda d: False), timeout)
        a.text = data.decode(errors="replace")
        head, _, body = a.text.partition("\r\n\r\n")
        if not head.startswith("HTTP/1.0 200"):
            a.error = f"bad HTTP reply: {a.text[:100]!r}"
            return a
        m = re.match(r"backend=(\S+) client=(\S+) local=(\S+)", body)
        if not m:
            a.error = f"bad body: {body[:100]!r}"
            return a
        a.backend = m.group(1)
        want_client = f"[{_norm(src)}]:{a.sport}" if ":" in src else f"{src}:{a.sport}"
        want_local = f"[{_norm(dst)}]:{port}" if ":" in dst else f"{dst}:{port}"
        if m.group(2) != want_client or m.group(3) != want_local:
            a.error = (f"backend saw client={m.group(2)} local={m.group(3)}, "
                       f"want {want_client} {want_local}")
    except asyncio.TimeoutError:
        a.error = "timeout"
    except OSError as e:
        a.error = f"{type(e).__name__}: {e}"
    finally:
        s.close()
    return a


async def udp_echo(ns, src, dst, port=7, payload=None, timeout=1.0, tries=3):
    """One UDP flow: a datagram from src to dst:port, answered "<backend> <payload>". The
    socket is connected, so only a reply from dst:port (the VIP) is accepted."""
    loop = asyncio.get_running_loop()
    s = _client_socket(ns, fam(dst), socket.SOCK_DGRAM, src)
    a = Answer("udp", src, s.getsockname()[1], dst, port)
    payload = payload or f"flow {src} {a.sport}".encode()
    try:
        await loop.sock_connect(s, (dst, port))
        for attempt in range(tries):
            await loop.sock_sendall(s, payload)
            try:
                data = await asyncio.wait_for(loop.sock_recv(s, 2048), timeout)
            except asyncio.TimeoutError:
                continue
            name, _, rest = data.partition(b" ")
            if rest != payload:
                a.error = f"echo mismatch: {data[:80]!r}"
            a.backend = name.decode(errors="replace")
            a.text = f"attempt {attempt + 1}"
            return a
        a.error = f"no reply after {tries} tries"
    except OSError as e:
        a.error = f"{type(e).__name__}: {e}"
    finally:
        s.close()
    return a


async def bounded(factories, concurrency):
    """Runs coroutine factories with at most `concurrency` at once; results in order."""
    sem = asyncio.Semaphore(concurrency)

    async def one(f):
        async with sem:
            return await f()

    return await asyncio.gather(*(one(f) for f in factories))


def http_many(ns, pairs, port=80, concurrency=64, timeout=10.0):
    """HTTP GETs for (src, dst) pairs; list of Answers in the same order."""
    return run(bounded([lambda s=s, d=d: http_get(ns, s, d, port, timeout) for s, d in pairs],
                       concurrency))


def udp_many(ns, pairs, port=7, concurrency=64, timeout=1.0, tries=3):
    return run(bounded([lambda s=s, d=d: udp_echo(ns, s, d, port, timeout=timeout, tries=tries)
                        for s, d in pairs], concurrency))


class EchoConn:
    """A long-lived TCP connection to the line-echo server through a VIP."""

    def __init__(self, ns, src, dst, port=7):
        self.ns, self.src, self.dst, self.port = ns, src, dst, port
        self.sock = None
        self.sport = None
        self.buf = b""
        self.backend = None  # who answered the first line
        self.error = None    # the first failure (reset, timeout, EOF); None while healthy
        self.seq = 0

    def tuple(self):
        return ("tcp", self.src, self.sport, self.dst, self.port)

    async def open(self, timeout=10.0):
        loop = asyncio.get_running_loop()
        self.sock = _client_socket(self.ns, fam(self.dst), socket.SOCK_STREAM, self.src)
        self.sport = self.sock.getsockname()[1]
        try:
            await asyncio.wait_for(loop.sock_connect(self.sock, (self.dst, self.port)), timeout)
            self.backend = await self.ask(timeout=timeout)
        except (OSError, asyncio.TimeoutError) as e:
            self.error = f"open: {type(e).__name__}: {e}"
        return self

    async def ask(self, timeout=5.0):
        """Sends one line; returns the name of the backend that echoed it (None on failure,
        with self.error set)."""
        if self.error:
            return None
        loop = asyncio.get_running_loop()
        self.seq += 1
        line = f"{self.src} {self.sport} #{self.seq}"
        try:
            await loop.sock_sendall(self.sock, line.encode() + b"\n")
            data = await asyncio.wait_for(
                _recv_until(loop, self.sock, lambda d: b"\n" in d), timeout)
        except asyncio.TimeoutError:
            self.error = f"line #{self.seq}: no answer in {timeout} s"
            return None
        except OSError as e:
            self.error = f"line #{self.seq}: {type(e).__name__}: {e}"
            return None
        if b"\n" not in data:
            self.error = f"line #{self.seq}: connection closed (EOF)"
            return None
        reply = data.split(b"\n", 1)[0].decode(errors="replace")
        name, _, echoed = reply.partition(" ")
        if echoed != line:
            self.error = f"line #{self.seq}: echo mismatch {reply!r}"
            return None
        return name

    def close(self):
        if self.sock:
            self.sock.close()


def open_echo_conns(ns, pairs, port=7, concurrency=64):
    conns = [EchoConn(ns, s, d, port) for s, d in pairs]
    run(bounded([c.open for c in conns], concurrency))
    return conns


def ask_all(conns, concurrency=64):
    """One line on each connection; list of backend names (None where it failed)."""
    return run(bounded([c.ask for c in conns], concurrency))


# --------------------------------------------------------------------------------------------
# Raw frames and captures

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


class RawLink:
    """An AF_PACKET socket on an interface inside a namespace: send whole Ethernet frames,
    receive the frames that arrive (frames this host sends are skipped)."""

    def __init__(self, ns, iface):
        with netns(ns):
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((iface, 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)

    def send(self, frame):
        self.sock.send(bytes(frame))

    def receive(self, match, timeout=3.0):
        """Frames (bytes) for which match(frame) is true, until the first one or timeout."""
        deadline = time.monotonic() + timeout
        self.sock.settimeout(0.1)
        while time.monotonic() < deadline:
            try:
                frame, addr = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            if addr[2] == PACKET_OUTGOING:
                continue
            if match(frame):
                return frame
        return None

    def close(self):
        self.sock.close()


class Capture:
    """tcpdump on an interface in a namespace, kernel-filtered, writing a pcap; count() after
    stop() gives the number of frames that matched."""

    def __init__(self, ns, iface, bpf_filter, path):
        self.path = str(path)
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, "tcpdump", "-i", iface, "-n", "-p", "-U", "-Z", "root",
             "-B", "16384", "-w", self.path, bpf_filter],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # tcpdump says "listening on ..." once its socket is open.
        deadline = time.monotonic() + 10
        line = ""
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if "listening on" in line or not line:
                break
        if "listening on" not in line:
            self.proc.kill()
            raise RuntimeError(f"tcpdump on {ns}/{iface} did not start: {line}")
        self.stats = ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                _, err = self.proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                _, err = self.proc.communicate()
            self.stats = err
        return self

    def frames(self):
        """Raw frames of the pcap file."""
        data = Path(self.path).read_bytes()
        if len(data) < 24:
            return []
        magic = struct.unpack("<I", data[:4])[0]
        endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        out, off = [], 24
        while off + 16 <= len(data):
            _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
            out.append(data[off + 16:off + 16 + incl])
            off += 16 + incl
        return out

    def count(self):
        return len(self.frames())

    def dropped(self):
        m = re.search(r"(\d+) packets dropped by kernel", self.stats)
        return int(m.group(1)) if m else 0


# --------------------------------------------------------------------------------------------
# steerd's configuration for a lab

# The lab's five VIPs as steerd VIPs: (name, family, protocol, port, check, echo).
STEERD_VIPS = [
    ("web", "v4", "tcp", 80, "http", True),
    ("echo", "v4", "tcp", 7, "tcp7", False),
    ("udp-echo", "v4", "udp", 7, "udp7", False),
    ("web6", "v6", "tcp", 80, "http", True),
    ("echo6", "v6", "tcp", 7, "tcp7", False),
]


# steerd's [bgp] section on a --bgp lab: what steerd_config(bgp=True) writes besides the LB's
# BIRD socket and snippet (timings short for tests; the safety valve open).
STEERD_BGP_DEFAULTS = {
    "protocol_prefix": "steer_",
    "announce_hold_ms": 500,
    "min_interval_ms": 500,
    "reconcile_ms": 200,
    "request_timeout_ms": 1000,
    "drain_ms": 2000,
    "drain_prepend": 3,
    "drain_communities": ["65001:666"],
    "valve_share": 1.0,
    "valve_window_ms": 60000,
}


def toml_value(v):
    """A Python value (bool, int, float, str, list or dict of those) as a TOML value."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a TOML basic string: the same escapes
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):  # an inline table: group = [{name = "g", prefix = "..."}]
        return "{" + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise ValueError(f"no TOML value for {v!r}")


def steerd_bgp_section(info, lb="lb1", bgp=True):
    """The [bgp] table for LB host `lb`: its BIRD socket and snippet, local_as the lab's LB AS,
    STEERD_BGP_DEFAULTS, then the keys of `bgp` (a dict; True: none) over them — a value of None
    leaves the key out."""
    entry = lab_lb(info, lb)
    if not entry.get("bird_socket"):
        raise ValueError(f"lab {info['prefix']!r} has no BIRD on {lb} (tools/lab up --bgp)")
    keys = {"socket": entry["bird_socket"], "snippet": entry["snippet"],
            "local_as": info.get("asn", {}).get("lb", 65001), **STEERD_BGP_DEFAULTS}
    keys.update(bgp if isinstance(bgp, dict) else {})
    lines = ["[bgp]"] + [f"{k} = {toml_value(v)}" for k, v in keys.items() if v is not None]
    return "\n".join(lines) + "\n"


def steerd_config(info, interval=100, timeout=50, rise=2, fall=3, warmup=5000, vips=None,
                  backends=None, weights=None, cli_mode="0666", metrics="127.0.0.1:9610",
                  checks_extra="", lb="lb1", bgp=None):
    """steerd's TOML for LB host `lb` of the lab described by `info` (lab.json): the lab's VIPs
    (or the names in `vips`) with its backends (or the names in `backends`; `weights` {name:
    weight}), three checks (http on :80, tcp on :7, udp on :7) that all use
    interval/timeout/rise/fall, the LB's dataplane socket, the CLI socket, state and metrics
    in the LB's run directory / namespace. bgp (True or a dict of [bgp] keys): a [bgp]
    section for the LB's BIRD (steerd_bgp_section)."""
    entry = lab_lb(info, lb)
    run = entry["run_dir"]
    bgp_text = ("\n" + steerd_bgp_section(info, lb, bgp)) if bgp else ""
    names = [v[0] for v in STEERD_VIPS]
    vips = list(vips) if vips else names
    unknown = [v for v in vips if v not in names]
    if unknown:
        raise ValueError(f"unknown lab VIP(s) {unknown} (known: {names})")
    all_backends = [b["name"] for b in info["backends"]]
    backends = list(backends) if backends else all_backends
    if any(b not in all_backends for b in backends):
        raise ValueError(f"unknown backend in {backends} (lab has {all_backends})")
    weights = weights or {}
    timing = (f"interval_ms = {interval}\ntimeout_ms = {timeout}\nrise = {rise}\n"
              f"fall = {fall}\n")
    which = "" if lb == "lb1" else f" ({lb})"
    out = [f"""# steerd for lab '{info["prefix"]}'{which} (written by testing/lab/lablib)
[pop]
name = "{info["prefix"]}"
region = "lab"

[dataplane]
socket = "{entry["socket"]}"
push_interval_ms = 10
status_interval_ms = 100
stuck_after_ms = 1000

[cli]
socket = "{entry["steerd_socket"]}"
mode = "{cli_mode}"

[metrics]
listen = "{metrics}"

[state]
dir = "{run}/steerd-state"

[warmup]
max_ms = {warmup}
{bgp_text}
[check.http]
type = "http"
port = 80
path = "/"
{timing}
[check.tcp7]
type = "tcp"
port = 7
{timing}
[check.udp7]
type = "udp"
port = 7
payload = "ping"
expect = "ping"
{timing}{checks_extra}"""]
    by_name = {b["name"]: b for b in info["backends"]}
    for name, family, proto, port, check, echo in STEERD_VIPS:
        if name not in vips:
            continue
        address = info["vips"][family]
        out.append(f"""
[[vip]]
name = "{name}"
address = "{address}"
protocol = "{proto}"
port = {port}
encap = "{'gue' if proto == 'udp' else 'ipip'}"
gue_port = {info["gue_port"]}
echo = {'true' if echo else 'false'}
check = "{check}"
""")
        for b in backends:
            out.append(f"""  [[vip.backend]]
  address = "{by_name[b][family]}"
""" + (f"  weight = {weights[b]}\n" if b in weights else ""))
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Routes to the VIPs: a netlink watcher (lablib.py route-watch, in the router's namespace) and
# RouteWatch, which runs it and keeps what it reports.

RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
RTMGRP_IPV4_ROUTE, RTMGRP_IPV6_ROUTE = 0x40, 0x400
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_MULTIPATH, RTA_TABLE = 1, 4, 5, 9, 15
RT_TABLE_MAIN, RTN_UNICAST = 254, 1


def _nl_messages(data):
    """(type, flags, body) of each netlink message in a datagram."""
    off = 0
    while off + 16 <= len(data):
        length, mtype, flags, _, _ = struct.unpack_from("=IHHII", data, off)
        if length < 16:
            break
        yield mtype, flags, data[off + 16:off + length]
        off += (length + 3) & ~3


def _rtattrs(data):
    off = 0
    while off + 4 <= len(data):
        length, atype = struct.unpack_from("=HH", data, off)
        if length < 4:
            break
        yield atype & 0x3FFF, data[off + 4:off + length]
        off += (length + 3) & ~3


def _parse_route(body):
    """{family, dst, dst_len, table, type, nexthops: [(gateway, ifindex)]} of a route message."""
    family, dst_len, _, _, table, _, _, rtype, _ = struct.unpack_from("=BBBBBBBBI", body)
    attrs = dict(_rtattrs(body[12:]))
    if RTA_TABLE in attrs:
        table = struct.unpack("=I", attrs[RTA_TABLE][:4])[0]
    dst = socket.inet_ntop(family, attrs[RTA_DST]) if RTA_DST in attrs else None
    hops = []
    if RTA_MULTIPATH in attrs:
        mp, off = attrs[RTA_MULTIPATH], 0
        while off + 8 <= len(mp):
            length, _, _, ifindex = struct.unpack_from("=HBBi", mp, off)
            if length < 8:
                break
            sub = dict(_rtattrs(mp[off + 8:off + length]))
            gw = socket.inet_ntop(family, sub[RTA_GATEWAY]) if RTA_GATEWAY in sub else None
            hops.append((gw, ifindex))
            off += (length + 3) & ~3
    else:
        gw = socket.inet_ntop(family, attrs[RTA_GATEWAY]) if RTA_GATEWAY in attrs else None
        oif = struct.unpack("=i", attrs[RTA_OIF][:4])[0] if RTA_OIF in attrs else 0
        hops.append((gw, oif))
    return {"family": family, "dst": dst, "dst_len": dst_len, "table": table, "type": rtype,
            "nexthops": hops}


class _RouteDumper:
    """Dumps a family's routes over a netlink socket of this process's namespace."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        self.seq = 0

    def dump(self, family):
        self.seq += 1
        req = struct.pack("=BBBBBBBBI", family, 0, 0, 0, 0, 0, 0, 0, 0)
        self.sock.send(struct.pack("=IHHII", 16 + len(req), RTM_GETROUTE,
                                   NLM_F_REQUEST | NLM_F_DUMP, self.seq, 0) + req)
        routes = []
        while True:
            for mtype, _, body in _nl_messages(self.sock.recv(1 << 20)):
                if mtype == NLMSG_DONE:
                    return routes
                if mtype == NLMSG_ERROR:
                    raise OSError(-struct.unpack_from("=i", body)[0], "route dump failed")
                if mtype == RTM_NEWROUTE:
                    routes.append(_parse_route(body))


def cmd_route_watch(args):
    """Prints one JSON line per change of the main-table unicast routes to the --dst hosts:
    {"t": wall time (time.time()) the kernel's notification was read, "kind": "state",
    "dst", "family": "v4"|"v6", "nexthops": [[gateway, dev], ...] ([] = no route)}; first the
    routes as they are ("initial": true), then {"ready": true}. Each notification about a
    --dst is also printed as {"kind": "event", "t", "dst", "op": "new"|"del", "nexthops"}; the
    state after it is read back with a dump (the notification alone does not always say what
    is left of a multipath route)."""
    dsts = {}
    for d in args.dst:
        f = fam(d)
        dsts[(f, socket.inet_pton(f, d))] = _norm(d)
    fams = {f for f, _ in dsts}
    mon = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    mon.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    groups = ((RTMGRP_IPV4_ROUTE if socket.AF_INET in fams else 0)
              | (RTMGRP_IPV6_ROUTE if socket.AF_INET6 in fams else 0))
    mon.bind((0, groups))
    dumper = _RouteDumper()
    names = {}

    def dev(ifindex):
        if ifindex not in names:
            names.update(socket.if_nameindex())
        return names.get(ifindex, str(ifindex))

    def ours(r):
        if r["dst"] is None or r["table"] != RT_TABLE_MAIN or r["type"] != RTN_UNICAST:
            return None
        key = (r["family"], socket.inet_pton(r["family"], r["dst"]))
        full = 32 if r["family"] == socket.AF_INET else 128
        return key if key in dsts and r["dst_len"] == full else None

    def hops(r):
        return sorted([g, dev(i)] for g, i in r["nexthops"])

    last = {}

    def emit(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    def report(t, families, initial=False):
        now = {k: [] for k in dsts if k[0] in families}
        for f in families:
            for r in dumper.dump(f):
                k = ours(r)
                if k is not None:
                    now[k] = sorted(now[k] + hops(r))
        for k, nh in now.items():
            if initial or last.get(k) != nh:
                last[k] = nh
                emit({"t": t, "kind": "state", "dst": dsts[k],
                      "family": "v4" if k[0] == socket.AF_INET else "v6", "nexthops": nh,
                      **({"initial": True} if initial else {})})

    report(time.time(), fams, initial=True)
    emit({"ready": True})
    while True:
        try:
            data = mon.recv(1 << 20)
        except OSError as e:  # ENOBUFS: notifications lost; the dump says where we are
            if e.errno != 105:
                raise
            report(time.time(), fams)
            continue
        t = time.time()
        changed = set()
        for mtype, _, body in _nl_messages(data):
            if mtype not in (RTM_NEWROUTE, RTM_DELROUTE):
                continue
            r = _parse_route(body)
            k = ours(r)
            if k is None:
                continue
            changed.add(k[0])
            emit({"t": t, "kind": "event", "dst": dsts[k],
                  "op": "new" if mtype == RTM_NEWROUTE else "del", "nexthops": hops(r)})
        if changed:
            report(t, changed)


class RouteWatch:
    """Watches the router kernel's routes to the lab's VIPs: `lablib.py route-watch` runs in
    the router's namespace (a process of its own, so the times are not delayed by this one's
    work) and stamps each change with the wall-clock time (time.time()) it read the kernel's
    notification. Use as a context manager, or stop().

      with RouteWatch(lab) as w:
          t0 = time.time()
          lab.bird("lb1", "disable", "steer_v4_192_0_2_10")
          t1 = w.wait_for("v4", {"lb2"}, after=t0)     # t1 - t0: disable -> router's kernel

    states: [(t, family, frozenset of nexthop addresses)] in order, the first per family the
    route when the watch started; events: the raw notifications (dicts, see route-watch)."""

    def __init__(self, lab, dsts=None, timeout=10.0):
        self.lab = lab
        self.dsts = dsts or [lab.vip4, lab.vip6]
        self.states = []
        self.events = []
        self.error = None
        self._cond = threading.Condition()
        self._ready = False
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", lab.ns("router"), "/usr/bin/python3", str(Path(__file__)),
             "route-watch", *[a for d in self.dsts for a in ("--dst", d)]],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        with self._cond:
            if not self._cond.wait_for(lambda: self._ready or self.error, timeout):
                self.stop()
                raise LabError(f"route-watch did not start in {timeout} s")
        if self.error:
            self.stop()
            raise LabError(f"route-watch: {self.error}")

    def _read(self):
        for line in self.proc.stdout:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            with self._cond:
                if obj.get("ready"):
                    self._ready = True
                elif obj.get("kind") == "state":
                    self.states.append((obj["t"], obj["family"],
                                        frozenset(_norm(g) for g, _ in obj["nexthops"] if g)))
                elif obj.get("kind") == "event":
                    self.events.append(obj)
                self._cond.notify_all()
        with self._cond:
            if self.proc.poll() is None:
                self.proc.wait()
            if self.proc.returncode not in (0, -signal.SIGTERM) and not self.error:
                self.error = f"exited {self.proc.returncode}: {self.proc.stderr.read()[-500:]}"
            self._cond.notify_all()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._thread.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def history(self, family):
        """[(t, nexthops)] of one family, oldest first."""
        family = _family(family)
        with self._cond:
            return [(t, nh) for t, f, nh in self.states if f == family]

    def current(self, family):
        h = self.history(family)
        return h[-1][1] if h else frozenset()

    def wait_for(self, family, nexthops, after=None, timeout=10.0):
        """The time (time.time()) of the first change at or after `after` (default: the
        watch's start, its initial state included) that left the route of `family` with
        exactly `nexthops` (addresses or LB names; empty: no route)."""
        family = _family(family)
        want = frozenset(self.lab.nexthop_set(family, nexthops))

        def found():
            for t, f, nh in self.states:
                if f == family and nh == want and (after is None or t >= after):
                    return t
            return None

        with self._cond:
            t = self._cond.wait_for(lambda: found() or self.error, timeout)
            if self.error and not found():
                raise LabError(f"route-watch: {self.error}")
        if not t:
            raise AssertionError(f"router route to the {family} VIP not via "
                                 f"{sorted(want) or 'nothing'} within {timeout} s (history "
                                 f"{[(round(t, 3), sorted(n)) for t, n in self.history(family)]})")
        return t


# --------------------------------------------------------------------------------------------
# Command line (tools/lab)


def _pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _wait_socket(what, socket_path, pid, timeout, attempt):
    """Polls `attempt()` (None = not ready yet, with a reason in `last`; else the status to
    print) until it answers, the process `pid` exits, or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    last = "no attempt"
    while time.monotonic() < deadline:
        if pid and not _pid_alive(pid):
            print(f"{what} (pid {pid}) exited", file=sys.stderr)
            return 1
        try:
            st, last = attempt()
            if st is not None:
                print(json.dumps(st))
                return 0
        except (OSError, FramingError, ApiError) as e:
            last = str(e)
        time.sleep(0.05)
    print(f"{what} socket {socket_path} did not answer in {timeout} s: {last}", file=sys.stderr)
    return 1


def cmd_wait_api(args):
    def attempt():
        with Api(args.socket, timeout=5) as api:
            return api.status(), ""
    return _wait_socket("steer-dataplane", args.socket, args.pid, args.timeout, attempt)


def cmd_apply(args):
    doc = json.loads(Path(args.file).read_text())
    with Api(args.socket) as api:
        reply = api.apply(doc)
        print(json.dumps(reply))
        if args.check:
            gen = reply["generation"]
            got = api.state()
            if got.get("generation") != gen or canonical_state(got) != canonical_state(doc):
                print(f"state read back differs from {args.file}: {json.dumps(got)}",
                      file=sys.stderr)
                return 1
            wait_switched(api, gen)
        if reply.get("warnings"):
            print(f"apply warnings: {reply['warnings']}", file=sys.stderr)
    return 0


def cmd_api(args):
    with Api(args.socket) as api:
        reply = api.request(" ".join(args.words))
        if any(c == 1000 for c, _, _ in reply.lines):
            print(json.dumps(reply.json(), indent=2))
        else:
            for c, last, text in reply.lines:
                print(f"{c:04d}{' ' if last else '-'}{text}")
    return 0


def cmd_probe(args):
    info = json.loads(Path(args.lab).read_text())
    ns = info["client"]["ns"]
    names = {b["name"] for b in info["backends"]}
    v4, v6 = info["vips"]["v4"], info["vips"]["v6"]
    c4, c6 = info["client"]["v4"][0], info["client"]["v6"][0]

    async def all_kinds():
        conn = EchoConn(ns, c4, v4, 7)
        await conn.open(timeout=5)
        conn.close()
        return [await http_get(ns, c4, v4, 80, timeout=5),
                await http_get(ns, c6, v6, 80, timeout=5),
                await udp_echo(ns, c4, v4, 7, timeout=1, tries=3),
                Answer("tcp", c4, conn.sport, v4, 7, conn.backend, conn.error)]

    bad = 0
    for a, what in zip(run(all_kinds()), ("HTTP v4", "HTTP v6", "UDP echo v4", "TCP echo v4")):
        if a.error or a.backend not in names:
            print(f"probe {what} {a.src} -> {a.dst}:{a.dport}: FAILED: {a.error or a.backend}",
                  file=sys.stderr)
            bad += 1
    return 1 if bad else 0


def server_request(path, line, timeout=5.0):
    """One line to a backend's servers.py control socket; its JSON reply (a dict)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        s.sendall(line.encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return json.loads(data)


def cmd_server(args):
    reply = server_request(args.socket, " ".join(args.words))
    if not reply.get("ok"):
        print(f"servers: {reply.get('error')}", file=sys.stderr)
        return 1
    print(json.dumps(reply))
    return 0


def _bgp_overrides(settings):
    """{key: value} from KEY=VALUE strings: VALUE is a TOML value (3, 0.5, "x", ["a"], true),
    else taken as a string; an empty VALUE leaves the key out of [bgp]."""
    out = {}
    for item in settings:
        key, eq, value = item.partition("=")
        if not eq or not re.fullmatch(r"[A-Za-z0-9_]+", key):
            raise ValueError(f"--bgp-set {item!r}: want KEY=VALUE")
        if value == "":
            out[key] = None
            continue
        try:
            out[key] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            out[key] = value
    return out


def cmd_steerd_config(args):
    info = json.loads(Path(args.lab).read_text())
    try:
        bgp = None
        if args.bgp or args.bgp_set:
            bgp = _bgp_overrides(args.bgp_set) or True
        text = steerd_config(info, interval=args.interval, timeout=args.timeout, rise=args.rise,
                             fall=args.fall, warmup=args.warmup,
                             vips=args.vips.split(",") if args.vips else None,
                             backends=args.backends.split(",") if args.backends else None,
                             lb=args.lb, bgp=bgp)
        tomllib.loads(text)  # a mistake here is ours, not steerd's
    except (ValueError, KeyError) as e:
        print(f"steerd-config: {e}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


def cmd_wait_steerd(args):
    def attempt():
        with SteerdApi(args.socket, timeout=5) as api:
            st = api.show("status")
            return (st, "") if st.get("warm") or not args.warm else (None, "warm-up not over")
    return _wait_socket("steerd", args.socket, args.pid, args.timeout, attempt)


def case_main(prog, cases, run_case, argv):
    """The entry point of a test file with named cases (lab_test.py, steerd_test.py): one case
    per run, as meson registers them; SIGTERM (meson's timeout) unwinds through `with lab`,
    which tears the lab down."""
    def on_sigterm(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_sigterm)
    if len(argv) != 1 or argv[0] not in cases and argv[0] != "--list":
        print(f"usage: {prog} CASE | --list\ncases: {' '.join(cases)}", file=sys.stderr)
        return 2
    if argv[0] == "--list":
        print("\n".join(cases))
        return 0
    return run_case(argv[0])


def main(argv):
    ap = argparse.ArgumentParser(prog="lablib.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("wait-api")
    p.add_argument("--socket", required=True)
    p.add_argument("--pid", type=int)
    p.add_argument("--timeout", type=float, default=30)
    p = sub.add_parser("apply")
    p.add_argument("--socket", required=True)
    p.add_argument("--check", action="store_true")
    p.add_argument("file")
    p = sub.add_parser("api")
    p.add_argument("--socket", required=True)
    p.add_argument("words", nargs="+")
    p = sub.add_parser("probe")
    p.add_argument("--lab", required=True)
    p = sub.add_parser("server")
    p.add_argument("--socket", required=True)
    p.add_argument("words", nargs="+")
    p = sub.add_parser("steerd-config")
    p.add_argument("--lab", required=True)
    p.add_argument("--interval", type=int, default=100)
    p.add_argument("--timeout", type=int, default=50)
    p.add_argument("--rise", type=int, default=2)
    p.add_argument("--fall", type=int, default=3)
    p.add_argument("--warmup", type=int, default=5000)
    p.add_argument("--vips", help="comma-separated: web,echo,udp-echo,web6,echo6")
    p.add_argument("--backends", help="comma-separated: b1,b2,...")
    p.add_argument("--lb", default="lb1", help="the LB host steerd runs on (lb1, lb2)")
    p.add_argument("--bgp", action="store_true", help="a [bgp] section for the LB's BIRD")
    p.add_argument("--bgp-set", action="append", default=[], metavar="KEY=VALUE",
                   help="a [bgp] key over the lab's default (implies --bgp; VALUE in TOML)")
    p = sub.add_parser("wait-steerd")
    p.add_argument("--socket", required=True)
    p.add_argument("--pid", type=int)
    p.add_argument("--timeout", type=float, default=20)
    p.add_argument("--warm", action="store_true")
    p = sub.add_parser("route-watch")
    p.add_argument("--dst", action="append", required=True, help="a route's destination (host)")
    args = ap.parse_args(argv)
    try:
        return {"wait-api": cmd_wait_api, "apply": cmd_apply, "api": cmd_api,
                "probe": cmd_probe, "server": cmd_server, "steerd-config": cmd_steerd_config,
                "wait-steerd": cmd_wait_steerd, "route-watch": cmd_route_watch}[args.cmd](args)
    except BrokenPipeError:  # output piped into head: not an error
        return 0
    except (OSError, FramingError, ApiError, AssertionError) as e:
        print(f"lablib {args.cmd}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
