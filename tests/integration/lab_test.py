#!/usr/bin/python3
"""Integration tests on the netns lab (testing/lab): real TCP/UDP clients, steer-dataplane on
an AF_XDP (or AF_PACKET) port, backends decapsulating with steer-decap and answering directly.

  lab_test.py CASE      run one case in its own lab (prefix "sl-<short>"), torn down after
  lab_test.py --list    the cases

Each case prints its checks and ends with "PASS <case> (<s>)" or "FAIL <case>: <reasons>";
the exit status is 0 only on PASS. A missing steer-dataplane / steer-decap binary is a
failure (lab.sh up says which), never a skip. Every load loop is bounded in count and
time. Environment: STEER_BUILD (build dir), STEER_LAB_AFPACKET=1 (AF_PACKET port),
STEER_LAB_DECAP_MODE (xdp, xdp-generic, tc).
"""
import json
import math
import random
import socket
import struct
import subprocess
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "testing" / "lab"))
import lablib  # noqa: E402
from lablib import Lab, ask_all, http_many, open_echo_conns, udp_many  # noqa: E402

RNG = random.Random(20240611)


class Failed(Exception):
    pass


class Checks:
    """Soft checks: each prints one line; the case fails at the end if any failed."""

    def __init__(self):
        self.failures = []

    def check(self, ok, what, detail=""):
        print(f"  [{'ok' if ok else 'FAIL'}] {what}{(': ' + detail) if detail else ''}",
              flush=True)
        if not ok:
            self.failures.append(f"{what}{(': ' + detail) if detail else ''}")
        return ok

    def require(self, ok, what, detail=""):
        """A check later steps depend on: stop the case when it fails."""
        if not self.check(ok, what, detail):
            raise Failed(what)


class QuietChecks(Checks):
    """lab_test's Checks, with the detail printed only when the check fails (the details here
    are mostly what went wrong)."""

    def check(self, ok, what, detail=""):
        return super().check(ok, what, "" if ok else detail)


def sources(addresses, count):
    """count source addresses, cycling through the client's addresses."""
    return [addresses[i % len(addresses)] for i in range(count)]


def errors_of(answers, limit=5):
    bad = [a for a in answers if a.error]
    return len(bad), "; ".join(f"{a.src}:{a.sport} {a.error}" for a in bad[:limit])


def stats_vip(stats, label):
    for v in stats["vips"]:
        if v["vip"] == label:
            return v
    raise KeyError(f"no VIP {label} in stats: {[v['vip'] for v in stats['vips']]}")


def stats_backends(stats, label):
    return {b["address"]: b for b in stats["backends"] if b["vip"] == label}


def flow_names(lab, api, answers):
    """The backend name the API `flow` query gives for each answer's 5-tuple."""
    return [lab.backend_name(api.flow_backend(*a.tuple())) for a in answers]


def compare_with_flow_query(c, lab, answers, what):
    with lab.api() as api:
        said = flow_names(lab, api, answers)
    mismatches = [(a, s) for a, s in zip(answers, said) if a.backend != s]
    c.check(not mismatches, f"{what}: the backend that answered = the API flow query, "
            f"for each of {len(answers)} flows",
            f"{len(mismatches)} differ, e.g. " + "; ".join(
                f"{a.src}:{a.sport} answered by {a.backend}, flow says {s}"
                for a, s in mismatches[:5]) if mismatches else "")


# --------------------------------------------------------------------------------------------
# Cases


def case_dsr_load(lab, c):
    """Thousands of TCP connections (HTTP GET) and UDP flows from many client addresses
    through the IPv4 VIP; every reply comes straight from a backend (DSR)."""
    n_tcp, n_udp = 2000, 2000
    vip, vip6 = lab.vip4, lab.vip6
    label_tcp, label_udp = f"{vip}:80/tcp", f"{vip}:7/udp"
    # One filter for "a frame sent from a VIP": on the LB's link it must never match, on the
    # backends' links it matches every reply.
    from_vip = f"src host {vip} or src host {vip6}"
    run = lab.run_dir
    cap_lb = lablib.Capture(lab.ns("router"), "to-lb1", from_vip, run / "cap-lb.pcap")
    cap_be = [lablib.Capture(lab.ns("router"), b["router_iface"], from_vip,
                             run / f"cap-{b['name']}.pcap") for b in lab.backends]
    links = ["to-lb1"] + [b["router_iface"] for b in lab.backends]
    before_links = {l: lab.link_counters("router", l) for l in links}
    with lab.api() as api:
        before = api.stats()

    t0 = time.monotonic()
    http = http_many(lab.ns("client"), [(s, vip) for s in sources(lab.client_v4(), n_tcp)],
                     concurrency=64, timeout=15)
    t_http = time.monotonic() - t0
    t0 = time.monotonic()
    udp = udp_many(lab.ns("client"), [(s, vip) for s in sources(lab.client_v4(), n_udp)],
                   concurrency=64, timeout=1.0, tries=3)
    t_udp = time.monotonic() - t0
    time.sleep(0.3)  # last frames through the captures

    with lab.api() as api:
        after = api.stats()
    after_links = {l: lab.link_counters("router", l) for l in links}
    cap_lb.stop()
    for cap in cap_be:
        cap.stop()

    names = {b["name"] for b in lab.backends}
    bad, detail = errors_of(http)
    c.check(bad == 0, f"{n_tcp} HTTP GETs through {vip}:80 from {len(set(lab.client_v4()))} "
            f"client addresses all answered ({t_http:.1f} s)", 
            f"{bad} failed: {detail}" if bad else "")
    # (A port may be reused once its connection has closed: tuples need not all differ.)
    c.check(len({a.src for a in http}) == len(set(lab.client_v4())),
            "connections came from every client address",
            f"{len({(a.src, a.sport) for a in http})} distinct (address, port) pairs")
    per = Counter(a.backend for a in http if not a.error)
    c.check(set(per) == names, "every backend answered HTTP", str(dict(per)))
    bad, detail = errors_of(udp)
    retried = sum(1 for a in udp if a.text != "attempt 1")
    c.check(bad == 0, f"{n_udp} UDP flows through {vip}:7 (GUE) all echoed from the VIP "
            f"({t_udp:.1f} s, {retried} needed a retry)", 
            f"{bad} failed: {detail}" if bad else "")
    per_udp = Counter(a.backend for a in udp if not a.error)
    c.check(set(per_udp) == names, "every backend answered UDP", str(dict(per_udp)))

    # DSR, seen on the wire: nothing from the VIP crosses the LB's link; the backends' links
    # carry every reply.
    lb_from_vip = cap_lb.count()
    be_from_vip = {b["name"]: cap.count() for b, cap in zip(lab.backends, cap_be)}
    c.check(cap_lb.dropped() == 0, "capture on the LB link dropped nothing",
            " / ".join(cap_lb.stats.strip().splitlines()))
    c.check(lb_from_vip == 0, "no frame from the VIP on the LB's link (router side, to-lb1)",
            f"{lb_from_vip} frames")
    c.check(all(v > 0 for v in be_from_vip.values()),
            "frames from the VIP on every backend's link", str(be_from_vip))
    c.check(sum(be_from_vip.values()) >= 3 * n_tcp + n_udp,
            f"backend links carried at least 3 frames per TCP connection + 1 per UDP flow "
            f"from the VIP ({3 * n_tcp + n_udp})", str(sum(be_from_vip.values())))

    # DSR, seen by the counters: steer sees only the client→backend direction.
    d_router_to_lb = after_links["to-lb1"][1] - before_links["to-lb1"][1]
    d_lb_to_router = after_links["to-lb1"][0] - before_links["to-lb1"][0]
    d_backends_out = sum(after_links[l][0] - before_links[l][0] for l in links[1:])
    d = {k: after["totals"][k] - before["totals"][k] for k in after["totals"]}
    d_vip = (stats_vip(after, label_tcp)["packets"] - stats_vip(before, label_tcp)["packets"] +
             stats_vip(after, label_udp)["packets"] - stats_vip(before, label_udp)["packets"])
    d_be = sum(b["packets"] for l in (label_tcp, label_udp)
               for b in stats_backends(after, l).values()) - sum(
        b["packets"] for l in (label_tcp, label_udp) for b in stats_backends(before, l).values())
    print(f"  counters: router→LB {d_router_to_lb}, LB→router {d_lb_to_router}, "
          f"backends→router {d_backends_out}; steer rx {d['rx']} forwarded {d['forwarded']} "
          f"VIP packets {d_vip} backend packets {d_be} passed {d['passed']} "
          f"dropped {d['dropped']}", flush=True)
    c.check(d["dropped"] == 0, "steer dropped nothing", json.dumps(after["drops"]))
    c.check(d_vip == d["forwarded"] == d_be and d["rx"] >= d_vip > 0,
            "steer: VIP packets = forwarded = backend packets (every VIP packet went to a "
            "backend)", f"VIP {d_vip}, forwarded {d['forwarded']}, backends {d_be}")
    # VIP packets can only come from the router. (An AF_PACKET socket also sees the frames the
    # LB's own kernel sends — ARP, ND — so steer's rx may exceed what the router sent there.)
    c.check(d_vip <= d_router_to_lb, "steer's VIP packets are no more than the router sent to "
            "the LB (it never sees the backends' replies)",
            f"VIP packets {d_vip}, router sent {d_router_to_lb}")
    if lab.info.get("port_mode") == "af_xdp":
        c.check(d["rx"] <= d_router_to_lb, "on AF_XDP steer receives only what the router sent",
                f"steer rx {d['rx']}, router sent {d_router_to_lb}")
    c.check(d_router_to_lb - d["rx"] <= 50, "steer received what the router sent to the LB "
            "(at most 50 frames of ARP/ND passed to the kernel)",
            f"router sent {d_router_to_lb}, steer rx {d['rx']}")
    c.check(abs(d_lb_to_router - d["forwarded"]) <= 50,
            "the LB sent the router one frame per forwarded packet (± 50 kernel frames)",
            f"LB→router {d_lb_to_router}, forwarded {d['forwarded']}")
    c.check(d_backends_out >= 3 * n_tcp + n_udp and d_backends_out > d["forwarded"] // 2,
            "the backends' replies (backend→router) bypassed the LB",
            f"backends sent {d_backends_out}")


def plan_slots(lab, pool, family="v4"):
    """Slots per backend address in the Maglev table steerctl plan builds for `pool`
    (independently of the dataplane)."""
    steerctl = Path(lab.build) / "tools" / "steerctl" / "steerctl"
    args = [str(steerctl), "plan", "--json"]
    for name, w, _ in pool:
        args += ["--backend", f"{lab.backend(name)[family]}={w}"]
    out = json.loads(subprocess.run(args, check=True, stdout=subprocess.PIPE, text=True,
                                    timeout=60).stdout)
    return {b["address"]: b["slots_before"] for b in out["backends"]}


def case_maglev_shares(lab, c):
    """Per-backend shares match the Maglev table: for each connection the backend that
    answered is the one the API flow query names (exact); shares are within tolerance of
    the weights; the dataplane's table equals the one steerctl plan builds."""
    pool = [("b1", 1, "up"), ("b2", 2, "up"), ("b3", 3, "up"), ("b4", 2, "up")]
    total_w = sum(w for _, w, _ in pool)
    lab.apply(lab.state_doc(pool))
    vip = lab.vip4
    with lab.api() as api:
        stats = api.stats()
    for label in (f"{vip}:80/tcp", f"{vip}:7/udp"):
        table = {a: b["slots"] for a, b in stats_backends(stats, label).items()}
        c.check(table == plan_slots(lab, pool), f"{label}: the dataplane's Maglev slots = "
                f"steerctl plan's for the same pool", f"{table} vs {plan_slots(lab, pool)}")

    n = 2400
    http = http_many(lab.ns("client"), [(s, vip) for s in sources(lab.client_v4(), n)],
                     concurrency=64, timeout=15)
    bad, detail = errors_of(http)
    c.require(bad == 0, f"{n} HTTP GETs answered", 
            f"{bad} failed: {detail}" if bad else "")
    compare_with_flow_query(c, lab, http, "TCP :80")
    per = Counter(a.backend for a in http)
    for name, w, _ in pool:
        p = w / total_w
        tol = 4.5 * math.sqrt(p * (1 - p) / n) + 0.01
        got = per[name] / n
        c.check(abs(got - p) <= tol, f"{name} (weight {w}) got {got:.3f} of connections, "
                f"weight share {p:.3f} ± {tol:.3f}")

    udp = udp_many(lab.ns("client"), [(s, vip) for s in sources(lab.client_v4(), 1000)],
                   concurrency=64)
    bad, detail = errors_of(udp)
    c.require(bad == 0, "1000 UDP flows answered", 
            f"{bad} failed: {detail}" if bad else "")
    compare_with_flow_query(c, lab, udp, "UDP :7 (GUE)")


def echo_sources(lab, n, offset=0):
    addrs = lab.client_v4()
    return [addrs[(offset + i) % len(addrs)] for i in range(n)]


def check_same(c, conns, expected, what):
    """Every connection answers a new line from the backend it had."""
    got = ask_all(conns)
    moved = [(x, e, g) for x, e, g in zip(conns, expected, got) if g != e]
    c.check(not moved, f"{what}: all {len(conns)} long-lived connections answered by the same "
            "backend, no reset",
            f"{len(moved)} not, e.g. " + "; ".join(
                f"{x.src}:{x.sport} was {e}, now {g} ({x.error})" for x, e, g in moved[:5])
            if moved else "")


def maglev_says(lab, conns):
    """(established backend, Maglev backend) names per connection, from the flow query."""
    out = []
    with lab.api() as api:
        for x in conns:
            f = api.flow(*x.tuple())
            out.append((lab.backend_name(f.get("backend")),
                        lab.backend_name((f.get("maglev") or {}).get("backend"))))
    return out


def case_long_lived(lab, c):
    """Long-lived TCP connections open across a backend add, a weight change and a drain
    stay on their backend with no reset; new connections follow the new table."""
    vip = lab.vip4
    pool = [("b1", 1, "up"), ("b2", 1, "up"), ("b3", 1, "up")]
    lab.apply(lab.state_doc(pool))
    ns = lab.ns("client")
    conns = open_echo_conns(ns, [(s, vip) for s in echo_sources(lab, 240)])
    c.require(all(x.backend for x in conns), "240 long-lived connections to :7 opened",
              "; ".join([f"{x.src}: {x.error}" for x in conns if not x.backend][:5]))
    c.check({x.backend for x in conns} == {"b1", "b2", "b3"}, "they spread over b1, b2, b3",
            str(Counter(x.backend for x in conns)))
    expected = [x.backend for x in conns]

    steps = [
        ("add b4", [("b1", 1, "up"), ("b2", 1, "up"), ("b3", 1, "up"), ("b4", 1, "up")]),
        ("b1 weight 1 → 3", [("b1", 3, "up"), ("b2", 1, "up"), ("b3", 1, "up"), ("b4", 1, "up")]),
        ("drain b2", [("b1", 3, "up"), ("b2", 1, "drain"), ("b3", 1, "up"), ("b4", 1, "up")]),
    ]
    offset = 240
    for what, pool in steps:
        lab.apply(lab.state_doc(pool))
        check_same(c, conns, expected, what)
        says = maglev_says(lab, conns)
        kept = sum(1 for (est, mag), e in zip(says, expected) if mag != e and est == e)
        c.check(all(est == e for (est, _), e in zip(says, expected)),
                f"{what}: the flow query reports every connection established on its backend")
        print(f"  {what}: {kept} of {len(conns)} connections now hash to another backend in "
              "the new Maglev table and stay through the flow table", flush=True)
        if what == "add b4":
            c.check(kept > 0, f"{what}: some established flows hash elsewhere now (so the "
                    "flow table is what keeps them)")
        new = open_echo_conns(ns, [(s, vip) for s in echo_sources(lab, 120, offset)])
        offset += 120
        c.check(all(x.backend for x in new), f"{what}: 120 new connections opened",
                "; ".join([f"{x.src}: {x.error}" for x in new if not x.backend][:3]))
        per = Counter(x.backend for x in new)
        active = {n for n, w, s in pool if s == "up"}
        c.check(set(per) <= active, f"{what}: new connections only on {sorted(active)}",
                str(dict(per)))
        if what == "add b4":
            c.check(per["b4"] > 0, f"{what}: new connections reach b4", str(dict(per)))
        with lab.api() as api:
            said = flow_names(lab, api, [lablib.Answer(*x.tuple()) for x in new])
        c.check(said == [x.backend for x in new],
                f"{what}: each new connection's backend = the flow query")
        conns += [x for x in new if x.backend]
        expected += [x.backend for x in new if x.backend]
    check_same(c, conns, expected, "after all changes")
    drained = sum(1 for e in expected if e == "b2")
    c.check(drained > 0, f"the drained b2 still serves its {drained} connections")
    for x in conns:
        x.close()


def case_remove_backend(lab, c):
    """Removing a backend moves only its flows: connections on the others keep working,
    new connections never reach the removed one."""
    vip = lab.vip4
    ns = lab.ns("client")
    conns = open_echo_conns(ns, [(s, vip) for s in echo_sources(lab, 300)])
    c.require(all(x.backend for x in conns), "300 long-lived connections opened",
              "; ".join([f"{x.src}: {x.error}" for x in conns if not x.backend][:5]))
    per = Counter(x.backend for x in conns)
    c.require(per["b3"] > 0, "b3 has connections before its removal", str(dict(per)))

    pool = [("b1", 1, "up"), ("b2", 1, "up"), ("b3", 1, "down"), ("b4", 1, "up")]
    lab.apply(lab.state_doc(pool))
    others = [x for x in conns if x.backend != "b3"]
    on_b3 = [x for x in conns if x.backend == "b3"]
    check_same(c, others, [x.backend for x in others], "remove b3, connections on b1/b2/b4")
    got_b3 = ask_all(on_b3, concurrency=64)
    c.check("b3" not in got_b3, f"none of b3's {len(on_b3)} connections is answered by b3 now",
            str(Counter(got_b3)))
    print(f"  b3's connections after removal: {sum(1 for x in on_b3 if x.error)} of "
          f"{len(on_b3)} reset or closed (their packets now reach a backend without the socket)",
          flush=True)
    says = maglev_says(lab, others)
    c.check(all(est == x.backend for (est, _), x in zip(says, others)),
            "the flow query keeps every surviving connection on its backend")

    new = open_echo_conns(ns, [(s, vip) for s in echo_sources(lab, 300, 300)])
    c.check(all(x.backend for x in new), "300 new connections opened",
            "; ".join([f"{x.src}: {x.error}" for x in new if not x.backend][:3]))
    per_new = Counter(x.backend for x in new)
    c.check("b3" not in per_new and set(per_new) == {"b1", "b2", "b4"},
            "new connections spread over b1, b2, b4 and never reach b3", str(dict(per_new)))
    http = http_many(ns, [(s, vip) for s in sources(lab.client_v4(), 400)], timeout=15)
    bad, detail = errors_of(http)
    per_http = Counter(a.backend for a in http)
    c.check(bad == 0 and "b3" not in per_http, "400 new HTTP connections, none to b3",
            f"{dict(per_http)} {detail}".strip())
    check_same(c, others, [x.backend for x in others], "the survivors once more")
    for x in conns + new:
        x.close()


def case_ipv6(lab, c):
    """TCP connections through the IPv6 VIP (IP6IP6 to the backends' IPv6 addresses)."""
    vip = lab.vip6
    ns = lab.ns("client")
    cap_lb = lablib.Capture(lab.ns("router"), "to-lb1", f"src host {vip}",
                            lab.run_dir / "cap-lb6.pcap")
    n = 600
    http = http_many(ns, [(s, vip) for s in sources(lab.client_v6(), n)], timeout=15)
    bad, detail = errors_of(http)
    c.check(bad == 0, f"{n} HTTP GETs through [{vip}]:80 from {len(lab.client_v6())} IPv6 "
            "client addresses all answered", 
            f"{bad} failed: {detail}" if bad else "")
    per = Counter(a.backend for a in http if not a.error)
    c.check(set(per) == {b["name"] for b in lab.backends}, "every backend answered", str(dict(per)))
    compare_with_flow_query(c, lab, [a for a in http if not a.error], "IPv6 TCP :80")
    conns = open_echo_conns(ns, [(s, vip) for s in sources(lab.client_v6(), 100)])
    c.check(all(x.backend for x in conns), "100 long-lived IPv6 connections to :7 opened",
            "; ".join([f"{x.src}: {x.error}" for x in conns if not x.backend][:3]))
    check_same(c, [x for x in conns if x.backend], [x.backend for x in conns if x.backend],
               "IPv6 echo")
    cap_lb.stop()
    c.check(cap_lb.count() == 0, "no frame from the IPv6 VIP on the LB's link (DSR)",
            f"{cap_lb.count()} frames")
    for x in conns:
        x.close()


def scapy():
    import importlib
    import logging
    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    return importlib.import_module("scapy.all")


def case_ptb(lab, c):
    """A DF packet that fits the client link but not the LB's egress MTU once encapsulated
    gets an ICMP frag-needed (IPv4) / packet too big (IPv6) from the VIP; one that fits does
    not."""
    S = scapy()
    cl = lab.info["client"]
    mtu = lab.info["egress_mtu"]
    link = lablib.RawLink(lab.ns("client"), cl["iface"])
    eth = S.Ether(src=cl["mac"], dst=cl["router_mac"])
    try:
        for family in ("v4", "v6"):
            vip = lab.vip4 if family == "v4" else lab.vip6
            src = lab.client_v4()[6] if family == "v4" else lab.client_v6()[6]
            overhead = 20 if family == "v4" else 40  # IPIP / IP6IP6 to same-family backends
            limit = mtu - overhead
            for size, want_ptb in ((mtu, True), (limit, False)):
                sport = RNG.randrange(20000, 30000)
                if family == "v4":
                    ip = S.IP(src=src, dst=vip, flags="DF", ttl=64)
                    hdr = 40
                else:
                    ip = S.IPv6(src=src, dst=vip, hlim=64)
                    hdr = 60
                pkt = eth / ip / S.TCP(sport=sport, dport=80, flags="A", seq=1000, ack=1) / (
                    b"x" * (size - hdr))
                with lab.api() as api:
                    before = api.stats()["totals"]
                link.send(pkt)

                def is_ptb(frame, vip=vip, src=src, sport=sport, family=family):
                    p = S.Ether(frame)
                    if family == "v4":
                        return (S.IP in p and p[S.IP].src == vip and p[S.IP].dst == src and
                                S.ICMP in p and p[S.ICMP].type == 3 and p[S.ICMP].code == 4 and
                                S.TCPerror in p and p[S.TCPerror].sport == sport)
                    return (S.IPv6 in p and p[S.IPv6].src == vip and p[S.IPv6].dst == src and
                            S.ICMPv6PacketTooBig in p and S.TCPerror in p and
                            p[S.TCPerror].sport == sport)

                frame = link.receive(is_ptb, timeout=2.0 if want_ptb else 1.0)
                time.sleep(0.05)
                with lab.api() as api:
                    after = api.stats()["totals"]
                d_ptb = after["too_big_replies"] - before["too_big_replies"]
                d_fwd = after["forwarded"] - before["forwarded"]
                name = f"{family}: {size}-byte DF packet to {vip}:80"
                if want_ptb:
                    c.check(frame is not None, f"{name} → "
                            f"{'frag-needed' if family == 'v4' else 'packet too big'} from the VIP")
                    if frame is not None:
                        p = S.Ether(frame)
                        got = (p[S.ICMP].nexthopmtu if family == "v4" else
                               p[S.ICMPv6PacketTooBig].mtu)
                        c.check(got == limit, f"{name}: the ICMP says MTU {limit}", f"got {got}")
                    c.check(d_ptb == 1 and d_fwd == 0, f"{name}: steer counted one too-big "
                            "reply and forwarded nothing", f"too_big {d_ptb}, forwarded {d_fwd}")
                else:
                    c.check(frame is None, f"{name} (fits after encapsulation) → no ICMP")
                    c.check(d_ptb == 0 and d_fwd == 1, f"{name}: forwarded to a backend",
                            f"too_big {d_ptb}, forwarded {d_fwd}")
    finally:
        link.close()


class IcmpListener:
    """Raw ICMP / ICMPv6 sockets in each backend's namespace: what the backend's stack
    receives after decapsulation."""

    def __init__(self, lab, family):
        self.family = family
        self.socks = {}
        for b in lab.backends:
            with lablib.netns(b["ns"]):
                if family == "v4":
                    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
                else:
                    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
            s.setblocking(False)
            self.socks[b["name"]] = s

    def collect(self, mark, seconds):
        """{(backend, mark(message)): count} of the ICMP messages received within `seconds`
        for which mark() is not None."""
        import select
        got = Counter()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready, _, _ = select.select(list(self.socks.values()), [], [], 0.05)
            for s in ready:
                name = next(n for n, x in self.socks.items() if x is s)
                while True:
                    try:
                        data = s.recv(65536)
                    except BlockingIOError:
                        break
                    m = mark(data)
                    if m is not None:
                        got[(name, m)] += 1
        return got

    def close(self):
        for s in self.socks.values():
            s.close()


def icmp_mark(data, family):
    """(MTU, quoted destination port) of a frag-needed (raw IPv4 socket: IP header first) or
    packet-too-big (raw ICMPv6 socket: the message alone) quoting a TCP segment; else None."""
    try:
        if family == "v4":
            icmp = data[(data[0] & 0xF) * 4:]
            if icmp[0] != 3 or icmp[1] != 4:
                return None
            mtu = struct.unpack("!H", icmp[6:8])[0]
            inner = icmp[8:]
            ihl = (inner[0] & 0xF) * 4
            if inner[9] != socket.IPPROTO_TCP:
                return None
            return mtu, struct.unpack("!H", inner[ihl + 2:ihl + 4])[0]
        if data[0] != 2:
            return None
        mtu = struct.unpack("!I", data[4:8])[0]
        if data[8 + 6] != socket.IPPROTO_TCP:
            return None
        return mtu, struct.unpack("!H", data[8 + 42:8 + 44])[0]
    except (IndexError, struct.error):
        return None


def case_icmp_to_owner(lab, c):
    """An ICMP frag-needed (IPv4) / packet too big (IPv6) the client sends about an
    established flow reaches the backend that owns the flow (seen by that backend's stack
    after decapsulation), and only that one; the connection keeps working."""
    S = scapy()
    cl = lab.info["client"]
    link = lablib.RawLink(lab.ns("client"), cl["iface"])
    eth = S.Ether(src=cl["mac"], dst=cl["router_mac"])
    ns = lab.ns("client")
    try:
        for family in ("v4", "v6"):
            vip = lab.vip4 if family == "v4" else lab.vip6
            addrs = lab.client_v4() if family == "v4" else lab.client_v6()
            conns = open_echo_conns(ns, [(addrs[10 + i], vip) for i in range(12)])
            c.require(all(x.backend for x in conns), f"{family}: 12 connections to {vip}:7",
                      "; ".join(str(x.error) for x in conns if not x.backend))
            owners = Counter(x.backend for x in conns)
            print(f"  {family}: connections per backend {dict(owners)}", flush=True)
            listener = IcmpListener(lab, family)
            with lab.api() as api:
                before = api.stats()["totals"]["icmp_errors_forwarded"]
            # One ICMP per connection, told apart by the quoted client port and the MTU.
            marks = {}
            try:
                for i, x in enumerate(conns):
                    mtu = 1300 + i
                    marks[(mtu, x.sport)] = x
                    if family == "v4":
                        quoted = bytes(S.IP(src=vip, dst=x.src, flags="DF", len=1400, ttl=63) /
                                       S.TCP(sport=7, dport=x.sport, flags="PA", seq=1))[:28]
                        pkt = (eth / S.IP(src=x.src, dst=vip, ttl=64) /
                               S.ICMP(type=3, code=4, nexthopmtu=mtu) / S.Raw(quoted))
                    else:
                        quoted = bytes(S.IPv6(src=vip, dst=x.src, plen=1400, hlim=63) /
                                       S.TCP(sport=7, dport=x.sport, flags="PA", seq=1))[:48]
                        pkt = (eth / S.IPv6(src=x.src, dst=vip, hlim=64) /
                               S.ICMPv6PacketTooBig(mtu=mtu) / S.Raw(quoted))
                    link.send(pkt)
                got = listener.collect(lambda data, family=family: icmp_mark(data, family), 1.5)
            finally:
                listener.close()
            for (mtu, sport), x in marks.items():
                where = Counter({b: n for (b, mark), n in got.items() if mark == (mtu, sport)})
                c.check(where == Counter({x.backend: 1}),
                        f"{family}: ICMP about {x.src}:{x.sport} ↔ {vip}:7 reached only its "
                        f"owner {x.backend}", f"received by {dict(where)}")
            strays = {k: n for k, n in got.items() if k[1] not in marks}
            c.check(not strays, f"{family}: no other ICMP reached the backends", str(strays))
            with lab.api() as api:
                after = api.stats()["totals"]["icmp_errors_forwarded"]
            c.check(after - before == len(conns), f"{family}: steer forwarded {len(conns)} ICMP "
                    "errors to backends", f"counted {after - before}")
            check_same(c, conns, [x.backend for x in conns],
                       f"{family}: connections after the ICMP")
            for x in conns:
                x.close()
    finally:
        link.close()


def case_api_socket(lab, c):
    """The API socket on a live dataplane: framing of every kind of reply, pipelined
    requests, errors that change nothing (fail-static), order-independent tables."""
    with lab.api() as api:
        c.check(api.greeting.startswith("steer-dataplane "), "greeting", api.greeting)
        gen0 = api.state()["generation"]
        h = api.request("help")
        c.check(len(h.lines) > 2 and all(not last for _, last, _ in h.lines[:-1]) and
                h.code == 0 and any(t.startswith("apply") for _, _, t in h.lines),
                "help: continuation lines then one final line", f"{len(h.lines)} lines")
        # Three requests in one write: three complete replies, in order.
        api.sock.sendall(b"status\nstate\nflow tcp 198.18.0.1 40000 192.0.2.10 80\n")
        replies = [api._read_reply() for _ in range(3)]
        docs = [r.json() for r in replies]
        c.check(all(r.code == 0 and r.message == "ok" for r in replies) and "workers" in docs[0]
                and "vips" in docs[1] and "backend" in docs[2],
                "pipelined status/state/flow: three replies in order")
        for line, code in (("bogus", 9000), ("flow tcp 198.18.0.1", 9001),
                           ("flow sctp 198.18.0.1 1 192.0.2.10 80", 9001),
                           ("apply {", 8001), ('apply {"vips": [], "typo": 1}', 8001)):
            try:
                api.request(line)
                c.check(False, f"{line!r} is refused", "it was accepted")
            except lablib.ApiError as e:
                c.check(e.code // 1000 == code // 1000, f"{line!r} → {e.code} {e.message}")
        bad = lab.state_doc()
        bad["vips"][0]["backends"][0]["weight"] = -1
        try:
            api.apply(bad)
            c.check(False, "a state with weight -1 is refused", "it was accepted")
        except lablib.ApiError as e:
            c.check(e.code == 8001, "a state with weight -1 is refused with 8001", e.message)
        c.check(api.state()["generation"] == gen0, "refused requests changed nothing",
                f"generation {api.state()['generation']} (was {gen0})")
    http = http_many(lab.ns("client"), [(s, lab.vip4) for s in lab.client_v4()[:50]])
    c.check(not errors_of(http)[0], "traffic still flows after the refused requests")

    # A second client while the first is connected; the same pool in another order builds
    # the same table.
    with lab.api() as a1, lab.api() as a2:
        slots = {x["address"]: x["slots"] for x in a1.stats()["backends"]}
        pool = [(b["name"], 1, "up") for b in reversed(lab.backends)]
        lab.apply(lab.state_doc(pool))
        again = {x["address"]: x["slots"] for x in a2.stats()["backends"]}
        c.check(slots == again, "backends in reverse order: the same Maglev slots")


CASES = {
    "api-socket": ("sl-api", case_api_socket),
    "dsr-load": ("sl-dsr", case_dsr_load),
    "maglev-shares": ("sl-shr", case_maglev_shares),
    "long-lived": ("sl-long", case_long_lived),
    "remove-backend": ("sl-rm", case_remove_backend),
    "ipv6": ("sl-v6", case_ipv6),
    "ptb": ("sl-ptb", case_ptb),
    "icmp-to-owner": ("sl-icmp", case_icmp_to_owner),
}


def run_in_lab(name, lab, fn, c, log_lines=20):
    """Runs case `fn(lab, c)` in `lab` (up on enter, down on exit, always) and prints one
    PASS/FAIL line. On failure the lab's logs are printed before it is torn down."""
    print(f"== {name}: {fn.__doc__.split(chr(10))[0]}", flush=True)
    t0 = time.monotonic()
    try:
        with lab:
            print(f"  lab {lab.prefix} up in {lab.up_seconds:.1f} s "
                  f"(port {lab.info['port_mode']}, decap {lab.info['decap_mode']})", flush=True)
            try:
                fn(lab, c)
            except Exception as e:  # a failed require(), a timeout, a broken reply, ...
                if not isinstance(e, Failed):
                    traceback.print_exc()
                    c.failures.append(f"{type(e).__name__}: {str(e).strip()[:500]}")
            if c.failures:
                lab.print_logs(log_lines)
    except lablib.LabError as e:  # lab.sh up failed: its output says why
        c.failures.append(str(e).strip())
    except Exception as e:  # the lab did not come up, or did not go down cleanly
        traceback.print_exc()
        c.failures.append(f"{type(e).__name__}: {str(e).strip()}")
    dt = time.monotonic() - t0
    if c.failures:
        print(f"FAIL {name} ({dt:.1f} s): " + " | ".join(c.failures), flush=True)
        return 1
    print(f"PASS {name} ({dt:.1f} s)", flush=True)
    return 0


def run_case(name):
    prefix, fn = CASES[name]
    # Variants (meson runs some cases again on an AF_PACKET port or with tc decap) get their
    # own prefix, so a leftover of one never meets another.
    lab = Lab(prefix)
    if lab.afpacket:
        lab = Lab(prefix + "-ap")
    if lab.decap_mode != "xdp":
        lab = Lab(lab.prefix + "-" + lab.decap_mode.replace("xdp-generic", "gx"))
    return run_in_lab(name, lab, fn, Checks(), log_lines=10)


if __name__ == "__main__":
    sys.exit(lablib.case_main("lab_test.py", CASES, run_case, sys.argv[1:]))
