"""Clients through the lab's VIPs (asyncio, sockets created inside the client namespace):
HTTP GETs, UDP echo flows and long-lived TCP line-echo connections, each reporting which
backend answered."""
import asyncio
import re
import socket
from dataclasses import dataclass

from .namespaces import netns, raise_nofile
from .util import fam, norm_address

_LOOP = None


def run(coro):
    """Runs a coroutine on the module's one event loop (sockets outlive single calls)."""
    global _LOOP
    if _LOOP is None:
        raise_nofile()
        _LOOP = asyncio.new_event_loop()
    return _LOOP.run_until_complete(coro)


@dataclass
class Answer:
    proto: str
    src: str
    sport: int
    dst: str
    dport: int
    backend: str = None   # name of the backend that answered
    error: str = None
    text: str = ""

    def tuple(self):
        return (self.proto, self.src, self.sport, self.dst, self.dport)


def _client_socket(ns, family, kind, src):
    with netns(ns):
        s = socket.socket(family, kind)
    try:
        s.setblocking(False)
        s.bind((src, 0))
    except BaseException:
        s.close()
        raise
    return s


async def _recv_until(loop, s, done, limit=1 << 16):
    data = b""
    while not done(data):
        chunk = await loop.sock_recv(s, 4096)
        if not chunk:
            break
        data += chunk
        if len(data) > limit:
            break
    return data


async def http_get(ns, src, dst, port=80, timeout=10.0):
    """One HTTP/1.0 GET from src to dst:port; Answer.backend names who answered. Also checks
    the backend saw the real client address and the VIP as its local address (no NAT)."""
    loop = asyncio.get_running_loop()
    s = _client_socket(ns, fam(dst), socket.SOCK_STREAM, src)
    a = Answer("tcp", src, s.getsockname()[1], dst, port)
    try:
        await asyncio.wait_for(loop.sock_connect(s, (dst, port)), timeout)
        await loop.sock_sendall(s, b"GET / HTTP/1.0\r\nHost: lab\r\n\r\n")
        data = await asyncio.wait_for(_recv_until(loop, s, lambda d: False), timeout)
        a.text = data.decode(errors="replace")
        head, _, body = a.text.partition("\r\n\r\n")
        if not head.startswith("HTTP/1.0 200"):
            a.error = f"bad HTTP reply: {a.text[:100]!r}"
            return a
        m = re.match(r"backend=(\S+) client=(\S+) local=(\S+)", body)
        if not m:
            a.error = f"bad body: {body[:100]!r}"
            return a
        a.backend = m.group(1)
        want_client = f"[{norm_address(src)}]:{a.sport}" if ":" in src else f"{src}:{a.sport}"
        want_local = f"[{norm_address(dst)}]:{port}" if ":" in dst else f"{dst}:{port}"
        if m.group(2) != want_client or m.group(3) != want_local:
            a.error = (f"backend saw client={m.group(2)} local={m.group(3)}, "
                       f"want {want_client} {want_local}")
    except asyncio.TimeoutError:
        a.error = "timeout"
    except OSError as e:
        a.error = f"{type(e).__name__}: {e}"
    finally:
        s.close()
    return a


async def udp_echo(ns, src, dst, port=7, payload=None, timeout=1.0, tries=3):
    """One UDP flow: a datagram from src to dst:port, answered "<backend> <payload>". The
    socket is connected, so only a reply from dst:port (the VIP) is accepted."""
    loop = asyncio.get_running_loop()
    s = _client_socket(ns, fam(dst), socket.SOCK_DGRAM, src)
    a = Answer("udp", src, s.getsockname()[1], dst, port)
    payload = payload or f"flow {src} {a.sport}".encode()
    try:
        await loop.sock_connect(s, (dst, port))
        for attempt in range(tries):
            await loop.sock_sendall(s, payload)
            try:
                data = await asyncio.wait_for(loop.sock_recv(s, 2048), timeout)
            except asyncio.TimeoutError:
                continue
            name, _, rest = data.partition(b" ")
            if rest != payload:
                a.error = f"echo mismatch: {data[:80]!r}"
            a.backend = name.decode(errors="replace")
            a.text = f"attempt {attempt + 1}"
            return a
        a.error = f"no reply after {tries} tries"
    except OSError as e:
        a.error = f"{type(e).__name__}: {e}"
    finally:
        s.close()
    return a


async def bounded(factories, concurrency):
    """Runs coroutine factories with at most `concurrency` at once; results in order."""
    sem = asyncio.Semaphore(concurrency)

    async def one(f):
        async with sem:
            return await f()

    return await asyncio.gather(*(one(f) for f in factories))


def http_many(ns, pairs, port=80, concurrency=64, timeout=10.0):
    """HTTP GETs for (src, dst) pairs; list of Answers in the same order."""
    return run(bounded([lambda s=s, d=d: http_get(ns, s, d, port, timeout) for s, d in pairs],
                       concurrency))


def udp_many(ns, pairs, port=7, concurrency=64, timeout=1.0, tries=3):
    return run(bounded([lambda s=s, d=d: udp_echo(ns, s, d, port, timeout=timeout, tries=tries)
                        for s, d in pairs], concurrency))


class EchoConn:
    """A long-lived TCP connection to the line-echo server through a VIP."""

    def __init__(self, ns, src, dst, port=7):
        self.ns, self.src, self.dst, self.port = ns, src, dst, port
        self.sock = None
        self.sport = None
        self.buf = b""
        self.backend = None  # who answered the first line
        self.error = None    # the first failure (reset, timeout, EOF); None while healthy
        self.seq = 0

    def tuple(self):
        return ("tcp", self.src, self.sport, self.dst, self.port)

    async def open(self, timeout=10.0):
        loop = asyncio.get_running_loop()
        self.sock = _client_socket(self.ns, fam(self.dst), socket.SOCK_STREAM, self.src)
        self.sport = self.sock.getsockname()[1]
        try:
            await asyncio.wait_for(loop.sock_connect(self.sock, (self.dst, self.port)), timeout)
            self.backend = await self.ask(timeout=timeout)
        except (OSError, asyncio.TimeoutError) as e:
            self.error = f"open: {type(e).__name__}: {e}"
        return self

    async def ask(self, timeout=5.0):
        """Sends one line; returns the name of the backend that echoed it (None on failure,
        with self.error set)."""
        if self.error:
            return None
        loop = asyncio.get_running_loop()
        self.seq += 1
        line = f"{self.src} {self.sport} #{self.seq}"
        try:
            await loop.sock_sendall(self.sock, line.encode() + b"\n")
            data = await asyncio.wait_for(
                _recv_until(loop, self.sock, lambda d: b"\n" in d), timeout)
        except asyncio.TimeoutError:
            self.error = f"line #{self.seq}: no answer in {timeout} s"
            return None
        except OSError as e:
            self.error = f"line #{self.seq}: {type(e).__name__}: {e}"
            return None
        if b"\n" not in data:
            self.error = f"line #{self.seq}: connection closed (EOF)"
            return None
        reply = data.split(b"\n", 1)[0].decode(errors="replace")
        name, _, echoed = reply.partition(" ")
        if echoed != line:
            self.error = f"line #{self.seq}: echo mismatch {reply!r}"
            return None
        return name

    def close(self):
        if self.sock:
            self.sock.close()


def open_echo_conns(ns, pairs, port=7, concurrency=64):
    conns = [EchoConn(ns, s, d, port) for s, d in pairs]
    run(bounded([c.open for c in conns], concurrency))
    return conns


def ask_all(conns, concurrency=64):
    """One line on each connection; list of backend names (None where it failed)."""
    return run(bounded([c.ask for c in conns], concurrency))
