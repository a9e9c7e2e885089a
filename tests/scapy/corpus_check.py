#!/usr/bin/python3
"""Checks the frame corpus (tests/corpus/frames.json) against scapy's dissection.

For every entry, scapy dissects the frame and a small rule set written here from the
Validation table of docs/packet-core.md and the parser's documented rules
(dataplane/packet/parse.h) derives the verdict and drop reason: form first (lengths, header
chains, fragments, L4 headers), then, for a packet steer would act on, classification over the
lab state's VIPs (testing/support/pipeline_harness.h) and the policy checks, then the egress
MTU. That expectation must equal the entry's recorded verdict and reason, and both must equal
what `packet_tool pipeline` (the packet core) says for the frame. Nothing here calls steer to
form the expectation.

Where scapy cannot dissect what is there, the rules read raw lengths instead: a frame shorter
than the header it claims (Ethernet, 802.1Q tag, IPv4, IPv6 header), a length field past the
frame, IPv4 option lists (walked byte by byte: scapy's option parser accepts impossible
lengths), and the bounds of each IPv6 extension header (scapy reads each header's fields, the
walk checks that the header lies inside the datagram).

Usage: corpus_check.py PACKET_TOOL [--corpus FILE]
Exit 0 when every entry agrees three ways; 1 with one line per disagreement otherwise.
"""

import argparse
import json
import os
import subprocess
import sys

from scapy.config import conf
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import (ICMPv6Unknown, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
                                IPv6ExtHdrHopByHop, IPv6ExtHdrRouting)
from scapy.layers.ipsec import AH
from scapy.layers.l2 import Dot1Q, Dot3, Ether

conf.verb = 0

DEFAULT_CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus",
                              "frames.json")

MTU = 1500
MAX_EXT = 8
EXT_CLASSES = {0: IPv6ExtHdrHopByHop, 43: IPv6ExtHdrRouting, 44: IPv6ExtHdrFragment,
               51: AH, 60: IPv6ExtHdrDestOpt}

# The lab state: (address, protocol, port or None for all ports) -> VIP.
# overhead: bytes the encapsulation to its backend adds; None: no backend of weight > 0.
VIPS = [
    {"addr": "192.0.2.10", "proto": 6, "port": 80, "overhead": 20, "echo": True},
    {"addr": "192.0.2.10", "proto": 17, "port": None, "overhead": 28, "echo": True},
    {"addr": "192.0.2.20", "proto": 6, "port": 80, "overhead": 40, "echo": False},
    {"addr": "192.0.2.30", "proto": 6, "port": 80, "overhead": None, "echo": True},
    {"addr": "2001:db8::10", "proto": 6, "port": 443, "overhead": 40, "echo": True},
    {"addr": "2001:db8::20", "proto": 17, "port": 53, "overhead": 48, "echo": True},
]


class Drop(Exception):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def norm6(a):
    return IPv6(src=a).src


def same_addr(a, b):
    if ":" in a and ":" in b:
        return norm6(a) == norm6(b)
    return a == b


def vip_exact(dst, proto, dport):
    for v in VIPS:
        if same_addr(v["addr"], dst) and v["proto"] == proto and v["port"] == dport:
            return v
    for v in VIPS:
        if same_addr(v["addr"], dst) and v["proto"] == proto and v["port"] is None:
            return v
    return None


def vip_any_port(dst, proto):
    """Fragments: the all-ports VIP of that address and protocol, else the lowest port."""
    found = [v for v in VIPS if same_addr(v["addr"], dst) and v["proto"] == proto]
    if not found:
        return None
    return min(found, key=lambda v: -1 if v["port"] is None else v["port"])


def vip_address(dst):
    return next((v for v in VIPS if same_addr(v["addr"], dst)), None)


def bad_source(src, v6):
    """RFC 1122 3.2.1.3 / RFC 1812 5.3.7 for IPv4; RFC 4291 for IPv6."""
    if not v6:
        first = int(src.split(".")[0])
        return first in (0, 127) or first >= 224
    a = norm6(src)
    raw = bytes(IPv6(src=a))[8:24]
    if raw[0] == 0xff:
        return True
    if raw[:10] == bytes(10) and raw[10:12] == b"\xff\xff":
        return True
    return raw[:15] == bytes(15) and raw[15] <= 1


def bad_tcp_flags(flags):
    f = int(flags) & 0x3f
    fin, syn, rst, psh, ack, urg = (bool(f & b) for b in (1, 2, 4, 8, 16, 32))
    if not (syn or rst or ack):
        return True  # RFC 9293 3.10.7: only SYN and RST go without ACK
    if syn and (fin or rst):
        return True
    return fin and psh and urg and not ack


def ipv4_options(opts):
    """Raw walk of IPv4 options: (malformed, source_route)."""
    i, sr = 0, False
    while i < len(opts):
        t = opts[i]
        if t == 0:
            break
        if t == 1:
            i += 1
            continue
        if i + 1 >= len(opts):
            return True, sr
        n = opts[i + 1]
        if n < 2 or i + n > len(opts):
            return True, sr
        sr = sr or t in (131, 137)
        i += n
    return False, sr


def walk_v6(dgram, nh):
    """Walks the extension headers of an IPv6 datagram (bytes from its IPv6 header on).

    Returns dict(end, proto, frag=None|(offset, m), rh0). Raises Drop for a chain the
    parser refuses."""
    off, count, frag, frag_end, rh0 = 40, 0, None, None, False
    while nh in EXT_CLASSES:
        if count == MAX_EXT:
            raise Drop("ipv6_ext_chain_too_long")
        if nh == 0 and count > 0:
            raise Drop("bad_ipv6_ext_header")
        if len(dgram) < off + 8:
            raise Drop("truncated_ipv6_ext_header")
        h = EXT_CLASSES[nh](dgram[off:])
        count += 1
        if nh == 44:
            if frag is not None:
                raise Drop("bad_ipv6_fragment")
            frag = (h.offset, h.m)
            off += 8
            if h.offset != 0:
                return {"end": off, "proto": h.nh, "frag": frag, "frag_end": off, "rh0": rh0}
            frag_end = off
            nh = h.nh
            continue
        hlen = (h.payloadlen + 2) * 4 if nh == 51 else (h.len + 1) * 8
        if len(dgram) < off + hlen:
            raise Drop("truncated_ipv6_ext_header")
        if nh == 43 and h.type == 0 and h.segleft > 0:
            rh0 = True
        off += hlen
        nh = h.nh
    return {"end": off, "proto": nh, "frag": frag, "frag_end": frag_end, "rh0": rh0}


def quoted_tuple(quote, v6):
    """(src, dst, sport, dport, proto) of the packet an ICMP error quotes, or None when the
    quote cannot give it (RFC 792: IP header + 64 bits of data)."""
    if not v6:
        if len(quote) < 20 or quote[0] >> 4 != 4:
            return None
        ihl = (quote[0] & 15) * 4
        if ihl < 20 or len(quote) < ihl:
            return None
        ip = IP(quote[:20] + bytes(ihl - 20))
        src, dst, proto, later = ip.src, ip.dst, ip.proto, ip.frag != 0
        l4 = ihl
    else:
        if len(quote) < 40 or quote[0] >> 4 != 6:
            return None
        ip = IPv6(quote[:40])
        try:
            w = walk_v6(quote, ip.nh)
        except Drop:
            return None
        src, dst, proto = ip.src, ip.dst, w["proto"]
        later = w["frag"] is not None and w["frag"][0] != 0
        l4 = w["end"]
    sport = dport = 0
    if not later and proto in (6, 17):
        if len(quote) < l4 + 8:
            return None
        hdr = (TCP if proto == 6 else UDP)(quote[l4:l4 + 8] + bytes(12))
        sport, dport = hdr.sport, hdr.dport
    return src, dst, sport, dport, proto


def expect(frame):
    """(verdict, reason) by the rules; reason None unless the verdict is drop."""
    try:
        return classify(frame)
    except Drop as d:
        return "drop", d.reason


def classify(frame):
    if len(frame) < 14:
        raise Drop("truncated_ethernet")
    eth = Ether(frame)
    if isinstance(eth, Dot3):  # scapy's name for a frame whose EtherType field is a length
        return "pass", None
    l2, etype, group = 14, eth.type, bool(frame[0] & 1)
    if etype == 0x8100:
        if len(frame) < 18:
            raise Drop("truncated_vlan")
        tag = eth[Dot1Q]
        l2, etype = 18, tag.type
        if etype in (0x8100, 0x88A8, 0x9100):
            raise Drop("stacked_vlan")
    if etype == 0x0800:
        return classify_ip(frame, l2, group, v6=False)
    if etype == 0x86DD:
        return classify_ip(frame, l2, group, v6=True)
    return "pass", None


def classify_ip(frame, l2, group, v6):
    pkt = frame[l2:]
    p = {"v6": v6, "group": group}
    if not v6:
        if len(pkt) < 20:
            raise Drop("truncated_ipv4")
        ip = IP(pkt)
        if ip.version != 4:
            raise Drop("bad_ipv4_version")
        ihl = ip.ihl * 4
        if ihl < 20 or len(pkt) < ihl:
            raise Drop("bad_ipv4_ihl")
        if ip.len < ihl or len(pkt) < ip.len:
            raise Drop("bad_ipv4_total_length")
        dgram = pkt[:ip.len]
        ip = IP(dgram)
        malformed, sr = ipv4_options(dgram[20:ihl])
        if malformed:
            raise Drop("bad_ipv4_options")
        data = ip.len - ihl
        mf, offset = ip.flags.MF, ip.frag
        p.update(src=ip.src, dst=ip.dst, ttl=ip.ttl, proto=ip.proto, total=ip.len,
                 source_route=sr, frag=bool(mf or offset), later=offset != 0)
        if p["frag"] and (offset * 8 + data > 65535 or (mf and (data == 0 or data % 8)) or
                          (offset == 1 and ip.proto == 6)):
            raise Drop("bad_ipv4_fragment")
        l4_off = ihl
    else:
        if len(pkt) < 40:
            raise Drop("truncated_ipv6")
        ip = IPv6(pkt)
        if ip.version != 6:
            raise Drop("bad_ipv6_version")
        if len(pkt) < 40 + ip.plen:
            raise Drop("bad_ipv6_payload_length")
        dgram = pkt[:40 + ip.plen]
        w = walk_v6(dgram, ip.nh)
        if w["rh0"]:
            raise Drop("ipv6_rh0")
        p.update(src=ip.src, dst=ip.dst, ttl=ip.hlim, proto=w["proto"], total=40 + ip.plen,
                 source_route=False, frag=False, later=False)
        if w["frag"] is not None:
            offset, m = w["frag"]
            if m or offset:  # else an atomic fragment (RFC 6946): a whole packet
                data = len(dgram) - w["frag_end"]
                p.update(frag=True, later=offset != 0)
                if (m and (data == 0 or data % 8)) or offset * 8 + data > 65535:
                    raise Drop("bad_ipv6_fragment")
        l4_off = w["end"]

    p.update(sport=0, dport=0, flags=None, icmp=None)
    icmp_proto = 58 if v6 else 1
    if not p["later"]:
        l4 = dgram[l4_off:]
        if p["proto"] == 6:
            if len(l4) < 20:
                raise Drop("truncated_l4")
            t = TCP(l4)
            if t.dataofs < 5 or t.dataofs * 4 > len(l4):
                raise Drop("bad_tcp_data_offset")
            p.update(sport=t.sport, dport=t.dport, flags=t.flags)
        elif p["proto"] == 17:
            if len(l4) < 8:
                raise Drop("truncated_l4")
            u = UDP(l4)
            if u.len < 8 or (u.len <= len(l4) if p["frag"] else u.len != len(l4)):
                raise Drop("bad_udp_length")
            p.update(sport=u.sport, dport=u.dport)
        elif p["proto"] == icmp_proto:
            if len(l4) < 8:
                raise Drop("truncated_icmp")
            h = (ICMPv6Unknown if v6 else ICMP)(l4)
            t, code = h.type, h.code
            errors = (1, 2, 3, 4) if v6 else (3, 11, 12)
            p["icmp"] = {"type": t, "code": code, "error": t in errors,
                         "inner": quoted_tuple(l4[8:], v6) if t in errors else None}
    return pipeline(p)


def policy(p):
    """check_vip_packet: what no correct host sends to a VIP."""
    if p["group"]:
        raise Drop("l2_group_address")
    if bad_source(p["src"], p["v6"]):
        raise Drop("bad_source_address")
    if p["ttl"] == 0:
        raise Drop("zero_ttl")
    if p["source_route"]:
        raise Drop("ipv4_source_route")
    if p["later"]:
        return
    if p["proto"] == 6 and bad_tcp_flags(p["flags"]):
        raise Drop("bad_tcp_flags")
    if p["proto"] in (6, 17) and (p["sport"] == 0 or p["dport"] == 0):
        raise Drop("zero_port")


def deliver(p, vip, icmp_error=False):
    if vip["overhead"] is None:
        raise Drop("no_backend")
    if p["total"] + vip["overhead"] > MTU:
        if icmp_error:
            raise Drop("too_big")  # never an ICMP error about an ICMP error
        return "reply", None
    return "forward", None


def pipeline(p):
    if p["proto"] in (1, 58) and not p["frag"]:
        if vip_address(p["dst"]) is None:
            return "pass", None
        icmp = p["icmp"] or {"type": 0, "code": 0, "error": False, "inner": None}
        if p["proto"] == 58 and (130 <= icmp["type"] <= 137 or icmp["type"] == 143):
            return "pass", None  # neighbour discovery, MLD: the host's
        policy(p)
        if icmp["type"] == (128 if p["proto"] == 58 else 8) and p["icmp"] is not None:
            if not vip_address(p["dst"])["echo"]:
                raise Drop("echo_disabled")
            return "reply", None
        if not icmp["error"]:
            raise Drop("icmp_unsupported")
        if icmp["inner"] is None:
            raise Drop("truncated_icmp_inner")
        src, dst, sport, dport, proto = icmp["inner"]
        vip = vip_exact(src, proto, sport)  # the flow is the quote reversed
        if vip is None:
            raise Drop("icmp_error_no_flow")
        return deliver(p, vip, icmp_error=True)
    if p["frag"]:
        vip = vip_any_port(p["dst"], p["proto"])
        if vip is None:
            return "pass", None
        policy(p)
        return deliver(p, vip)
    vip = vip_exact(p["dst"], p["proto"], p["dport"])
    if vip is None:
        return "pass", None
    policy(p)
    return deliver(p, vip)


def run_tool(tool, frames):
    out = subprocess.run([tool, "pipeline"], input="".join(f.hex() + "\n" for f in frames),
                         capture_output=True, text=True, check=True).stdout.splitlines()
    if len(out) != len(frames):
        sys.exit("packet_tool printed %d lines for %d frames" % (len(out), len(frames)))
    return [json.loads(line) for line in out]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("packet_tool")
    ap.add_argument("--corpus", default=DEFAULT_CORPUS)
    args = ap.parse_args()
    with open(args.corpus, encoding="utf-8") as f:
        entries = json.load(f)["frames"]
    frames = [bytes.fromhex(e["hex"]) for e in entries]
    tool = run_tool(args.packet_tool, frames)
    bad = 0
    for e, frame, t in zip(entries, frames, tool):
        recorded = (e["verdict"], e["reason"])
        derived = expect(frame)
        core = (t["verdict"], t["drop"] or None)
        if recorded == derived == core:
            continue
        bad += 1
        print("%s: recorded %s/%s, scapy rules %s/%s, packet core %s/%s — %s" % (
            e["name"], *recorded, *derived, *core, e["description"]))
    print("%d entries, %d disagree" % (len(entries), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
