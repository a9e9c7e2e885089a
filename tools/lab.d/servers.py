#!/usr/bin/python3
"""The real servers of one lab backend, run inside its network namespace by tools/lab.

One asyncio process serves, for every VIP on the backend's lo:
  - HTTP on TCP port 80 (IPv4 and IPv6): any request gets "200 OK" and the body
        backend=<name> client=<ip>:<port> local=<ip>:<port>
    then the server closes the connection (HTTP/1.0), so the backend holds the TIME_WAIT;
  - line echo on TCP port 7: every line "<text>" is answered with "<name> <text>"; the
    connection stays open as long as the client wants (long-lived flows for add/drain tests);
  - UDP echo on port 7: every datagram "<data>" is answered with "<name> <data>".
TCP listens on the wildcard address (dual stack); UDP is bound to each VIP explicitly so the
reply leaves from the VIP (a wildcard UDP socket would answer from the interface address).

Written to survive thousands of connections: no per-connection threads, a large listen
backlog, the open-file limit raised to its hard limit. Writes its PID to --pid-file and, once
every socket is bound, "ready" to --ready-file. Exits cleanly on SIGTERM/SIGINT.
"""
import argparse
import asyncio
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
        self.echo_conns = 0
        self.echo_lines = 0
        self.udp = 0


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
    ap.add_argument("--pid-file")
    ap.add_argument("--ready-file")
    args = ap.parse_args()
    name = args.name
    stats = Stats()

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
            body = f"backend={name} client={peer} local={local}\n".encode()
            writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
            await writer.drain()
            stats.http += 1
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

    loop = asyncio.get_running_loop()
    http_server = await asyncio.start_server(http, sock=listen_tcp(HTTP_PORT), limit=MAX_REQUEST)
    echo_server = await asyncio.start_server(echo, sock=listen_tcp(ECHO_PORT))
    udp = []
    for vip in args.vip:
        family = socket.AF_INET6 if ":" in vip else socket.AF_INET
        transport, _ = await loop.create_datagram_endpoint(UdpEcho, local_addr=(vip, ECHO_PORT),
                                                           family=family)
        udp.append(transport)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write("ready\n")
    print(f"{name}: serving HTTP :{HTTP_PORT}, TCP echo :{ECHO_PORT}, UDP echo :{ECHO_PORT} "
          f"on {', '.join(args.vip)}", flush=True)
    await stop.wait()
    http_server.close()
    echo_server.close()
    for t in udp:
        t.close()
    print(f"{name}: stopping: {stats.http} HTTP requests, {stats.echo_conns} echo connections "
          f"({stats.echo_lines} lines), {stats.udp} UDP datagrams", flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
