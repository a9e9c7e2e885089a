#!/usr/bin/python3
"""The GeoDNS part of tools/demo: steerd's authoritative responder answers two resolvers in
different places with different PoPs, then one PoP fails and the answer changes, and comes
back when it recovers.

Two PoPs, fra (Frankfurt) and nyc (New York), each serving web.lb.example.test with its own
address; steerd probes each PoP (a TCP check every 200 ms against a listener this script
opens and closes, standing in for the PoP's VIP). The nets file says which resolvers are
where: ECS 192.0.2.0/24 is in Europe, 198.18.0.0/24 in America. Everything runs on loopback
(127.0.53.60-62); steerd runs in the foreground and is stopped at the end, also on failure.
Environment: STEER_BUILD (steerd and steerctl are taken from it)."""
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "testing" / "dns"))
sys.path.insert(0, str(ROOT / "testing" / "lab"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from demo_text import say  # noqa: E402
from dnslab import PortListener, Record, RunDir, Steerd, Zone, pick_port  # noqa: E402
from lablib.util import wait_until  # noqa: E402

BUILD = Path(os.environ.get("STEER_BUILD", ROOT / "build"))
DNS = "127.0.53.60"
PROBES = {"fra": "127.0.53.61", "nyc": "127.0.53.62"}
ADDRESS = {"fra": "198.51.100.10", "nyc": "203.0.113.10"}
CLIENTS = {"a resolver in Europe": "192.0.2.0/24", "a resolver in America": "198.18.0.0/24"}
ZONE = Zone("lb.example.test.", ["ns1"], [Record("ns1", "A", DNS)])


def sections(probe_port):
    text = f"""[check.pop]
type = "tcp"
port = {probe_port}
interval_ms = 200
timeout_ms = 100
rise = 2
fall = 2

[[dns.pop]]
name = "fra"
region = "eu"
latitude = 50.11
longitude = 8.68

[[dns.pop]]
name = "nyc"
region = "us"
latitude = 40.71
longitude = -74.01

[[dns.pop]]
name = "here"
region = "eu"
latitude = 50.11
longitude = 8.68

"""
    text += ZONE.steer_toml() + "\n"
    text += '[[dns.service]]\nname = "web"\nttl = 30\npending_ttl = 5\nanswers = 1\ncheck = "pop"\n'
    for pop in ("fra", "nyc"):
        text += (f'  [[dns.service.pop]]\n  pop = "{pop}"\n  addresses = ["{ADDRESS[pop]}"]\n'
                 f'  probe = ["{PROBES[pop]}"]\n')
    return text


def run(cmd, show=True):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if show:
        print("$ " + " ".join(Path(cmd[0]).name if i == 0 else c for i, c in enumerate(cmd)))
        print((r.stdout + r.stderr).rstrip(), flush=True)
    return r


def main():
    with RunDir("demo-dns") as run_dir:
        port = pick_port(DNS)
        probe_port = pick_port(PROBES["fra"])
        nets = run_dir / "nets.txt"
        nets.write_text("192.0.2.0/24 eu\n198.18.0.0/24 us\n")
        listeners = {pop: PortListener(addr, probe_port) for pop, addr in PROBES.items()}
        steerd = Steerd(BUILD, run_dir, DNS, port, ZONE.apex,
                        {"nets": str(nets), "nsid": "demo-here"}, sections(probe_port),
                        pop="here")
        os.environ["STEERD_SOCKET"] = str(steerd.socket)
        steerctl = [str(BUILD / "tools" / "steerctl" / "steerctl")]

        def answer(ecs):
            r = run(["kdig", f"@{DNS}", "-p", str(port), "+short", f"+subnet={ecs}",
                     "web.lb.example.test", "A"], show=False)
            return r.stdout.split()

        def state(pop):
            for svc in steerd.cli("show dns")["services"]:
                for p in svc["pops"]:
                    if p["pop"] == pop:
                        return p["healthy"]
            return None

        with listeners["fra"], listeners["nyc"], steerd:
            say("GeoDNS: steerd answers web.lb.example.test for two PoPs, fra and nyc; its "
                "probes check each PoP every 200 ms")
            wait_until("both PoPs up", lambda: state("fra") and state("nyc"), 10)
            run(steerctl + ["dns", "show"])
            for who, ecs in CLIENTS.items():
                say(f"{who} (ECS {ecs}) asks")
                run(["kdig", f"@{DNS}", "-p", str(port), "+noall", "+header", "+opt", "+answer",
                     "+nsid", f"+subnet={ecs}", "web.lb.example.test", "A"])
            run(steerctl + ["dns", "query", "web.lb.example.test", "--client", "192.0.2.53",
                            "--ecs", CLIENTS["a resolver in Europe"]])

            say("fra fails: its VIP stops answering (the probe's listener closes)")
            listeners["fra"].close()
            t0 = time.monotonic()
            wait_until("Europe's answer moves to nyc",
                       lambda: answer(CLIENTS["a resolver in Europe"]) == [ADDRESS["nyc"]], 10)
            print(f"  the answer for Europe changed {time.monotonic() - t0:.2f} s after fra "
                  "stopped answering (fall = 2: the first failure, then a re-check at the "
                  "fast interval)", flush=True)
            run(steerctl + ["dns", "query", "web.lb.example.test", "--client", "192.0.2.53",
                            "--ecs", CLIENTS["a resolver in Europe"]])

            say("fra recovers: rise = 2 good probes, and Europe gets fra again")
            listeners["fra"].open()
            t0 = time.monotonic()
            wait_until("Europe's answer back to fra",
                       lambda: answer(CLIENTS["a resolver in Europe"]) == [ADDRESS["fra"]], 10)
            print(f"  back after {time.monotonic() - t0:.2f} s", flush=True)
            for who, ecs in CLIENTS.items():
                print(f"  {who}: {' '.join(answer(ecs))}", flush=True)
            say("What steerd saw")
            run(steerctl + ["show", "events"])


if __name__ == "__main__":
    main()
