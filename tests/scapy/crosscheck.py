#!/usr/bin/python3
"""Cross-checks steer's packet parser against scapy.

Builds a few hundred varied frames with scapy (random addresses and ports, VLAN or not, IPv4
with options, IPv6 extension-header chains, fragments first and later, ICMP echo, ICMP errors
quoting TCP/UDP, non-IP frames, truncations and malformed headers), runs `packet_tool parse`
over them, and compares every field it prints with what scapy's own dissection of the same bytes
says. Where scapy has no opinion (which drop reason a cut or a bad field deserves, whether an
ICMP quote is long enough to give the flow), the expected value follows the parser's documented
rules (dataplane/packet/parse.h), computed here from the dissected header fields.

Usage: crosscheck.py PATH/TO/packet_tool [--seed N] [--count-only]
Exits 0 when every field of every frame matches; 1 with a per-field diff otherwise.
"""

import argparse
import json
import random
import socket
import struct
import subprocess
import sys

from scapy.config import conf
from scapy.layers.inet import (ICMP, IP, TCP, UDP, IPOption, IPOption_NOP, IPOption_RR,
                               IPOption_Timestamp)
from scapy.layers.inet6 import (ICMPv6DestUnreach, ICMPv6EchoReply, ICMPv6EchoRequest,
                                ICMPv6ND_NS, ICMPv6PacketTooBig, ICMPv6ParamProblem,
                                ICMPv6TimeExceeded, ICMPv6Unknown, IPv6, IPv6ExtHdrDestOpt,
                                IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, PadN)
from scapy.layers.ipsec import AH
from scapy.layers.l2 import ARP, Dot1Q, Dot3, Ether
from scapy.packet import Raw

conf.verb = 0

LB_MAC = "02:00:00:00:00:10"
MAX_EXT = 8  # kMaxIpv6ExtHeaders
EXT_TYPES = (0, 43, 44, 51, 60)
ICMP4_ERRORS = (3, 11, 12)
ICMP6_ERRORS = (1, 2, 3, 4)

# Every field packet_tool prints, with the value of a default-constructed ParsedPacket.
ZERO_KEY = "00" * 40
DEFAULTS = {
    "l2_len": 0, "has_vlan": False, "vlan_tci": 0, "ethertype": 0, "is_v6": False,
    "l3_len": 0, "ip_total_len": 0, "tos": 0, "ttl": 0, "df": False, "flow_label": 0,
    "is_fragment": False, "first_fragment": False, "more_fragments": False, "frag_offset": 0,
    "frag_id": 0, "proto": 0, "l4_offset": 0, "tcp_flags": 0,
    "src": "::", "dst": "::", "sport": 0, "dport": 0, "key_proto": 0, "key_hex": ZERO_KEY,
    "icmp_type": 0, "icmp_code": 0, "icmp_is_error": False, "has_inner": False,
    "inner_l3_offset": 0,
    "inner_src": "::", "inner_dst": "::", "inner_sport": 0, "inner_dport": 0, "inner_proto": 0,
    "inner_key_hex": ZERO_KEY,
    "swapped_src": "::", "swapped_dst": "::", "swapped_sport": 0, "swapped_dport": 0,
    "swapped_proto": 0, "swapped_key_hex": ZERO_KEY,
}
ADDRESS_FIELDS = ("src", "dst", "inner_src", "inner_dst", "swapped_src", "swapped_dst")


class Unexpected(Exception):
    """The generator built something the expectation code does not model."""


# --------------------------------------------------------------------------------------------
# Canonical flow-key bytes (common/flow_key.h), written independently of the C++ code.

def addr16(text):
    try:
        return b"\x00" * 10 + b"\xff\xff" + socket.inet_pton(socket.AF_INET, text)
    except OSError:
        return socket.inet_pton(socket.AF_INET6, text)


def key_fields(prefix, src, dst, sport, dport, proto):
    k = addr16(src) + addr16(dst) + struct.pack(">HHB", sport, dport, proto) + b"\x00" * 3
    proto_name = "key_proto" if prefix == "" else prefix + "proto"
    return {prefix + "src": src, prefix + "dst": dst, prefix + "sport": sport,
            prefix + "dport": dport, proto_name: proto, prefix + "key_hex": k.hex()}


# --------------------------------------------------------------------------------------------
# Expected parse() output from scapy's dissection

def ext_len(layer):
    """Length in bytes of a dissected IPv6 extension header."""
    if isinstance(layer, IPv6ExtHdrFragment):
        return 8
    if isinstance(layer, AH):
        return (layer.payloadlen + 2) * 4
    return (layer.len + 1) * 8


def l4_after_ah(layer, nh):
    """scapy leaves what follows AH as Raw: dissect it by AH's next header."""
    rest = bytes(layer.payload)
    return {6: TCP, 17: UDP}.get(nh, Raw)(rest)


def walk_ipv6(ip6):
    """Follows scapy's dissected extension headers after an IPv6 (or IPerror6) layer.

    Returns (headers_len, final_nh, frag, next_layer); frag is None or (offset, m, id).
    Raises Unexpected when the chain breaks the parser's rules (those cases are built as
    malformed on purpose and carry their own expectation).
    """
    nh, total, frag, layer, count = ip6.nh, 0, None, ip6.payload, 0
    while nh in EXT_TYPES:
        if count == MAX_EXT or (nh == 0 and count > 0):
            raise Unexpected("chain the parser refuses")
        count += 1
        if isinstance(layer, IPv6ExtHdrFragment):
            frag = (layer.offset, layer.m, layer.id)
            total += 8
            if layer.offset != 0:
                return total, layer.nh, frag, None
            nh, layer = layer.nh, layer.payload
        elif isinstance(layer, AH):
            total += ext_len(layer)
            nh, layer = layer.nh, l4_after_ah(layer, layer.nh)
        elif isinstance(layer, (IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, IPv6ExtHdrDestOpt)):
            total += ext_len(layer)
            nh, layer = layer.nh, layer.payload
        else:
            raise Unexpected("scapy did not dissect extension header %d" % nh)
    return total, nh, frag, layer


def quote_v4(quote):
    """Expected inner tuple of an ICMPv4 error quoting `quote`, or None (has_inner false)."""
    if len(quote) < 20 or quote[0] >> 4 != 4:
        return None
    ihl = (quote[0] & 15) * 4
    if ihl < 20 or len(quote) < ihl:
        return None
    ip = IP(quote)
    sport = dport = 0
    if ip.frag == 0 and ip.proto in (6, 17):
        l4 = quote[ihl:]
        if len(l4) < 8:  # RFC 792: the IP header and 64 bits of data
            return None
        hdr = (TCP if ip.proto == 6 else UDP)(l4 + b"\x00" * 20)
        sport, dport = hdr.sport, hdr.dport
    return ip.src, ip.dst, sport, dport, ip.proto


def ipv6_chain_end(data, off, nh):
    """Byte-level walk of a possibly cut chain: (end, nh, non_first) or None."""
    count, has_frag = 0, False
    while nh in EXT_TYPES:
        if count == MAX_EXT or (nh == 0 and count > 0) or len(data) < off + 8:
            return None
        count += 1
        nxt = data[off]
        if nh == 44:
            if has_frag:
                return None
            has_frag = True
            if struct.unpack(">H", data[off + 2:off + 4])[0] >> 3:
                return off + 8, nxt, True
            hlen = 8
        elif nh == 51:
            hlen = (data[off + 1] + 2) * 4
        else:
            hlen = (data[off + 1] + 1) * 8
        if len(data) < off + hlen:
            return None
        off, nh = off + hlen, nxt
    return off, nh, False


def quote_v6(quote):
    """Expected inner tuple of an ICMPv6 error quoting `quote`, or None."""
    if len(quote) < 40 or quote[0] >> 4 != 6:
        return None
    walked = ipv6_chain_end(quote, 40, quote[6])
    if walked is None:
        return None
    end, nh, non_first = walked
    ip6 = IPv6(quote[:40])
    sport = dport = 0
    if not non_first and nh in (6, 17):
        l4 = quote[end:]
        if len(l4) < 8:  # RFC 792: the IP header and 64 bits of data
            return None
        hdr = (TCP if nh == 6 else UDP)(l4 + b"\x00" * 20)
        sport, dport = hdr.sport, hdr.dport
    return ip6.src, ip6.dst, sport, dport, nh


def has_rh0(ip6, hdrs):
    """A type-0 routing header with segments left > 0 in the first `hdrs` bytes of the chain
    (RFC 5095): the parser drops the packet."""
    layer, seen = ip6.payload, 0
    while seen < hdrs and isinstance(layer, (IPv6ExtHdrHopByHop, IPv6ExtHdrRouting,
                                             IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, AH)):
        if isinstance(layer, IPv6ExtHdrRouting) and layer.type == 0 and layer.segleft > 0:
            return True
        seen += ext_len(layer)
        layer = l4_after_ah(layer, layer.nh) if isinstance(layer, AH) else layer.payload
    return False


def expect_ok(frame):
    """Full expected output for a frame that parse() accepts (Ok or NotIp)."""
    e = dict(DEFAULTS)
    d = Ether(frame)
    if isinstance(d, Dot3):  # scapy's name for a frame whose EtherType field is a length
        l2, ethertype, layer = 14, d.len, d.payload
    else:
        l2, ethertype, layer = 14, d.type, d.payload
    if isinstance(layer, Dot1Q):
        e.update(has_vlan=True, vlan_tci=layer.prio << 13 | layer.id << 12 | layer.vlan)
        l2, ethertype, layer = 18, layer.type, layer.payload
    e.update(l2_len=l2, ethertype=ethertype)
    if ethertype not in (0x0800, 0x86DD):
        e["status"], e["reason"] = "not_ip", None
        return e
    e["status"], e["reason"] = "ok", None

    if ethertype == 0x0800:
        ip = layer
        if not isinstance(ip, IP):
            raise Unexpected("no IPv4 layer")
        mf, frag = "MF" in ip.flags, ip.frag
        e.update(l3_len=ip.ihl * 4, ip_total_len=ip.len, tos=ip.tos, ttl=ip.ttl,
                 df="DF" in ip.flags, frag_id=ip.id, proto=ip.proto, more_fragments=mf,
                 frag_offset=frag, is_fragment=mf or frag != 0,
                 first_fragment=mf and frag == 0)
        src, dst, proto, l4 = ip.src, ip.dst, ip.proto, (None if frag else ip.payload)
        is_v6 = False
        # RFC 791 3.2: non-last fragments carry 8n bytes; RFC 1858 3.4: no TCP at offset 1.
        data = ip.len - ip.ihl * 4
        if (mf and data % 8) or (frag == 1 and proto == 6):
            return expect_drop("bad_ipv4_fragment")
    else:
        ip6 = layer
        if not isinstance(ip6, IPv6):
            raise Unexpected("no IPv6 layer")
        hdrs, proto, frag, l4 = walk_ipv6(ip6)
        if has_rh0(ip6, hdrs):
            return expect_drop("ipv6_rh0")
        e.update(is_v6=True, l3_len=40 + hdrs, ip_total_len=40 + ip6.plen, tos=ip6.tc,
                 ttl=ip6.hlim, flow_label=ip6.fl, proto=proto)
        if frag is not None:
            offset, m, ident = frag
            e.update(frag_id=ident, frag_offset=offset, more_fragments=bool(m),
                     is_fragment=bool(m) or offset != 0, first_fragment=bool(m) and offset == 0)
        src, dst, is_v6 = ip6.src, ip6.dst, True
    e["l4_offset"] = l2 + e["l3_len"]
    end = l2 + e["ip_total_len"]
    sport = dport = 0

    if l4 is not None and proto == 17:
        # RFC 768: the UDP length is the IP payload; a first fragment's covers more.
        ulen, carried = l4.len, end - e["l4_offset"]
        if ulen < 8 or (ulen <= carried if e["is_fragment"] else ulen != carried):
            return expect_drop("bad_udp_length")
    if l4 is not None:
        if proto == 6:
            sport, dport, e["tcp_flags"] = l4.sport, l4.dport, int(l4.flags)
        elif proto == 17:
            sport, dport = l4.sport, l4.dport
        elif proto == (58 if is_v6 else 1):
            if not any(f.name == "type" for f in l4.fields_desc):
                # scapy fell back to Raw on a message cut short: take the generic header.
                hdr = frame[e["l4_offset"]:end] + b"\x00" * 40  # room for any type's fields
                l4 = (ICMPv6Unknown if is_v6 else ICMP)(hdr)
            e.update(icmp_type=l4.type, icmp_code=l4.code)
            if l4.type in (ICMP6_ERRORS if is_v6 else ICMP4_ERRORS):
                e["icmp_is_error"] = True
                inner_off = e["l4_offset"] + 8
                quote = frame[inner_off:end]
                inner = quote_v6(quote) if is_v6 else quote_v4(quote)
                if inner is not None:
                    e.update(has_inner=True, inner_l3_offset=inner_off)
                    e.update(key_fields("inner_", *inner))
                    isrc, idst, isport, idport, iproto = inner
                    e.update(key_fields("swapped_", idst, isrc, idport, isport, iproto))
    e.update(key_fields("", src, dst, sport, dport, proto))
    return e


def expect_drop(reason):
    return {"status": "drop", "reason": reason}


def expect_raw_cut(frame, n):
    """A valid frame cut to n bytes, IP length fields untouched."""
    full = expect_ok(frame)
    l2, total = full["l2_len"], full["l2_len"] + full["ip_total_len"]
    if n < 14:
        return expect_drop("truncated_ethernet")
    if full["has_vlan"] and n < 18:
        return expect_drop("truncated_vlan")
    if full["status"] == "not_ip":
        return expect_ok(frame[:n])
    if not full["is_v6"]:
        if n < l2 + 20:
            return expect_drop("truncated_ipv4")
        if n < l2 + full["l3_len"]:
            return expect_drop("bad_ipv4_ihl")
        if n < total:
            return expect_drop("bad_ipv4_total_length")
    else:
        if n < l2 + 40:
            return expect_drop("truncated_ipv6")
        if n < total:
            return expect_drop("bad_ipv6_payload_length")
    return expect_ok(frame[:n])  # only padding was cut


def consistent_cut(frame, n):
    """Cuts an unfragmented IP frame to n bytes and rewrites its IP length to match."""
    full = expect_ok(frame)
    l2 = full["l2_len"]
    b = bytearray(frame[:n])
    if full["is_v6"]:
        struct.pack_into(">H", b, l2 + 4, n - l2 - 40)
    else:
        struct.pack_into(">H", b, l2 + 2, n - l2)
    return bytes(b)


def expect_consistent_cut(frame, n):
    full = expect_ok(frame)
    cut = consistent_cut(frame, n)
    l4 = full["l4_offset"]
    if full["is_v6"] and n < l4:
        return expect_drop("truncated_ipv6_ext_header")
    left = n - l4
    proto = full["proto"]
    if proto == 6:
        dataofs = frame[l4 + 12] >> 4
        if left < 20:
            return expect_drop("truncated_l4")
        if left < dataofs * 4:
            return expect_drop("bad_tcp_data_offset")
    elif proto == 17 and left < 8:
        return expect_drop("truncated_l4")
    elif proto == (58 if full["is_v6"] else 1) and left < 8:
        return expect_drop("truncated_icmp")
    return expect_ok(cut)


# --------------------------------------------------------------------------------------------
# Frame generators

class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.cases = []  # (name, frame bytes, expected dict)

    # random values
    def v4(self):
        return socket.inet_ntop(socket.AF_INET, self.r.getrandbits(32).to_bytes(4, "big"))

    def v6(self):
        return socket.inet_ntop(socket.AF_INET6, self.r.getrandbits(128).to_bytes(16, "big"))

    def port(self):
        return self.r.randint(0, 65535)

    def data(self, lo, hi):
        return bytes(self.r.getrandbits(8) for _ in range(self.r.randint(lo, hi)))

    def mac(self):
        return "02:%02x:%02x:%02x:%02x:%02x" % tuple(self.r.getrandbits(8) for _ in range(5))

    def l2(self, vlan=None):
        eth = Ether(src=self.mac(), dst=self.mac())
        if vlan is None:
            vlan = self.r.random() < 0.4
        if vlan:
            return eth / Dot1Q(prio=self.r.randint(0, 7), id=self.r.randint(0, 1),
                               vlan=self.r.randint(0, 4095))
        return eth

    def v4_options(self):
        return self.r.choice([
            [], [], [IPOption_NOP()] * 4, [IPOption(b"\x94\x04\x00\x00")],
            [IPOption_RR(routers=[self.v4() for _ in range(self.r.randint(1, 8))])],
            [IPOption_Timestamp(flg=0, timestamp=[1, 2, 3])],
        ])

    def ip4(self, **kw):
        kw.setdefault("src", self.v4())
        kw.setdefault("dst", self.v4())
        kw.setdefault("tos", self.r.getrandbits(8))
        kw.setdefault("ttl", self.r.randint(1, 255))
        kw.setdefault("id", self.r.getrandbits(16))
        kw.setdefault("flags", self.r.choice(["", "DF"]))
        kw.setdefault("options", self.v4_options())
        return IP(**kw)

    def ip6(self, **kw):
        kw.setdefault("src", self.v6())
        kw.setdefault("dst", self.v6())
        kw.setdefault("tc", self.r.getrandbits(8))
        kw.setdefault("fl", self.r.getrandbits(20))
        kw.setdefault("hlim", self.r.randint(1, 255))
        return IPv6(**kw)

    def l4(self, v6=False):
        kind = self.r.choice(["tcp", "tcp", "udp", "udp", "other"])
        if kind == "tcp":
            opts = self.r.choice([[], [("MSS", 1460)], [("MSS", 1400), ("NOP", None),
                                                        ("WScale", 7), ("SAckOK", b"")]])
            return TCP(sport=self.port(), dport=self.port(), flags=self.r.getrandbits(8),
                       seq=self.r.getrandbits(32), options=opts) / Raw(self.data(0, 120))
        if kind == "udp":
            return UDP(sport=self.port(), dport=self.port()) / Raw(self.data(0, 120))
        return None  # caller sets a protocol without ports

    def ext_chain(self, allow_frag=False):
        chain = []
        if self.r.random() < 0.3:
            pad = PadN(optdata=b"\x00" * self.r.choice([4, 12]))
            chain.append(IPv6ExtHdrHopByHop(options=[pad]))
        for _ in range(self.r.randint(0, 3)):
            c = self.r.choice(["rt", "dst", "dst2"] + (["frag"] if allow_frag else []))
            if c == "rt":
                hops = [self.v6() for _ in range(self.r.randint(0, 3))]
                chain.append(IPv6ExtHdrRouting(addresses=hops))
            elif c == "frag":
                chain.append(IPv6ExtHdrFragment(offset=0, m=0, id=self.r.getrandbits(32)))
                allow_frag = False
            else:
                pad = PadN(optdata=b"\x00" * self.r.randint(0, 20))
                chain.append(IPv6ExtHdrDestOpt(options=[pad]))
        return chain

    def add(self, name, frame, expect=None):
        if expect is None:
            expect = expect_ok(frame)
        self.cases.append((name, frame, expect))

    # families of cases
    def ipv4_l4(self, n):
        for i in range(n):
            l4 = self.l4()
            if l4 is None:
                p = self.l2() / self.ip4(proto=self.r.choice([47, 50, 132])) / Raw(self.data(0, 60))
            else:
                p = self.l2() / self.ip4() / l4
            frame = bytes(p)
            if self.r.random() < 0.3:  # Ethernet padding after the datagram
                frame += b"\x00" * self.r.randint(1, 30)
            self.add("ipv4-l4-%d" % i, frame)

    def ipv6_l4(self, n):
        for i in range(n):
            chain = self.ext_chain(allow_frag=True)
            l4 = self.l4(v6=True)
            p = self.l2() / self.ip6()
            for h in chain:
                p = p / h
            if l4 is None:
                p = p / IPv6ExtHdrDestOpt(nh=self.r.choice([50, 59, 132])) / Raw(self.data(0, 40))
            else:
                p = p / l4
            frame = bytes(p)
            if self.r.random() < 0.2:
                frame += b"\x00" * self.r.randint(1, 20)
            self.add("ipv6-l4-%d" % i, frame)

    def ipv6_ah(self, n):
        for i in range(n):
            tcp = self.r.random() < 0.5
            l4 = (TCP(sport=self.port(), dport=self.port()) if tcp
                  else UDP(sport=self.port(), dport=self.port()))
            ah = AH(nh=6 if tcp else 17, payloadlen=4, spi=self.r.getrandbits(32),
                    seq=self.r.getrandbits(32), icv=b"\x00" * 12)
            p = self.l2() / self.ip6(nh=51) / ah / l4 / Raw(self.data(0, 30))
            self.add("ipv6-ah-%d" % i, bytes(p))

    def fragments(self, n):
        for i in range(n):
            # IPv4 first fragment (ports), later fragment (no ports).
            # Padded to 8n bytes, as every fragment but the last (RFC 791 3.2).
            l4 = self.l4() or UDP()
            proto = 6 if isinstance(l4, TCP) else 17
            l4 = bytes(l4)
            l4 += b"\x00" * (-len(l4) % 8)
            p = self.l2() / self.ip4(flags="MF", frag=0, proto=proto) / Raw(l4)
            self.add("ipv4-frag-first-%d" % i, bytes(p))
            off = self.r.randint(1, 8000)
            body = self.data(1, min(200, 65535 - off * 8))
            if len(body) >= 8:
                body = body[:len(body) // 8 * 8]
            p = self.l2() / self.ip4(flags=self.r.choice(["MF", ""]), frag=off,
                                     proto=self.r.choice([6, 17, 1])) / Raw(body)
            self.add("ipv4-frag-later-%d" % i, bytes(p))
            # IPv6 first fragment: the fragmentable part of a non-last fragment is 8n bytes.
            chain = self.ext_chain()
            l4 = (UDP(sport=self.port(), dport=self.port()) if self.r.random() < 0.5
                  else TCP(sport=self.port(), dport=self.port()))
            pay = self.data(0, 100)
            pay += b"\x00" * ((-len(bytes(l4)) - len(pay)) % 8)
            p = self.l2() / self.ip6()
            for h in chain:
                p = p / h
            p = p / IPv6ExtHdrFragment(offset=0, m=1, id=self.r.getrandbits(32)) / l4 / Raw(pay)
            self.add("ipv6-frag-first-%d" % i, bytes(p))
            off = self.r.randint(1, 8000)
            m = self.r.random() < 0.5
            body = self.data(8, min(200, 65535 - off * 8))
            if m:
                body = body[:len(body) // 8 * 8]
            fh = IPv6ExtHdrFragment(offset=off, m=int(m), nh=self.r.choice([6, 17, 58]),
                                    id=self.r.getrandbits(32))
            p = self.l2() / self.ip6() / fh / Raw(body)
            self.add("ipv6-frag-later-%d" % i, bytes(p))
            # Atomic fragment: a whole packet.
            fh = IPv6ExtHdrFragment(offset=0, m=0, id=self.r.getrandbits(32))
            p = (self.l2() / self.ip6() / fh / UDP(sport=self.port(), dport=self.port())
                 / Raw(self.data(0, 20)))
            self.add("ipv6-frag-atomic-%d" % i, bytes(p))

    def echo(self, n):
        for i in range(n):
            icmp = ICMP(type=self.r.choice([0, 8]), id=self.port(), seq=self.port())
            p = self.l2() / self.ip4() / icmp / Raw(self.data(0, 64))
            self.add("icmp-echo-%d" % i, bytes(p))
            cls = self.r.choice([ICMPv6EchoRequest, ICMPv6EchoReply])
            p = self.l2() / self.ip6() / cls(id=self.port(), seq=self.port(), data=self.data(0, 64))
            self.add("icmpv6-echo-%d" % i, bytes(p))
        p = self.l2() / self.ip4() / ICMP(type=13) / Raw(self.data(12, 12))
        self.add("icmp-timestamp", bytes(p))
        p = self.l2() / self.ip6() / ICMPv6ND_NS(tgt=self.v6())
        self.add("icmpv6-ns", bytes(p))

    def quoted_v4(self):
        """An original packet as the VIP sent it, for quoting in an ICMPv4 error."""
        kind = self.r.choice(["tcp", "udp", "udp", "tcp", "echo", "later-frag"])
        ip = self.ip4(options=self.r.choice([[], [], [IPOption_NOP()] * 4,
                                              [IPOption_RR(routers=[self.v4()])]]))
        if kind == "tcp":
            return ip / TCP(sport=self.port(), dport=self.port()) / Raw(self.data(0, 40))
        if kind == "udp":
            return ip / UDP(sport=self.port(), dport=self.port()) / Raw(self.data(0, 40))
        if kind == "echo":
            return ip / ICMP(type=0, id=self.port()) / Raw(self.data(0, 20))
        ip.frag, ip.proto = self.r.randint(1, 1000), 17
        return ip / Raw(self.data(8, 30))

    def quoted_v6(self):
        ip = self.ip6()
        for h in self.ext_chain():
            ip = ip / h
        if self.r.random() < 0.15:
            fh = IPv6ExtHdrFragment(offset=self.r.randint(1, 500), m=1, nh=17)
            return ip / fh / Raw(self.data(8, 24))
        if self.r.random() < 0.5:
            return ip / TCP(sport=self.port(), dport=self.port()) / Raw(self.data(0, 40))
        return ip / UDP(sport=self.port(), dport=self.port()) / Raw(self.data(0, 40))

    def quote_len(self, full, header_len):
        """Full quote, or cut: right after the ports, inside them, inside the IP header."""
        return self.r.choice([
            len(full), len(full), len(full), min(len(full), header_len + 8),
            min(len(full), header_len + 4), min(len(full), header_len + 3),
            min(len(full), header_len - 1), self.r.randint(0, len(full)),
        ])

    def icmp_errors(self, n):
        for i in range(n):
            inner = self.quoted_v4()
            full = bytes(inner)
            quote = full[:self.quote_len(full, (full[0] & 15) * 4)]
            t = self.r.choice(ICMP4_ERRORS)
            code = {3: self.r.choice([0, 1, 3, 4]), 11: self.r.choice([0, 1]), 12: 0}[t]
            p = self.l2() / self.ip4(flags="") / ICMP(type=t, code=code) / Raw(quote)
            self.add("icmp-error-%d" % i, bytes(p))

            inner = self.quoted_v6()
            full = bytes(inner)
            walked = ipv6_chain_end(full, 40, full[6])
            quote = full[:self.quote_len(full, walked[0] if walked else 40)]
            cls = self.r.choice([ICMPv6DestUnreach, ICMPv6PacketTooBig, ICMPv6TimeExceeded,
                                 ICMPv6ParamProblem])
            p = self.l2() / self.ip6() / cls() / Raw(quote)
            self.add("icmpv6-error-%d" % i, bytes(p))
        # Each family quoting the other family's packet: no inner tuple.
        p = self.l2() / self.ip4() / ICMP(type=3, code=4) / Raw(bytes(self.quoted_v6())[:48])
        self.add("icmp-error-quoting-ipv6", bytes(p))
        p = self.l2() / self.ip6() / ICMPv6PacketTooBig() / Raw(bytes(self.quoted_v4())[:48])
        self.add("icmpv6-error-quoting-ipv4", bytes(p))
        p = self.l2() / self.ip4() / ICMP(type=5, code=1) / Raw(bytes(self.quoted_v4())[:28])
        self.add("icmp-redirect-is-not-an-error", bytes(p))

    def non_ip(self):
        self.add("arp", bytes(self.l2(False) / ARP(psrc=self.v4(), pdst=self.v4())))
        self.add("arp-vlan", bytes(self.l2(True) / ARP(psrc=self.v4(), pdst=self.v4())))
        lldp = Ether(dst="01:80:c2:00:00:0e", type=0x88CC) / Raw(self.data(20, 40))
        self.add("lldp", bytes(lldp))
        self.add("mpls", bytes(Ether(dst=LB_MAC, type=0x8847) / Raw(self.data(40, 60))))
        self.add("ieee8023", bytes(Ether(dst=LB_MAC, type=0x0026) / Raw(self.data(38, 38))))
        self.add("ethernet-only", bytes(Ether(dst=LB_MAC, type=0x88B5)))

    def cuts(self, n):
        valid = [c for c in self.cases if c[2].get("status") in ("ok", "not_ip")]
        for i in range(n):
            name, frame, _ = self.r.choice(valid)
            cut = self.r.randint(0, len(frame) - 1)
            self.add("raw-cut-%d-of-%s@%d" % (i, name, cut), frame[:cut],
                     expect_raw_cut(frame, cut))
        whole = [c for c in valid if c[2]["status"] == "ok" and not c[2]["is_fragment"]]
        for i in range(n):
            name, frame, e = self.r.choice(whole)
            end = e["l2_len"] + e["ip_total_len"]
            lo = e["l2_len"] + (40 if e["is_v6"] else e["l3_len"])
            if lo >= end:
                continue
            cut = self.r.randint(lo, end - 1)
            self.add("consistent-cut-%d-of-%s@%d" % (i, name, cut), consistent_cut(frame, cut),
                     expect_consistent_cut(frame, cut))

    def malformed(self):
        r = self

        def bad(name, packet, reason):
            self.add(name, bytes(packet), expect_drop(reason))

        def v4(**kw):
            return r.l2() / r.ip4(**kw)

        def v6(**kw):
            return r.l2() / r.ip6(**kw)

        def tcp(**kw):
            return TCP(sport=r.port(), dport=r.port(), **kw)

        def chain(n):
            p = v6()
            for _ in range(n):
                p = p / IPv6ExtHdrDestOpt()
            return p / UDP(sport=r.port(), dport=r.port())

        eth = Ether(dst=LB_MAC)
        frag = IPv6ExtHdrFragment
        bad("bad-ipv4-version", v4(version=6) / tcp(), "bad_ipv4_version")
        bad("bad-ipv4-ihl-below-five", v4(ihl=4, options=[]) / tcp(), "bad_ipv4_ihl")
        bad("bad-ipv4-ihl-past-frame", v4(ihl=15, options=[]) / tcp(), "bad_ipv4_ihl")
        bad("bad-ipv4-total-below-ihl", v4(len=19, options=[]) / tcp(), "bad_ipv4_total_length")
        bad("bad-ipv4-total-past-frame", v4(len=1000) / tcp(), "bad_ipv4_total_length")
        bad("bad-ipv4-fragment-past-64k", v4(frag=8190, flags="", proto=17) / Raw(b"x" * 64),
            "bad_ipv4_fragment")
        bad("bad-ipv4-empty-non-last-fragment", v4(frag=8, flags="MF", proto=17),
            "bad_ipv4_fragment")
        bad("bad-tcp-data-offset-below-five", v4() / tcp(dataofs=4), "bad_tcp_data_offset")
        bad("bad-tcp-data-offset-past", v4() / tcp(dataofs=15) / Raw(b"x" * 8),
            "bad_tcp_data_offset")
        bad("stacked-vlan", eth / Dot1Q(vlan=1) / Dot1Q(vlan=2) / IP() / UDP(), "stacked_vlan")
        bad("stacked-vlan-88a8", eth / Dot1Q(vlan=1, type=0x88A8) / Raw(b"\x00" * 30),
            "stacked_vlan")
        bad("bad-ipv6-version", v6(version=4) / UDP(), "bad_ipv6_version")
        bad("bad-ipv6-payload-length", v6(plen=200) / UDP(), "bad_ipv6_payload_length")
        bad("ipv6-chain-too-long", chain(MAX_EXT + 1), "ipv6_ext_chain_too_long")
        self.add("ipv6-chain-at-bound", bytes(chain(MAX_EXT)))
        # No dedicated reason: counted with the chains the walk refuses.
        bad("ipv6-hop-by-hop-not-first", v6() / IPv6ExtHdrDestOpt() / IPv6ExtHdrHopByHop() / UDP(),
            "bad_ipv6_ext_header")
        bad("ipv6-two-fragment-headers", v6() / frag(m=1) / frag(m=1) / UDP(), "bad_ipv6_fragment")
        bad("ipv6-fragment-not-8-byte-multiple", v6() / frag(m=1) / UDP() / Raw(b"x" * 5),
            "bad_ipv6_fragment")
        bad("ipv6-fragment-past-64k", v6() / frag(offset=8191, nh=17) / Raw(b"x" * 16),
            "bad_ipv6_fragment")
        self.add("empty-frame", b"", expect_drop("truncated_ethernet"))


def build_cases(seed):
    g = Gen(seed)
    g.ipv4_l4(90)
    g.ipv6_l4(70)
    g.ipv6_ah(8)
    g.fragments(20)
    g.echo(10)
    g.icmp_errors(45)
    g.non_ip()
    g.malformed()
    g.cuts(70)
    return g.cases


# --------------------------------------------------------------------------------------------

def compare(expect, got):
    diffs = []
    for field, want in expect.items():
        have = got.get(field, "<missing>")
        if field in ADDRESS_FIELDS and isinstance(have, str) and isinstance(want, str):
            if addr16(have) == addr16(want):
                continue
        if have != want:
            diffs.append("  %-16s scapy/rules: %-40r parser: %r" % (field, want, have))
    return diffs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("packet_tool")
    ap.add_argument("--seed", type=int, default=20240611)
    args = ap.parse_args()

    cases = build_cases(args.seed)
    stdin = "".join(frame.hex() + "\n" for _, frame, _ in cases)
    run = subprocess.run([args.packet_tool, "parse"], input=stdin, capture_output=True,
                         text=True, check=False)
    if run.returncode != 0:
        print("packet_tool failed (exit %d): %s" % (run.returncode, run.stderr), file=sys.stderr)
        return 1
    lines = run.stdout.splitlines()
    if len(lines) != len(cases):
        print("packet_tool printed %d lines for %d frames" % (len(lines), len(cases)),
              file=sys.stderr)
        return 1

    failures = 0
    counts = {}
    for (name, frame, expect), line in zip(cases, lines):
        got = json.loads(line)
        verdict = got.get("status") if got.get("status") != "drop" else got.get("reason")
        counts[verdict] = counts.get(verdict, 0) + 1
        diffs = compare(expect, got)
        if diffs:
            failures += 1
            print("MISMATCH %s\n  frame %s" % (name, frame.hex()))
            print("\n".join(diffs))
    summary = ", ".join("%s %d" % kv for kv in sorted(counts.items()))
    print("scapy-parse: %d frames (%s); %d mismatched" % (len(cases), summary, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
