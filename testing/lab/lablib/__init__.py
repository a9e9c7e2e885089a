"""lablib: what the integration tests and the lab tools need to drive the netns lab.

The lab itself is built by testing/lab/lab.sh (tools/lab for operators); the backends run
testing/lab/servers.py. This package drives it, split by concern:

- framing: clients of the line protocol, written from common/framing.h rather than from the
  servers' code: Api (the dataplane's API socket), SteerdApi (steerd's CLI socket), BirdApi
  (BIRD's control socket); wait_switched, canonical_state.
- namespaces: netns() runs a block of Python inside a network namespace (setns on this thread);
  sockets created inside stay there, so one asyncio loop drives clients in the lab.
- lab: Lab brings a lab up and down through lab.sh (unique prefix per test) or attaches to a
  running one (Lab.running), reads its lab.json, builds desired states, applies them and waits
  for every worker to switch; drives the backends' servers (stop, kill, start, 503 / hang /
  flap, links cut), the dataplanes, steerd (SteerdApi, steerctl, also as uid 65534, metrics)
  and, on a --bgp lab, BIRD on the router and the LB hosts (birdc, BirdApi, start / stop /
  kill / restart / configure) and the router kernel's routes to the VIPs (wait_route).
- clients: HTTP GETs, UDP echo flows, long-lived TCP line-echo connections, each reporting
  which backend answered.
- capture: raw frames (AF_PACKET) for scapy-built packets; tcpdump captures for the DSR checks.
- steerd: the steerd config written for an LB host of the lab (steerd_config, with a [bgp]
  section on a --bgp lab).
- routes: RouteWatch, which timestamps every change of the router kernel's routes to the VIPs
  (netlink, in a process of its own in the router's namespace: `python3 -m lablib
  route-watch`).
- failover: the measurements of tools/failover (when the backends' servers become ready,
  through inotify on the run directory; the milestones of one withdraw or announce run read
  from steerd; the summary tables). Not imported by the package: `from lablib import failover`.
- cases: case_main, the entry point of a test file with named cases.
- cli: the command line lab.sh runs (`python3 -m lablib wait-api|apply|api|probe|server|
  steerd-config|wait-steerd|route-watch ...`).
- util: waiting for a condition, addresses, processes, lab.json's LB hosts.

The names below are the library's interface (`import lablib; lablib.Lab(...)`); the modules'
other names are theirs.
"""
from .capture import Capture, RawLink
from .cases import case_main
from .clients import (Answer, EchoConn, ask_all, bounded, http_get, http_many, open_echo_conns,
                      run, udp_echo, udp_many)
from .framing import (Api, ApiError, BirdApi, FramingError, Reply, SteerdApi, canonical_state,
                      parse_reply_line, wait_switched)
from .lab import LAB_TOOL, ROOT, RUN_PARENT, Lab, LabError, default_prefix, server_request
from .namespaces import netns, raise_nofile
from .routes import RouteWatch
from .steerd import (STEERD_BGP_DEFAULTS, STEERD_VIPS, steerd_bgp_section, steerd_config,
                     toml_value)
from .util import fam, family_name, lab_lb, norm_address, pid_alive, wait_until

__all__ = [
    "Answer", "Api", "ApiError", "BirdApi", "Capture", "EchoConn", "FramingError", "LAB_TOOL",
    "Lab", "LabError", "ROOT", "RUN_PARENT", "RawLink", "Reply", "RouteWatch",
    "STEERD_BGP_DEFAULTS", "STEERD_VIPS", "SteerdApi", "ask_all", "bounded", "canonical_state",
    "case_main", "default_prefix", "fam", "family_name", "http_get", "http_many", "lab_lb", "netns",
    "norm_address", "open_echo_conns", "parse_reply_line", "pid_alive", "raise_nofile", "run",
    "server_request", "steerd_bgp_section", "steerd_config", "toml_value", "udp_echo", "udp_many",
    "wait_switched", "wait_until",
]
