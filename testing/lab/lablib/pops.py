"""Two PoPs: two labs of testing/lab/lab.sh (each a router with BIRD, an LB host running
steer-dataplane, steerd and BIRD, and backends) joined by a transit router, for
`tools/lab up --pops 2`, `tools/failover --pops 2` and the two-PoP tests.

  client-a ── router-a ──┐                   ┌── router-b ── client-b
  198.18.1.0/24 (eu)     │  to-transit       │     198.18.2.0/24 (us)
  lb1-a (AS 65011)       └── transit ────────┘     lb1-b (AS 65021)
  router-a AS 65010       172.16.1.1 / .2.1        router-b AS 65020
                          AS 65100

PoP "a" is the lab <prefix>a (lab.sh --site 1), PoP "b" the lab <prefix>b (--site 2); the
transit is the namespace <prefix>-transit, its files in $STEER_LAB_RUN/<prefix>-transit/.
Each PoP announces, through its LB's BIRD and its router, the anycast VIP 192.0.2.10 (web, the
lab's VIP), its own unicast VIP (web-u: 192.0.2.11 for a, 192.0.2.12 for b; the same backends)
and the anycast DNS address 192.0.2.53 (steerd's responder, [dns] announce). The routers
export what their LBs announce to the transit, which passes it to the other router: a router
prefers its own LB's route (AS path 1 against 3) and falls back to the other PoP's when its
own LB withdraws. Client networks and the LB links (10.1.0.0/16, 10.2.0.0/16, so that one
PoP's probes of the other's VIPs come back) are static routes through the transit. IPv4 only
across the PoPs: each PoP's IPv6 VIPs stay local.

steerd on each PoP: the lab's steerd configuration (VIPs web and web-u, IPv4, http checks every
100 ms, timeout 50, rise 2, fall 3, [bgp]) with [dns]: zone lb.example.test, a nets file
placing client-a's network in region eu (PoP a) and client-b's in us (PoP b), and two services
answered with one address: web (unicast: each PoP's web-u address; the other PoP probed at its
unicast VIP) and any (the anycast VIP from both PoPs; the other PoP probed at its unicast VIP:
probe one address, serve another).

Each client namespace also runs a recursive resolver (Knot Resolver, kresd) on
198.18.N.253:53 that sends lb.example.test to the anycast DNS address and caches what it gets:
the clients' view through a cache, next to direct queries (with or without ECS)."""
import json
import os
import shutil
import subprocess
import time

from .lab import RUN_PARENT, Lab, LabError
from .steerd import steerd_config, toml_value
from .util import pid_alive, wait_until

POPS = ("a", "b")
SITE = {"a": 1, "b": 2}
REGION = {"a": "eu", "b": "us"}
COORDS = {"a": (50.11, 8.68), "b": (40.71, -74.01)}
ANYCAST_VIP = "192.0.2.10"
UNICAST_VIP = {"a": "192.0.2.11", "b": "192.0.2.12"}
DNS_ADDRESS = "192.0.2.53"
ZONE = "lb.example.test."
TRANSIT_AS = 65100
# Per PoP: (transit side, router side) of the /30 joining them.
TRANSIT_LINK = {"a": ("172.16.1.1", "172.16.1.2"), "b": ("172.16.2.1", "172.16.2.2")}
BGP_TIMERS = ("hold time 3; keepalive time 1; connect delay time 1; connect retry time 1; "
              "error wait time 1, 2; graceful restart no; long lived graceful restart no;")
BIRD = "/usr/sbin/bird"
KRESD = "/usr/sbin/kresd"
SERVICES = ("web", "any")
TTL = 30
PENDING_TTL = 5


def other(pop):
    return "b" if pop == "a" else "a"


def client_net(pop):
    return f"198.18.{SITE[pop]}.0/24"


def lb_net(pop):
    return f"10.{SITE[pop]}.0.0/16"


def resolver_address(pop):
    """The recursive resolver (kresd) of pop's region, in its client namespace."""
    return f"198.18.{SITE[pop]}.253"


class TwoPops:
    """Two PoPs and a transit (see the module's doc). Use as a context manager (up on enter,
    down on exit, logs printed when the block failed), or up()/down(); attach() uses the
    two-PoP lab of this prefix that is already up. pops["a"], pops["b"]: their Lab objects."""

    def __init__(self, prefix, backends=2, build=None, any_prefix=False, interval=100,
                 timeout=50, rise=2, fall=3):
        if len(prefix) > 14:
            raise ValueError("a two-PoP prefix is at most 14 characters (lab prefixes add one)")
        self.prefix = prefix
        self.pops = {p: Lab(prefix + p, backends=backends, build=build, bgp=True,
                            any_prefix=any_prefix, site=SITE[p], extra_vips=[UNICAST_VIP[p]])
                     for p in POPS}
        self.run_dir = RUN_PARENT / f"{prefix}-transit"
        self.transit_ns = f"{prefix}-transit"
        self.checks = {"interval": interval, "timeout": timeout, "rise": rise, "fall": fall}
        self.up_seconds = None

    # ---- the whole

    @property
    def info(self):
        """The settings both labs share (lab.json of PoP a: port and decap modes, ...)."""
        return self.pops["a"].info

    def up(self):
        self.down()
        t0 = time.monotonic()
        try:
            for p in POPS:
                self.pops[p].up()
            self._transit_up()
            for p in POPS:
                self._steerd_up(p)
            for p in POPS:
                self._resolver_up(p)
            self.wait_ready()
        except BaseException:
            self.print_logs()
            self.down()
            raise
        (self.run_dir / "pops.json").write_text(json.dumps(self.describe(), indent=1) + "\n")
        self.up_seconds = time.monotonic() - t0
        return self

    def attach(self):
        for p in POPS:
            self.pops[p].attach()
        return self

    def down(self):
        for name in ["bird.pid", *[f"kresd-{p}.pid" for p in POPS]]:
            pid_file = self.run_dir / name
            if pid_file.exists():
                _stop(int(pid_file.read_text().strip() or 0))
        for p in POPS:
            self.pops[p].down()
        subprocess.run(["ip", "netns", "del", self.transit_ns], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def __enter__(self):
        return self.up()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.print_logs()
        self.down()
        return False

    def print_logs(self, lines=30):
        for p in POPS:
            if self.pops[p].run_dir.exists():
                self.pops[p].print_logs(lines)
        log = self.run_dir / "bird.log"
        if log.exists():
            print(f"---- transit bird.log (last {lines} lines)", flush=True)
            for line in log.read_text(errors="replace").splitlines()[-lines:]:
                print(f"  {line}")

    def describe(self):
        return {"prefix": self.prefix, "transit_ns": self.transit_ns,
                "anycast_vip": ANYCAST_VIP, "unicast_vips": UNICAST_VIP,
                "dns_address": DNS_ADDRESS, "zone": ZONE,
                "pops": {p: {"lab": self.pops[p].prefix, "region": REGION[p],
                             "client_net": client_net(p), "site": SITE[p],
                             "resolver": resolver_address(p)} for p in POPS}}

    # ---- the transit

    def _transit_up(self):
        ns = self.transit_ns
        self.run_dir.mkdir(parents=True, exist_ok=True)
        _sh("ip", "netns", "add", ns)
        _nsh(ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0",
             "net.ipv4.conf.default.rp_filter=0", "net.ipv4.conf.all.send_redirects=0",
             "net.ipv4.fib_multipath_hash_policy=1")
        _nsh(ns, "ip", "link", "set", "lo", "up")
        for p in POPS:
            lab = self.pops[p]
            router = lab.ns("router")
            tr, rt = TRANSIT_LINK[p]
            _sh("ip", "link", "add", f"tr-{p}", "netns", ns, "type", "veth", "peer", "name",
                "to-transit", "netns", router)
            _nsh(ns, "ip", "addr", "add", f"{tr}/30", "dev", f"tr-{p}")
            _nsh(ns, "ip", "link", "set", f"tr-{p}", "up")
            _nsh(router, "sysctl", "-q", "-w", "net.ipv4.conf.to-transit.rp_filter=0",
                 "net.ipv4.conf.to-transit.send_redirects=0")
            _nsh(router, "ip", "addr", "add", f"{rt}/30", "dev", "to-transit")
            _nsh(router, "ip", "link", "set", "to-transit", "up")
            # The other PoP's clients and LB hosts through the transit; the transit knows both.
            for net in (client_net(other(p)), lb_net(other(p))):
                _nsh(router, "ip", "route", "add", net, "via", tr)
            for net in (client_net(p), lb_net(p)):
                _nsh(ns, "ip", "route", "add", net, "via", rt)
            (lab.run_dir / "router" / "transit.conf").write_text(self._router_transit_conf(p))
            lab.bird_configure("router")
        conf = self.run_dir / "bird.conf"
        conf.write_text(self._transit_conf())
        log = open(self.run_dir / "bird.out", "ab")
        proc = subprocess.Popen(["ip", "netns", "exec", ns, BIRD, "-f", "-c", str(conf), "-s",
                                 str(self.run_dir / "bird.ctl")], stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        (self.run_dir / "bird.pid").write_text(f"{proc.pid}\n")
        wait_until("the transit's BGP sessions established",
                   lambda: self._transit_established() or None, 30, 0.1)

    def _router_transit_conf(self, p):
        lab = self.pops[p]
        tr, rt = TRANSIT_LINK[p]
        return f"""# The session to the transit joining two PoPs (written by testing/lab/lablib/pops.py)
protocol bgp transit_v4 {{
  local {rt} as {lab.info["asn"]["router"]};
  neighbor {tr} as {TRANSIT_AS};
  {BGP_TIMERS}
  ipv4 {{ import filter steer_vips4; export where proto ~ "lb*"; }};
}}
"""

    def _transit_conf(self):
        sessions = "".join(f"""
protocol bgp pop_{p} from pop {{
  neighbor {TRANSIT_LINK[p][1]} as {self.pops[p].info["asn"]["router"]};
  local {TRANSIT_LINK[p][0]};
}}
""" for p in POPS)
        return f"""# BIRD of the transit joining PoPs a and b (written by testing/lab/lablib/pops.py)
log "{self.run_dir}/bird.log" all;
router id 172.16.0.1;

protocol device {{ }}

filter vips4 {{ if net ~ [ 192.0.2.0/24{{24,32}} ] then accept; reject; }}

protocol kernel kernel4 {{
  ipv4 {{ import none; export where source = RTS_BGP; }};
  merge paths yes;
  persist no;
}}

template bgp pop {{
  local as {TRANSIT_AS};
  {BGP_TIMERS}
  ipv4 {{ import filter vips4; export filter vips4; }};
}}
{sessions}"""

    def _transit_established(self):
        r = subprocess.run(["birdc", "-s", str(self.run_dir / "bird.ctl"), "show", "protocols"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        up = [line for line in r.stdout.splitlines()
              if line.startswith("pop_") and "Established" in line]
        return len(up) == len(POPS)

    # ---- steerd with DNS on each PoP

    def steerd_config(self, p):
        lab = self.pops[p]
        text = steerd_config(lab.info, vips=["web"],
                             bgp={"announce_hold_ms": 0, "min_interval_ms": 0}, **self.checks)
        text = text.replace('region = "lab"', f'region = "{REGION[p]}"', 1)
        run = lab.run_dir
        nets = run / "nets.txt"
        nets.write_text("".join(f"{client_net(q)} {REGION[q]}\n" for q in POPS))
        backends = "".join(f'  [[vip.backend]]\n  address = "{b["v4"]}"\n'
                           for b in lab.info["backends"])
        text += f"""
[[vip]]
name = "web-u"
address = "{UNICAST_VIP[p]}"
protocol = "tcp"
port = 80
encap = "ipip"
echo = true
check = "http"
{backends}
[dns]
listen = ["{DNS_ADDRESS}:53"]
announce = ["{DNS_ADDRESS}"]
threads = 1
nets = "{nets}"
ttl = {TTL}
pending_ttl = {PENDING_TTL}
answers = 1
"""
        for q in POPS:
            lat, lon = COORDS[q]
            text += (f'\n[[dns.pop]]\nname = "{self.pops[q].prefix}"\nregion = "{REGION[q]}"\n'
                     f"latitude = {lat}\nlongitude = {lon}\n")
        text += f"""
[[dns.zone]]
name = "{ZONE}"
ttl = 300
ns = ["ns1"]
soa = {{rname = "hostmaster", serial = 2026120701, refresh = 3600, retry = 600, expire = 1209600, minimum = 60}}
records = [
  {{name = "ns1", type = "A", data = "{DNS_ADDRESS}"}},
]
"""
        for service, local_vip, remote_addr in (("web", "web-u", None), ("any", "web", ANYCAST_VIP)):
            text += (f'\n[[dns.service]]\nname = "{service}"\nttl = {TTL}\n'
                     f'pending_ttl = {PENDING_TTL}\nanswers = 1\ncheck = "http"\n')
            for q in POPS:
                text += f'  [[dns.service.pop]]\n  pop = "{self.pops[q].prefix}"\n'
                if q == p:
                    text += f"  vips = {toml_value([local_vip])}\n"
                else:
                    text += (f"  addresses = {toml_value([remote_addr or UNICAST_VIP[q]])}\n"
                             f"  probe = {toml_value([UNICAST_VIP[q]])}\n")
        return text

    def _steerd_up(self, p):
        lab = self.pops[p]
        lab.steerd_config_path.write_text(self.steerd_config(p))
        _nsh(lab.ns("lb1"), "ip", "addr", "add", f"{DNS_ADDRESS}/32", "dev", "lo")
        lab.steerd_up(keep_config=True)

    def wait_ready(self, timeout=60.0):
        """Until each PoP's steerd is warm, announces its VIPs and DNS address, and sees both
        PoPs healthy for both services; and each router routes the anycast VIP to its own LB."""
        def ready():
            for p in POPS:
                lab = self.pops[p]
                for service in SERVICES:
                    states = self.dns_pop_states(p, service)
                    if not states or not all(states.values()):
                        return None
                if lab.router_route_lbs("v4") != {"lb1"}:
                    return None
            return True
        wait_until("both PoPs up: VIPs announced, DNS sees both healthy", ready, timeout, 0.1)

    # ---- a recursive resolver per region

    def _resolver_up(self, p):
        ns = self.pops[p].ns("client")
        addr = resolver_address(p)
        d = self.run_dir / f"kresd-{p}"
        d.mkdir(parents=True, exist_ok=True)
        conf = d / "kresd.conf"
        conf.write_text(f"""-- the resolver of region {REGION[p]} (written by testing/lab/lablib/pops.py)
net.listen('{addr}', 53, {{ kind = 'dns' }})
trust_anchors.remove('.')
modules = {{ 'policy' }}
policy.add(policy.suffix(policy.STUB('{DNS_ADDRESS}'), {{ todname('{ZONE}') }}))
policy.add(policy.all(policy.REFUSE))
cache.size = 10 * MB
""")
        _nsh(ns, "ip", "addr", "add", f"{addr}/24", "dev", "cl0")
        log = open(d / "kresd.log", "ab")
        proc = subprocess.Popen(["ip", "netns", "exec", ns, KRESD, "-n", "-q", "-c", str(conf),
                                 str(d)], stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        (self.run_dir / f"kresd-{p}.pid").write_text(f"{proc.pid}\n")

    # ---- observations

    def dns_pop_states(self, p, service):
        """{PoP letter: healthy} as PoP p's steerd hands them out for `service`."""
        try:
            r = self.pops[p].steerctl("dns", "show", "--json", timeout=5)
            doc = json.loads(r.stdout) if r.returncode == 0 else {}
        except (subprocess.SubprocessError, OSError, ValueError):
            return {}
        names = {self.pops[q].prefix: q for q in POPS}
        for s in doc.get("services", []):
            if s["name"] == service:
                return {names[x["pop"]]: x["healthy"] for x in s["pops"] if x["pop"] in names}
        return {}

    def router_nexthop_devs(self, p, dst=ANYCAST_VIP):
        """The devices of PoP p's router's route to `dst` ("to-lb1", "to-transit"); [] for
        none."""
        r = subprocess.run(["ip", "-n", self.pops[p].ns("router"), "-j", "route", "show", dst],
                           stdout=subprocess.PIPE, text=True, check=True)
        routes = [x for x in json.loads(r.stdout or "[]") if x.get("type", "unicast") == "unicast"]
        if not routes:
            return []
        hops = routes[0].get("nexthops") or [routes[0]]
        return sorted(h.get("dev") for h in hops)


def _sh(*argv):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise LabError(f"{' '.join(argv)}: exit {r.returncode}: {r.stdout.strip()}")
    return r.stdout


def _nsh(ns, *argv):
    return _sh("ip", "netns", "exec", ns, *argv)


def _stop(pid):
    if not pid or not pid_alive(pid):
        return
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 5
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        os.kill(pid, 9)


def pops_main(action, prefix, backends=2):
    """`python3 -m lablib pops up|down|status --prefix P` (lab.sh's `up --pops 2`)."""
    pops = TwoPops(prefix, backends=backends, any_prefix=True)
    if action == "up":
        t0 = time.monotonic()
        pops.up()
        d = pops.describe()
        print(f"two PoPs up in {time.monotonic() - t0:.1f} s: a = lab {d['pops']['a']['lab']} "
              f"(clients {d['pops']['a']['client_net']}, eu), b = lab {d['pops']['b']['lab']} "
              f"(clients {d['pops']['b']['client_net']}, us), transit {pops.transit_ns}; "
              f"anycast VIP {ANYCAST_VIP}, unicast {UNICAST_VIP['a']} / {UNICAST_VIP['b']}, "
              f"DNS {DNS_ADDRESS} ({ZONE}); per PoP: STEER_LAB={d['pops']['a']['lab']} tools/lab "
              f"...; down: tools/lab down --pops 2", flush=True)
        return 0
    if action == "down":
        pops.down()
        return 0
    pops.attach()
    for p in POPS:
        print(f"PoP {p}: route to {ANYCAST_VIP} via {pops.router_nexthop_devs(p)}; DNS sees "
              f"{ {s: pops.dns_pop_states(p, s) for s in SERVICES} }")
    return 0
