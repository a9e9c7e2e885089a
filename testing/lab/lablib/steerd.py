"""steerd's configuration for a lab: the TOML written for an LB host (by `tools/lab steerd up`
through the command line, and by the steerd tests), with a [bgp] section on a --bgp lab."""
import json

from .util import lab_lb

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
