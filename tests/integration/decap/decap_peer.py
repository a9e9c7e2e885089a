#!/usr/bin/python3
"""The two ends of decap_test.py's lab, each run inside its network namespace.

  decap_peer.py server --vip4 A --vip6 B --udp-port P --tcp-port Q
      Real sockets on the VIPs: a UDP echo server (answers "echo:" + payload) and a TCP
      server (reads one message, answers "pong:" + message, closes). One JSON line per event
      on stdout: {"event": "ready"}, {"event": "udp", ...}, {"event": "tcp", ...}.

  decap_peer.py client --iface IF --dst-mac MAC --client4 A --client6 B --vip4 V --vip6 W
                       --outer4 SRC,DST --outer6 SRC,DST --udp-port P --tcp-port Q
      The encapsulating side, with scapy (the role steer's dataplane plays in production).
      Reads one JSON command per line on stdin and answers one JSON line per command:
        {"cmd": "udp", "kind": K, "inner": 4|6, "payload": S, "sport": N, ...options}
        {"cmd": "tcp", "kind": K, "inner": 4|6, "sport": N, "data": S, ...options}
      K is ipip, 6in4, ip6ip6, 4in6, gue4, gue6 (GUE over an IPv4/IPv6 outer header) or plain
      (no encapsulation). Options: outer_src, outer_dst (override the outer addresses),
      gue_port, truncate (cut the frame to N bytes), vlan (add an 802.1Q tag), wait (seconds
      to wait for replies).
"""
import argparse
import json
import random
import socket
import sys
import threading
import time

PRINT_LOCK = threading.Lock()


def emit(obj):
    with PRINT_LOCK:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


# ---- server ---------------------------------------------------------------------------------

def serve_udp(sock, vip):
    while True:
        data, addr = sock.recvfrom(65535)
        emit({"event": "udp", "vip": vip, "src": addr[0], "sport": addr[1],
              "payload": data.decode(errors="replace")})
        sock.sendto(b"echo:" + data, addr)


def serve_tcp_conn(conn, addr, vip):
    try:
        conn.settimeout(5)
        data = conn.recv(4096)
        emit({"event": "tcp", "vip": vip, "src": addr[0], "sport": addr[1],
              "data": data.decode(errors="replace")})
        conn.sendall(b"pong:" + data)
    except OSError as e:
        emit({"event": "tcp-error", "vip": vip, "src": addr[0], "error": str(e)})
    finally:
        conn.close()


def serve_tcp(sock, vip):
    while True:
        conn, addr = sock.accept()
        threading.Thread(target=serve_tcp_conn, args=(conn, addr, vip), daemon=True).start()


def server(args):
    threads = []
    for family, vip in ((socket.AF_INET, args.vip4), (socket.AF_INET6, args.vip6)):
        u = socket.socket(family, socket.SOCK_DGRAM)
        u.bind((vip, args.udp_port))
        t = socket.socket(family, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.bind((vip, args.tcp_port))
        t.listen(16)
        threads.append(threading.Thread(target=serve_udp, args=(u, vip), daemon=True))
        threads.append(threading.Thread(target=serve_tcp, args=(t, vip), daemon=True))
    for t in threads:
        t.start()
    emit({"event": "ready"})
    # Until killed, or until the test's pipe closes.
    while sys.stdin.readline():
        pass


# ---- client ---------------------------------------------------------------------------------

class Client:
    def __init__(self, args):
        from scapy.all import conf, get_if_hwaddr  # noqa: imported here: slow, client only
        conf.verb = 0
        self.a = args
        self.src_mac = get_if_hwaddr(args.iface)

    def inner(self, family, l4):
        from scapy.all import IP, IPv6
        if family == 4:
            return IP(src=self.a.client4, dst=self.a.vip4) / l4
        return IPv6(src=self.a.client6, dst=self.a.vip6) / l4

    def frame(self, cmd, inner_pkt):
        from scapy.all import IP, IPv6, UDP, Ether, Raw
        kind = cmd["kind"]
        if kind == "plain":
            outer = inner_pkt
        else:
            v4 = kind in ("ipip", "6in4", "gue4")
            src, dst = (self.a.outer4 if v4 else self.a.outer6).split(",")
            src = cmd.get("outer_src", src)
            dst = cmd.get("outer_dst", dst)
            if kind in ("gue4", "gue6"):
                sport = random.randint(49152, 65535)
                l4 = UDP(sport=sport, dport=cmd.get("gue_port", 6080)) / Raw(bytes(inner_pkt))
                outer = (IP(src=src, dst=dst) if v4 else IPv6(src=src, dst=dst)) / l4
            elif v4:
                outer = IP(src=src, dst=dst, proto=4 if kind == "ipip" else 41) / inner_pkt
            else:
                outer = IPv6(src=src, dst=dst, nh=4 if kind == "4in6" else 41) / inner_pkt
        from scapy.all import Dot1Q
        eth = Ether(src=self.src_mac, dst=self.a.dst_mac)
        if cmd.get("vlan"):
            eth = eth / Dot1Q(vlan=cmd["vlan"])
        data = bytes(eth / outer)
        if "truncate" in cmd:
            data = data[:cmd["truncate"]]
        return data

    def sniffer(self, match):
        """Starts capturing on the interface; returns (sniffer, list of matching packets)."""
        from scapy.all import AsyncSniffer
        got = []
        started = threading.Event()
        s = AsyncSniffer(iface=self.a.iface, store=False, lfilter=match, prn=got.append,
                         started_callback=started.set)
        s.start()
        started.wait(5)
        return s, got

    @staticmethod
    def wait_for(got, pred, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for p in list(got):
                if pred(p):
                    return p
            time.sleep(0.02)
        return None

    def send(self, data):
        from scapy.all import sendp
        sendp(data, iface=self.a.iface)

    @staticmethod
    def describe(p):
        from scapy.all import IP, IPv6, TCP, UDP
        ip = p[IP] if IP in p else p[IPv6]
        l4 = p[TCP] if TCP in p else p[UDP]
        out = {"src": ip.src, "dst": ip.dst, "sport": l4.sport, "dport": l4.dport,
               "payload": bytes(l4.payload).decode(errors="replace")}
        if TCP in p:
            out.update(flags=str(p[TCP].flags), seq=p[TCP].seq, ack=p[TCP].ack)
        return out

    def udp(self, cmd):
        from scapy.all import UDP
        sport = cmd["sport"]
        l4 = UDP(sport=sport, dport=self.a.udp_port) / cmd["payload"].encode()
        data = self.frame(cmd, self.inner(cmd["inner"], l4))
        s, got = self.sniffer(lambda p: UDP in p and p[UDP].dport == sport and
                              p[UDP].sport == self.a.udp_port)
        self.send(data)
        echo = self.wait_for(got, lambda p: True, cmd.get("wait", 3))
        s.stop()
        return {"sent": len(data), "echo": self.describe(echo) if echo is not None else None}

    def tcp(self, cmd):
        from scapy.all import TCP
        sport = cmd["sport"]
        family = cmd["inner"]
        wait = cmd.get("wait", 3)
        isn = random.randint(1, 2**31)
        s, got = self.sniffer(lambda p: TCP in p and p[TCP].dport == sport and
                              p[TCP].sport == self.a.tcp_port)
        out = {"synack": None, "reply": None}
        try:
            syn = TCP(sport=sport, dport=self.a.tcp_port, flags="S", seq=isn, window=64240)
            self.send(self.frame(cmd, self.inner(family, syn)))
            synack = self.wait_for(got, lambda p: (int(p[TCP].flags) & 0x12) == 0x12, wait)
            if synack is None:
                return out
            out["synack"] = self.describe(synack)
            data = cmd["data"].encode()
            ack = TCP(sport=sport, dport=self.a.tcp_port, flags="PA", seq=isn + 1,
                      ack=synack[TCP].seq + 1, window=64240) / data
            self.send(self.frame(cmd, self.inner(family, ack)))
            reply = self.wait_for(got, lambda p: len(bytes(p[TCP].payload)) > 0, wait)
            if reply is not None:
                out["reply"] = self.describe(reply)
            rst = TCP(sport=sport, dport=self.a.tcp_port, flags="R", seq=isn + 1 + len(data))
            self.send(self.frame(cmd, self.inner(family, rst)))
            return out
        finally:
            s.stop()


def client(args):
    c = Client(args)
    emit({"event": "ready", "mac": c.src_mac})
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        try:
            result = getattr(c, cmd["cmd"])(cmd)
            result["ok"] = True
        except Exception as e:  # report, keep serving: the test decides what it means
            result = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        emit(result)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="role", required=True)
    s = sub.add_parser("server")
    c = sub.add_parser("client")
    for q in (s, c):
        q.add_argument("--vip4", required=True)
        q.add_argument("--vip6", required=True)
        q.add_argument("--udp-port", type=int, required=True)
        q.add_argument("--tcp-port", type=int, required=True)
    c.add_argument("--iface", required=True)
    c.add_argument("--dst-mac", required=True)
    c.add_argument("--client4", required=True)
    c.add_argument("--client6", required=True)
    c.add_argument("--outer4", required=True)
    c.add_argument("--outer6", required=True)
    args = p.parse_args()
    server(args) if args.role == "server" else client(args)


if __name__ == "__main__":
    main()
