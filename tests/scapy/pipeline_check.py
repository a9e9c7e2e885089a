#!/usr/bin/python3
"""Cross-checks the whole packet pipeline against scapy.

scapy builds client packets to the VIPs of the lab state (testing/support/pipeline_harness.h),
`packet_tool pipeline` runs them through process_burst, and scapy dissects what comes out:
outer Ethernet, IP and UDP headers with checksums recomputed by scapy, the backend chosen
(one of the VIP's, the same for every packet of a flow), the inner packet unchanged, and the
ICMP replies (echo, frag-needed, packet too big) with their checksums and quotes.

usage: pipeline_check.py PACKET_TOOL [--seed N] [--count N]
Exit 0 when every packet checks out, 1 with a list of mismatches otherwise.
"""
import argparse
import json
import random
import subprocess
import sys

from scapy.all import ICMP, IP, TCP, UDP, Dot1Q, Ether, ICMPv6EchoReply, ICMPv6EchoRequest, \
    ICMPv6PacketTooBig, IPv6, Raw, raw

LB_MAC, ROUTER_MAC, CLIENT_MAC = "02:00:00:00:00:10", "02:00:00:00:00:fe", "02:00:00:00:00:01"

# (vip, proto, port or None for all ports) -> (backends, gue)
VIPS = {
    ("192.0.2.10", 6, 80): ({"203.0.113.1", "203.0.113.2", "203.0.113.3"}, False),
    ("192.0.2.10", 17, None): ({"203.0.113.4", "203.0.113.5"}, True),
    ("192.0.2.20", 6, 80): ({"2001:db8:b::3"}, False),
    ("2001:db8::10", 6, 443): ({"2001:db8:b::1", "2001:db8:b::2"}, False),
    ("2001:db8::20", 17, 53): ({"2001:db8:b::4"}, True),
}
MTU = 1500


def recomputed(pkt, layer_type):
    """The checksum scapy computes for layer_type within pkt (with its pseudo-header)."""
    p = pkt.copy()
    layer = p[layer_type]
    field = "chksum" if "chksum" in layer.fields else "cksum"
    setattr(layer, field, None)
    return getattr(p.__class__(raw(p))[layer_type], field)


class Checker:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.cases = []  # (description, frame bytes, expectation dict)
        self.flow_backend = {}

    def client(self, v6):
        if v6:
            return "2001:db8:c::%x" % self.r.randint(1, 0xffff)
        return "198.51.100.%d" % self.r.randint(1, 254)

    def add(self, desc, frame, **expect):
        self.cases.append((desc, raw(frame), expect))

    def build(self, count):
        for _ in range(count):
            (vip, proto, port), (backends, gue) = self.r.choice(list(VIPS.items()))
            v6 = ":" in vip
            src = self.client(v6)
            sport = self.r.randint(1024, 65535)
            dport = port if port is not None else self.r.randint(1, 65535)
            tos = self.r.randint(0, 255)
            ip = IPv6(src=src, dst=vip, tc=tos, hlim=self.r.randint(2, 255)) if v6 else \
                IP(src=src, dst=vip, tos=tos, ttl=self.r.randint(2, 255),
                   flags="DF" if self.r.random() < 0.8 else 0, id=self.r.randint(0, 65535))
            l4 = TCP(sport=sport, dport=dport, flags="S" if self.r.random() < 0.5 else "A") \
                if proto == 6 else UDP(sport=sport, dport=dport)
            size = self.r.choice([0, 1, 7, 100, 512, 1000])
            eth = Ether(src=CLIENT_MAC, dst=LB_MAC)
            if self.r.random() < 0.2:
                eth = eth / Dot1Q(vlan=self.r.randint(1, 4094))
            pkt = eth / ip / l4 / Raw(bytes(self.r.getrandbits(8) for _ in range(size)))
            flow = (src, vip, sport, dport, proto)
            self.add("to %s %s" % (vip, flow), pkt, verdict="forward", backends=backends, gue=gue,
                     flow=flow, tos=tos)
            # The same flow again, as a later packet: same backend.
            self.add("again %s" % (flow,), pkt, verdict="forward", backends=backends, gue=gue,
                     flow=flow, tos=tos)
        for v6 in (False, True):
            for _ in range(10):
                vip = "2001:db8::10" if v6 else "192.0.2.10"
                src = self.client(v6)
                ip = IPv6(src=src, dst=vip) if v6 else IP(src=src, dst=vip)
                echo = ICMPv6EchoRequest(id=self.r.randint(0, 65535), seq=self.r.randint(0, 65535)) \
                    if v6 else ICMP(type=8, id=self.r.randint(0, 65535), seq=self.r.randint(0, 65535))
                data = bytes(self.r.getrandbits(8) for _ in range(self.r.randint(0, 200)))
                self.add("echo %s" % vip, Ether(src=CLIENT_MAC, dst=LB_MAC) / ip / echo / Raw(data),
                         verdict="reply", echo=True)
                big = Ether(src=CLIENT_MAC, dst=LB_MAC) / \
                    (IPv6(src=src, dst=vip) / TCP(sport=5000, dport=443, flags="A") if v6 else
                     IP(src=src, dst=vip, flags="DF") / TCP(sport=5000, dport=80, flags="A")) / \
                    Raw(bytes(self.r.getrandbits(8) for _ in range(MTU - 40)))
                self.add("too big %s" % vip, big, verdict="reply", too_big=True)

    def check(self, desc, sent, expect, got):
        errors = []
        if got["verdict"] != expect["verdict"]:
            return ["%s: verdict %s (drop %s), expected %s" % (desc, got["verdict"], got["drop"],
                                                                  expect["verdict"])]
        out = Ether(bytes.fromhex(got["out"]))
        client = Ether(sent)
        inner_sent = raw(client[IP] if IP in client else client[IPv6])
        inner_len = (client[IP].len if IP in client else 40 + client[IPv6].plen)
        inner_sent = inner_sent[:inner_len]
        if expect["verdict"] == "forward":
            if out.src != LB_MAC or out.dst != ROUTER_MAC:
                errors.append("%s: outer MACs %s -> %s" % (desc, out.src, out.dst))
            outer = out[1]
            if outer.dst not in expect["backends"]:
                errors.append("%s: backend %s not in %s" % (desc, outer.dst, expect["backends"]))
            prev = self.flow_backend.setdefault(expect["flow"], outer.dst)
            if prev != outer.dst:
                errors.append("%s: flow moved %s -> %s" % (desc, prev, outer.dst))
            if isinstance(outer, IP):
                if outer.chksum != recomputed(out, IP):
                    errors.append("%s: outer IPv4 checksum %#x" % (desc, outer.chksum))
                if outer.ttl != 64 or outer.tos != expect["tos"]:
                    errors.append("%s: outer ttl %d tos %#x" % (desc, outer.ttl, outer.tos))
            else:
                if outer.hlim != 64 or outer.tc != expect["tos"]:
                    errors.append("%s: outer hlim %d tc %#x" % (desc, outer.hlim, outer.tc))
            payload = raw(outer.payload)
            if expect["gue"]:
                udp = outer[UDP]
                if udp.dport != 6080 or not 49152 <= udp.sport <= 65535:
                    errors.append("%s: GUE ports %d -> %d" % (desc, udp.sport, udp.dport))
                if isinstance(outer, IPv6) and udp.chksum != recomputed(out, UDP):
                    errors.append("%s: GUE over IPv6 UDP checksum %#x" % (desc, udp.chksum))
                if isinstance(outer, IP) and udp.chksum != 0:
                    errors.append("%s: GUE over IPv4 UDP checksum %#x, expected 0" % (desc, udp.chksum))
                payload = raw(udp.payload)
            if payload != inner_sent:
                errors.append("%s: inner packet changed" % desc)
        elif expect.get("echo"):
            ip = out[1]
            icmp = out[ICMP] if ICMP in out else out[ICMPv6EchoReply]
            if ip.src != Ether(sent)[1].dst or ip.dst != Ether(sent)[1].src:
                errors.append("%s: echo addresses %s -> %s" % (desc, ip.src, ip.dst))
            if (ICMP in out and (icmp.type != 0 or icmp.chksum != recomputed(out, ICMP))) or \
               (ICMP not in out and icmp.cksum != recomputed(out, ICMPv6EchoReply)):
                errors.append("%s: echo reply type/checksum" % desc)
        elif expect.get("too_big"):
            if ICMP in out:
                icmp = out[ICMP]
                ok = icmp.type == 3 and icmp.code == 4 and icmp.nexthopmtu == MTU - 20 and \
                    icmp.chksum == recomputed(out, ICMP) and len(raw(out[IP])) <= 576 and \
                    raw(icmp.payload) == inner_sent[:576 - 28]
            else:
                icmp = out[ICMPv6PacketTooBig]
                ok = icmp.mtu == MTU - 40 and icmp.cksum == recomputed(out, ICMPv6PacketTooBig) and \
                    len(raw(out[IPv6])) <= 1280 and raw(icmp.payload) == inner_sent[:1280 - 48]
            if not ok:
                errors.append("%s: too-big reply wrong: %s" % (desc, out.summary()))
        return errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("packet_tool")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--count", type=int, default=300)
    args = ap.parse_args()
    c = Checker(args.seed)
    c.build(args.count)
    stdin = "".join(frame.hex() + "\n" for _, frame, _ in c.cases)
    run = subprocess.run([args.packet_tool, "pipeline"], input=stdin, capture_output=True,
                         text=True, check=False)
    if run.returncode != 0:
        print("packet_tool failed:", run.stderr, file=sys.stderr)
        return 1
    results = [json.loads(line) for line in run.stdout.splitlines()]
    errors = []
    for (desc, frame, expect), got in zip(c.cases, results):
        errors += c.check(desc, frame, expect, got)
    if len(results) != len(c.cases):
        errors.append("%d results for %d frames" % (len(results), len(c.cases)))
    for e in errors[:40]:
        print(e)
    print("%d frames, %d mismatched" % (len(c.cases), len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
