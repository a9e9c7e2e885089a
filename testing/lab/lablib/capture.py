"""Raw frames and captures: RawLink sends and receives whole Ethernet frames (scapy-built
packets) on an interface inside a namespace; Capture runs tcpdump there for the DSR checks."""
import re
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

from .namespaces import netns

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


class RawLink:
    """An AF_PACKET socket on an interface inside a namespace: send whole Ethernet frames,
    receive the frames that arrive (frames this host sends are skipped)."""

    def __init__(self, ns, iface):
        with netns(ns):
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((iface, 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)

    def send(self, frame):
        self.sock.send(bytes(frame))

    def receive(self, match, timeout=3.0):
        """Frames (bytes) for which match(frame) is true, until the first one or timeout."""
        deadline = time.monotonic() + timeout
        self.sock.settimeout(0.1)
        while time.monotonic() < deadline:
            try:
                frame, addr = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            if addr[2] == PACKET_OUTGOING:
                continue
            if match(frame):
                return frame
        return None

    def close(self):
        self.sock.close()


class Capture:
    """tcpdump on an interface in a namespace, kernel-filtered, writing a pcap; count() after
    stop() gives the number of frames that matched."""

    def __init__(self, ns, iface, bpf_filter, path):
        self.path = str(path)
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, "tcpdump", "-i", iface, "-n", "-p", "-U", "-Z", "root",
             "-B", "16384", "-w", self.path, bpf_filter],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # tcpdump says "listening on ..." once its socket is open.
        deadline = time.monotonic() + 10
        line = ""
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if "listening on" in line or not line:
                break
        if "listening on" not in line:
            self.proc.kill()
            raise RuntimeError(f"tcpdump on {ns}/{iface} did not start: {line}")
        self.stats = ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                _, err = self.proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                _, err = self.proc.communicate()
            self.stats = err
        return self

    def frames(self):
        """Raw frames of the pcap file."""
        data = Path(self.path).read_bytes()
        if len(data) < 24:
            return []
        magic = struct.unpack("<I", data[:4])[0]
        endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        out, off = [], 24
        while off + 16 <= len(data):
            _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
            out.append(data[off + 16:off + 16 + incl])
            off += 16 + incl
        return out

    def count(self):
        return len(self.frames())

    def dropped(self):
        m = re.search(r"(\d+) packets dropped by kernel", self.stats)
        return int(m.group(1)) if m else 0
