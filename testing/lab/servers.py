#!/usr/bin/python3
"""The real servers of one lab backend, run inside its network namespace by lab.sh.

One asyncio process serves, for every VIP on the backend's lo:
  - HTTP on TCP port 80 (IPv4 and IPv6): any request gets "200 OK" and the body
        backend=<name> client=<ip>:<port> local=<ip>:<port>
    then the server closes the connection (HTTP/1.0), so the backend holds the TIME_WAIT;
    its mode can be switched at run time (--control): "ok" (the above), "503" (every request
    gets "503 Service Unavailable"), "hang" (accept and read the request, never answer: the
    connection stays open until the client closes it), or "flap OK FAIL" (per local address,
    OK answers 200 then FAIL answers 503, repeating: a deterministic flapping backend);
  - line echo on TCP port 7: every line "<text>" is answered with "<name> <text>"; the
    connection stays open as long as the client wants (long-lived flows for add/drain tests);
  - UDP echo on port 7: every datagram "<data>" is answered with "<name> <data>".
TCP listens on the wildcard address (dual stack); UDP is bound to each VIP explicitly so the
reply leaves from the VIP (a wildcard UDP socket would answer from the interface address),
and to each --addr (the backend's own addresses, which health checks probe).

--control PATH: a Unix stream socket taking one command per line, each answered with one
line of JSON ({"ok": true, ...} or {"ok": false, "error": ...}):
    http ok | http 503 | http hang | http flap OK FAIL     switch the HTTP mode
    status                                                 mode and counters
--http-mode sets the mode at start ("ok", "503", "hang", "flap:OK:FAIL").

Written to survive thousands of connections: no per-connection threads, a large listen
backlog, the open-file limit raised to its hard limit. Writes its PID to --pid-file and, once
every socket is bound, "ready" to --ready-file. Exits cleanly on SIGTERM/SIGINT.
"""
import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import socket
import sys

HTTP_PORT = 80
ECHO_PORT = 7
BACKLOG = 4096
MAX_REQUEST = 16384
IDLE_TIMEOUT_S = 600  # a long-lived echo connection idle this long is closed


def strip_mapped(host):
    return host[7:] if host.startswith("::ffff:") else host


def endpoint(sock_addr):
    host = strip_mapped(sock_addr[0])
    return f"[{host}]:{sock_addr[1]}" if ":" in host else f"{host}:{sock_addr[1]}"


class Stats:
    def __init__(self):
        self.http = 0
        self.http_503 = 0
        self.http_hung = 0
        self.echo_conns = 0
        self.echo_lines = 0
        self.udp = 0


class HttpMode:
    """What the HTTP server answers: ok (200), 503, hang, or flap (per local address, `ok`
    answers 200 then `fail` answers 503, repeating)."""

    def __init__(self):
        self.set("ok")

    def set(self, mode, ok=0, fail=0):
        if mode not in ("ok", "503", "hang", "flap"):
            raise ValueError(f"unknown HTTP mode '{mode}' (ok, 503, hang, flap OK FAIL)")
        if mode == "flap" and (ok < 1 or fail < 1):
            raise ValueError("flap needs OK >= 1 and FAIL >= 1")
        self.mode, self.ok, self.fail = mode, ok, fail
        self.seq = {}  # flap: requests seen per local address since the mode was set

    @staticmethod
    def parse(text):
        """"ok", "503", "hang" or "flap:OK:FAIL" -> (mode, ok, fail)."""
        parts = text.split(":")
        if parts[0] == "flap" and len(parts) == 3:
            return "flap", int(parts[1]), int(parts[2])
        return parts[0], 0, 0

    def describe(self):
        return f"flap {self.ok} {self.fail}" if self.mode == "flap" else self.mode

    def answer(self, local):
        """'ok', '503' or 'hang' for the next request to this local address."""
        if self.mode != "flap":
            return self.mode
        n = self.seq.get(local, 0)
        self.seq[local] = n + 1
        return "ok" if n % (self.ok + self.fail) < self.ok else "503"


def listen_tcp(port):
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind(("::", port))
    sock.listen(BACKLOG)
    sock.setblocking(False)
    return sock


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--vip", action="append", default=[], help="a VIP on lo (UDP echo binds it)")
    ap.add_argument("--addr", action="append", default=[],
                    help="the backend's own address (UDP echo binds it too, for health checks)")
    ap.add_argument("--pid-file")
    ap.add_argument("--ready-file")
    ap.add_argument("--control", help="Unix socket for run-time commands (http MODE, status)")
    ap.add_argument("--http-mode", default="ok", help="ok, 503, hang or flap:OK:FAIL")
    args = ap.parse_args()
    name = args.name
    stats = Stats()
    mode = HttpMode()
    try:
        mode.set(*HttpMode.parse(args.http_mode))
    except ValueError as e:
        ap.error(f"--http-mode: {e}")

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.pid_file:
        with open(args.pid_file, "w") as f:
            f.write(f"{os.getpid()}\n")

    async def http(reader, writer):
        try:
            data = b""
            while b"\r\n\r\n" not in data and b"\n\n" not in data:
                chunk = await asyncio.wait_for(reader.read(4096), 30)
                if not chunk or len(data) > MAX_REQUEST:
                    return
                data += chunk
            peer = endpoint(writer.get_extra_info("peername"))
            local = endpoint(writer.get_extra_info("sockname"))
            what = mode.answer(strip_mapped(writer.get_extra_info("sockname")[0]))
            if what == "hang":
                # Accepted and read, never answered: hold the connection until the client
                # gives up (EOF) or the idle limit.
                stats.http_hung += 1
                while await asyncio.wait_for(reader.read(4096), IDLE_TIMEOUT_S):
                    pass
                return
            if what == "503":
                body = f"backend={name} unavailable\n".encode()
                status = b"503 Service Unavailable"
                stats.http_503 += 1
            else:
                body = f"backend={name} client={peer} local={local}\n".encode()
                status = b"200 OK"
                stats.http += 1
            writer.write(b"HTTP/1.0 " + status + b"\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
            await writer.drain()
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def echo(reader, writer):
        stats.echo_conns += 1
        try:
            while True:
                line = await asyncio.wait_for(reader.readline(), IDLE_TIMEOUT_S)
                if not line:
                    return
                writer.write(f"{name} ".encode() + line.rstrip(b"\r\n") + b"\n")
                await writer.drain()
                stats.echo_lines += 1
        except (OSError, asyncio.TimeoutError, ValueError):
            pass
        finally:
            writer.close()

    class UdpEcho(asyncio.DatagramProtocol):
        def connection_made(self, transport):
            self.transport = transport

        def datagram_received(self, data, addr):
            stats.udp += 1
            self.transport.sendto(f"{name} ".encode() + data, addr)

    def command(line):
        words = line.split()
        if words == ["status"]:
            return {"ok": True, "name": name, "pid": os.getpid(), "http": mode.describe(),
                    "stats": vars(stats)}
        if len(words) >= 2 and words[0] == "http":
            try:
                if words[1] == "flap":
                    if len(words) != 4:
                        raise ValueError("usage: http flap OK FAIL")
                    mode.set("flap", int(words[2]), int(words[3]))
                elif len(words) == 2:
                    mode.set(words[1])
                else:
                    raise ValueError("usage: http ok|503|hang|flap OK FAIL")
            except ValueError as e:
                return {"ok": False, "error": str(e)}
            print(f"{name}: HTTP mode {mode.describe()}", flush=True)
            return {"ok": True, "http": mode.describe()}
        return {"ok": False, "error": f"unknown command {line.strip()!r} (http MODE, status)"}

    async def control(reader, writer):
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                reply = command(line.decode(errors="replace"))
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    loop = asyncio.get_running_loop()
    http_server = await asyncio.start_server(http, sock=listen_tcp(HTTP_PORT), limit=MAX_REQUEST)
    echo_server = await asyncio.start_server(echo, sock=listen_tcp(ECHO_PORT))
    udp = []
    for address in args.vip + args.addr:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        transport, _ = await loop.create_datagram_endpoint(UdpEcho,
                                                           local_addr=(address, ECHO_PORT),
                                                           family=family)
        udp.append(transport)
    control_server = None
    if args.control:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(args.control)
        control_server = await asyncio.start_unix_server(control, path=args.control)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write("ready\n")
    print(f"{name}: serving HTTP :{HTTP_PORT} ({mode.describe()}), TCP echo :{ECHO_PORT}, "
          f"UDP echo :{ECHO_PORT} on {', '.join(args.vip + args.addr)}", flush=True)
    await stop.wait()
    http_server.close()
    echo_server.close()
    for t in udp:
        t.close()
    if control_server:
        control_server.close()
        with contextlib.suppress(OSError):
            os.unlink(args.control)
    print(f"{name}: stopping: {stats.http} HTTP requests ({stats.http_503} answered 503, "
          f"{stats.http_hung} hung), {stats.echo_conns} echo connections "
          f"({stats.echo_lines} lines), {stats.udp} UDP datagrams", flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
