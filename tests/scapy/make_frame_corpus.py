#!/usr/bin/python3
"""Writes the frame corpus, tests/corpus/frames.json, and its frames as fuzz seeds.

Several hundred hand-made frames, hostile, malformed and legal, each addressed to the lab
state (testing/support/pipeline_harness.h lab_state(): VIPs 192.0.2.10 tcp/80 and udp/*,
192.0.2.20 tcp/80 with echo off, 192.0.2.30 tcp/80 without a usable backend,
[2001:db8::10]:443/tcp, [2001:db8::20]:53/udp; LB MAC 02:00:00:00:00:10, egress MTU 1500).
Every entry records the verdict (forward, reply, pass, drop) and drop reason that the rules
of docs/packet-core.md ("Validation") and dataplane/packet/parse.h give it, and the RFC
section the rule rests on ("—" for steer policy). The expectations are written here by hand,
one per frame; nothing in this script runs steer.

The JSON file is the source of truth for three checks: the packet core per frame
(tests/unit/dataplane/packet/frame_corpus_test.cc), the real dataplane on net_pcap
(tests/dataplane/pcap_test.cc) and scapy's dissection (tests/scapy/corpus_check.py).

Deterministic: no randomness, the same scapy version writes the same bytes.

Usage: make_frame_corpus.py [--out FILE] [--no-seeds]
Also writes every frame up to 9216 bytes as corpus-<name>.bin into
tests/fuzz/corpus/parse_fuzz/ and tests/fuzz/corpus/pipeline_fuzz/ (both targets take a bare
Ethernet frame), replacing the corpus-*.bin files written before.
"""

import argparse
import json
import os
import struct

from scapy.config import conf
from scapy.layers.inet import (ICMP, IP, TCP, UDP, IPOption_EOL, IPOption_LSRR, IPOption_NOP,
                               IPOption_Router_Alert, IPOption_RR, IPOption_SSRR,
                               IPOption_Timestamp)
from scapy.layers.inet6 import (ICMPv6DestUnreach, ICMPv6EchoReply, ICMPv6EchoRequest,
                                ICMPv6MLQuery, ICMPv6MLReport, ICMPv6ND_NA, ICMPv6ND_NS,
                                ICMPv6ND_RA, ICMPv6ND_Redirect, ICMPv6ND_RS, ICMPv6PacketTooBig,
                                ICMPv6ParamProblem, ICMPv6TimeExceeded, ICMPv6Unknown, IPv6,
                                IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                                IPv6ExtHdrRouting)
from scapy.layers.ipsec import AH
from scapy.layers.l2 import ARP, LLC, STP, Dot1Q, Dot3, Ether
from scapy.packet import Raw

conf.verb = 0

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DEFAULT_OUT = os.path.join(ROOT, "tests", "corpus", "frames.json")
SEED_DIRS = [os.path.join(ROOT, "tests", "fuzz", "corpus", d)
             for d in ("parse_fuzz", "pipeline_fuzz")]
SEED_MAX = 9216  # pipeline_fuzz ignores longer inputs

LB_MAC, CLIENT_MAC, ROUTER_MAC = "02:00:00:00:00:10", "02:00:00:00:00:01", "02:00:00:00:00:fe"
CLIENT, CLIENT6 = "198.51.100.7", "2001:db8:c::7"
ROUTER, ROUTER6 = "198.51.100.254", "2001:db8:c::fe"
VIP, VIP20, VIP30 = "192.0.2.10", "192.0.2.20", "192.0.2.30"
VIP6, VIP6U = "2001:db8::10", "2001:db8::20"

POLICY = "—"


class Corpus:
    def __init__(self):
        self.entries = []
        self.names = set()

    def add(self, name, description, rfc, verdict, frame, reason=None):
        assert name not in self.names, name
        assert verdict in ("forward", "reply", "pass", "drop"), verdict
        assert (reason is not None) == (verdict == "drop"), name
        self.names.add(name)
        data = frame if isinstance(frame, (bytes, bytearray)) else bytes(frame)
        self.entries.append({"name": name, "description": description, "rfc": rfc,
                             "verdict": verdict, "reason": reason, "hex": bytes(data).hex()})

    def fwd(self, name, description, rfc, frame):
        self.add(name, description, rfc, "forward", frame)

    def reply(self, name, description, rfc, frame):
        self.add(name, description, rfc, "reply", frame)

    def passed(self, name, description, rfc, frame):
        self.add(name, description, rfc, "pass", frame)

    def drop(self, name, description, rfc, reason, frame):
        self.add(name, description, rfc, "drop", frame, reason)


# --------------------------------------------------------------------------------------------
# Building blocks

def eth(dst=LB_MAC, src=CLIENT_MAC, vlan=None):
    e = Ether(dst=dst, src=src)
    return e / Dot1Q(vlan=vlan) if vlan is not None else e


def v4(src=CLIENT, dst=VIP, l2=None, **kw):
    kw.setdefault("flags", "DF")
    kw.setdefault("id", 0x1234)
    return (l2 if l2 is not None else eth()) / IP(src=src, dst=dst, **kw)


def v6(src=CLIENT6, dst=VIP6, l2=None, **kw):
    return (l2 if l2 is not None else eth()) / IPv6(src=src, dst=dst, **kw)


def tcp(sport=40000, dport=80, flags="S", **kw):
    return TCP(sport=sport, dport=dport, flags=flags, seq=1000, ack=0 if "A" not in str(flags)
               else 2000, window=64240, **kw)


def udp(sport=5353, dport=9999, **kw):
    return UDP(sport=sport, dport=dport, **kw)


def pad(frame, size=60):
    b = bytes(frame)
    return b + b"\x00" * max(0, size - len(b))


def patch(frame, off, data):
    b = bytearray(bytes(frame))
    b[off:off + len(data)] = data
    return bytes(b)


def fix_ipv4_checksum(b, l2=14):
    """Recomputes the IPv4 header checksum after a patch (steer does not verify it; scapy
    keeps the frame valid so that only the field under test is wrong)."""
    b = bytearray(b)
    ihl = (b[l2] & 15) * 4
    b[l2 + 10:l2 + 12] = b"\x00\x00"
    s = 0
    for i in range(l2, l2 + ihl - 1, 2):
        s += b[i] << 8 | b[i + 1]
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    b[l2 + 10:l2 + 12] = struct.pack(">H", ~s & 0xffff)
    return bytes(b)


def with_options(frame, options):
    """`frame` (Ethernet, IPv4 without options, ...) with raw option bytes (a multiple of 4)
    inserted after the IPv4 header: IHL and total length follow, the header checksum is
    recomputed. Builds option lists scapy would not write (bad lengths)."""
    b = bytes(frame)
    assert len(options) % 4 == 0
    ip = bytearray(b[14:34])
    ip[0] = 0x40 | (20 + len(options)) // 4
    ip[2:4] = struct.pack(">H", len(b) - 14 + len(options))
    return fix_ipv4_checksum(b[:14] + bytes(ip) + options + b[34:])


def ip4_only(src, dst, proto, payload, **kw):
    """An IPv4 header (no Ethernet) with a raw payload, for quotes and fragments."""
    return bytes(IP(src=src, dst=dst, proto=proto, **kw) / Raw(payload))


def tcp_bytes(sport, dport, flags="A", payload=b""):
    return bytes(TCP(sport=sport, dport=dport, flags=flags, seq=1, ack=1) / Raw(payload))


def udp_hdr(sport, dport, length, csum=0):
    return struct.pack(">HHHH", sport, dport, length, csum)


def quote_v4(payload_kind="tcp", length=None, src=VIP, dst=CLIENT, sport=80, dport=40000,
             options=None):
    """A packet as the VIP's service sent it (VIP → client), for quoting in an ICMP error."""
    ip = IP(src=src, dst=dst, flags="DF", ttl=63, options=options or [])
    if payload_kind == "tcp":
        p = ip / TCP(sport=sport, dport=dport, flags="PA", seq=7, ack=9) / Raw(b"q" * 100)
    elif payload_kind == "udp":
        p = ip / UDP(sport=sport, dport=dport) / Raw(b"q" * 100)
    elif payload_kind == "echo-reply":
        p = ip / ICMP(type=0, id=1, seq=1) / Raw(b"q" * 32)
    else:
        raise ValueError(payload_kind)
    b = bytes(p)
    return b if length is None else b[:length]


def quote_v6(payload_kind="tcp", length=None, src=VIP6, dst=CLIENT6, sport=443, dport=40000,
             ext=()):
    ip = IPv6(src=src, dst=dst, hlim=63)
    for h in ext:
        ip = ip / h
    if payload_kind == "tcp":
        p = ip / TCP(sport=sport, dport=dport, flags="PA", seq=7, ack=9) / Raw(b"q" * 100)
    elif payload_kind == "udp":
        p = ip / UDP(sport=sport, dport=dport) / Raw(b"q" * 100)
    elif payload_kind == "echo-reply":
        p = ip / ICMPv6EchoReply(id=1, seq=1, data=b"q" * 32)
    else:
        raise ValueError(payload_kind)
    b = bytes(p)
    return b if length is None else b[:length]


def icmp4_error(quote, type_=3, code=4, src=ROUTER, dst=VIP, l2=None, **kw):
    icmp = ICMP(type=type_, code=code, **kw)
    if type_ == 3 and code == 4 and "nexthopmtu" not in kw:
        icmp.nexthopmtu = 1400
    return v4(src=src, dst=dst, l2=l2, flags="") / icmp / Raw(quote)


def icmp6_error(quote, cls=ICMPv6PacketTooBig, src=ROUTER6, dst=VIP6, l2=None, **kw):
    return v6(src=src, dst=dst, l2=l2) / cls(**kw) / Raw(quote)


# --------------------------------------------------------------------------------------------
# The corpus, by topic

def legal_forward(c):
    r768, r9293 = "RFC 768", "RFC 9293 3.1"
    c.fwd("v4-tcp-syn", "IPv4 TCP SYN to 192.0.2.10:80: IPIP to its backend", r9293,
          v4() / tcp())
    c.fwd("v4-tcp-ack-payload", "IPv4 TCP ACK with 200 bytes of data to 192.0.2.10:80", r9293,
          v4() / tcp(flags="A") / Raw(b"x" * 200))
    for flags, what in (("SA", "SYN+ACK"), ("FA", "FIN+ACK"), ("R", "RST"), ("RA", "RST+ACK"),
                        ("PA", "PSH+ACK"), ("UA", "URG+ACK"), ("FPA", "FIN+PSH+ACK"),
                        ("SEC", "SYN+ECE+CWR (ECN setup)"), ("AE", "ACK+ECE"),
                        ("FPUA", "FIN+PSH+URG+ACK"), ("SU", "SYN+URG")):
        c.fwd("v4-tcp-flags-%s" % flags.lower(),
              "IPv4 TCP %s to a VIP: a combination stacks send" % what, r9293,
              v4() / tcp(sport=41000, flags=flags))
    c.fwd("v4-tcp-options", "IPv4 TCP SYN with MSS, SACK-permitted, timestamps, window scale "
          "(data offset 10)", "RFC 9293 3.2", v4() / tcp(options=[
              ("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None),
              ("WScale", 7)]))
    c.fwd("v4-tcp-data-offset-exact", "IPv4 TCP, data offset 6 with 4 option bytes, nothing "
          "after them", "RFC 9293 3.1", v4() / tcp(options=[("MSS", 1460)]))
    c.fwd("v4-tcp-syn-with-data", "IPv4 TCP SYN carrying data (TCP Fast Open)", "RFC 7413",
          v4() / tcp(sport=41001) / Raw(b"GET / HTTP/1.1\r\n\r\n"))
    c.fwd("v4-tcp-port-65535", "IPv4 TCP from source port 65535", r9293,
          v4() / tcp(sport=65535))
    c.fwd("v4-tcp-port-1", "IPv4 TCP from source port 1", r9293, v4() / tcp(sport=1))
    c.fwd("v4-udp-gue", "IPv4 UDP to the all-ports UDP VIP 192.0.2.10: GUE", r768,
          v4() / udp() / Raw(b"u" * 40))
    c.fwd("v4-udp-dport-1", "IPv4 UDP to port 1 of the all-ports UDP VIP", r768,
          v4() / udp(dport=1))
    c.fwd("v4-udp-dport-65535", "IPv4 UDP to port 65535 of the all-ports UDP VIP", r768,
          v4() / udp(dport=65535) / Raw(b"u"))
    c.fwd("v4-udp-empty", "IPv4 UDP with no data (length 8 = IP payload)", r768,
          v4() / udp())
    c.fwd("v4-udp-zero-checksum", "IPv4 UDP with checksum 0 (no checksum; legal over IPv4)",
          "RFC 768", v4() / udp(chksum=0) / Raw(b"u" * 10))
    c.fwd("v4-udp-padded", "minimum-size frame: IPv4 UDP with 4 data bytes and Ethernet "
          "padding; UDP length = IP payload, padding ignored", "RFC 768, RFC 894",
          pad(v4(flags="") / udp() / Raw(b"abcd")))
    c.fwd("v4-tcp-syn-padded", "IPv4 TCP SYN (54 bytes) with 6 bytes of Ethernet padding",
          "RFC 894", pad(v4() / tcp(sport=41002)))
    c.fwd("v4-tcp-trailing-garbage", "IPv4 TCP frame with 30 non-zero bytes after the IP "
          "datagram: not IP payload, ignored", "RFC 791 3.1 (total length)",
          bytes(v4() / tcp(sport=41003)) + b"\xab" * 30)
    c.fwd("v4-to-vip20-ipv6-backend", "IPv4 TCP to 192.0.2.20:80: IPv4-in-IPv6", r9293,
          v4(dst=VIP20) / tcp())
    c.fwd("v6-tcp-syn", "IPv6 TCP SYN to [2001:db8::10]:443: IP6IP6", r9293,
          v6() / tcp(dport=443))
    c.fwd("v6-tcp-ack-payload", "IPv6 TCP ACK with data", r9293,
          v6(tc=0x28, fl=0x12345) / tcp(dport=443, flags="PA") / Raw(b"y" * 300))
    c.fwd("v6-udp-gue", "IPv6 UDP to [2001:db8::20]:53: GUE over IPv6", r768,
          v6(dst=VIP6U) / udp(sport=33333, dport=53) / Raw(b"d" * 29))
    c.fwd("v6-udp-trailing-bytes", "IPv6 UDP frame with 8 bytes after the datagram: not "
          "payload, ignored", "RFC 8200 3 (payload length)",
          bytes(v6(dst=VIP6U) / udp(sport=33334, dport=53) / Raw(b"d" * 4)) + b"\x00" * 8)
    c.fwd("v4-dscp-ecn", "IPv4 with DSCP 46 and ECN CE", "RFC 2474, RFC 3168",
          v4(tos=0xbb) / tcp(sport=41004))
    c.fwd("v4-no-df", "IPv4 TCP without DF", "RFC 791 3.1", v4(flags="") / tcp(sport=41005))
    c.fwd("v4-reserved-flag", "IPv4 with the reserved flag bit set: must be zero when sent, "
          "not checked on receipt (steer forwards it unchanged)", "RFC 791 3.1",
          v4(flags="evil+DF") / tcp(sport=41006))
    c.fwd("v4-land", "IPv4 TCP from the VIP's own address to the VIP (land): not a bad source "
          "class; the backend's stack decides", POLICY, v4(src=VIP) / tcp(sport=41007))
    c.fwd("v4-tcp-ttl-255", "IPv4 TCP to 192.0.2.10:80 with TTL 255", r9293,
          v4(ttl=255) / tcp(sport=41008))


def l2_cases(c):
    c.fwd("vlan-v4-tcp", "802.1Q VID 100 IPv4 TCP to a VIP: tag removed, forwarded",
          "IEEE 802.1Q", v4(l2=eth(vlan=100)) / tcp(sport=42000))
    c.fwd("vlan-v6-tcp", "802.1Q VID 7 IPv6 TCP to a VIP", "IEEE 802.1Q",
          v6(l2=eth(vlan=7)) / tcp(dport=443, sport=42001))
    c.fwd("vlan-priority-tag", "802.1Q priority tag (VID 0, PCP 5) IPv4 UDP to a VIP",
          "IEEE 802.1Q", Ether(dst=LB_MAC, src=CLIENT_MAC) / Dot1Q(vlan=0, prio=5) /
          IP(src=CLIENT, dst=VIP) / udp(sport=42002))
    c.fwd("vlan-4095", "802.1Q VID 4095 IPv4 TCP to a VIP (steer does not filter VIDs)",
          "IEEE 802.1Q", v4(l2=eth(vlan=4095)) / tcp(sport=42003))
    c.reply("vlan-v4-echo", "802.1Q-tagged ICMP echo request to a VIP: answered on the tag",
            "RFC 792", v4(l2=eth(vlan=100), flags="") / ICMP(type=8, id=1, seq=1) /
            Raw(b"p" * 16))
    c.drop("vlan-stacked-8100", "two 802.1Q tags (QinQ with 0x8100)", "IEEE 802.1ad",
           "stacked_vlan", Ether(dst=LB_MAC) / Dot1Q(vlan=1) / Dot1Q(vlan=2) /
           IP(src=CLIENT, dst=VIP) / tcp())
    c.drop("vlan-stacked-88a8", "802.1Q tag followed by an 802.1ad S-tag EtherType",
           "IEEE 802.1ad", "stacked_vlan", Ether(dst=LB_MAC) / Dot1Q(vlan=1, type=0x88a8) /
           Raw(b"\x00\x02\x08\x00" + bytes(IP(src=CLIENT, dst=VIP) / tcp())))
    c.drop("vlan-stacked-9100", "802.1Q tag followed by a pre-standard 0x9100 tag",
           "IEEE 802.1ad", "stacked_vlan", Ether(dst=LB_MAC) / Dot1Q(vlan=1, type=0x9100) /
           Raw(b"\x00\x02\x08\x00" + bytes(IP(src=CLIENT, dst=VIP) / tcp())))
    c.passed("qinq-outer-88a8", "802.1ad S-tag as the outer EtherType: not a protocol steer "
             "parses, handed to the kernel untouched", "IEEE 802.1ad",
             Ether(dst=LB_MAC, type=0x88a8) / Raw(b"\x00\x05\x81\x00\x00\x06\x08\x00" +
                                                  bytes(IP(src=CLIENT, dst=VIP) / tcp())))
    for n in (0, 1, 3):
        c.drop("vlan-truncated-%d" % n, "EtherType 0x8100 with %d of the 4 tag bytes" % n,
               "IEEE 802.1Q", "truncated_vlan",
               bytes(Ether(dst=LB_MAC, src=CLIENT_MAC, type=0x8100)) + b"\x00\x64\x08"[:n])
    for n in (1, 6, 12, 13):
        c.drop("eth-truncated-%d" % n, "%d-byte frame: shorter than an Ethernet header" % n,
               "IEEE 802.3", "truncated_ethernet", bytes(eth() / IP())[:n])
    c.passed("eth-header-only-ipx", "Ethernet header alone with EtherType 0x8137 (IPX)",
             "IEEE 802.3", Ether(dst=LB_MAC, type=0x8137))
    # Group destinations carrying a unicast VIP packet.
    rfc = "RFC 1122 3.3.6"
    c.drop("l2-broadcast-v4-tcp", "IPv4 TCP to a VIP in an Ethernet broadcast frame", rfc,
           "l2_group_address", v4(l2=eth(dst="ff:ff:ff:ff:ff:ff")) / tcp())
    c.drop("l2-multicast-v4-udp", "IPv4 UDP to a VIP in an IPv4-multicast MAC frame "
           "(01:00:5e:00:00:01)", rfc, "l2_group_address",
           v4(l2=eth(dst="01:00:5e:00:00:01")) / udp())
    c.drop("l2-multicast-v6-tcp", "IPv6 TCP to a VIP in an IPv6-multicast MAC frame "
           "(33:33:00:00:00:01)", rfc, "l2_group_address",
           v6(l2=eth(dst="33:33:00:00:00:01")) / tcp(dport=443))
    c.drop("l2-group-bit-only", "IPv4 TCP to a VIP, destination MAC 03:00:00:00:00:10 (only "
           "the I/G bit differs from the LB's)", rfc, "l2_group_address",
           v4(l2=eth(dst="03:00:00:00:00:10")) / tcp())
    c.drop("l2-broadcast-echo", "ICMP echo request to a VIP in a broadcast frame", rfc,
           "l2_group_address", v4(l2=eth(dst="ff:ff:ff:ff:ff:ff"), flags="") /
           ICMP(type=8))
    c.drop("l2-broadcast-fragment", "IPv4 later fragment to a VIP in a broadcast frame", rfc,
           "l2_group_address", eth(dst="ff:ff:ff:ff:ff:ff") /
           IP(src=CLIENT, dst=VIP, proto=17, frag=3, id=5) / Raw(b"f" * 16))
    c.drop("l2-broadcast-vlan", "802.1Q-tagged IPv4 TCP to a VIP in a broadcast frame", rfc,
           "l2_group_address", v4(l2=eth(dst="ff:ff:ff:ff:ff:ff", vlan=5)) / tcp())
    c.drop("l2-multicast-icmp-error", "ICMP error about a VIP flow in a multicast frame", rfc,
           "l2_group_address", icmp4_error(quote_v4(), l2=eth(dst="01:00:5e:7f:00:01")))
    c.passed("l2-broadcast-dhcp", "DHCP discover 0.0.0.0:68 → 255.255.255.255:67 in a "
             "broadcast frame: not for a VIP, the kernel's", "RFC 2131 4.1",
             v4(src="0.0.0.0", dst="255.255.255.255", l2=eth(dst="ff:ff:ff:ff:ff:ff"),
                flags="") / udp(sport=68, dport=67) / Raw(b"\x01" * 240))
    c.passed("l2-broadcast-non-vip", "IPv4 UDP to a non-VIP address in a broadcast frame",
             POLICY, v4(dst="198.51.100.255", l2=eth(dst="ff:ff:ff:ff:ff:ff")) /
             udp(dport=137))
    c.passed("l2-multicast-v6-all-nodes", "IPv6 UDP to ff02::1 in a 33:33:00:00:00:01 frame",
             POLICY, v6(src="fe80::1", dst="ff02::1", l2=eth(dst="33:33:00:00:00:01")) /
             udp(sport=521, dport=521))
    # Not IP.
    c.passed("arp-request", "ARP who-has the VIP, broadcast", "RFC 826",
             Ether(dst="ff:ff:ff:ff:ff:ff", src=CLIENT_MAC) /
             ARP(op=1, hwsrc=CLIENT_MAC, psrc=CLIENT, pdst=VIP))
    c.passed("arp-reply", "ARP reply to the LB", "RFC 826",
             pad(Ether(dst=LB_MAC, src=CLIENT_MAC) /
                 ARP(op=2, hwsrc=CLIENT_MAC, psrc=CLIENT, hwdst=LB_MAC, pdst=VIP)))
    c.passed("arp-vlan", "802.1Q-tagged ARP request", "RFC 826",
             Ether(dst="ff:ff:ff:ff:ff:ff", src=CLIENT_MAC) / Dot1Q(vlan=100) /
             ARP(op=1, psrc=CLIENT, pdst=VIP))
    c.passed("lldp", "LLDP frame to 01:80:c2:00:00:0e", "IEEE 802.1AB",
             Ether(dst="01:80:c2:00:00:0e", src=CLIENT_MAC, type=0x88cc) /
             Raw(bytes.fromhex("020704020000000001030302000104") + b"\x00\x00"))
    c.passed("ieee8023-stp", "802.3 length frame with LLC carrying STP", "IEEE 802.3",
             pad(Dot3(dst="01:80:c2:00:00:00", src=CLIENT_MAC) / LLC() / STP()))
    c.passed("ieee8023-length-0x0026", "802.3 frame, length field 38", "IEEE 802.3",
             Ether(dst=LB_MAC, src=CLIENT_MAC, type=0x0026) / Raw(b"\x42" * 38))
    c.passed("mpls", "MPLS unicast frame (0x8847) carrying an IPv4 VIP packet: not parsed",
             POLICY, Ether(dst=LB_MAC, type=0x8847) / Raw(b"\x00\x01\x01\x40" +
                                                          bytes(IP(src=CLIENT, dst=VIP) /
                                                                tcp())))
    c.passed("pppoe-discovery", "PPPoE discovery frame (0x8863)", "RFC 2516",
             pad(Ether(dst="ff:ff:ff:ff:ff:ff", type=0x8863) / Raw(b"\x11\x09\x00\x00\x00\x00")))


def ipv4_header(c):
    r791 = "RFC 791 3.1"
    base = bytes(v4() / tcp())
    for ver in (0, 5, 6, 15):
        c.drop("v4-version-%d" % ver, "EtherType IPv4, version field %d" % ver, r791,
               "bad_ipv4_version", fix_ipv4_checksum(patch(base, 14, bytes([ver << 4 | 5]))))
    for ihl in (0, 4):
        c.drop("v4-ihl-%d" % ihl, "IPv4 IHL %d: below the 20-byte minimum" % ihl, r791,
               "bad_ipv4_ihl", patch(base, 14, bytes([0x40 | ihl])))
    c.drop("v4-ihl-15-past-frame", "IPv4 IHL 15 (60 bytes) in a frame with 40 bytes of IP",
           r791, "bad_ipv4_ihl", patch(base, 14, b"\x4f"))
    c.drop("v4-ihl-6-cut", "IPv4 IHL 6 with the frame ending 3 bytes into the options", r791,
           "bad_ipv4_ihl", patch(base, 14, b"\x46")[:14 + 23])
    c.drop("v4-total-19", "IPv4 total length 19: shorter than the header", r791,
           "bad_ipv4_total_length", fix_ipv4_checksum(patch(base, 16, b"\x00\x13")))
    c.drop("v4-total-0", "IPv4 total length 0 (TSO-style, never on the wire)", r791,
           "bad_ipv4_total_length", fix_ipv4_checksum(patch(base, 16, b"\x00\x00")))
    c.drop("v4-total-below-ihl", "IPv4 IHL 6 (with a NOP option word) and total length 20",
           r791, "bad_ipv4_total_length",
           fix_ipv4_checksum(patch(bytes(v4(options=[IPOption_NOP()] * 4) / tcp()), 16,
                                   b"\x00\x14")))
    c.drop("v4-total-frame-plus-1", "IPv4 total length one byte past the frame", r791,
           "bad_ipv4_total_length", fix_ipv4_checksum(patch(base, 16, b"\x00\x29")))
    c.drop("v4-total-65535", "IPv4 total length 65535 in a 54-byte frame", r791,
           "bad_ipv4_total_length", fix_ipv4_checksum(patch(base, 16, b"\xff\xff")))
    c.passed("v4-total-20-padded", "IPv4 total length 20 (no payload) of protocol 253 to a "
             "VIP address in a padded frame: no VIP of that protocol", "RFC 3692",
             pad(v4(proto=253)))
    c.drop("v4-total-frame-minus-1", "IPv4 total length one byte short of a TCP header: "
           "the TCP header is cut by the datagram, not the frame", r791, "truncated_l4",
           fix_ipv4_checksum(patch(base, 16, b"\x00\x27")))
    for n in (0, 1, 19):
        c.drop("v4-truncated-%d" % n, "EtherType IPv4 with %d bytes of IP header" % n, r791,
               "truncated_ipv4", base[:14 + n])
    c.drop("v4-truncated-vlan", "802.1Q-tagged, EtherType IPv4, 10 bytes of IP header", r791,
           "truncated_ipv4", bytes(v4(l2=eth(vlan=3)) / tcp())[:18 + 10])
    c.drop("v4-ttl-0", "IPv4 TCP to a VIP with TTL 0", "RFC 1122 3.2.1.7, RFC 1812 5.3.1",
           "zero_ttl", v4(ttl=0) / tcp())
    c.drop("v4-ttl-0-udp", "IPv4 UDP to a VIP with TTL 0", "RFC 1122 3.2.1.7", "zero_ttl",
           v4(ttl=0) / udp())
    c.drop("v4-ttl-0-echo", "ICMP echo request to a VIP with TTL 0", "RFC 1122 3.2.1.7",
           "zero_ttl", v4(ttl=0, flags="") / ICMP(type=8))
    c.fwd("v4-ttl-1", "IPv4 TCP to a VIP with TTL 1: delivered, not routed", "RFC 1812 5.3.1",
          v4(ttl=1) / tcp(sport=43000))
    c.passed("v4-ttl-0-not-vip", "IPv4 TTL 0 to a non-VIP address: the kernel's business",
             POLICY, v4(dst="198.51.100.1", ttl=0) / tcp())


def ipv4_options(c):
    r791, r7126 = "RFC 791 3.1", "RFC 7126"
    c.fwd("v4-opt-nop", "IPv4 options: four NOPs", r791,
          v4(options=[IPOption_NOP()] * 4) / tcp(sport=43100))
    c.fwd("v4-opt-eol", "IPv4 options: EOL and padding", r791,
          v4(options=[IPOption_EOL()] * 4) / tcp(sport=43101))
    c.fwd("v4-opt-eol-then-garbage", "IPv4 options: EOL followed by bytes that are not "
          "options (ignored after end of list)", r791,
          with_options(v4() / tcp(sport=43102), b"\x00\xff\x00\x83"))
    c.fwd("v4-opt-rr", "IPv4 record route with three slots", r7126 + " 4.5",
          v4(options=[IPOption_RR(routers=["0.0.0.0"] * 3)]) / tcp(sport=43103))
    c.fwd("v4-opt-ts", "IPv4 timestamp option", r7126 + " 4.11",
          v4(options=[IPOption_Timestamp(flg=0, timestamp=[1, 2])]) / tcp(sport=43104))
    c.fwd("v4-opt-router-alert", "IPv4 router alert", "RFC 2113",
          v4(options=[IPOption_Router_Alert()]) / udp(sport=43105))
    c.fwd("v4-opt-40-bytes", "IPv4 with 40 bytes of options (IHL 15): RR with 9 slots",
          r791, v4(options=[IPOption_RR(routers=["0.0.0.0"] * 9)]) / tcp(sport=43106))
    c.fwd("v4-opt-unknown-type", "IPv4 option of an unassigned type (30) with a valid "
          "length: ignored", "RFC 1122 3.2.1.8",
          with_options(v4() / tcp(sport=43107), b"\x1e\x04\x00\x00"))
    c.drop("v4-opt-lsrr", "IPv4 loose source route", r7126 + " 4.3", "ipv4_source_route",
           v4(options=[IPOption_LSRR(routers=["203.0.113.200"])]) / tcp())
    c.drop("v4-opt-ssrr", "IPv4 strict source route", r7126 + " 4.4", "ipv4_source_route",
           v4(options=[IPOption_SSRR(routers=["203.0.113.200"])]) / tcp())
    c.drop("v4-opt-nop-lsrr", "IPv4 NOP then loose source route", r7126 + " 4.3",
           "ipv4_source_route",
           v4(options=[IPOption_NOP(), IPOption_LSRR(routers=["203.0.113.200"])]) / udp())
    c.drop("v4-opt-rr-then-ssrr", "IPv4 record route then strict source route",
           r7126 + " 4.4", "ipv4_source_route",
           v4(options=[IPOption_RR(routers=["0.0.0.0"]), IPOption_SSRR(routers=[CLIENT])]) /
           tcp())
    c.drop("v4-opt-lsrr-echo", "ICMP echo request to a VIP with a loose source route",
           r7126 + " 4.3", "ipv4_source_route",
           v4(flags="", options=[IPOption_LSRR(routers=["203.0.113.200"])]) / ICMP(type=8))
    c.drop("v4-opt-lsrr-fragment", "later fragment to a VIP with a loose source route (copied "
           "into every fragment)", r7126 + " 4.3", "ipv4_source_route",
           eth() / IP(src=CLIENT, dst=VIP, proto=17, frag=10, id=9,
                      options=[IPOption_LSRR(routers=["203.0.113.200"])]) / Raw(b"f" * 16))
    c.passed("v4-opt-lsrr-not-vip", "loose source route to a non-VIP address: the kernel "
             "applies its own policy", POLICY,
             v4(dst="198.51.100.1", options=[IPOption_LSRR(routers=["203.0.113.200"])]) /
             tcp())
    # Malformed option lists: the list cannot be walked, the header is malformed.
    c.drop("v4-opt-length-0", "IPv4 option (RR) with length 0", r791, "bad_ipv4_options",
           with_options(v4() / tcp(), b"\x07\x00\x00\x00"))
    c.drop("v4-opt-length-1", "IPv4 option (timestamp) with length 1", r791,
           "bad_ipv4_options", with_options(v4() / tcp(), b"\x44\x01\x00\x00"))
    c.drop("v4-opt-length-past-header", "IPv4 option (RR) whose length runs 4 bytes past the "
           "header", r791, "bad_ipv4_options", with_options(v4() / tcp(), b"\x07\x08\x04\x00"))
    c.drop("v4-opt-cut-length", "IPv4 option type byte as the last header byte, its length "
           "byte missing", r791, "bad_ipv4_options",
           with_options(v4() / tcp(), b"\x01\x01\x01\x07"))
    c.drop("v4-opt-bad-length-hides-lsrr", "IPv4 option of length 0 before a loose source "
           "route: malformed", r791, "bad_ipv4_options",
           with_options(v4() / tcp(), b"\x07\x00\x00\x00\x83\x07\x04\xcb\x00\x71\xc8\x00"))
    c.drop("v4-opt-bad-length-not-vip", "IPv4 option of length 0 to a non-VIP address: form "
           "is checked for every IP frame", r791, "bad_ipv4_options",
           with_options(v4(dst="198.51.100.1") / tcp(), b"\x07\x00\x00\x00"))


def slug(addr):
    """An address as a name part: '::ffff:198.51.100.7' -> 'ffff-198.51.100.7', '::' ->
    'unspecified'."""
    s = "-".join(p for p in addr.split(":") if p)
    return s or "unspecified"


def sources(c):
    r1122, r4291 = "RFC 1122 3.2.1.3, RFC 1812 5.3.7", "RFC 4291"
    for addr, what in (("0.0.0.0", "this host"), ("0.255.255.255", "end of 0/8"),
                       ("127.0.0.1", "loopback"), ("127.255.255.254", "end of 127/8"),
                       ("224.0.0.1", "multicast"), ("239.255.255.255", "end of multicast"),
                       ("240.0.0.1", "reserved 240/4"), ("255.255.255.255",
                                                         "limited broadcast")):
        c.drop("v4-src-%s" % addr, "IPv4 TCP to a VIP from %s (%s)" % (addr, what), r1122,
               "bad_source_address", v4(src=addr) / tcp())
    c.drop("v4-src-multicast-udp", "IPv4 UDP to the UDP VIP from 232.1.1.1", r1122,
           "bad_source_address", v4(src="232.1.1.1") / udp())
    c.drop("v4-src-loopback-echo", "ICMP echo request to a VIP from 127.0.0.1", r1122,
           "bad_source_address", v4(src="127.0.0.1", flags="") / ICMP(type=8))
    c.drop("v4-src-zero-fragment", "IPv4 later fragment to a VIP from 0.0.0.0", r1122,
           "bad_source_address", eth() / IP(src="0.0.0.0", dst=VIP, proto=17, frag=4) /
           Raw(b"f" * 8))
    c.drop("v4-src-multicast-icmp-error", "ICMP error about a VIP flow from 224.0.0.5",
           r1122, "bad_source_address", icmp4_error(quote_v4(), src="224.0.0.5"))
    for addr, what in (("1.0.0.1", "first above 0/8"), ("126.255.255.255", "below 127/8"),
                       ("128.0.0.1", "above 127/8"), ("223.255.255.255", "below 224/4"),
                       ("10.1.2.3", "private"), ("169.254.1.1", "link-local"),
                       ("100.64.0.1", "shared address space")):
        c.fwd("v4-src-%s" % addr, "IPv4 TCP to a VIP from %s (%s): legal" % (addr, what),
              r1122, v4(src=addr) / tcp(sport=44000))
    for addr, what in (("::", "unspecified"), ("::1", "loopback"), ("ff02::1", "multicast"),
                       ("ff00::", "start of ff00::/8"), ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:"
                                                         "ffff", "end of ff00::/8"),
                       ("::ffff:198.51.100.7", "IPv4-mapped"),
                       ("::ffff:0.0.0.0", "start of ::ffff:0:0/96")):
        c.drop("v6-src-%s" % slug(addr), "IPv6 TCP to a VIP from %s (%s)" % (
            addr, what), r4291 + " 2.5.2, 2.5.3, 2.5.5.2, 2.7", "bad_source_address",
            v6(src=addr) / tcp(dport=443))
    c.drop("v6-src-multicast-echo", "ICMPv6 echo request to a VIP from ff05::2",
           r4291 + " 2.7", "bad_source_address", v6(src="ff05::2") / ICMPv6EchoRequest())
    c.drop("v6-src-unspecified-udp", "IPv6 UDP to the UDP VIP from ::", r4291 + " 2.5.2",
           "bad_source_address", v6(src="::", dst=VIP6U) / udp(dport=53))
    for addr, what in (("fe80::1", "link-local"), ("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                                                   "end of fe80::/10"),
                       ("fec0::1", "deprecated site-local"), ("fc00::1", "unique local"),
                       ("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "just below ff00::/8"),
                       ("::2", "deprecated IPv4-compatible"),
                       ("::fffe:c633:6407", "next to the IPv4-mapped prefix"),
                       ("64:ff9b::c633:6407", "NAT64"), ("2002:c633:6407::1", "6to4")):
        c.fwd("v6-src-%s" % slug(addr),
              "IPv6 TCP to a VIP from %s (%s): legal" % (addr, what), r4291,
              v6(src=addr) / tcp(sport=44001, dport=443))
    c.drop("v6-hlim-0", "IPv6 TCP to a VIP with hop limit 0", "RFC 8200 3", "zero_ttl",
           v6(hlim=0) / tcp(dport=443))
    c.drop("v6-hlim-0-echo", "ICMPv6 echo request to a VIP with hop limit 0", "RFC 8200 3",
           "zero_ttl", v6(hlim=0) / ICMPv6EchoRequest())
    c.fwd("v6-hlim-1", "IPv6 TCP to a VIP with hop limit 1", "RFC 8200 3",
          v6(hlim=1) / tcp(sport=44002, dport=443))


def ipv4_fragments(c):
    r791, r1858 = "RFC 791 3.2", "RFC 1858 3.4"
    udp_first = ip4_only(CLIENT, VIP, 17, udp_hdr(5000, 53, 8 + 40) + b"d" * 16,
                         flags="MF", id=77)
    c.fwd("v4-frag-first-udp", "first fragment of a UDP datagram (UDP length covers the whole "
          "datagram): 3-tuple", "RFC 768, " + r791,
          Ether(dst=LB_MAC, src=CLIENT_MAC, type=0x0800) / Raw(udp_first))
    c.fwd("v4-frag-first-udp-len-carried-plus-1", "first UDP fragment whose UDP length exceeds "
          "what it carries by one byte", "RFC 768, " + r791,
          eth() / IP(src=CLIENT, dst=VIP, flags="MF", id=78, proto=17) /
          Raw(udp_hdr(5000, 53, 8 + 16 + 1) + b"d" * 16))
    c.drop("v4-frag-first-udp-len-carried", "first UDP fragment whose UDP length is what it "
           "carries: it cannot be the first of several", "RFC 768, " + r791, "bad_udp_length",
           eth() / IP(src=CLIENT, dst=VIP, flags="MF", id=79, proto=17) /
           Raw(udp_hdr(5000, 53, 8 + 16) + b"d" * 16))
    c.fwd("v4-frag-later-udp", "later UDP fragment (offset 3, last)", r791,
          eth() / IP(src=CLIENT, dst=VIP, proto=17, frag=3, id=77) / Raw(b"d" * 9))
    c.fwd("v4-frag-middle-udp", "middle UDP fragment (offset 3, MF, 16 bytes)", r791,
          eth() / IP(src=CLIENT, dst=VIP, proto=17, frag=3, flags="MF", id=80) /
          Raw(b"d" * 16))
    c.fwd("v4-frag-first-tcp", "first fragment of a TCP segment with the whole TCP header "
          "(24 bytes)", r791, eth() / IP(src=CLIENT, dst=VIP, flags="MF", id=81, proto=6) /
          Raw(tcp_bytes(40000, 80, payload=b"t" * 4)))
    c.fwd("v4-frag-later-tcp-offset-2", "later TCP fragment at offset 2 (16 bytes in: past "
          "the flags)", r1858, eth() / IP(src=CLIENT, dst=VIP, proto=6, frag=2, id=82) /
          Raw(b"t" * 8))
    c.drop("v4-frag-later-tcp-offset-1", "TCP fragment at offset 1: would overwrite the TCP "
           "flags of the first fragment (overlap attack)", r1858, "bad_ipv4_fragment",
           eth() / IP(src=CLIENT, dst=VIP, proto=6, frag=1, id=83) / Raw(b"t" * 16))
    c.passed("v4-frag-later-udp-offset-1-not-vip", "fragment at offset 1 to a non-VIP "
             "address (UDP): not a TCP overlap, and not ours", r791,
             eth() / IP(src=CLIENT, dst="198.51.100.1", proto=17, frag=1, id=84) /
             Raw(b"u" * 8))
    c.fwd("v4-frag-later-udp-offset-1", "UDP fragment at offset 1 to the UDP VIP (the rule "
          "is for TCP's flags)", r1858, eth() / IP(src=CLIENT, dst=VIP, proto=17, frag=1,
                                                   id=85) / Raw(b"u" * 8))
    c.drop("v4-frag-first-tcp-tiny", "first TCP fragment with 8 bytes of TCP header (tiny "
           "fragment: flags in the next)", r1858 + ", RFC 3128", "truncated_l4",
           eth() / IP(src=CLIENT, dst=VIP, flags="MF", id=86, proto=6) /
           Raw(tcp_bytes(40000, 80)[:8]))
    c.drop("v4-frag-first-udp-tiny", "first UDP fragment with 7 bytes: not a multiple of 8 "
           "(and shorter than the UDP header)", r791, "bad_ipv4_fragment",
           eth() / IP(src=CLIENT, dst=VIP, flags="MF", id=87, proto=17) /
           Raw(udp_hdr(5000, 53, 100)[:7]))
    c.fwd("v4-frag-last-at-65535", "last fragment at offset 8189 with 23 bytes: ends exactly "
          "at 65535", r791, eth() / IP(src=CLIENT, dst=VIP, proto=17, frag=8189, id=88) /
          Raw(b"z" * 23))
    c.drop("v4-frag-last-past-65535", "last fragment at offset 8189 with 24 bytes: ends at "
           "65536", r791, "bad_ipv4_fragment",
           eth() / IP(src=CLIENT, dst=VIP, proto=17, frag=8189, id=89) / Raw(b"z" * 24))
    c.drop("v4-frag-max-offset", "fragment at offset 8191 with 8 bytes", r791,
           "bad_ipv4_fragment", eth() / IP(src=CLIENT, dst=VIP, proto=17, frag=8191, id=90) /
           Raw(b"z" * 8))
    c.drop("v4-frag-mf-empty", "MF set with no data", r791, "bad_ipv4_fragment",
           pad(eth() / IP(src=CLIENT, dst=VIP, proto=17, frag=5, flags="MF", id=91)))
    c.drop("v4-frag-mf-empty-first", "MF set, offset 0, no data", r791, "bad_ipv4_fragment",
           pad(eth() / IP(src=CLIENT, dst=VIP, proto=17, flags="MF", id=92)))
    c.drop("v4-frag-mf-not-8-multiple", "middle fragment with 12 data bytes: every fragment "
           "but the last carries a multiple of 8", r791, "bad_ipv4_fragment",
           eth() / IP(src=CLIENT, dst=VIP, proto=17, frag=5, flags="MF", id=93) /
           Raw(b"m" * 12))
    c.drop("v4-frag-first-not-8-multiple", "first UDP fragment with 20 data bytes", r791,
           "bad_ipv4_fragment", eth() / IP(src=CLIENT, dst=VIP, flags="MF", id=94, proto=17) /
           Raw(udp_hdr(5000, 53, 100) + b"d" * 12))
    c.fwd("v4-frag-last-odd-length", "last fragment with 13 data bytes (any length)", r791,
          eth() / IP(src=CLIENT, dst=VIP, proto=17, frag=5, id=95) / Raw(b"m" * 13))
    c.fwd("v4-frag-df-and-mf", "fragment with DF and MF both set (DF set after "
          "fragmenting): forwarded", r791,
          eth() / IP(src=CLIENT, dst=VIP, proto=17, frag=6, flags="MF+DF", id=96) /
          Raw(b"m" * 8))
    c.fwd("v4-frag-tcp-vip20", "later TCP fragment to 192.0.2.20 (IPv6 backend)", r791,
          eth() / IP(src=CLIENT, dst=VIP20, proto=6, frag=20, id=97) / Raw(b"t" * 40))
    c.drop("v4-frag-tcp-vip30", "later TCP fragment to 192.0.2.30, whose only backend has "
           "weight 0", POLICY, "no_backend",
           eth() / IP(src=CLIENT, dst=VIP30, proto=6, frag=20, id=98) / Raw(b"t" * 40))
    c.passed("v4-frag-other-proto", "later fragment of protocol 47 (GRE) to a VIP address: "
             "no VIP of that protocol", POLICY,
             eth() / IP(src=CLIENT, dst=VIP, proto=47, frag=20, id=99) / Raw(b"g" * 40))
    c.passed("v4-frag-icmp", "first fragment of an ICMP echo to a VIP address: fragments "
             "are steered by protocol, no ICMP VIP", POLICY,
             eth() / IP(src=CLIENT, dst=VIP, proto=1, flags="MF", id=100) /
             Raw(bytes(ICMP(type=8) / Raw(b"e" * 16))))
    c.drop("v4-frag-ttl-0", "later fragment to a VIP with TTL 0", "RFC 1122 3.2.1.7",
           "zero_ttl", eth() / IP(src=CLIENT, dst=VIP, proto=17, frag=7, ttl=0, id=101) /
           Raw(b"m" * 8))
    c.drop("v4-frag-first-zero-port", "first UDP fragment from port 0", "RFC 768",
           "zero_port", eth() / IP(src=CLIENT, dst=VIP, flags="MF", id=102, proto=17) /
           Raw(udp_hdr(0, 53, 100) + b"d" * 16))
    c.drop("v4-frag-first-bad-flags", "first TCP fragment with SYN+FIN", "RFC 9293 3.1",
           "bad_tcp_flags", eth() / IP(src=CLIENT, dst=VIP, flags="MF", id=103, proto=6) /
           Raw(tcp_bytes(40000, 80, flags="SF", payload=b"t" * 4)))


def ipv6_ext(c):
    r8200 = "RFC 8200 4"
    c.fwd("v6-hbh-tcp", "IPv6 hop-by-hop (first) then TCP", r8200 + ".3",
          v6() / IPv6ExtHdrHopByHop() / tcp(sport=45000, dport=443))
    c.fwd("v6-dstopt-tcp", "IPv6 destination options then TCP", r8200 + ".6",
          v6() / IPv6ExtHdrDestOpt() / tcp(sport=45001, dport=443))
    c.fwd("v6-hbh-dst-rt-dst-tcp", "hop-by-hop, destination options, routing (type 2, "
          "segments left 0), destination options, TCP: the recommended order", r8200 + ".1",
          v6() / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() /
          IPv6ExtHdrRouting(type=2, segleft=0, addresses=["2001:db8:c::1"]) /
          IPv6ExtHdrDestOpt() / tcp(sport=45002, dport=443))
    c.fwd("v6-rh0-segleft-0", "IPv6 routing header type 0 with segments left 0: ignored",
          "RFC 5095 3", v6() / IPv6ExtHdrRouting(type=0, segleft=0,
                                                 addresses=["2001:db8:c::1"]) /
          tcp(sport=45003, dport=443))
    c.drop("v6-rh0-segleft-1", "IPv6 routing header type 0 with segments left 1",
           "RFC 5095 3", "ipv6_rh0",
           v6() / IPv6ExtHdrRouting(type=0, segleft=1, addresses=[VIP6]) / tcp(dport=443))
    c.drop("v6-rh0-segleft-255", "IPv6 routing header type 0 with segments left 255",
           "RFC 5095 3", "ipv6_rh0",
           v6() / IPv6ExtHdrRouting(type=0, segleft=255, addresses=[VIP6]) / udp())
    c.drop("v6-rh0-not-vip", "type-0 routing header with segments left 1 to a non-VIP "
           "address: dropped for every IP frame", "RFC 5095 3", "ipv6_rh0",
           v6(dst="2001:db8:c::1") / IPv6ExtHdrRouting(type=0, segleft=1,
                                                       addresses=[VIP6]) / tcp(dport=443))
    c.fwd("v6-rh2-segleft-1", "routing header type 2 (Mobile IPv6) with segments left 1: "
          "not deprecated, walked", "RFC 6275 6.4",
          v6() / IPv6ExtHdrRouting(type=2, segleft=1, addresses=["2001:db8:c::1"]) /
          tcp(sport=45004, dport=443))
    c.fwd("v6-ah-tcp", "IPv6 AH then TCP", "RFC 4302",
          v6() / AH(nh=6, payloadlen=4, spi=1, seq=1, icv=b"\x00" * 12) /
          tcp(sport=45005, dport=443))
    chain = v6()
    for _ in range(8):
        chain = chain / IPv6ExtHdrDestOpt()
    c.fwd("v6-chain-8", "eight destination-options headers then TCP: at the walk bound",
          "RFC 8504 5.3", chain / tcp(sport=45006, dport=443))
    chain9 = v6()
    for _ in range(9):
        chain9 = chain9 / IPv6ExtHdrDestOpt()
    c.drop("v6-chain-9", "nine destination-options headers: past the walk bound",
           "RFC 8504 5.3", "ipv6_ext_chain_too_long", chain9 / tcp(dport=443))
    chain_mixed = v6() / IPv6ExtHdrHopByHop()
    for _ in range(4):
        chain_mixed = chain_mixed / IPv6ExtHdrDestOpt() / IPv6ExtHdrRouting(type=2, segleft=0)
    c.drop("v6-chain-9-mixed", "hop-by-hop and eight destination-options/routing headers",
           "RFC 8504 5.3", "ipv6_ext_chain_too_long", chain_mixed / udp())
    chain20 = v6(dst="2001:db8:c::1")
    for _ in range(20):
        chain20 = chain20 / IPv6ExtHdrDestOpt()
    c.drop("v6-chain-20-not-vip", "twenty destination-options headers to a non-VIP address",
           "RFC 8504 5.3", "ipv6_ext_chain_too_long", chain20 / udp())
    c.drop("v6-hbh-second", "hop-by-hop after destination options", r8200 + ".3",
           "bad_ipv6_ext_header", v6() / IPv6ExtHdrDestOpt() / IPv6ExtHdrHopByHop() /
           tcp(dport=443))
    c.drop("v6-hbh-after-routing", "hop-by-hop after a routing header", r8200 + ".3",
           "bad_ipv6_ext_header", v6() / IPv6ExtHdrRouting(type=2, segleft=0) /
           IPv6ExtHdrHopByHop() / udp())
    c.drop("v6-hbh-twice", "two hop-by-hop headers", r8200 + ".3", "bad_ipv6_ext_header",
           v6() / IPv6ExtHdrHopByHop() / IPv6ExtHdrHopByHop() / tcp(dport=443))
    c.drop("v6-hbh-after-fragment", "hop-by-hop after a fragment header (atomic fragment)",
           r8200 + ".3", "bad_ipv6_ext_header",
           v6() / IPv6ExtHdrFragment(id=1) / IPv6ExtHdrHopByHop() / tcp(dport=443))
    full = bytes(v6() / IPv6ExtHdrHopByHop(options=[]) / tcp(dport=443))
    cut = bytearray(full)
    cut[14 + 41] = 1  # hop-by-hop claims 16 bytes; 8 are there before the TCP header
    cut[18] = 0
    cut[19] = 8  # payload length: just the 8 bytes
    c.drop("v6-hbh-length-past-datagram", "hop-by-hop header claiming 16 bytes in an 8-byte "
           "payload", r8200 + ".3", "truncated_ipv6_ext_header", bytes(cut[:14 + 48]))
    c.drop("v6-dstopt-4-bytes", "IPv6 next header destination options with 4 bytes of "
           "payload", r8200 + ".6", "truncated_ipv6_ext_header",
           v6(nh=60, plen=4) / Raw(b"\x06\x00\x01\x02"))
    c.drop("v6-ah-cut", "AH header claiming 24 bytes with 12 present", "RFC 4302",
           "truncated_ipv6_ext_header", v6(nh=51, plen=12) / Raw(b"\x06\x04" + b"\x00" * 10))
    c.drop("v6-nh-hbh-empty", "next header hop-by-hop with no payload", r8200 + ".3",
           "truncated_ipv6_ext_header", v6(nh=0, plen=0))
    c.passed("v6-no-next-header", "IPv6 next header 59 (no next header) to a VIP address",
             r8200 + ".7", v6(nh=59))
    c.passed("v6-esp", "IPv6 ESP to a VIP address: no VIP of protocol 50", "RFC 4303",
             v6(nh=50) / Raw(b"\x00\x00\x00\x01\x00\x00\x00\x01" + b"e" * 24))
    c.passed("v6-unknown-nh", "IPv6 next header 253 (experimental) to a VIP address",
             "RFC 3692", v6(nh=253) / Raw(b"x" * 16))
    c.passed("v6-unknown-after-dstopt", "destination options then next header 143 to a VIP "
             "address", r8200 + ".7", v6() / IPv6ExtHdrDestOpt(nh=143) / Raw(b"x" * 16))


def ipv6_fragments(c):
    r8200, r7112 = "RFC 8200 4.5", "RFC 7112 5"
    fh = IPv6ExtHdrFragment
    c.fwd("v6-frag-first-tcp", "IPv6 first fragment carrying the whole TCP header (24 "
          "bytes)", r8200, v6() / fh(m=1, id=1, nh=6) / Raw(tcp_bytes(40000, 443,
                                                                       payload=b"t" * 4)))
    c.fwd("v6-frag-first-udp", "IPv6 first UDP fragment to the UDP VIP", r8200,
          v6(dst=VIP6U) / fh(m=1, id=2, nh=17) / Raw(udp_hdr(33333, 53, 200) + b"d" * 8))
    c.fwd("v6-frag-later", "IPv6 later fragment (offset 2, last)", r8200,
          v6() / fh(offset=2, m=0, id=1, nh=6) / Raw(b"t" * 9))
    c.fwd("v6-frag-middle", "IPv6 middle fragment (offset 2, M, 16 bytes)", r8200,
          v6() / fh(offset=2, m=1, id=3, nh=6) / Raw(b"t" * 16))
    c.fwd("v6-atomic-fragment", "IPv6 atomic fragment (offset 0, M 0): a whole packet",
          "RFC 6946", v6() / fh(id=4) / tcp(sport=46000, dport=443))
    c.drop("v6-atomic-fragment-zero-port", "IPv6 atomic fragment from TCP port 0: checked "
           "as a whole packet", "RFC 6946, RFC 9293 3.1", "zero_port",
           v6() / fh(id=5) / tcp(sport=0, dport=443))
    c.drop("v6-frag-first-tcp-16", "IPv6 first fragment with 16 bytes of TCP header",
           r8200 + ", " + r7112, "truncated_l4",
           v6() / fh(m=1, id=6, nh=6) / Raw(tcp_bytes(40000, 443)[:16]))
    c.drop("v6-frag-first-chain-cut", "IPv6 first fragment whose destination-options header "
           "continues in the next fragment", r8200 + ", " + r7112, "truncated_ipv6_ext_header",
           v6() / fh(m=1, id=7, nh=60) / Raw(b"\x06\x02" + b"\x00" * 14))
    c.drop("v6-frag-first-no-l4", "IPv6 first fragment ending right after a destination-"
           "options header (TCP in the next fragment)", r8200 + ", " + r7112, "truncated_l4",
           v6() / fh(m=1, id=8, nh=60) / Raw(b"\x06\x00" + b"\x00" * 6))
    c.drop("v6-frag-two-headers", "two fragment headers", r8200, "bad_ipv6_fragment",
           v6() / fh(m=1, id=9) / fh(m=1, id=9) / udp())
    c.drop("v6-frag-m-12-bytes", "IPv6 non-last fragment with 12 bytes", r8200,
           "bad_ipv6_fragment", v6() / fh(offset=4, m=1, id=10, nh=6) / Raw(b"t" * 12))
    c.drop("v6-frag-m-empty", "IPv6 non-last fragment with no data", r8200,
           "bad_ipv6_fragment", v6() / fh(offset=4, m=1, id=11, nh=6))
    c.fwd("v6-frag-last-at-65535", "IPv6 last fragment at offset 8191 with 7 bytes: ends at "
          "65535", r8200, v6() / fh(offset=8191, m=0, id=12, nh=6) / Raw(b"z" * 7))
    c.drop("v6-frag-last-past-65535", "IPv6 last fragment at offset 8191 with 8 bytes",
           r8200, "bad_ipv6_fragment", v6() / fh(offset=8191, m=0, id=13, nh=6) /
           Raw(b"z" * 8))
    c.drop("v6-frag-rh0", "IPv6 first fragment with a type-0 routing header, segments left "
           "2, before the fragment header", "RFC 5095 3", "ipv6_rh0",
           v6() / IPv6ExtHdrRouting(type=0, segleft=2, addresses=[VIP6, VIP6]) /
           fh(m=1, id=14, nh=6) / Raw(tcp_bytes(40000, 443, payload=b"t" * 4)))
    c.drop("v6-frag-hlim-0", "IPv6 later fragment to a VIP with hop limit 0", "RFC 8200 3",
           "zero_ttl", v6(hlim=0) / fh(offset=3, id=15, nh=6) / Raw(b"t" * 8))
    c.drop("v6-frag-bad-source", "IPv6 later fragment to a VIP from ::1", "RFC 4291 2.5.3",
           "bad_source_address", v6(src="::1") / fh(offset=3, id=16, nh=6) / Raw(b"t" * 8))
    c.passed("v6-frag-not-vip-proto", "IPv6 later fragment of protocol 50 to a VIP address",
             POLICY, v6() / fh(offset=3, id=17, nh=50) / Raw(b"t" * 8))
    c.passed("v6-frag-icmpv6", "IPv6 later ICMPv6 fragment to a VIP address: no ICMPv6 VIP",
             POLICY, v6() / fh(offset=3, id=18, nh=58) / Raw(b"t" * 8))


def l4_cases(c):
    r9293, r768 = "RFC 9293 3.1", "RFC 768"
    for flags, what in (("SF", "SYN+FIN"), ("SR", "SYN+RST"), ("SFA", "SYN+FIN+ACK"),
                        ("SRA", "SYN+RST+ACK"), ("", "no flags (null scan)"),
                        ("EC", "only CWR+ECE"), ("FPU", "FIN+PSH+URG (xmas)"),
                        ("F", "FIN alone (FIN scan)"), ("P", "PSH alone"), ("U", "URG alone"),
                        ("FP", "FIN+PSH without ACK"), ("FSRPAU", "every flag"),
                        ("FSRPAUEC", "every flag incl. CWR/ECE")):
        c.drop("v4-tcp-bad-flags-%s" % (flags.lower() or "none"),
               "IPv4 TCP %s to a VIP: no stack sends it" % what,
               "RFC 9293 3.1, 3.10.7", "bad_tcp_flags", v4() / tcp(flags=flags))
    c.drop("v6-tcp-bad-flags-sf", "IPv6 TCP SYN+FIN to a VIP", "RFC 9293 3.10.7",
           "bad_tcp_flags", v6() / tcp(dport=443, flags="SF"))
    c.drop("v6-tcp-bad-flags-f", "IPv6 TCP FIN alone to a VIP", "RFC 9293 3.10.7",
           "bad_tcp_flags", v6() / tcp(dport=443, flags="F"))
    c.drop("v6-tcp-bad-flags-none", "IPv6 TCP without flags to a VIP", "RFC 9293 3.10.7",
           "bad_tcp_flags", v6() / tcp(dport=443, flags=""))
    c.passed("v4-tcp-bad-flags-not-vip", "IPv4 TCP SYN+FIN to a non-VIP address", POLICY,
             v4(dst="198.51.100.1") / tcp(flags="SF"))
    c.passed("v4-tcp-bad-flags-other-port", "IPv4 TCP null scan to port 22 of a VIP address "
             "(no VIP on that port)", POLICY, v4() / tcp(dport=22, flags=""))
    for doff in (0, 4):
        c.drop("v4-tcp-doff-%d" % doff, "IPv4 TCP data offset %d (below 5)" % doff, r9293,
               "bad_tcp_data_offset", v4() / tcp(dataofs=doff))
    c.drop("v4-tcp-doff-15-past", "IPv4 TCP data offset 15 with 8 bytes after the header",
           r9293, "bad_tcp_data_offset", v4() / tcp(dataofs=15) / Raw(b"x" * 8))
    c.drop("v4-tcp-doff-6-no-options", "IPv4 TCP data offset 6 in a 20-byte segment", r9293,
           "bad_tcp_data_offset", v4() / tcp(dataofs=6))
    c.drop("v6-tcp-doff-4", "IPv6 TCP data offset 4", r9293, "bad_tcp_data_offset",
           v6() / tcp(dport=443, dataofs=4))
    c.drop("v4-tcp-doff-past-padding", "IPv4 TCP data offset 6 reaching into Ethernet "
           "padding: the datagram ends first", r9293, "bad_tcp_data_offset",
           pad(v4() / tcp(dataofs=6), 64))
    c.drop("v4-tcp-19-bytes", "IPv4 TCP header of 19 bytes", r9293, "truncated_l4",
           v4(proto=6) / Raw(tcp_bytes(40000, 80)[:19]))
    c.drop("v4-tcp-0-bytes", "IPv4 protocol TCP with no payload", r9293, "truncated_l4",
           pad(v4(proto=6)))
    c.drop("v6-tcp-10-bytes", "IPv6 TCP header of 10 bytes", r9293, "truncated_l4",
           v6(nh=6) / Raw(tcp_bytes(40000, 443)[:10]))
    c.drop("v4-udp-7-bytes", "IPv4 UDP header of 7 bytes", r768, "truncated_l4",
           pad(v4(proto=17) / Raw(udp_hdr(5353, 53, 7)[:7])))
    c.drop("v6-udp-0-bytes", "IPv6 protocol UDP with no payload", r768, "truncated_l4",
           v6(nh=17, dst=VIP6U))
    c.drop("v4-tcp-truncated-not-vip", "IPv4 TCP header of 12 bytes to a non-VIP address: "
           "form is checked for every IP frame", r9293, "truncated_l4",
           v4(dst="198.51.100.1", proto=6) / Raw(tcp_bytes(1, 2)[:12]))
    # UDP length (RFC 768): exactly the IP payload.
    for delta, what in ((-1, "one short of"), (1, "one past")):
        b = bytes(v4() / udp() / Raw(b"u" * 20))
        c.drop("v4-udp-len-%s" % ("minus-1" if delta < 0 else "plus-1"),
               "IPv4 UDP length %s the IP payload" % what, r768, "bad_udp_length",
               patch(b, 14 + 20 + 4, struct.pack(">H", 28 + delta)))
    for n in (0, 7):
        b = bytes(v4() / udp() / Raw(b"u" * 20))
        c.drop("v4-udp-len-%d" % n, "IPv4 UDP length %d (below 8)" % n, r768,
               "bad_udp_length", patch(b, 14 + 20 + 4, struct.pack(">H", n)))
    b = bytes(v6(dst=VIP6U) / udp(dport=53) / Raw(b"u" * 20))
    c.drop("v6-udp-len-plus-1", "IPv6 UDP length one past the payload", r768,
           "bad_udp_length", patch(b, 14 + 40 + 4, struct.pack(">H", 29)))
    c.drop("v6-udp-len-minus-1", "IPv6 UDP length one short of the payload", r768,
           "bad_udp_length", patch(b, 14 + 40 + 4, struct.pack(">H", 27)))
    c.drop("v6-udp-len-0", "IPv6 UDP length 0 (a jumbogram's, impossible on Ethernet)",
           "RFC 2675 4", "bad_udp_length", patch(b, 14 + 40 + 4, b"\x00\x00"))
    b = bytes(v4(flags="") / udp() / Raw(b"abcd"))
    c.drop("v4-udp-len-includes-padding", "IPv4 UDP length covering the Ethernet padding "
           "too (46 bytes in a 32-byte IP payload)", r768, "bad_udp_length",
           pad(patch(b, 14 + 20 + 4, struct.pack(">H", 46))))
    c.drop("v4-udp-len-not-vip", "IPv4 UDP length one past the payload to a non-VIP "
           "address: form is checked for every IP frame", r768, "bad_udp_length",
           patch(bytes(v4(dst="198.51.100.1") / udp() / Raw(b"u" * 4)), 38,
                 struct.pack(">H", 13)))
    # Port 0.
    rport = r9293 + ", " + r768 + " (IANA reserved)"
    c.drop("v4-tcp-sport-0", "IPv4 TCP from port 0 to 192.0.2.10:80", rport, "zero_port",
           v4() / tcp(sport=0))
    c.passed("v4-tcp-dport-0", "IPv4 TCP to port 0 of a VIP address: no VIP serves port 0",
             rport, v4() / tcp(dport=0))
    c.drop("v4-udp-sport-0", "IPv4 UDP from port 0 to the all-ports UDP VIP", rport,
           "zero_port", v4() / udp(sport=0))
    c.drop("v4-udp-dport-0", "IPv4 UDP to port 0 of the all-ports UDP VIP", rport,
           "zero_port", v4() / udp(dport=0))
    c.drop("v4-udp-both-0", "IPv4 UDP from port 0 to port 0 of the all-ports UDP VIP", rport,
           "zero_port", v4() / udp(sport=0, dport=0))
    c.drop("v6-tcp-sport-0", "IPv6 TCP from port 0 to [2001:db8::10]:443", rport, "zero_port",
           v6() / tcp(sport=0, dport=443))
    c.drop("v6-udp-sport-0", "IPv6 UDP from port 0 to [2001:db8::20]:53", rport, "zero_port",
           v6(dst=VIP6U) / udp(sport=0, dport=53))
    c.drop("v4-tcp-sport-0-vip20", "IPv4 TCP from port 0 to 192.0.2.20:80", rport,
           "zero_port", v4(dst=VIP20) / tcp(sport=0))
    # Not a VIP.
    c.passed("v4-tcp-other-port", "IPv4 TCP to 192.0.2.10:443 (no VIP)", POLICY,
             v4() / tcp(dport=443))
    c.passed("v4-udp-vip20", "IPv4 UDP to 192.0.2.20 (TCP-only VIP address)", POLICY,
             v4(dst=VIP20) / udp())
    c.passed("v4-non-vip", "IPv4 TCP to 198.51.100.1 (not a VIP)", POLICY,
             v4(dst="198.51.100.1") / tcp())
    c.passed("v4-bgp-to-lb", "BGP session TCP to the LB's own address", POLICY,
             v4(src="198.51.100.254", dst="198.51.100.10") / tcp(sport=179, dport=50000,
                                                                 flags="PA"))
    c.passed("v4-gre-to-vip", "GRE to a VIP address", POLICY,
             v4(proto=47) / Raw(b"\x00\x00\x08\x00" + bytes(IP() / tcp())))
    c.passed("v4-sctp-to-vip", "SCTP to a VIP address", POLICY,
             v4(proto=132) / Raw(b"\x13\x88\x00\x50" + b"\x00" * 8))
    c.passed("v6-tcp-other-port", "IPv6 TCP to [2001:db8::10]:80 (no VIP)", POLICY,
             v6() / tcp(dport=80))
    c.passed("v6-udp-other-port", "IPv6 UDP to [2001:db8::20]:54 (no VIP)", POLICY,
             v6(dst=VIP6U) / udp(dport=54))
    c.passed("v6-non-vip", "IPv6 TCP to 2001:db8:c::1 (not a VIP)", POLICY,
             v6(dst="2001:db8:c::1") / tcp(dport=443))
    c.drop("v4-vip30-syn", "new TCP flow to 192.0.2.30:80, whose only backend has weight 0",
           POLICY, "no_backend", v4(dst=VIP30) / tcp())
    c.drop("v4-vip30-ack", "TCP ACK of an unknown flow to 192.0.2.30:80", POLICY,
           "no_backend", v4(dst=VIP30) / tcp(sport=40001, flags="A"))
    c.drop("v4-vip30-vlan", "802.1Q-tagged TCP SYN to 192.0.2.30:80", POLICY, "no_backend",
           v4(dst=VIP30, l2=eth(vlan=9)) / tcp(sport=40002))


def icmp_cases(c):
    r792, r4443 = "RFC 792", "RFC 4443"
    c.reply("v4-echo", "ICMP echo request to 192.0.2.10: answered", r792,
            v4(flags="") / ICMP(type=8, id=7, seq=1) / Raw(b"ping" * 8))
    c.reply("v4-echo-empty", "ICMP echo request with no data", r792,
            pad(v4(flags="") / ICMP(type=8, id=7, seq=2)))
    c.reply("v4-echo-vip30", "ICMP echo request to 192.0.2.30 (answers echo even without a "
            "backend)", r792, v4(dst=VIP30, flags="") / ICMP(type=8, id=7, seq=3))
    c.reply("v4-echo-1400", "ICMP echo request with 1400 bytes of data", r792,
            v4(flags="") / ICMP(type=8, id=7, seq=4) / Raw(b"e" * 1400))
    c.reply("v4-echo-ttl-1", "ICMP echo request with TTL 1", r792,
            v4(flags="", ttl=1) / ICMP(type=8, id=7, seq=5))
    c.drop("v4-echo-disabled", "ICMP echo request to 192.0.2.20 (echo not answered)", POLICY,
           "echo_disabled", v4(dst=VIP20, flags="") / ICMP(type=8, id=7, seq=6))
    c.drop("v4-echo-disabled-vlan", "802.1Q-tagged echo request to 192.0.2.20", POLICY,
           "echo_disabled", v4(dst=VIP20, l2=eth(vlan=4), flags="") / ICMP(type=8))
    c.drop("v4-echo-disabled-data", "echo request with data to 192.0.2.20", POLICY,
           "echo_disabled", v4(dst=VIP20, flags="") / ICMP(type=8) / Raw(b"x" * 56))
    c.passed("v4-echo-non-vip", "ICMP echo request to a non-VIP address", POLICY,
             v4(dst="198.51.100.1", flags="") / ICMP(type=8))
    c.reply("v6-echo", "ICMPv6 echo request to [2001:db8::10]", r4443 + " 4.1",
            v6() / ICMPv6EchoRequest(id=7, seq=1, data=b"ping" * 8))
    c.reply("v6-echo-udp-vip", "ICMPv6 echo request to [2001:db8::20]", r4443 + " 4.1",
            v6(dst=VIP6U) / ICMPv6EchoRequest(id=7, seq=2))
    c.reply("v6-echo-link-local-src", "ICMPv6 echo request from fe80::1 (an on-link client)",
            "RFC 4291 2.5.6", v6(src="fe80::1") / ICMPv6EchoRequest(id=7, seq=3))
    c.passed("v6-echo-non-vip", "ICMPv6 echo request to a non-VIP address", POLICY,
             v6(dst="2001:db8:c::1") / ICMPv6EchoRequest())
    for t, what in ((0, "echo reply"), (4, "source quench (deprecated)"), (5, "redirect"),
                    (9, "router advertisement"), (10, "router solicitation"),
                    (13, "timestamp"), (14, "timestamp reply"), (15, "information request"),
                    (17, "address mask request"), (40, "photuris"), (42, "extended echo"),
                    (200, "unassigned")):
        c.drop("v4-icmp-type-%d" % t, "ICMP type %d (%s) to a VIP address" % (t, what), r792,
               "icmp_unsupported",
               v4(flags="") / ICMP(type=t, code=0, ts_ori=0, ts_rx=0, ts_tx=0) /
               Raw(b"\x00" * 20))  # timestamps fixed: scapy's default is the time of day
    for t, what in ((129, "echo reply"), (100, "private experimentation"),
                    (139, "node information query"), (144, "home agent discovery"),
                    (160, "extended echo"), (255, "reserved")):
        c.drop("v6-icmp-type-%d" % t, "ICMPv6 type %d (%s) to a VIP address" % (t, what),
               r4443, "icmp_unsupported",
               v6() / ICMPv6Unknown(type=t, code=0, msgbody=b"\x00" * 8))
    c.passed("v6-nd-ns", "neighbour solicitation for a VIP address", "RFC 4861",
             v6(src="fe80::1", dst=VIP6, hlim=255) / ICMPv6ND_NS(tgt=VIP6))
    c.passed("v6-nd-na", "neighbour advertisement to a VIP address", "RFC 4861",
             v6(src="fe80::1", dst=VIP6, hlim=255) / ICMPv6ND_NA(tgt="fe80::1"))
    c.passed("v6-nd-rs", "router solicitation to a VIP address", "RFC 4861",
             v6(src="fe80::1", dst=VIP6, hlim=255) / ICMPv6ND_RS())
    c.passed("v6-nd-ra", "router advertisement to a VIP address", "RFC 4861",
             v6(src="fe80::1", dst=VIP6, hlim=255) / ICMPv6ND_RA())
    c.passed("v6-nd-redirect", "redirect to a VIP address", "RFC 4861",
             v6(src="fe80::1", dst=VIP6, hlim=255) / ICMPv6ND_Redirect(tgt="fe80::2",
                                                                       dst=CLIENT6))
    c.passed("v6-mld-query", "MLD query to a VIP address", "RFC 2710",
             v6(src="fe80::1", dst=VIP6, hlim=1) / ICMPv6MLQuery())
    c.passed("v6-mld-report", "MLD report to a VIP address", "RFC 2710",
             v6(src="fe80::1", dst=VIP6, hlim=1) / ICMPv6MLReport())
    c.passed("v6-mldv2-report", "MLDv2 report (type 143) to a VIP address", "RFC 3810",
             v6(src="fe80::1", dst=VIP6, hlim=1) / ICMPv6Unknown(type=143, msgbody=b"\x00" * 4))
    c.passed("v6-nd-ns-multicast", "neighbour solicitation to the solicited-node address",
             "RFC 4861", v6(src="fe80::1", dst="ff02::1:ff00:10", hlim=255,
                            l2=eth(dst="33:33:ff:00:00:10")) / ICMPv6ND_NS(tgt=VIP6))
    for n in (0, 4, 7):
        c.drop("v4-icmp-%d-bytes" % n, "ICMP header of %d bytes to a VIP address" % n, r792,
               "truncated_icmp", pad(v4(flags="", proto=1) / Raw((b"\x08\x00\x00\x00" * 2)[:n])))
    c.drop("v6-icmp-4-bytes", "ICMPv6 header of 4 bytes", r4443, "truncated_icmp",
           v6(nh=58) / Raw(b"\x80\x00\x00\x00"))
    c.drop("v4-icmp-truncated-not-vip", "ICMP header of 3 bytes to a non-VIP address",
           r792, "truncated_icmp", pad(v4(dst="198.51.100.1", flags="", proto=1) /
                                       Raw(b"\x08\x00\x00")))


def icmp_errors(c):
    r792, r4443, r1812 = "RFC 792", "RFC 4443 2.4", "RFC 1812 4.3.2.3"
    for t, code, what in ((3, 4, "fragmentation needed"), (3, 3, "port unreachable"),
                          (3, 1, "host unreachable"), (3, 13, "administratively prohibited"),
                          (11, 0, "TTL exceeded in transit"),
                          (11, 1, "fragment reassembly time exceeded"),
                          (12, 0, "parameter problem")):
        c.fwd("v4-icmp-err-%d-%d" % (t, code), "ICMP %s about the reply of flow "
              "198.51.100.7:40000 → 192.0.2.10:80: to that flow's backend" % what, r792,
              icmp4_error(quote_v4(), type_=t, code=code))
    c.fwd("v4-icmp-err-udp-flow", "ICMP port unreachable about a UDP flow of the all-ports "
          "UDP VIP", r792, icmp4_error(quote_v4("udp", sport=9999, dport=5353), code=3))
    c.fwd("v4-icmp-err-quote-options", "ICMP frag-needed quoting a packet with IPv4 options",
          r792, icmp4_error(quote_v4(options=[IPOption_NOP()] * 4)))
    c.fwd("v4-icmp-err-quote-8-bytes", "ICMP frag-needed quoting the IP header and exactly 8 "
          "bytes", r792 + ", " + r1812, icmp4_error(quote_v4(length=28)))
    c.fwd("v4-icmp-err-quote-udp-8-bytes", "ICMP error quoting the IP header and the 8-byte "
          "UDP header", r792, icmp4_error(quote_v4("udp", sport=9999, dport=5353, length=28),
                                          code=3))
    c.fwd("v4-icmp-err-vip20", "ICMP frag-needed about a flow of 192.0.2.20:80 (IPv6 "
          "backend)", r792, icmp4_error(quote_v4(src=VIP20), dst=VIP20))
    c.fwd("v4-icmp-err-quote-later-fragment", "ICMP time exceeded quoting a later UDP "
          "fragment from the all-ports UDP VIP (ports 0)", r792,
          icmp4_error(ip4_only(VIP, CLIENT, 17, b"q" * 16, frag=4, id=7), type_=11, code=1))
    c.fwd("v4-icmp-err-df", "ICMP frag-needed sent with DF", r792,
          v4(src=ROUTER, flags="DF") / ICMP(type=3, code=4, nexthopmtu=1400) /
          Raw(quote_v4()))
    c.drop("v4-icmp-err-quote-7-bytes", "ICMP error quoting the IP header and 7 bytes", r792 +
           ", " + r1812, "truncated_icmp_inner", icmp4_error(quote_v4(length=27)))
    c.drop("v4-icmp-err-quote-4-bytes", "ICMP error quoting the IP header and 4 bytes (the "
           "ports only)", r792 + ", " + r1812, "truncated_icmp_inner",
           icmp4_error(quote_v4(length=24)))
    c.drop("v4-icmp-err-quote-header-only", "ICMP error quoting only the IP header", r792,
           "truncated_icmp_inner", icmp4_error(quote_v4(length=20)))
    c.drop("v4-icmp-err-quote-10-bytes", "ICMP error quoting 10 bytes of an IP header", r792,
           "truncated_icmp_inner", icmp4_error(quote_v4(length=10)))
    c.drop("v4-icmp-err-no-quote", "ICMP destination unreachable with no quote", r792,
           "truncated_icmp_inner", icmp4_error(b""))
    c.drop("v4-icmp-err-quote-options-cut", "ICMP error quoting a packet with IHL 6 cut "
           "after 22 bytes", r792, "truncated_icmp_inner",
           icmp4_error(quote_v4(options=[IPOption_NOP()] * 4)[:22]))
    c.drop("v4-icmp-err-quote-bad-ihl", "ICMP error quoting an IP header with IHL 4", r792,
           "truncated_icmp_inner", icmp4_error(patch(quote_v4(), 0, b"\x44")))
    c.drop("v4-icmp-err-quote-ipv6", "ICMP error quoting an IPv6 packet", r792,
           "truncated_icmp_inner", icmp4_error(quote_v6()[:48]))
    c.drop("v4-icmp-err-not-vip-flow", "ICMP error about a packet not from a VIP "
           "(203.0.113.50:80 → client)", r792, "icmp_error_no_flow",
           icmp4_error(quote_v4(src="203.0.113.50")))
    c.drop("v4-icmp-err-not-vip-port", "ICMP error about a packet from 192.0.2.10:443 (no "
           "VIP)", r792, "icmp_error_no_flow", icmp4_error(quote_v4(sport=443)))
    c.drop("v4-icmp-err-reversed", "ICMP error quoting a client → VIP packet (wrong "
           "direction)", r792, "icmp_error_no_flow",
           icmp4_error(quote_v4(src=CLIENT, dst=VIP, sport=40000, dport=80)))
    c.drop("v4-icmp-err-about-icmp", "ICMP error about an ICMP echo reply the VIP sent",
           "RFC 1122 3.2.2", "icmp_error_no_flow", icmp4_error(quote_v4("echo-reply")))
    c.drop("v4-icmp-err-about-icmp-error", "ICMP error quoting an ICMP error", "RFC 1122 "
           "3.2.2", "icmp_error_no_flow",
           icmp4_error(bytes(IP(src=VIP, dst=CLIENT) / ICMP(type=3, code=3) /
                             Raw(quote_v4(src=CLIENT, dst=VIP, length=28)))))
    c.drop("v4-icmp-err-vip30", "ICMP error about a flow of 192.0.2.30 (no backend)", POLICY,
           "no_backend", icmp4_error(quote_v4(src=VIP30), dst=VIP30))
    c.passed("v4-icmp-err-not-vip", "ICMP error to a non-VIP address", POLICY,
             icmp4_error(quote_v4(src="198.51.100.10"), dst="198.51.100.10"))
    # IPv6.
    for cls, kw, what in ((ICMPv6DestUnreach, {"code": 4}, "port unreachable"),
                          (ICMPv6PacketTooBig, {"mtu": 1400}, "packet too big"),
                          (ICMPv6TimeExceeded, {}, "time exceeded"),
                          (ICMPv6ParamProblem, {"ptr": 6}, "parameter problem")):
        c.fwd("v6-icmp-err-%s" % what.replace(" ", "-"), "ICMPv6 %s about a flow of "
              "[2001:db8::10]:443: to its backend" % what, r4443, icmp6_error(
                  quote_v6(), cls=cls, **kw))
    c.fwd("v6-icmp-err-udp-flow", "ICMPv6 port unreachable about a flow of [2001:db8::20]:53",
          r4443, icmp6_error(quote_v6("udp", src=VIP6U, sport=53, dport=33333),
                             cls=ICMPv6DestUnreach, dst=VIP6U, code=4))
    c.fwd("v6-icmp-err-quote-ext", "ICMPv6 packet too big quoting a packet with a "
          "destination-options header", r4443,
          icmp6_error(quote_v6(ext=[IPv6ExtHdrDestOpt()]), mtu=1400))
    c.fwd("v6-icmp-err-quote-48", "ICMPv6 error quoting the IPv6 header and exactly 8 bytes",
          r4443, icmp6_error(quote_v6(length=48), mtu=1400))
    c.fwd("v6-icmp-err-quote-rh0", "ICMPv6 error quoting a packet with a type-0 routing "
          "header, segments left 1 (quotes are not held to RFC 5095)", r4443,
          icmp6_error(quote_v6(ext=[IPv6ExtHdrRouting(type=0, segleft=1,
                                                      addresses=[CLIENT6])]), mtu=1400))
    c.drop("v6-icmp-err-quote-47", "ICMPv6 error quoting the IPv6 header and 7 bytes", r4443,
           "truncated_icmp_inner", icmp6_error(quote_v6(length=47), mtu=1400))
    c.drop("v6-icmp-err-quote-44", "ICMPv6 error quoting the IPv6 header and the ports",
           r4443, "truncated_icmp_inner", icmp6_error(quote_v6(length=44), mtu=1400))
    c.drop("v6-icmp-err-quote-39", "ICMPv6 error quoting 39 bytes of an IPv6 header", r4443,
           "truncated_icmp_inner", icmp6_error(quote_v6(length=39), mtu=1400))
    c.drop("v6-icmp-err-quote-ext-cut", "ICMPv6 error whose quote ends inside an extension "
           "header", r4443, "truncated_icmp_inner",
           icmp6_error(quote_v6(ext=[IPv6ExtHdrDestOpt(options=[])])[:44], mtu=1400))
    c.drop("v6-icmp-err-quote-ipv4", "ICMPv6 error quoting an IPv4 packet", r4443,
           "truncated_icmp_inner", icmp6_error(quote_v4()[:48], mtu=1400))
    c.drop("v6-icmp-err-not-vip-flow", "ICMPv6 error about a packet not from a VIP", r4443,
           "icmp_error_no_flow", icmp6_error(quote_v6(src="2001:db8:b::9"), mtu=1400))
    c.drop("v6-icmp-err-about-icmp", "ICMPv6 error about an echo reply the VIP sent",
           r4443 + " 2.4(e)", "icmp_error_no_flow", icmp6_error(quote_v6("echo-reply"),
                                                                mtu=1400))
    c.drop("v6-icmp-err-reversed", "ICMPv6 error quoting a client → VIP packet", r4443,
           "icmp_error_no_flow", icmp6_error(quote_v6(src=CLIENT6, dst=VIP6, sport=40000,
                                                      dport=443), mtu=1400))
    c.passed("v6-icmp-err-not-vip", "ICMPv6 error to a non-VIP address", POLICY,
             icmp6_error(quote_v6(src="2001:db8:c::1"), dst="2001:db8:c::1", mtu=1400))


def mtu_cases(c):
    """Boundaries of the egress MTU 1500 for each encapsulation: the largest packet that is
    forwarded, and one byte more, which is answered (or, for an ICMP error, dropped)."""
    r1191, r8201 = "RFC 1191", "RFC 8201"
    cases = ((VIP, 6, 80, 20, "IPIP"), (VIP, 17, 7000, 28, "GUE over IPv4"),
             (VIP20, 6, 80, 40, "IPv4 in IPv6"), (VIP6, 6, 443, 40, "IP6IP6"),
             (VIP6U, 17, 53, 48, "GUE over IPv6"))
    for dst, proto, port, overhead, what in cases:
        fam6 = ":" in dst
        hdr = 40 if fam6 else 20
        l4hdr = 20 if proto == 6 else 8
        for extra, verdict in ((0, "forward"), (1, "reply")):
            ip_len = 1500 - overhead + extra
            data = b"m" * (ip_len - hdr - l4hdr)
            l4 = tcp(sport=47000, dport=port, flags="A") if proto == 6 else udp(
                sport=47000, dport=port)
            p = (v6(dst=dst) if fam6 else v4(dst=dst)) / l4 / Raw(data)
            name = "mtu-%s-%d" % (what.lower().replace(" ", "-"), ip_len)
            desc = "%d-byte IP packet to a %s VIP: %s" % (
                ip_len, what, "fits the egress MTU" if extra == 0 else
                "one byte too big, answered with " + ("packet too big" if fam6 else
                                                       "frag-needed"))
            c.add(name, desc, r8201 if fam6 else r1191, verdict, p)
    c.reply("mtu-ipip-no-df", "1481-byte IPv4 packet without DF: answered too (the LB does "
            "not fragment)", r1191, v4(flags="") / tcp(sport=47001, flags="A") /
            Raw(b"m" * (1481 - 40)))
    c.reply("mtu-first-fragment-1484", "1484-byte first UDP fragment: answered", r1191,
            eth() / IP(src=CLIENT, dst=VIP, flags="MF", id=200, proto=17) /
            Raw(udp_hdr(5000, 53, 3000) + b"d" * (1484 - 28)))
    c.fwd("mtu-icmp-err-fits", "1480-byte ICMP error about a VIP flow: fits IPIP", "RFC 792",
          icmp4_error(quote_v4() + b"q" * (1480 - 28 - len(quote_v4()))))
    c.drop("mtu-icmp-err-too-big", "1481-byte ICMP error about a VIP flow: too big to "
           "encapsulate, and never answered with an ICMP error", "RFC 1122 3.2.2", "too_big",
           icmp4_error(quote_v4() + b"q" * (1481 - 28 - len(quote_v4()))))
    c.drop("mtu-icmpv6-err-too-big", "1461-byte ICMPv6 error about a VIP flow: too big for "
           "IP6IP6", "RFC 1122 3.2.2, RFC 4443 2.4(e)", "too_big",
           icmp6_error(quote_v6() + b"q" * (1461 - 48 - len(quote_v6())), mtu=1400))
    c.drop("mtu-icmp-err-udp-too-big", "1473-byte ICMP error about a GUE VIP flow: too big "
           "for GUE", "RFC 1122 3.2.2", "too_big",
           icmp4_error(quote_v4("udp", sport=9999, dport=5353) +
                       b"q" * (1473 - 28 - len(quote_v4("udp")))))
    # Frames larger than one mbuf: the dataplane reads them into chains.
    c.reply("jumbo-v4-tcp-3000", "3000-byte IPv4 TCP to a VIP (multi-segment in the "
            "dataplane): frag-needed", r1191, v4() / tcp(sport=47002, flags="A") /
            Raw(b"j" * 2960))
    c.reply("jumbo-v6-udp-5000", "5000-byte IPv6 UDP to a GUE VIP: packet too big", r8201,
            v6(dst=VIP6U) / udp(sport=47003, dport=53) / Raw(b"j" * 4952))
    c.passed("jumbo-non-vip", "4000-byte IPv4 UDP to a non-VIP address", POLICY,
             v4(dst="198.51.100.1") / udp() / Raw(b"j" * 3972))
    c.drop("jumbo-bad-source", "3000-byte IPv4 TCP to a VIP from 127.0.0.1", "RFC 1122 "
           "3.2.1.3", "bad_source_address", v4(src="127.0.0.1") / tcp(flags="A") /
           Raw(b"j" * 2960))
    c.drop("jumbo-bad-udp-length", "9000-byte IPv4 UDP whose UDP length says 100", "RFC 768",
           "bad_udp_length", patch(bytes(v4() / udp() / Raw(b"j" * 8972)), 38,
                                   struct.pack(">H", 100)))


def ipv6_header(c):
    r8200 = "RFC 8200 3"
    base = bytes(v6() / tcp(dport=443))
    for ver in (0, 4, 7):
        c.drop("v6-version-%d" % ver, "EtherType IPv6, version field %d" % ver, r8200,
               "bad_ipv6_version", patch(base, 14, bytes([ver << 4])))
    c.drop("v6-payload-length-plus-1", "IPv6 payload length one byte past the frame", r8200,
           "bad_ipv6_payload_length", patch(base, 18, struct.pack(">H", 21)))
    c.drop("v6-payload-length-vlan-plus-8", "802.1Q-tagged IPv6 whose payload length runs 8 "
           "bytes past the frame", r8200, "bad_ipv6_payload_length",
           patch(bytes(v6(l2=eth(vlan=3)) / tcp(dport=443)), 22, struct.pack(">H", 28)))
    c.drop("v6-payload-length-65535", "IPv6 payload length 65535 in a 74-byte frame", r8200,
           "bad_ipv6_payload_length", patch(base, 18, b"\xff\xff"))
    c.drop("v6-payload-length-minus-1", "IPv6 payload length one byte short of the TCP "
           "header", r8200, "truncated_l4", patch(base, 18, struct.pack(">H", 19)))
    c.drop("v6-payload-length-0", "IPv6 payload length 0 with a TCP header after it "
           "(jumbogram form without its option)", "RFC 2675", "truncated_l4",
           patch(base, 18, b"\x00\x00"))
    for n in (0, 1, 39):
        c.drop("v6-truncated-%d" % n, "EtherType IPv6 with %d bytes of IPv6 header" % n,
               r8200, "truncated_ipv6", base[:14 + n])
    c.drop("v6-truncated-vlan", "802.1Q-tagged, EtherType IPv6, 20 bytes of header", r8200,
           "truncated_ipv6", bytes(v6(l2=eth(vlan=3)) / tcp(dport=443))[:18 + 20])
    c.fwd("v6-flow-label", "IPv6 with flow label 0xfffff and traffic class 0xff", r8200,
          v6(fl=0xfffff, tc=0xff) / tcp(sport=48000, dport=443))


def build():
    c = Corpus()
    legal_forward(c)
    l2_cases(c)
    ipv4_header(c)
    ipv4_options(c)
    sources(c)
    ipv4_fragments(c)
    ipv6_header(c)
    ipv6_ext(c)
    ipv6_fragments(c)
    l4_cases(c)
    icmp_cases(c)
    icmp_errors(c)
    mtu_cases(c)
    return c.entries


def write_json(entries, path):
    """One object per entry, one field per line, entries in order: a frame's change is a
    small diff."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    lines = ["{", '  "format": "steer frame corpus 1: see docs/packet-core.md (The frame '
             'corpus); written by tests/scapy/make_frame_corpus.py",', '  "frames": [']
    for i, e in enumerate(entries):
        fields = ",\n".join("      %s: %s" % (json.dumps(k), json.dumps(e[k], ensure_ascii=False))
                            for k in ("name", "description", "rfc", "verdict", "reason", "hex"))
        lines.append("    {\n%s\n    }%s" % (fields, "," if i + 1 < len(entries) else ""))
    lines += ["  ]", "}"]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def write_seeds(entries):
    for d in SEED_DIRS:
        os.makedirs(d, exist_ok=True)
        for old in os.listdir(d):
            if old.startswith("corpus-") and old.endswith(".bin"):
                os.remove(os.path.join(d, old))
        for e in entries:
            data = bytes.fromhex(e["hex"])
            if len(data) > SEED_MAX:
                continue
            with open(os.path.join(d, "corpus-%s.bin" % e["name"]), "wb") as f:
                f.write(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--no-seeds", action="store_true", help="write only the JSON file")
    args = ap.parse_args()
    entries = build()
    write_json(entries, args.out)
    if not args.no_seeds:
        write_seeds(entries)
    counts = {}
    for e in entries:
        counts[e["verdict"]] = counts.get(e["verdict"], 0) + 1
    print("%d frames: %s" % (len(entries), ", ".join("%s %d" % kv for kv in sorted(
        counts.items()))))


if __name__ == "__main__":
    main()
