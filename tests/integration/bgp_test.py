#!/usr/bin/python3
"""steerd's BGP announcer end to end on the netns lab with real BIRDs: the router runs BIRD
(AS 65000) with eBGP sessions to every LB host and ECMP into its kernel; each LB host runs
BIRD (AS 65001, including the snippet steerd writes), steerd and steer-dataplane. What the
router's kernel routes to the VIPs is the verdict (RouteWatch / wait_route).

  bgp_test.py CASE      run one case in its own lab (prefix "slbg-..."), torn down after
  bgp_test.py --list    the cases

Each case prints its checks and ends with "PASS <case> (<s>)" or "FAIL <case>: <reasons>";
the exit status is 0 only on PASS. Environment: STEER_BUILD (build directory).

The lab's steerd (lablib.steerd_config): VIPs web, echo, udp-echo at 192.0.2.10 and web6,
echo6 at 2001:db8::10 (two announce units), backends b1..b4, checks every 100 ms, timeout
50 ms, rise 2, fall 3; [bgp] announce_hold_ms 500, min_interval_ms 500, reconcile_ms 200,
drain_ms 2000, valve_share 1.0 unless a case says otherwise.
"""
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "testing" / "lab"))
import lablib  # noqa: E402
from lab_test import QuietChecks, run_in_lab  # noqa: E402
from lablib import Lab, RouteWatch, ask_all, open_echo_conns, wait_until  # noqa: E402

U4, U6 = "steer_v4_192_0_2_10", "steer_v6_2001_db8__10"
P4, P6 = "192.0.2.10/32", "2001:db8::10/128"
BACKENDS = ["b1", "b2", "b3", "b4"]
HOLD_S = 0.5
# Detection (interval x fall + timeout) + push + BIRD + BGP to the router, with room for the
# shared cores; tools/failover measures the real figures.
WITHDRAW_BOUND_S = 1.5
# rise x interval + announce hold + BGP, with room.
ANNOUNCE_BOUND_S = 4.0


def units(lab, lb="lb1"):
    """{prefix: unit} of steerd's `show bgp`."""
    return {u["prefix"]: u for u in lab.steerd_show("bgp", lb=lb)["units"]}


def start_bgp(lab, c, lbs=("lb1",), **bgp):
    """steerd with [bgp] on each LB host; waits until the router routes both VIPs to them."""
    lab.wait_bgp()
    for lb in lbs:
        lab.steerd_up(lb=lb, bgp=bgp or True)
    for family in ("v4", "v6"):
        what = f"router routes the {family} VIP via {'+'.join(lbs)}"
        c.require(check_within(c, what, routed_via(lab, family, lbs), 15), what)


def kill_servers(lab, names=BACKENDS):
    for n in names:
        lab.server_kill(n)


def start_servers(lab, names=BACKENDS):
    for n in names:
        lab.server_start(n)


def check_within(c, what, predicate, timeout):
    """A check that predicate() holds within `timeout` seconds (polled every 20 ms); the line
    says how long it took."""
    t0 = time.monotonic()
    while True:
        ok = bool(predicate())
        if ok or time.monotonic() - t0 >= timeout:
            break
        time.sleep(0.02)
    return c.check(ok, f"{what} ({time.monotonic() - t0:.2f} s)", f"not within {timeout} s")


def routed_via(lab, family, lbs):
    return lambda: lab.router_route_lbs(family) == set(lbs)


def events(lab, pattern, lb="lb1"):
    return [e for e in lab.steerd_events(lb=lb) if re.search(pattern, e["text"])]


def never_had(watch, family, lb_set, after):
    """True when the router's route of `family` never went via exactly `lb_set` after `after`."""
    want = frozenset(watch.lab.nexthop_set(family, lb_set))
    return all(nh != want for t, nh in watch.history(family) if t >= after)


# --------------------------------------------------------------------------------------------


def case_health_withdraw(lab, c):
    """every backend down: both VIP routes leave the router; servers back: routes return"""
    start_bgp(lab, c)
    with RouteWatch(lab) as w:
        t0 = time.time()
        kill_servers(lab)
        t_killed = time.time()
        for family in ("v4", "v6"):
            t = w.wait_for(family, set(), after=t0, timeout=10)
            c.check(t - t_killed <= WITHDRAW_BOUND_S,
                    f"{family} route gone at the router {1000 * (t - t_killed):.0f} ms after the "
                    f"last server died (bound {WITHDRAW_BOUND_S * 1000:.0f} ms)")
        u = units(lab)
        for p in (P4, P6):
            c.check(u[p]["state"] == "withdrawn" and u[p]["why"].startswith("unhealthy:"),
                    f"show bgp: {p} withdrawn, why: {u[p]['why']}")
            h = u[p]["history"][-1]
            c.check(h["state"] == "withdrawn" and h["confirmed_unix_us"] >= h["at_unix_us"],
                    f"{p}: the withdrawal is in the history, confirmed by BIRD in "
                    f"{(h['confirmed_unix_us'] - h['at_unix_us']) / 1000:.2f} ms")
        protos = lab.bird_protocols("lb1")
        c.check(protos[U4]["state"] == "down" and protos[U6]["state"] == "down",
                "lb1's BIRD has both steer protocols disabled")
        t1 = time.time()
        start_servers(lab)
        for family in ("v4", "v6"):
            t = w.wait_for(family, {"lb1"}, after=t1, timeout=15)
            c.check(t - t1 <= ANNOUNCE_BOUND_S + 2,
                    f"{family} route back at the router {t - t1:.2f} s after the servers were "
                    f"started (hold-down {HOLD_S} s)")
    u = units(lab)
    c.check(all(u[p]["state"] == "announced" for p in (P4, P6)), "show bgp: both announced")


def case_dataplane_kill(lab, c):
    """steer-dataplane killed: every VIP withdrawn at once; started again: announced again"""
    start_bgp(lab, c)
    with RouteWatch(lab) as w:
        t0 = time.time()
        lab.dataplane_kill()
        t_dead = time.time()
        for family in ("v4", "v6"):
            t = w.wait_for(family, set(), after=t0, timeout=10)
            c.check(t - t_dead <= 1.0, f"{family} route gone at the router "
                    f"{1000 * (t - t_dead):.0f} ms after the dataplane died")
        u = units(lab)
        c.check(all(u[p]["why"].startswith("dataplane not forwarding") for p in (P4, P6)),
                f"show bgp says why: {u[P4]['why']}")
        st = lab.steerctl("show", "bgp")
        c.check(st.returncode == 0 and "dataplane not forwarding" in st.stdout,
                "steerctl show bgp prints the reason")
        t1 = time.time()
        lab.dataplane_start()
        for family in ("v4", "v6"):
            t = w.wait_for(family, {"lb1"}, after=t1, timeout=15)
            c.check(t - t1 <= ANNOUNCE_BOUND_S, f"{family} route back {t - t1:.2f} s after the "
                    "dataplane was started")
    # And the dataplane forwards again: a connection through the VIP works.
    conns = open_echo_conns(lab.ns("client"), [(lab.client_v4()[0], lab.vip4)])
    c.check(not conns[0].error, f"a TCP connection through the VIP works ({conns[0].error})")
    for x in conns:
        x.close()


def case_bird_restart(lab, c):
    """BIRD on the LB restarted (also with a snippet edited behind steer's back): steer's
    decisions are back in BIRD and at the router"""
    start_bgp(lab, c)
    r = lab.steerctl("bgp", "withdraw", "web")
    c.require(r.returncode == 0,
              f"steerctl bgp withdraw web: {r.stdout.strip()} {r.stderr.strip()}")
    lab.wait_route("v4", set(), timeout=5)
    with RouteWatch(lab) as w:
        # 1. A plain restart: BIRD reads steer's snippet and announces just the v6 VIP.
        t0 = time.time()
        lab.bird_restart("lb1")
        lab.wait_bgp()
        w.wait_for("v6", {"lb1"}, after=t0, timeout=15)
        time.sleep(0.5)
        c.check(never_had(w, "v4", {"lb1"}, t0), "plain restart: the withdrawn v4 VIP never "
                "reached the router; the v6 VIP is back")
        # 2. BIRD killed and its snippet edited to enable everything (as an operator's
        # stanzas without `disabled` would): steerd reconnects and re-asserts.
        snippet = lab.snippet_path("lb1")
        lab.bird_kill("lb1")
        text = Path(snippet).read_text()
        c.require("disabled yes" in text, "the snippet holds the withdrawn protocols disabled")
        Path(snippet).write_text(text.replace("disabled yes", "disabled no"))
        before = lab.steerd_show("bgp")["drift_corrections"]
        t1 = time.time()
        lab.bird_start("lb1")
        wait_until("steerd reconnected to BIRD and corrected it", lambda: (
            lab.steerd_show("bgp")["drift_corrections"] > before
            and lab.bird_protocols("lb1")[U4]["state"] == "down") or None, timeout=10)
        lab.wait_bgp()
        w.wait_for("v6", {"lb1"}, after=t1, timeout=15)
        time.sleep(0.5)
        c.check(not lab.router_routes("v4"), "after the edited snippet, v4 is still withdrawn "
                "at the router")
        protos = lab.bird_protocols("lb1")
        c.check(protos[U4]["state"] == "down" and protos[U4 + "_drain"]["state"] == "down"
                and protos[U6]["state"] == "up" and protos[U6 + "_drain"]["state"] == "down",
                "lb1's BIRD: only the v6 protocol up")
        c.check("disabled yes" in Path(snippet).read_text(), "steerd wrote its snippet again")
        c.check(events(lab, r"bgp: BIRD drifted for 192\.0\.2\.10/32"),
                "the drift was logged as an event")
        st = lab.steerd_show("bgp")["bird"]
        c.check(st["connected"], "show bgp: BIRD connected again")


def case_bird_configure(lab, c):
    """`birdc configure` on the LB (with and without the snippet edited): steer's state stays"""
    start_bgp(lab, c)
    r = lab.steerctl("bgp", "withdraw", "web6")
    c.require(r.returncode == 0, "steerctl bgp withdraw web6")
    lab.wait_route("v6", set(), timeout=5)
    with RouteWatch(lab) as w:
        before = lab.steerd_show("bgp")["drift_corrections"]
        t0 = time.time()
        lab.bird_configure("lb1")
        time.sleep(1.0)
        c.check(never_had(w, "v6", {"lb1"}, t0) and lab.router_routes("v4"),
                "configure with steer's snippet: v6 stays withdrawn, v4 stays announced")
        c.check(lab.steerd_show("bgp")["drift_corrections"] == before,
                "nothing to correct: the snippet carries steer's decisions")
        snippet = lab.snippet_path("lb1")
        text = Path(snippet).read_text()
        Path(snippet).write_text(text.replace("disabled yes", "disabled no"))
        t1 = time.time()
        lab.bird_configure("lb1")
        wait_until("steerd corrected BIRD after configure", lambda: (
            lab.steerd_show("bgp")["drift_corrections"] > before
            and lab.bird_protocols("lb1")[U6]["state"] == "down") or None, timeout=5)
        t2 = time.time()
        time.sleep(0.5)
        seen = [(t, nh) for t, nh in w.history("v6") if t >= t1 and nh]
        c.check(not lab.router_routes("v6"), f"the edited snippet re-enabled v6; steerd disabled "
                f"it again {1000 * (t2 - t1):.0f} ms after configure (router saw it "
                f"{len(seen)} time(s))")
        c.check("disabled yes" in Path(snippet).read_text(), "steerd wrote its snippet again")
        protos = lab.bird_protocols("lb1")
        c.check(protos[U4]["state"] == "up" and protos[U6]["state"] == "down"
                and protos[U4 + "_drain"]["state"] == "down", "lb1's BIRD as steer decided")


def case_flap(lab, c):
    """a flapping backend: the announce/withdraw rate stays bounded"""
    lab.wait_bgp()
    hold_ms = 1500
    lab.steerd_up(vips="web", backends="b1", rise=1, fall=1,
                  bgp={"announce_hold_ms": hold_ms, "min_interval_ms": hold_ms})
    lab.wait_route("v4", {"lb1"}, timeout=15)
    duration = 8.0
    with RouteWatch(lab) as w:
        t0 = time.time()
        lab.http_mode("b1", "flap", ok=3, fail=3)
        time.sleep(duration)
        lab.http_mode("b1", "ok")
        t1 = time.time()
        health = [e for e in lab.steerd_events()
                  if e["at_unix_us"] / 1e6 >= t0 and e["at_unix_us"] / 1e6 <= t1
                  and re.search(r"10\.0\.11\.2:80/http (up -> down|down -> up)", e["text"])]
        changes = [(t, nh) for t, nh in w.history("v4") if t0 <= t <= t1]
        bound = 2 * int(duration * 1000 / hold_ms + 1)
        c.check(len(health) >= 8, f"the backend flapped: {len(health)} health changes in "
                f"{duration:.0f} s")
        c.check(1 <= len(changes) <= bound, f"the router's route changed {len(changes)} time(s) "
                f"(bound {bound}: at most two changes per {hold_ms} ms hold-down)")
        check_within(c, "steady again: announced after the flapping stopped",
                     routed_via(lab, "v4", {"lb1"}), 10)


def case_ecmp_move(lab, c):
    """two LB hosts behind ECMP: TCP connections moved from one LB to the other mid-connection
    stay on their backend"""
    start_bgp(lab, c, lbs=("lb1", "lb2"))
    srcs = lab.client_v4()[:60]
    conns = open_echo_conns(lab.ns("client"), [(s, lab.vip4) for s in srcs])
    bad = [x.error for x in conns if x.error]
    c.require(not bad, f"60 echo connections through the ECMP route ({bad[:3]})")
    first = {x.tuple(): x.backend for x in conns}
    on = {}
    for lb in ("lb1", "lb2"):
        with lab.api(lb=lb) as api:
            for x in conns:
                if any("backend" in e for e in api.flow(*x.tuple()).get("established", [])):
                    on.setdefault(x.tuple(), lb)
    via1 = [x for x in conns if on.get(x.tuple()) == "lb1"]
    c.require(len(via1) >= 5 and len(on) == len(conns),
              f"ECMP spread the connections: {len(via1)} via lb1, "
              f"{sum(1 for v in on.values() if v == 'lb2')} via lb2")
    r = lab.steerctl("bgp", "withdraw", "web", lb="lb1")
    c.require(r.returncode == 0, "steerctl bgp withdraw web on lb1")
    lab.wait_route("v4", {"lb2"}, timeout=5)
    answers = ask_all(conns)
    moved_ok = [x for x in via1 if not x.error and x.backend == first[x.tuple()]]
    errors = [f"{x.tuple()}: {x.error}" for x in conns if x.error]
    c.check(not errors, f"every connection still answers after its packets moved to lb2 "
            f"({errors[:3]})")
    c.check(all(a == first[x.tuple()] for a, x in zip(answers, conns)),
            f"each answered from its first backend: {len(moved_ok)} of {len(via1)} moved "
            "connections")
    with lab.api(lb="lb2") as api:
        same = sum(1 for x in via1
                   if lab.backend_name(api.flow_backend(*x.tuple())) == first[x.tuple()])
    c.check(same == len(via1), f"lb2's flow table placed the moved flows on the same backends "
            f"({same} of {len(via1)})")
    r = lab.steerctl("bgp", "auto", "web", lb="lb1")
    lab.wait_route("v4", {"lb1", "lb2"}, timeout=10)
    answers = ask_all(conns)
    c.check(all(a == first[x.tuple()] for a, x in zip(answers, conns))
            and not any(x.error for x in conns),
            "back to ECMP over both LBs: every connection still on its backend")
    for x in conns:
        x.close()


def case_valve(lab, c):
    """the safety valve holds withdrawals beyond its share, loudly; release lets them go"""
    start_bgp(lab, c, valve_share=0.5)
    kill_servers(lab)
    wait_until("one VIP withdrawn", lambda: (not lab.router_routes("v4"))
               != (not lab.router_routes("v6")) or None, timeout=10)
    time.sleep(1.0)
    v4, v6 = bool(lab.router_routes("v4")), bool(lab.router_routes("v6"))
    c.check(v4 != v6, f"exactly one of the two addresses withdrawn (v4 routed: {v4}, v6: {v6})")
    b = lab.steerd_show("bgp")
    held = [u for u in b["units"] if u["held_by_valve"]]
    c.check(b["valve"]["holding"] and len(held) == 1 and held[0]["state"] == "announced",
            f"show bgp: the valve holds {held[0]['prefix'] if held else None}: "
            f"{held[0]['pending'] if held else ''}")
    c.check(events(lab, r"SAFETY VALVE: NOT withdrawing"), "the event log says SAFETY VALVE")
    m = lab.metrics()
    c.check("steer_bgp_valve_holding 1" in m, "metric steer_bgp_valve_holding 1")
    out = lab.steerctl("show", "bgp").stdout
    c.check("HOLDING A WITHDRAWAL" in out, "steerctl show bgp says HOLDING A WITHDRAWAL")
    r = lab.steerctl("bgp", "valve", "release", as_nobody=True)
    c.check(r.returncode == 1 and "permission denied" in r.stderr,
            f"release as uid 65534: exit {r.returncode}, {r.stderr.strip()}")
    r = lab.steerctl("bgp", "valve", "release")
    c.check(r.returncode == 0, f"steerctl bgp valve release: {r.stdout.strip()}")
    check_within(c, "after the release both addresses are withdrawn",
                 lambda: not lab.router_routes("v4") and not lab.router_routes("v6"), 5)
    start_servers(lab)
    check_within(c, "servers back: both announced", lambda: routed_via(lab, "v4", {"lb1"})()
                 and routed_via(lab, "v6", {"lb1"})(), 15)


def router_path(lab):
    """The AS path and communities the router's BIRD has for the v4 VIP."""
    out = lab.bird("router", "show", "route", "all", "for", P4)
    path = re.findall(r"BGP\.as_path: (.*)", out)
    comm = re.findall(r"BGP\.community: (.*)", out)
    return (path[0].strip() if path else None), (comm[0].strip() if comm else "")


def case_drain_overrides(lab, c):
    """drain (longer AS path, community, then withdrawn), overrides persisted across a steerd
    restart, permissions, and a restart that withdraws nothing"""
    start_bgp(lab, c)
    path, comm = router_path(lab)
    c.check(path == "65001", f"announced: the router sees AS path '{path}'")
    r = lab.steerctl("bgp", "drain", "web")
    c.require(r.returncode == 0, f"steerctl bgp drain web: {r.stdout.strip()}")
    wait_until("drained route at the router", lambda: router_path(lab)[0] == "65001 " * 3 + "65001"
               or None, timeout=5)
    path, comm = router_path(lab)
    c.check("(65001,666)" in comm, f"draining: AS path '{path}', community {comm}")
    c.check(lab.router_routes("v4"), "draining: still routed (traffic drains off gradually)")
    t = lab.wait_route("v4", set(), timeout=10)
    c.check(1.0 <= t <= 4.0, f"withdrawn {t:.1f} s later (drain_ms 2000)")
    r = lab.steerctl("bgp", "undrain", "web")
    lab.wait_route("v4", {"lb1"}, timeout=10)
    path, comm = router_path(lab)
    c.check(path == "65001" and "(65001,666)" not in comm, f"undrain: AS path '{path}' again")

    r = lab.steerctl("bgp", "withdraw", "web6", as_nobody=True)
    c.check(r.returncode == 1 and "permission denied" in r.stderr,
            f"withdraw as uid 65534 refused: {r.stderr.strip()}")
    r = lab.steerctl("bgp", "withdraw", "nosuch")
    c.check(r.returncode == 1 and "no VIP or BGP group 'nosuch'" in r.stderr,
            f"unknown VIP: {r.stderr.strip()}")
    r = lab.steerctl("bgp", "frob", "web")
    c.check(r.returncode == 2, f"unknown action: exit {r.returncode}")
    r = lab.steerctl("bgp", "withdraw", "web6")
    c.require(r.returncode == 0, "steerctl bgp withdraw web6")
    lab.wait_route("v6", set(), timeout=5)
    with RouteWatch(lab) as w:
        t0 = time.time()
        lab.steerd_kill()
        lab.steerd_up(keep_config=True)
        lab.wait_warm()
        time.sleep(1.5)
        c.check(len(w.history("v4")) == 1 and never_had(w, "v6", {"lb1"}, t0),
                "steerd killed and restarted: no route changed at the router (v4 stayed, v6 "
                "stayed withdrawn)")
    u = units(lab)
    ov = u[P6]["override"]
    c.check(ov and ov["admin"] == "withdraw" and ov["uid"] == 0,
            f"the override survived the restart: {ov}")
    doc = json.loads(lab.steerctl("show", "bgp", "web6", "--json").stdout)
    c.check(doc["units"][0]["prefix"] == P6
            and any(h["state"] == "withdrawn" for h in doc["units"][0]["history"]),
            "show bgp web6 --json: that address, with its history")
    r = lab.steerctl("bgp", "auto", "web6")
    lab.wait_route("v6", {"lb1"}, timeout=10)
    c.check(r.returncode == 0, "bgp auto web6: announced again")
    snip = lab.steerctl("bgp", "snippet").stdout
    c.check(f"protocol static {U4} {{" in snip and "bgp_path.prepend(65001);" in snip,
            "steerctl bgp snippet prints the protocols")
    m = lab.metrics()
    c.check(f'steer_bgp_route_state{{prefix="{P4}",state="announced"}} 1' in m
            and "steer_bgp_bird_connected 1" in m, "metrics: route state and BIRD connection")



def router_has(lab, prefix):
    """True when the router's kernel has a route for exactly `prefix`."""
    out = lab.run("router", ["ip", "-6" if ":" in prefix else "-4", "route", "show", prefix])
    return bool(out.stdout.strip())


def case_group(lab, c):
    """a [[bgp.group]] aggregate (192.0.2.0/24) beside the host routes: announced while its VIPs
    are healthy, its own overrides, withdrawn with them"""
    lab.wait_bgp()
    lab.steerd_up(bgp={"group": [{"name": "edge4", "prefix": "192.0.2.0/24"}]})
    lab.wait_route("v4", {"lb1"}, timeout=15)
    lab.wait_route("v6", {"lb1"}, timeout=15)
    c.require(check_within(c, "the router has 192.0.2.0/24 (the group) and 192.0.2.10/32 (the "
                           "address)", lambda: router_has(lab, "192.0.2.0/24"), 10),
              "the group is announced")
    doc = json.loads(lab.steerctl("show", "bgp", "web", "--json").stdout)
    labels = sorted(u["label"] for u in doc["units"])
    c.check(labels == ["192.0.2.10", "group edge4"],
            f"show bgp web: the VIP's address and its group ({labels})")
    g = [u for u in doc["units"] if u["group"] == "edge4"][0]
    c.check(g["vips"] == ["web", "echo", "udp-echo"] and g["prefix"] == "192.0.2.0/24",
            f"the group holds every VIP inside its prefix: {g['vips']}")
    r = lab.steerctl("bgp", "withdraw", "edge4")
    c.check(r.returncode == 0, f"steerctl bgp withdraw edge4: {r.stdout.strip()}")
    wait_until("the /24 withdrawn", lambda: not router_has(lab, "192.0.2.0/24") or None, timeout=5)
    c.check(router_has(lab, "192.0.2.10/32") and lab.router_routes("v6"),
            "only the group left the router: the host routes stay")
    r = lab.steerctl("bgp", "auto", "edge4")
    check_within(c, "bgp auto edge4: the /24 is back", lambda: router_has(lab, "192.0.2.0/24"), 5)
    kill_servers(lab)
    check_within(c, "every backend down: the /24 and the /32 both withdrawn",
                 lambda: not router_has(lab, "192.0.2.0/24") and not lab.router_routes("v4"), 10)
    snip = lab.steerctl("bgp", "snippet").stdout
    c.check("protocol static steer_g_edge4 {" in snip and "route 192.0.2.0/24 blackhole" in snip,
            "the snippet has the group's protocol and route")
    start_servers(lab)
    check_within(c, "servers back: the /24 returns", lambda: router_has(lab, "192.0.2.0/24"), 15)

CASES = {
    "health-withdraw": ("slbg-hw", case_health_withdraw),
    "dataplane-kill": ("slbg-dp", case_dataplane_kill),
    "bird-restart": ("slbg-br", case_bird_restart),
    "bird-configure": ("slbg-bc", case_bird_configure),
    "flap": ("slbg-fl", case_flap),
    "ecmp-move": ("slbg-ec", case_ecmp_move),
    "valve": ("slbg-va", case_valve),
    "drain-overrides": ("slbg-dr", case_drain_overrides),
    "group": ("slbg-gr", case_group),
}


def run_case(name):
    prefix, fn = CASES[name]
    lbs = 2 if name == "ecmp-move" else 1
    return run_in_lab(name, Lab(prefix, bgp=True, lbs=lbs), fn, QuietChecks())


if __name__ == "__main__":
    sys.exit(lablib.case_main("bgp_test.py", CASES, run_case, sys.argv[1:]))
