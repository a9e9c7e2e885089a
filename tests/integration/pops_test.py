#!/usr/bin/python3
"""Two PoPs end to end (lablib.pops: two labs joined by a transit, steerd with DNS on each):
anycast and unicast VIPs, the anycast DNS address answered by the nearest PoP, geo answers by
region, and PoP a failing and coming back, with the anycast client moving to b and both PoPs'
DNS answers following their own health signal.

  pops_test.py CASE      run one case (prefix "slpo": labs slpoa, slpob, namespace slpo-transit)
  pops_test.py --list    the cases

  failover   the checks above, then two withdraw/announce cycles of tools/failover --pops 2
             (lablib.failover_pops): every milestone present and in causal order (no timing
             targets here: tools/failover reports the figures)

Ends with "PASS <case>" or "FAIL <case>: <reasons>"; everything is torn down, even on
failure. Root (network namespaces). Environment: STEER_BUILD."""
import random
import socket
import sys
from pathlib import Path

import dns.edns
import dns.message
import dns.rdatatype

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "testing" / "lab"))
import lablib  # noqa: E402
from lab_test import QuietChecks, run_in_lab  # noqa: E402
from lablib import failover_pops as fp  # noqa: E402
from lablib.namespaces import netns  # noqa: E402
from lablib.pops import (ANYCAST_VIP, DNS_ADDRESS, UNICAST_VIP, ZONE, TwoPops,  # noqa: E402
                         TTL, client_net, resolver_address)


def ask(ns, ecs=None, nsid=False):
    """(addresses, NSID text) of web's A answer from the anycast DNS address, asked in `ns`."""
    q = dns.message.make_query(f"web.{ZONE}", dns.rdatatype.A, use_edns=0)
    options = []
    if ecs:
        net, length = ecs.split("/")
        options.append(dns.edns.ECSOption(net, int(length)))
    if nsid:
        options.append(dns.edns.GenericOption(dns.edns.NSID, b""))
    q.use_edns(0, options=options)
    with netns(ns):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.settimeout(2)
            s.sendto(q.to_wire(), (DNS_ADDRESS, 53))
            r = dns.message.from_wire(s.recv(4096))
        finally:
            s.close()
    addrs = sorted(rd.address for rr in r.answer for rd in rr if rr.rdtype == dns.rdatatype.A)
    name = ""
    for o in r.options:
        if o.otype == dns.edns.NSID:
            name = (o.data if hasattr(o, "data") else o.to_wire()).decode(errors="replace")
    return addrs, name


def http(ns, address):
    with netns(ns):
        s = socket.create_connection((address, 80), timeout=2)
        try:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            return s.recv(256).decode(errors="replace")
        finally:
            s.close()


def via_resolver(pops, p):
    """(addresses, TTL) of web through the recursive resolver of p's region."""
    with netns(pops.pops[p].ns("client")):
        return fp.dns_answer(timeout=2, server=resolver_address(p), with_ttl=True)


def case_failover(pops, c):
    """two PoPs: anycast, unicast, geo DNS by region, and a PoP failing and coming back"""
    a = pops.pops["a"]
    cl = {p: pops.pops[p].ns("client") for p in ("a", "b")}
    for p in ("a", "b"):
        c.check(pops.router_nexthop_devs(p) == ["to-lb1"],
                f"{p}'s router routes the anycast VIP to its own LB",
                str(pops.router_nexthop_devs(p)))
        c.check(pops.router_nexthop_devs(p, UNICAST_VIP[fp_other(p)]) == ["to-transit"],
                f"{p}'s router routes the other PoP's unicast VIP to the transit")
        got, nsid = ask(cl[p], nsid=True)
        c.check(got == [UNICAST_VIP[p]] and nsid.startswith(pops.pops[p].prefix + "."),
                f"a client in {p}'s region asks the anycast DNS address: {p}'s responder (NSID) "
                f"answers {p}'s unicast VIP", f"{got} NSID {nsid!r}")
        got, _ = ask(cl[p], ecs=client_net(fp_other(p)))
        c.check(got == [UNICAST_VIP[fp_other(p)]],
                f"{p}'s responder, ECS from the other region: the other PoP's VIP", str(got))
        for vip in (ANYCAST_VIP, UNICAST_VIP["a"], UNICAST_VIP["b"]):
            text = http(cl[p], vip)
            c.check(text.startswith("HTTP/1.0 200") and f"local={vip}:80" in text,
                    f"a client in {p}'s region: GET {vip} answered (DSR back across the "
                    "transit for the other PoP's)", text[:120])

    for p in ("a", "b"):
        got = lablib.wait_until(f"the resolver of {p}'s region answers",
                                lambda p=p: via_resolver(pops, p), 10, 0.1)
        c.check(got[0] == [UNICAST_VIP[p]], f"the recursive resolver (kresd) of {p}'s region "
                f"answers {p}'s unicast VIP", str(got))

    class Args:
        interval, timeout, rise, fall = 100, 50, 2, 3
    rng = random.Random(1)
    with lablib.RouteWatch(a, dsts=[ANYCAST_VIP]) as routes:
        f = fp.PopsFailover(pops, Args(), routes)
        for i in (1, 2):
            f.settle()
            m = f.withdraw(rng)
            order = [("t0", "detection"), ("detection", "decision"), ("decision", "route"),
                     ("detection", "served_by_b"), ("dns_detect", "dns_a"), ("t0", "b_detects"),
                     ("b_detects", "dns_b")]
            bad = [f"{x} {m[x] - m['t0']:.3f} > {y} {m[y] - m['t0']:.3f}" for x, y in order
                   if m[x] > m[y]]
            c.check(not bad, f"withdraw {i}: a detects, withdraws, its router turns to the "
                    "transit, a new connection from a's region is served by b, both PoPs' DNS "
                    "answers drop a after their own detection", "; ".join(bad))
            got, _ = ask(cl["a"])
            c.check(got == [UNICAST_VIP["b"]], f"withdraw {i}: a's region is answered b",
                    str(got))
            if i == 1:
                got = via_resolver(pops, "a")
                c.check(got[0] == [UNICAST_VIP["a"]] and 0 <= got[1] <= TTL,
                        "withdraw 1: the resolver of a's region still answers a from its cache "
                        "(the tail: until its TTL runs out)", str(got))
            text = http(cl["a"], ANYCAST_VIP)
            c.check(text.startswith("HTTP/1.0 200"), f"withdraw {i}: the anycast VIP answers "
                    "a's region (from b)", text[:80])
            m = f.announce()
            order = [("t0", "detection"), ("detection", "decision"), ("decision", "route"),
                     ("dns_detect", "dns_a"), ("t0", "b_detects"), ("b_detects", "dns_b")]
            bad = [f"{x} > {y}" for x, y in order if m[x] > m[y]]
            c.check(not bad, f"announce {i}: a back in BGP and in both PoPs' DNS answers",
                    "; ".join(bad))


def fp_other(p):
    return "b" if p == "a" else "a"


CASES = {"failover": case_failover}


def run_case(name):
    return run_in_lab(name, TwoPops("slpo"), CASES[name], QuietChecks())


if __name__ == "__main__":
    sys.exit(lablib.case_main("pops_test.py", CASES, run_case, sys.argv[1:]))
