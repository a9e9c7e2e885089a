"""The command line of the library, for testing/lab/lab.sh: `python3 -m lablib CMD ...`
(the package's parent directory on PYTHONPATH).

  wait-api --socket PATH [--pid PID] [--timeout S]
  apply --socket PATH [--check] FILE.json
  api --socket PATH CMD...        (prints the reply's JSON, or its text)
  probe --lab RUN/lab.json        (one request of each kind through the VIPs)
  server --socket PATH CMD...     (a backend's servers: http ok|503|hang|flap, status)
  steerd-config --lab RUN/lab.json [--lb LB] [--interval MS] [--timeout MS]
            [--rise N] [--fall N] [--warmup MS] [--vips A,B] [--backends b1,b2]
            [--bgp] [--bgp-set KEY=VALUE]...                (TOML on stdout)
  wait-steerd --socket PATH [--pid PID] [--timeout S] [--warm]
  route-watch --dst ADDRESS...    (run inside a namespace: one JSON line per change of the
                                   routes to the addresses; see lablib.routes.RouteWatch)
  pops up|down|status --prefix P  (two PoPs joined by a transit: lablib.pops.TwoPops)
"""
import argparse
import json
import re
import sys
import time
import tomllib
from pathlib import Path

from .clients import Answer, EchoConn, http_get, run, udp_echo
from .framing import Api, ApiError, FramingError, SteerdApi, canonical_state, wait_switched
from .lab import server_request
from .routes import route_watch
from .steerd import steerd_config
from .util import pid_alive


def _wait_socket(what, socket_path, pid, timeout, attempt):
    """Polls `attempt()` (None = not ready yet, with a reason in `last`; else the status to
    print) until it answers, the process `pid` exits, or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    last = "no attempt"
    while time.monotonic() < deadline:
        if pid and not pid_alive(pid):
            print(f"{what} (pid {pid}) exited", file=sys.stderr)
            return 1
        try:
            st, last = attempt()
            if st is not None:
                print(json.dumps(st))
                return 0
        except (OSError, FramingError, ApiError) as e:
            last = str(e)
        time.sleep(0.05)
    print(f"{what} socket {socket_path} did not answer in {timeout} s: {last}", file=sys.stderr)
    return 1


def cmd_wait_api(args):
    def attempt():
        with Api(args.socket, timeout=5) as api:
            return api.status(), ""
    return _wait_socket("steer-dataplane", args.socket, args.pid, args.timeout, attempt)


def cmd_apply(args):
    doc = json.loads(Path(args.file).read_text())
    with Api(args.socket) as api:
        reply = api.apply(doc)
        print(json.dumps(reply))
        if args.check:
            gen = reply["generation"]
            got = api.state()
            if got.get("generation") != gen or canonical_state(got) != canonical_state(doc):
                print(f"state read back differs from {args.file}: {json.dumps(got)}",
                      file=sys.stderr)
                return 1
            wait_switched(api, gen)
        if reply.get("warnings"):
            print(f"apply warnings: {reply['warnings']}", file=sys.stderr)
    return 0


def cmd_api(args):
    with Api(args.socket) as api:
        reply = api.request(" ".join(args.words))
        if any(c == 1000 for c, _, _ in reply.lines):
            print(json.dumps(reply.json(), indent=2))
        else:
            for c, last, text in reply.lines:
                print(f"{c:04d}{' ' if last else '-'}{text}")
    return 0


def cmd_probe(args):
    info = json.loads(Path(args.lab).read_text())
    ns = info["client"]["ns"]
    names = {b["name"] for b in info["backends"]}
    v4, v6 = info["vips"]["v4"], info["vips"]["v6"]
    c4, c6 = info["client"]["v4"][0], info["client"]["v6"][0]

    async def all_kinds():
        conn = EchoConn(ns, c4, v4, 7)
        await conn.open(timeout=5)
        conn.close()
        return [await http_get(ns, c4, v4, 80, timeout=5),
                await http_get(ns, c6, v6, 80, timeout=5),
                await udp_echo(ns, c4, v4, 7, timeout=1, tries=3),
                Answer("tcp", c4, conn.sport, v4, 7, conn.backend, conn.error)]

    bad = 0
    for a, what in zip(run(all_kinds()), ("HTTP v4", "HTTP v6", "UDP echo v4", "TCP echo v4")):
        if a.error or a.backend not in names:
            print(f"probe {what} {a.src} -> {a.dst}:{a.dport}: FAILED: {a.error or a.backend}",
                  file=sys.stderr)
            bad += 1
    return 1 if bad else 0


def cmd_server(args):
    reply = server_request(args.socket, " ".join(args.words))
    if not reply.get("ok"):
        print(f"servers: {reply.get('error')}", file=sys.stderr)
        return 1
    print(json.dumps(reply))
    return 0


def _bgp_overrides(settings):
    """{key: value} from KEY=VALUE strings: VALUE is a TOML value (3, 0.5, "x", ["a"], true),
    else taken as a string; an empty VALUE leaves the key out of [bgp]."""
    out = {}
    for item in settings:
        key, eq, value = item.partition("=")
        if not eq or not re.fullmatch(r"[A-Za-z0-9_]+", key):
            raise ValueError(f"--bgp-set {item!r}: want KEY=VALUE")
        if value == "":
            out[key] = None
            continue
        try:
            out[key] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            out[key] = value
    return out


def cmd_steerd_config(args):
    info = json.loads(Path(args.lab).read_text())
    try:
        bgp = None
        if args.bgp or args.bgp_set:
            bgp = _bgp_overrides(args.bgp_set) or True
        text = steerd_config(info, interval=args.interval, timeout=args.timeout, rise=args.rise,
                             fall=args.fall, warmup=args.warmup,
                             vips=args.vips.split(",") if args.vips else None,
                             backends=args.backends.split(",") if args.backends else None,
                             lb=args.lb, bgp=bgp)
        tomllib.loads(text)  # a mistake here is ours, not steerd's
    except (ValueError, KeyError) as e:
        print(f"steerd-config: {e}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


def cmd_wait_steerd(args):
    def attempt():
        with SteerdApi(args.socket, timeout=5) as api:
            st = api.show("status")
            return (st, "") if st.get("warm") or not args.warm else (None, "warm-up not over")
    return _wait_socket("steerd", args.socket, args.pid, args.timeout, attempt)


def cmd_route_watch(args):
    return route_watch(args.dst)


def main(argv):
    ap = argparse.ArgumentParser(prog="lablib")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("wait-api")
    p.add_argument("--socket", required=True)
    p.add_argument("--pid", type=int)
    p.add_argument("--timeout", type=float, default=30)
    p = sub.add_parser("apply")
    p.add_argument("--socket", required=True)
    p.add_argument("--check", action="store_true")
    p.add_argument("file")
    p = sub.add_parser("api")
    p.add_argument("--socket", required=True)
    p.add_argument("words", nargs="+")
    p = sub.add_parser("probe")
    p.add_argument("--lab", required=True)
    p = sub.add_parser("server")
    p.add_argument("--socket", required=True)
    p.add_argument("words", nargs="+")
    p = sub.add_parser("steerd-config")
    p.add_argument("--lab", required=True)
    p.add_argument("--interval", type=int, default=100)
    p.add_argument("--timeout", type=int, default=50)
    p.add_argument("--rise", type=int, default=2)
    p.add_argument("--fall", type=int, default=3)
    p.add_argument("--warmup", type=int, default=5000)
    p.add_argument("--vips", help="comma-separated: web,echo,udp-echo,web6,echo6")
    p.add_argument("--backends", help="comma-separated: b1,b2,...")
    p.add_argument("--lb", default="lb1", help="the LB host steerd runs on (lb1, lb2)")
    p.add_argument("--bgp", action="store_true", help="a [bgp] section for the LB's BIRD")
    p.add_argument("--bgp-set", action="append", default=[], metavar="KEY=VALUE",
                   help="a [bgp] key over the lab's default (implies --bgp; VALUE in TOML)")
    p = sub.add_parser("wait-steerd")
    p.add_argument("--socket", required=True)
    p.add_argument("--pid", type=int)
    p.add_argument("--timeout", type=float, default=20)
    p.add_argument("--warm", action="store_true")
    p = sub.add_parser("route-watch")
    p.add_argument("--dst", action="append", required=True, help="a route's destination (host)")
    p = sub.add_parser("pops")
    p.add_argument("action", choices=["up", "down", "status"])
    p.add_argument("--prefix", required=True)
    args = ap.parse_args(argv)
    if args.cmd == "pops":
        from .pops import pops_main  # the two-PoP lab: not needed by the other commands
        return pops_main(args.action, args.prefix)
    try:
        return {"wait-api": cmd_wait_api, "apply": cmd_apply, "api": cmd_api,
                "probe": cmd_probe, "server": cmd_server, "steerd-config": cmd_steerd_config,
                "wait-steerd": cmd_wait_steerd, "route-watch": cmd_route_watch}[args.cmd](args)
    except BrokenPipeError:  # output piped into head: not an error
        return 0
    except (OSError, FramingError, ApiError, AssertionError) as e:
        print(f"lablib {args.cmd}: {e}", file=sys.stderr)
        return 1
