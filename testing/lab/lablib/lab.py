"""Lab: a lab brought up and down by testing/lab/lab.sh with its own prefix; its lab.json read
back (topology, addresses, sockets); desired states built, applied and waited for; the
backends' servers, the dataplanes, steerd and BIRD stopped, killed and started again through
lab.sh; steerctl, birdc, metrics and the router kernel's routes to the VIPs."""
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

from .framing import Api, ApiError, BirdApi, FramingError, SteerdApi, canonical_state, wait_switched
from .namespaces import netns
from .steerd import toml_value
from .util import fam, family_name, lab_lb, norm_address, wait_until

ROOT = Path(__file__).resolve().parents[3]
LAB_TOOL = ROOT / "testing" / "lab" / "lab.sh"
RUN_PARENT = Path(os.environ.get("STEER_LAB_RUN", "/run/steer-lab"))


class LabError(Exception):
    pass


def default_prefix():
    """The prefix of the lab an operator's `tools/lab` command works on: STEER_LAB, else
    "steer" (as lab.sh)."""
    return os.environ.get("STEER_LAB", "steer")


class Lab:
    """A lab built by testing/lab/lab.sh with its own prefix. Use as a context manager: up on
    enter, down on exit (always), logs printed when the block failed. bgp=True: BIRD on the
    router and the LB hosts, no static VIP routes (up --bgp); lbs=2: a second LB host."""

    def __init__(self, prefix, backends=4, afpacket=None, build=None, decap_mode=None,
                 bgp=False, lbs=1, any_prefix=False, site=0, extra_vips=()):
        # Tests use prefixes starting with "sl"; a tool or the demo (any_prefix) picks its own.
        if not prefix.startswith("sl") and not any_prefix:
            raise ValueError("test labs use a prefix starting with 'sl'")
        self.prefix = prefix
        self.backends_count = backends
        self.bgp = bgp
        self.lbs_count = lbs
        self.site = site                    # up --site: client network and AS numbers
        self.extra_vips = list(extra_vips)  # up --extra-vip: more VIP addresses on the backends
        if afpacket is None:
            afpacket = os.environ.get("STEER_LAB_AFPACKET", "") not in ("", "0")
        self.afpacket = afpacket
        self.decap_mode = decap_mode or os.environ.get("STEER_LAB_DECAP_MODE", "xdp")
        # Like lab.sh: STEER_BUILD, absolute or relative to the repository (default build/).
        build = build or os.environ.get("STEER_BUILD", "build")
        self.build = str(build if os.path.isabs(build) else ROOT / build)
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
        if self.site:
            args += ["--site", str(self.site)]
        for v in self.extra_vips:
            args += ["--extra-vip", v]
        t0 = time.monotonic()
        try:
            r = self.tool(*args, timeout=180)
        except subprocess.TimeoutExpired as e:
            raise LabError(f"lab.sh up timed out after 180 s:\n{e.output or ''}")
        self.up_seconds = time.monotonic() - t0
        if r.returncode != 0:
            raise LabError(f"lab.sh up failed (exit {r.returncode}):\n{r.stdout}")
        print(r.stdout.strip(), flush=True)
        self.info = json.loads((self.run_dir / "lab.json").read_text())
        return self

    def attach(self):
        """Uses the lab of this prefix that is already up (someone else's tools/lab up, e.g.
        the demo's) instead of building one: reads its lab.json; returns self."""
        self.info = json.loads((self.run_dir / "lab.json").read_text())
        return self

    @classmethod
    def running(cls, prefix=None):
        """The lab that is up under `prefix` (default: default_prefix(); e.g. the demo's
        `tools/lab up`), attached, with the build directory it runs from (lab.json's "build").
        The run directory's parent is STEER_LAB_RUN, as for lab.sh."""
        lab = cls(prefix or default_prefix(), any_prefix=True).attach()
        lab.build = lab.info["build"]
        return lab

    def down(self):
        try:
            r = self.tool("down", timeout=120, own_session=True)
            if r.returncode != 0:
                print(f"lab.sh down failed (exit {r.returncode}):\n{r.stdout}", flush=True)
        except subprocess.TimeoutExpired:
            print("lab.sh down timed out", flush=True)

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
        """lab.sh ARGS... (tools/lab's subcommands) for this lab; its output, or LabError
        with it."""
        args = [str(a) for a in args]
        r = self.tool(*args, timeout=timeout)
        if r.returncode != 0:
            raise LabError(f"lab.sh {' '.join(args)} failed (exit {r.returncode}):\n{r.stdout}")
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
        family = family_name(family)
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
        family = family_name(family)
        out = set()
        for n in nexthops:
            if re.fullmatch(r"lb\d+", n):
                out.add(norm_address(self.lb(n)[family]))
            else:
                out.add(norm_address(n))
        return out

    def wait_route(self, family, nexthops, timeout=10.0, interval=0.005):
        """Waits until the router's route to the VIP of `family` has exactly `nexthops`
        (addresses or LB names; empty: no route); the seconds it took."""
        want = self.nexthop_set(family, nexthops)
        t0 = time.monotonic()
        while True:
            got = {norm_address(g) for g in self.router_routes(family)}
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
