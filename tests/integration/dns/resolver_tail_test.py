#!/usr/bin/python3
"""tools/resolver-tail --quick against this build's steerd, its JSON checked: the resolver
model through a real failover (docs/resolver-tail.md).

  - steerd's answers changed after the failure (observed by the tool);
  - anycast clients all moved by the convergence time;
  - the share of unicast clients moved never decreases, and by TTL + detection it is at least
    the share of clients whose resolvers obey the TTL (and every one of those moved);
  - the re-queries the model saw answered with the other PoP, and steerd's
    steer_dns_answers_displaced_total{pop="pa"} for the same run, are both non-zero and of the
    same order.

No timing is asserted beyond the model's own clock. Environment: STEER_BUILD (the build
directory). Runs in about 10 s.
"""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "testing" / "dns"))
sys.path.insert(0, str(ROOT / "testing" / "lab"))
import dnslab  # noqa: E402

BUILD = Path(os.environ.get("STEER_BUILD", ROOT / "build"))


def case(c):
    """tools/resolver-tail --quick: anycast moves at convergence, unicast by TTL + detection"""
    with tempfile.TemporaryDirectory(prefix="steer-resolver-tail-test-") as tmp:
        out = Path(tmp) / "tail.json"
        proc = subprocess.run([str(ROOT / "tools" / "resolver-tail"), "--quick", "--build",
                               str(BUILD), "--json", str(out), "--plot",
                               str(Path(tmp) / "tail.png")],
                              capture_output=True, text=True, timeout=50)
        print(proc.stdout + proc.stderr, flush=True)
        c.require(proc.returncode == 0 and out.exists(), "tools/resolver-tail --quick exits 0",
                  f"exit {proc.returncode}")
        doc = json.loads(out.read_text())
    cfg = doc["config"]
    detected = doc["detected_s"]
    c.require(detected is not None and detected > 0, "steerd's answers changed after the failure",
              str(detected))
    for row in doc["rows"]:
        if row["vips"] == "anycast":
            c.check(row["not_moved"] == 0 and row["p99_s"] is not None
                    and row["p99_s"] <= cfg["anycast_move"],
                    f"anycast TTL {row['ttl']}: every client moved by {cfg['anycast_move']} s",
                    json.dumps(row))
    grid = doc["grid_s"]
    for ttl in cfg["ttls"]:
        ys = doc["curves"][f"unicast ttl {ttl}"]
        c.check(all(b >= a for a, b in zip(ys, ys[1:])),
                f"unicast TTL {ttl}: the share moved never decreases")
        # One model second of slack per step of the run's own lag (a busy machine).
        bound = ttl + detected + 2 + doc["max_lag_s"]
        at = max(i for i, t in enumerate(grid) if t <= min(bound, cfg["horizon"]))
        c.check(ys[at] >= doc["obey_share"] - 1e-9,
                f"unicast TTL {ttl}: by TTL + detection ({grid[at]:g} s) at least the clients "
                f"of TTL-obeying resolvers moved ({100 * ys[at]:.1f} % >= "
                f"{100 * doc['obey_share']:.1f} %)")
    obey = doc["by_behaviour"]["curves"].get("obey")
    if obey:
        ttl = doc["by_behaviour"]["ttl"]
        bound = ttl + detected + 2 + doc["max_lag_s"]
        at = max(i for i, t in enumerate(grid) if t <= min(bound, cfg["horizon"]))
        c.check(obey[at] >= 1 - 1e-6, f"unicast TTL {ttl}: every client of a TTL-obeying resolver "
                f"moved by TTL + detection ({grid[at]:g} s)", f"{100 * obey[at]:.2f} %")
    model, seen = doc["model_requeries_to_pb"], doc["responder_displaced_pa"]
    c.check(model > 0 and seen > 0, "re-queries answered with pb: counted by the model and by "
            "steer_dns_answers_displaced_total", f"model {model}, responder {seen}")
    c.check(model > 0 and 0.5 <= seen / model <= 2,
            "the responder's displaced count is of the model's order",
            f"model {model}, responder {seen}")


if __name__ == "__main__":
    sys.exit(dnslab.run_case("resolver-tail", case))
