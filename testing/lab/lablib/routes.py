"""Routes to the VIPs: a netlink watcher (route_watch, run as `python3 -m lablib route-watch`
in the router's namespace) and RouteWatch, which runs it and keeps what it reports."""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from .lab import LabError
from .util import fam, family_name, norm_address

RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
RTMGRP_IPV4_ROUTE, RTMGRP_IPV6_ROUTE = 0x40, 0x400
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_MULTIPATH, RTA_TABLE = 1, 4, 5, 9, 15
RT_TABLE_MAIN, RTN_UNICAST = 254, 1


def _nl_messages(data):
    """(type, flags, body) of each netlink message in a datagram."""
    off = 0
    while off + 16 <= len(data):
        length, mtype, flags, _, _ = struct.unpack_from("=IHHII", data, off)
        if length < 16:
            break
        yield mtype, flags, data[off + 16:off + length]
        off += (length + 3) & ~3


def _rtattrs(data):
    off = 0
    while off + 4 <= len(data):
        length, atype = struct.unpack_from("=HH", data, off)
        if length < 4:
            break
        yield atype & 0x3FFF, data[off + 4:off + length]
        off += (length + 3) & ~3


def _parse_route(body):
    """{family, dst, dst_len, table, type, nexthops: [(gateway, ifindex)]} of a route message."""
    family, dst_len, _, _, table, _, _, rtype, _ = struct.unpack_from("=BBBBBBBBI", body)
    attrs = dict(_rtattrs(body[12:]))
    if RTA_TABLE in attrs:
        table = struct.unpack("=I", attrs[RTA_TABLE][:4])[0]
    dst = socket.inet_ntop(family, attrs[RTA_DST]) if RTA_DST in attrs else None
    hops = []
    if RTA_MULTIPATH in attrs:
        mp, off = attrs[RTA_MULTIPATH], 0
        while off + 8 <= len(mp):
            length, _, _, ifindex = struct.unpack_from("=HBBi", mp, off)
            if length < 8:
                break
            sub = dict(_rtattrs(mp[off + 8:off + length]))
            gw = socket.inet_ntop(family, sub[RTA_GATEWAY]) if RTA_GATEWAY in sub else None
            hops.append((gw, ifindex))
            off += (length + 3) & ~3
    else:
        gw = socket.inet_ntop(family, attrs[RTA_GATEWAY]) if RTA_GATEWAY in attrs else None
        oif = struct.unpack("=i", attrs[RTA_OIF][:4])[0] if RTA_OIF in attrs else 0
        hops.append((gw, oif))
    return {"family": family, "dst": dst, "dst_len": dst_len, "table": table, "type": rtype,
            "nexthops": hops}


class _RouteDumper:
    """Dumps a family's routes over a netlink socket of this process's namespace."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        self.seq = 0

    def dump(self, family):
        self.seq += 1
        req = struct.pack("=BBBBBBBBI", family, 0, 0, 0, 0, 0, 0, 0, 0)
        self.sock.send(struct.pack("=IHHII", 16 + len(req), RTM_GETROUTE,
                                   NLM_F_REQUEST | NLM_F_DUMP, self.seq, 0) + req)
        routes = []
        while True:
            for mtype, _, body in _nl_messages(self.sock.recv(1 << 20)):
                if mtype == NLMSG_DONE:
                    return routes
                if mtype == NLMSG_ERROR:
                    raise OSError(-struct.unpack_from("=i", body)[0], "route dump failed")
                if mtype == RTM_NEWROUTE:
                    routes.append(_parse_route(body))


def route_watch(addresses):
    """Prints one JSON line per change of the main-table unicast routes to the hosts
    `addresses` (the command line's --dst):
    {"t": wall time (time.time()) the kernel's notification was read, "kind": "state",
    "dst", "family": "v4"|"v6", "nexthops": [[gateway, dev], ...] ([] = no route)}; first the
    routes as they are ("initial": true), then {"ready": true}. Each notification about one
    of them is also printed as {"kind": "event", "t", "dst", "op": "new"|"del", "nexthops"}; the
    state after it is read back with a dump (the notification alone does not always say what
    is left of a multipath route)."""
    dsts = {}
    for d in addresses:
        f = fam(d)
        dsts[(f, socket.inet_pton(f, d))] = norm_address(d)
    fams = {f for f, _ in dsts}
    mon = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    mon.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    groups = ((RTMGRP_IPV4_ROUTE if socket.AF_INET in fams else 0)
              | (RTMGRP_IPV6_ROUTE if socket.AF_INET6 in fams else 0))
    mon.bind((0, groups))
    dumper = _RouteDumper()
    names = {}

    def dev(ifindex):
        if ifindex not in names:
            names.update(socket.if_nameindex())
        return names.get(ifindex, str(ifindex))

    def ours(r):
        if r["dst"] is None or r["table"] != RT_TABLE_MAIN or r["type"] != RTN_UNICAST:
            return None
        key = (r["family"], socket.inet_pton(r["family"], r["dst"]))
        full = 32 if r["family"] == socket.AF_INET else 128
        return key if key in dsts and r["dst_len"] == full else None

    def hops(r):
        return sorted([g, dev(i)] for g, i in r["nexthops"])

    last = {}

    def emit(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    def report(t, families, initial=False):
        now = {k: [] for k in dsts if k[0] in families}
        for f in families:
            for r in dumper.dump(f):
                k = ours(r)
                if k is not None:
                    now[k] = sorted(now[k] + hops(r))
        for k, nh in now.items():
            if initial or last.get(k) != nh:
                last[k] = nh
                emit({"t": t, "kind": "state", "dst": dsts[k],
                      "family": "v4" if k[0] == socket.AF_INET else "v6", "nexthops": nh,
                      **({"initial": True} if initial else {})})

    report(time.time(), fams, initial=True)
    emit({"ready": True})
    while True:
        try:
            data = mon.recv(1 << 20)
        except OSError as e:  # ENOBUFS: notifications lost; the dump says where we are
            if e.errno != 105:
                raise
            report(time.time(), fams)
            continue
        t = time.time()
        changed = set()
        for mtype, _, body in _nl_messages(data):
            if mtype not in (RTM_NEWROUTE, RTM_DELROUTE):
                continue
            r = _parse_route(body)
            k = ours(r)
            if k is None:
                continue
            changed.add(k[0])
            emit({"t": t, "kind": "event", "dst": dsts[k],
                  "op": "new" if mtype == RTM_NEWROUTE else "del", "nexthops": hops(r)})
        if changed:
            report(t, changed)


def _python_env():
    """This environment with this package importable (`python3 -m lablib`)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH")) if p)
    return env


class RouteWatch:
    """Watches the router kernel's routes to the lab's VIPs: `python3 -m lablib route-watch`
    runs in the router's namespace (a process of its own, so the times are not delayed by this
    one's work) and stamps each change with the wall-clock time (time.time()) it read the kernel's
    notification. Use as a context manager, or stop().

      with RouteWatch(lab) as w:
          t0 = time.time()
          lab.bird("lb1", "disable", "steer_v4_192_0_2_10")
          t1 = w.wait_for("v4", {"lb2"}, after=t0)     # t1 - t0: disable -> router's kernel

    states: [(t, family, frozenset of nexthop addresses)] in order, the first per family the
    route when the watch started; events: the raw notifications (dicts, see route-watch)."""

    def __init__(self, lab, dsts=None, timeout=10.0):
        self.lab = lab
        self.dsts = dsts or [lab.vip4, lab.vip6]
        self.states = []
        self.events = []
        self.error = None
        self._cond = threading.Condition()
        self._ready = False
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", lab.ns("router"), "/usr/bin/python3", "-m", "lablib",
             "route-watch", *[a for d in self.dsts for a in ("--dst", d)]],
            env=_python_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        with self._cond:
            if not self._cond.wait_for(lambda: self._ready or self.error, timeout):
                self.stop()
                raise LabError(f"route-watch did not start in {timeout} s")
        if self.error:
            self.stop()
            raise LabError(f"route-watch: {self.error}")

    def _read(self):
        for line in self.proc.stdout:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            with self._cond:
                if obj.get("ready"):
                    self._ready = True
                elif obj.get("kind") == "state":
                    hops = frozenset(norm_address(g) for g, _ in obj["nexthops"] if g)
                    self.states.append((obj["t"], obj["family"], hops))
                elif obj.get("kind") == "event":
                    self.events.append(obj)
                self._cond.notify_all()
        with self._cond:
            if self.proc.poll() is None:
                self.proc.wait()
            if self.proc.returncode not in (0, -signal.SIGTERM) and not self.error:
                self.error = f"exited {self.proc.returncode}: {self.proc.stderr.read()[-500:]}"
            self._cond.notify_all()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._thread.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def history(self, family):
        """[(t, nexthops)] of one family, oldest first."""
        family = family_name(family)
        with self._cond:
            return [(t, nh) for t, f, nh in self.states if f == family]

    def current(self, family):
        h = self.history(family)
        return h[-1][1] if h else frozenset()

    def wait_for(self, family, nexthops, after=None, timeout=10.0):
        """The time (time.time()) of the first change at or after `after` (default: the
        watch's start, its initial state included) that left the route of `family` with
        exactly `nexthops` (addresses or LB names; empty: no route)."""
        family = family_name(family)
        want = frozenset(self.lab.nexthop_set(family, nexthops))

        def found():
            for t, f, nh in self.states:
                if f == family and nh == want and (after is None or t >= after):
                    return t
            return None

        with self._cond:
            t = self._cond.wait_for(lambda: found() or self.error, timeout)
            if self.error and not found():
                raise LabError(f"route-watch: {self.error}")
        if not t:
            raise AssertionError(f"router route to the {family} VIP not via "
                                 f"{sorted(want) or 'nothing'} within {timeout} s (history "
                                 f"{[(round(t, 3), sorted(n)) for t, n in self.history(family)]})")
        return t
