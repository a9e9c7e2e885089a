#!/usr/bin/python3
"""The lab demo (tools/demo): real traffic through a running lab, per-backend counters, then a
backend removed under load — and what moved.

    STEER_LAB=demo tools/lab.d/demo.py      (the lab must be up: tools/lab up)
"""
import collections
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "testing" / "lab"))
import lablib  # noqa: E402
from demo_text import dataplane, say  # noqa: E402


def shares(answers):
    by = collections.Counter(a.backend or f"FAILED ({a.error})" for a in answers)
    total = len(answers)
    for name in sorted(by):
        print(f"  {name:<10} {by[name]:>6}  {100.0 * by[name] / total:5.1f} %")


def main():
    lab = lablib.Lab.running()
    ns = lab.ns("client")
    clients = lab.client_v4()
    vip = lab.vip4
    lablib.raise_nofile()

    say(f"1000 HTTP GETs from {len(clients)} client addresses to {vip}:80 — who answered")
    pairs = [(clients[i % len(clients)], vip) for i in range(1000)]
    answers = lablib.http_many(ns, pairs)
    shares(answers)
    failed = sum(1 for a in answers if a.error)
    print(f"  every answer came from a backend directly (DSR); failed: {failed}")

    say("The dataplane's own counters (packets per VIP and per backend, Maglev slots)")
    dataplane(lab, "stats")

    say("200 long-lived TCP connections to the echo service (port 7)")
    conns = lablib.open_echo_conns(ns, [(clients[i % len(clients)], vip) for i in range(200)])
    before = {id(c): c.backend for c in conns}
    shares([lablib.Answer("tcp", c.src, c.sport, vip, 7, c.backend, c.error) for c in conns])

    victim = lab.backends[2]
    say(f"Remove backend {victim['name']} ({victim['v4']}) from every VIP, under load")
    with lab.api() as api:
        state = api.state()
        state.pop("generation", None)
        for v in state["vips"]:
            v["backends"] = [b for b in v["backends"]
                             if b["address"] not in (victim["v4"], victim["v6"])]
    path = lab.run_dir / "demo-state.json"
    path.write_text(json.dumps(state))
    dataplane(lab, "apply", path)

    say("One more line on every connection: what moved?")
    after = lablib.ask_all(conns)
    stayed = reset = broken_other = 0
    for c, now in zip(conns, after):
        was = before[id(c)]
        if was == victim["name"]:
            reset += now is None
        elif now == was:
            stayed += 1
        else:
            broken_other += 1
    on_victim = sum(1 for c in conns if before[id(c)] == victim["name"])
    print(f"  connections on {victim['name']}:      {on_victim:>4}  -> {reset} reset by the backend that"
          f" now gets their packets (theirs is gone)")
    print(f"  connections on the others: {len(conns) - on_victim:>4}  -> "
          f"{stayed} stayed on their backend, {broken_other} disturbed")
    for c in conns:
        c.close()

    say("New connections now: nobody reaches " + victim["name"])
    shares(lablib.http_many(ns, pairs[:600]))

    sample = next(c for c in conns if before[id(c)] != victim["name"])
    say("Why does a flow go where it goes?")
    dataplane(lab, "flow", "tcp", sample.src, sample.sport, vip, 7)
    return 0 if broken_other == 0 and failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
