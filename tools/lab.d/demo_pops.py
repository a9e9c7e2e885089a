#!/usr/bin/python3
"""The two-PoP part of the demo (tools/demo): PoPs a (Europe) and b (America) joined by a
transit, each announcing the anycast VIP and the anycast DNS address through BIRD and answering
DNS for lb.example.test with the nearest healthy PoP's unicast VIP. PoP a's backends die: a
client in a's region moves to b on the anycast VIP within a fraction of a second, while both
PoPs' DNS answers stop naming a; then a comes back.

    STEER_LAB=demo STEER_BUILD=build tools/lab.d/demo_pops.py [--keep]

Builds its own labs (tools/lab up --pops 2: labs <prefix>a, <prefix>b and <prefix>-transit)
and tears them down at the end, also on failure or Ctrl-C (--keep: leave them up)."""
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "testing" / "lab"))
import lablib  # noqa: E402
from demo_text import say, steerctl  # noqa: E402
from lablib import failover_pops as fp  # noqa: E402
from lablib.namespaces import netns  # noqa: E402
from lablib.pops import (ANYCAST_VIP, DNS_ADDRESS, UNICAST_VIP, ZONE, TwoPops,  # noqa: E402
                         client_net, resolver_address)


class Args:
    interval, timeout, rise, fall = 100, 50, 2, 3


def answers(pops):
    for p in ("a", "b"):
        with netns(pops.pops[p].ns("client")):
            got = fp.dns_answer(timeout=1)
        print(f"  a resolver in {p}'s region ({client_net(p)}) asks {DNS_ADDRESS} for web.{ZONE}: "
              f"{' '.join(got or ['(no answer)'])}", flush=True)


def timeline(m, steps):
    """Prints the steps in the order they happened, in ms after t0."""
    for key, text in sorted(steps, key=lambda s: m[s[0]]):
        print(f"  {(m[key] - m['t0']) * 1000:6.1f} ms  {text}")
    sys.stdout.flush()


def main(argv):
    keep = "--keep" in argv
    pops = TwoPops(lablib.default_prefix(), any_prefix=True)
    say("Two PoPs: a (Europe) and b (America), each with a router, an LB host (steer-dataplane, "
        "steerd with DNS, BIRD) and backends; a transit router joins them")
    pops.up()
    try:
        a = pops.pops["a"]
        for p in ("a", "b"):
            print(f"  {p}'s router: the anycast VIP {ANYCAST_VIP} via "
                  f"{' '.join(pops.router_nexthop_devs(p))}, {p}'s unicast VIP "
                  f"{UNICAST_VIP[p]} via {' '.join(pops.router_nexthop_devs(p, UNICAST_VIP[p]))}"
                  f", the other's via "
                  f"{' '.join(pops.router_nexthop_devs(p, UNICAST_VIP['b' if p == 'a' else 'a']))}")
        say("Each PoP answers DNS (on the anycast DNS address) with the nearest healthy PoP")
        answers(pops)
        with netns(a.ns("client")):
            got = fp.dns_answer(timeout=1, server=resolver_address("a"))
        print(f"  the recursive resolver of a's region ({resolver_address('a')}) caches "
              f"{' '.join(got or ['(no answer)'])}", flush=True)
        steerctl(a, "dns", "show")

        say("PoP a's backends die (SIGKILL): a client in a's region keeps opening connections to "
            "the anycast VIP; both PoPs' DNS answers are watched")
        with lablib.RouteWatch(a, dsts=[ANYCAST_VIP]) as routes:
            f = fp.PopsFailover(pops, Args(), routes)
            f.settle()
            m = f.withdraw(random.Random(1))

            timeline(m, [
                ("detection", f"a's steerd: the last backend down ({m['backend']})"),
                ("decision", f"a's steerd: BGP withdraws {ANYCAST_VIP}"),
                ("route", f"a's router: {ANYCAST_VIP} now via the transit (to b)"),
                ("served_by_b", "a client in a's region: a new connection answered, by b"),
                ("dns_a", "a's DNS answers b's address to a's region"),
                ("b_detects", "b's probes: a's unicast VIP down"),
                ("dns_b", "b's DNS answers b's address to a's region (ECS)")])
            answers(pops)
            with netns(a.ns("client")):
                got, ttl = fp.dns_answer(timeout=1, server=resolver_address("a"), with_ttl=True)
            print(f"  but the recursive resolver of a's region ({resolver_address('a')}, Knot "
                  f"Resolver) still answers {' '.join(got)} from its cache, for {ttl} s more: "
                  "users behind it keep going to a's unicast VIP (the tail; the anycast VIP "
                  "moved already)", flush=True)
            steerctl(pops.pops["b"], "dns", "query", f"web.{ZONE}", "--client", "198.18.1.1")

            say("PoP a's backends start again")
            m = f.announce()
            timeline(m, [
                ("detection", "a's steerd: the first backend up"),
                ("route", f"a's router: {ANYCAST_VIP} via a's LB again"),
                ("dns_a", "a's DNS names a again"),
                ("b_detects", "b's probes: a's unicast VIP up"),
                ("dns_b", "b's DNS names a again for a's region")])
            answers(pops)
        print("  (tools/failover --pops 2 --runs 20 measures each stage's p50/p99)")
    finally:
        if keep:
            print(f"labs left up: tools/lab down --pops 2 (STEER_LAB={pops.prefix})")
        else:
            pops.down()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
