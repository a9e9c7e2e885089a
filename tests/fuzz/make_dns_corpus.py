#!/usr/bin/env python3
"""Writes the seed corpora of dns_query_fuzz and dns_answer_fuzz (tests/fuzz/corpus/<target>/).

Real queries (A, AAAA, ANY, CNAME chains, NXDOMAIN, referrals, ECS v4 and v6, NSID, EDNS
version 1, CHAOS) and malformed ones, by hand so that every byte is deliberate. The names are
those of the tables dns_answer_fuzz builds. dns_answer_fuzz's inputs start with 21 bytes: a
flags byte (bit 0 TCP, bit 1 IPv6 client, bit 2 the second table, bit 3 explain), the client
address (16 bytes; IPv4 uses the first 4) and the random word (4 bytes).

    tests/fuzz/make_dns_corpus.py            rewrites both directories
"""
import os
import struct
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))

A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV, OPT, DS, IXFR, AXFR, ANY, CAA = (
    1, 2, 5, 6, 12, 15, 16, 28, 33, 41, 43, 251, 252, 255, 257)
IN, CH, HS, NONE = 1, 3, 4, 254


def wire_name(text):
    if text == ".":
        return b"\x00"
    out = b""
    for label in text.rstrip(".").split("."):
        raw = label.encode()
        out += bytes([len(raw)]) + raw
    return out + b"\x00"


def opt(udp=1232, version=0, do=False, options=b""):
    ttl = (version << 16) | (0x8000 if do else 0)
    return b"\x00" + struct.pack(">HHIH", OPT, udp, ttl, len(options)) + options


def nsid():
    return struct.pack(">HH", 3, 0)


def ecs(family, source, address):
    nbytes = (source + 7) // 8
    body = struct.pack(">HBB", family, source, 0) + address[:nbytes]
    return struct.pack(">HH", 8, len(body)) + body


def query(name, qtype=A, qclass=IN, qid=0x1234, flags=0x0100, edns=None, qd=1, an=0, ns=0,
          ar=None, extra=b"", raw_name=None):
    if ar is None:
        ar = 0 if edns is None else 1
    header = struct.pack(">HHHHHH", qid, flags, qd, an, ns, ar)
    qname = raw_name if raw_name is not None else wire_name(name)
    q = header + qname + struct.pack(">HH", qtype, qclass)
    if edns is not None:
        q += edns
    return q + extra


V4 = bytes([10, 1, 2, 0])
V6 = bytes.fromhex("20010db8000100000000000000000000")

QUERIES = {
    # Answers from the zone.
    "a-ns1": query("ns1.lb.example.com.", edns=opt()),
    "a-ns1-no-edns": query("ns1.lb.example.com."),
    "aaaa-ns1": query("ns1.lb.example.com.", AAAA, edns=opt()),
    "a-0x20": query("Ns1.Lb.ExAmPlE.cOm.", edns=opt()),
    "soa-apex": query("lb.example.com.", SOA, edns=opt()),
    "ns-apex": query("lb.example.com.", NS, edns=opt()),
    "mx-apex": query("lb.example.com.", MX, edns=opt()),
    "txt-apex": query("lb.example.com.", TXT),
    "caa-apex": query("lb.example.com.", CAA, edns=opt()),
    "any-apex": query("lb.example.com.", ANY, edns=opt()),
    "srv": query("_sip._udp.lb.example.com.", SRV, edns=opt()),
    "ptr": query("ptr.lb.example.com.", PTR),
    "nodata": query("ns1.lb.example.com.", TXT, edns=opt()),
    "ent": query("a.b.lb.example.com.", A, edns=opt()),
    "deep": query("deep.a.b.lb.example.com.", A),
    "nxdomain": query("nope.lb.example.com.", A, edns=opt()),
    "nxdomain-other-zone": query("nope.other.example.", AAAA),
    "inner-zone": query("x.inner.lb.example.com.", TXT, edns=opt()),
    # CNAMEs.
    "cname-to-service": query("www.lb.example.com.", A, edns=opt()),
    "cname-asked": query("www.lb.example.com.", CNAME),
    "cname-nxdomain": query("old.lb.example.com.", A, edns=opt()),
    "cname-out": query("out.lb.example.com.", AAAA),
    "cname-cross-zone": query("cross.lb.example.com.", A, edns=opt()),
    "cname-loop": query("loop1.lb.example.com.", A, edns=opt()),
    "cname-long-chain": query("c0.lb.example.com.", A, edns=opt(udp=4096)),
    # Delegation.
    "referral": query("host.sub.lb.example.com.", A, edns=opt()),
    "referral-at-cut": query("sub.lb.example.com.", NS),
    "ds-at-cut": query("sub.lb.example.com.", DS, edns=opt()),
    # Services.
    "service-a": query("web.lb.example.com.", A, edns=opt()),
    "service-aaaa": query("web.lb.example.com.", AAAA, edns=opt()),
    "service-any": query("web.lb.example.com.", ANY),
    "service-static": query("down.lb.example.com.", A, edns=opt()),
    "service-fail-open": query("open.lb.example.com.", A, edns=opt()),
    "service-wide-512": query("wide.lb.example.com.", A),
    "ecs-v4": query("web.lb.example.com.", A, edns=opt(options=ecs(1, 24, V4))),
    "ecs-v6": query("web.lb.example.com.", AAAA, edns=opt(options=ecs(2, 56, V6))),
    "ecs-zero": query("web.lb.example.com.", A, edns=opt(options=ecs(1, 0, b""))),
    "ecs-and-nsid": query("web.lb.example.com.", A, edns=opt(options=nsid() + ecs(1, 16, V4))),
    "ecs-host-bits": query("web.lb.example.com.", A,
                           edns=opt(options=ecs(1, 20, bytes([10, 1, 255, 0])))),
    "ecs-twice": query("web.lb.example.com.", A,
                       edns=opt(options=ecs(1, 8, V4) + ecs(1, 8, V4))),
    "ecs-bad-family": query("web.lb.example.com.", A, edns=opt(options=ecs(3, 8, V4))),
    "ecs-scope-set": query("web.lb.example.com.", A,
                           edns=opt(options=struct.pack(">HHHBB", 8, 7, 1, 24, 8) + V4[:3])),
    # Sizes.
    "big-txt-no-edns": query("big.lb.example.com.", TXT),
    "big-txt-4096": query("big.lb.example.com.", TXT, edns=opt(udp=4096)),
    "many-a-512": query("many.lb.example.com.", A, edns=opt(udp=100)),
    "many-aaaa-1232": query("many.lb.example.com.", AAAA, edns=opt()),
    "mx-many-additional": query("bigmx.lb.example.com.", MX, edns=opt(udp=1232)),
    # EDNS.
    "nsid": query("ns1.lb.example.com.", A, edns=opt(options=nsid())),
    "edns-v1": query("ns1.lb.example.com.", A, edns=opt(version=1)),
    "edns-do": query("ns1.lb.example.com.", A, edns=opt(do=True)),
    "edns-unknown-option": query("ns1.lb.example.com.", A,
                                 edns=opt(options=struct.pack(">HH", 65001, 2) + b"xy")),
    "edns-cookie": query("ns1.lb.example.com.", A,
                         edns=opt(options=struct.pack(">HH", 10, 8) + b"\x01" * 8)),
    # CHAOS and other classes.
    "chaos-id-server": query("id.server.", TXT, CH),
    "chaos-hostname-bind": query("hostname.bind.", TXT, CH, edns=opt(options=nsid())),
    "chaos-version-bind": query("version.bind.", TXT, CH),
    "chaos-any": query("id.server.", ANY, CH),
    "class-any": query("ns1.lb.example.com.", A, 255),
    "class-hs": query("ns1.lb.example.com.", A, HS),
    "class-none": query("ns1.lb.example.com.", A, NONE),
    # Refused and not implemented.
    "outside": query("www.example.org.", A, edns=opt()),
    "root": query(".", NS),
    "axfr": query("lb.example.com.", AXFR),
    "ixfr": query("lb.example.com.", IXFR),
    "notify": query("lb.example.com.", SOA, flags=0x2000 | 0x0400),
    "update": query("lb.example.com.", SOA, flags=0x2800, an=1),
    "cd-set": query("ns1.lb.example.com.", A, flags=0x0110, edns=opt()),
    # Malformed.
    "short-header": bytes.fromhex("1234010000"),
    "header-only": struct.pack(">HHHHHH", 1, 0x0100, 0, 0, 0, 0),
    "response": query("ns1.lb.example.com.", A, flags=0x8100),
    "two-questions": query("ns1.lb.example.com.", A, qd=2) + wire_name("x.") + b"\x00\x01\x00\x01",
    "answer-count": query("ns1.lb.example.com.", A, an=1),
    "pointer-in-question": query("", A, raw_name=b"\x03www\xc0\x0c"),
    "label-64": query("", A, raw_name=b"\x40" + b"a" * 64 + b"\x00"),
    "label-flags-01": query("", A, raw_name=b"\x41abc\x00"),
    "name-256": query("", A, raw_name=(b"\x3f" + b"a" * 63) * 4 + b"\x00"),
    "name-255": query("", A, raw_name=(b"\x3f" + b"a" * 63) * 3 + b"\x3d" + b"a" * 61 + b"\x00"),
    "name-unterminated": query("", A, raw_name=b"\x03www\x07exa")[:-4],
    "no-type": query("ns1.lb.example.com.", A)[:-3],
    "trailing-data": query("ns1.lb.example.com.", A) + b"\x00",
    "opt-twice": query("ns1.lb.example.com.", A, edns=opt() + opt(), ar=2),
    "opt-not-root": query("ns1.lb.example.com.", A,
                          edns=wire_name("x.") + struct.pack(">HHIH", OPT, 1232, 0, 0)),
    "opt-short-rdata": query("ns1.lb.example.com.", A,
                             edns=b"\x00" + struct.pack(">HHIH", OPT, 1232, 0, 3) + b"\x00\x08"),
    "opt-option-past-end": query("ns1.lb.example.com.", A,
                                 edns=opt(options=struct.pack(">HH", 8, 40) + b"\x00\x01")),
    "binary-label": query("", A, raw_name=b"\x04a.\\\x00\x02lb\x07example\x03com\x00"),
    "spaces-label": query("", TXT, raw_name=b"\x05a b\x01\x7f\x02lb\x07example\x03com\x00"),
}


def answer_inputs():
    """(name, flags byte, client address, query) for dns_answer_fuzz."""
    v4 = bytes([192, 0, 2, 200]) + bytes(12)
    v4_far = bytes([10, 1, 2, 3]) + bytes(12)
    v6 = bytes.fromhex("20010db8000100000000000000000001")
    v6_mapped = bytes.fromhex("00000000000000000000ffffc0000201")
    out = []
    for name, q in QUERIES.items():
        out.append((name, 0, v4, q))
    # Over TCP, from elsewhere, on the bare table, with an explanation.
    for name in ["big-txt-no-edns", "many-a-512", "many-aaaa-1232", "cname-long-chain",
                 "service-a", "axfr", "ecs-v6", "mx-many-additional"]:
        out.append((name + "-tcp", 1, v4, QUERIES[name]))
    for name in ["service-a", "service-aaaa", "ecs-v4", "cname-to-service"]:
        out.append((name + "-v4-far", 0, v4_far, QUERIES[name]))
        out.append((name + "-v6", 2, v6, QUERIES[name]))
    out.append(("service-a-v6-mapped", 2, v6_mapped, QUERIES["service-a"]))
    for name in ["nsid", "chaos-id-server", "big-txt-4096", "service-wide-512", "ecs-and-nsid"]:
        out.append((name + "-bare", 4, v4, QUERIES[name]))
    for name in ["service-a", "referral", "cname-nxdomain", "nodata", "ecs-v4", "outside"]:
        out.append((name + "-explain", 8, v4, QUERIES[name]))
    return out


def write(directory, files):
    os.makedirs(directory, exist_ok=True)
    for entry in os.listdir(directory):
        if not entry.startswith("crash-"):  # reproducers of fixed bugs stay
            os.remove(os.path.join(directory, entry))
    for name, data in files:
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)


def main():
    corpus = os.path.join(ROOT, "corpus")
    write(os.path.join(corpus, "dns_query_fuzz"), QUERIES.items())
    write(os.path.join(corpus, "dns_answer_fuzz"),
          [(n, bytes([flags]) + addr + struct.pack(">I", 0x5eed0000 + i) + q)
           for i, (n, flags, addr, q) in enumerate(answer_inputs())])
    return 0


if __name__ == "__main__":
    sys.exit(main())
