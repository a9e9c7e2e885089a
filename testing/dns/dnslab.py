"""dnslab: what the DNS integration tests (tests/integration/dns/) need to put real DNS clients
in front of a real steerd, and a real Knot DNS beside it.

- Zone / Record: one description of a zone, written out both as steerd's [[dns.zone]] table
  and as a zone file for Knot, so that the two servers serve the same data.
- Steerd / Knot / KnotSecondary: the servers (KnotSecondary: Knot transferring a zone from
  steerd), each started in the foreground as a child of the test, on a
  loopback address, with its own configuration in a temporary directory; ready once their
  control socket answers (steerd's CLI) and their DNS port answers an SOA query; stopped by
  PID (SIGTERM, then SIGKILL) when the `with` block ends, whatever happened inside it.
- PortListener: a TCP listener the test opens and closes, standing in for a remote PoP that
  steerd's checker probes.
- build_query / udp / tcp / tcp_pipeline: DNS messages as bytes (so malformed ones can be
  sent too) over UDP and TCP.
- view / view_text: a response as a plain dictionary (rcode, flags, sections as sorted record
  tuples, OPT), comparable between servers and printable.
- dig / kdig: the command-line clients, their output parsed (dig +yaml, kdig +json).
- Checks: soft checks that print one line each; the case fails at the end if one failed.

Everything runs on 127.0.53.0/24 (chosen to stay clear of other tests' addresses); the
servers bind only the addresses a case gives them. Nothing here needs a network namespace;
binding port 53 (zonemaster) needs root.
"""
import json
import re
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "testing" / "lab"))
from lablib.framing import SteerdApi  # noqa: E402
from lablib.steerd import toml_value  # noqa: E402
from lablib.util import pid_alive, wait_until  # noqa: E402

KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"


# --------------------------------------------------------------------------------------------
# Checks


class Failed(Exception):
    """A required check failed: the case stops here (its clean-up still runs)."""


class Checks:
    """Soft checks: each prints one line; the case fails at the end if any failed."""

    def __init__(self):
        self.failures = []
        self.count = 0

    def check(self, ok, what, detail=""):
        self.count += 1
        print(f"  [{'ok' if ok else 'FAIL'}] {what}{(': ' + detail) if detail and not ok else ''}",
              flush=True)
        if not ok:
            self.failures.append(f"{what}{(': ' + detail) if detail else ''}")
        return ok

    def require(self, ok, what, detail=""):
        if not self.check(ok, what, detail):
            raise Failed(what)

    def equal(self, got, want, what):
        return self.check(got == want, what, f"got {got!r}, want {want!r}")


def run_case(name, fn, *args):
    """Runs case function fn(c, *args) with fresh Checks; prints PASS/FAIL with the time it
    took; returns the exit status. fn's own `with` blocks clean up."""
    doc = (fn.__doc__ or "").strip().split("\n")[0]
    print(f"== {name}: {doc}", flush=True)
    c = Checks()
    t0 = time.monotonic()
    try:
        fn(c, *args)
    except Failed:
        pass
    except Exception as e:  # a broken reply, a server that does not start, a timeout, ...
        traceback.print_exc()
        c.failures.append(f"{type(e).__name__}: {str(e).strip()[:800]}")
    dt = time.monotonic() - t0
    if c.failures:
        print(f"FAIL {name} ({dt:.1f} s, {c.count} checks): " + " | ".join(c.failures), flush=True)
        return 1
    print(f"PASS {name} ({dt:.1f} s, {c.count} checks)", flush=True)
    return 0


# --------------------------------------------------------------------------------------------
# Zones


@dataclass(frozen=True)
class Record:
    """One record in zone-file syntax: `name` relative to the zone, "@" or absolute; `data`
    as a zone file writes it (names relative to the zone unless they end in "."; TXT as
    quoted strings)."""
    name: str
    type: str
    data: str
    ttl: int = None


@dataclass
class Zone:
    apex: str                    # absolute, "example.test."
    ns: list                     # apex NS names, relative or absolute
    records: list                # Record
    ttl: int = 3600              # SOA, NS and default record TTL
    rname: str = "hostmaster"
    serial: int = 2026120701
    refresh: int = 3600
    retry: int = 600
    expire: int = 1209600
    minimum: int = 300

    @property
    def negative_ttl(self):
        return min(self.ttl, self.minimum)  # RFC 2308 3

    def absolute(self, name):
        """An owner or target name as an absolute, lower-case name."""
        if name == "@":
            return self.apex
        if name.endswith("."):
            return name.lower()
        return f"{name}.{self.apex}".lower()

    def steer_toml(self):
        """The [[dns.zone]] table of steerd's configuration."""
        soa = {"rname": self.rname, "serial": self.serial, "refresh": self.refresh,
               "retry": self.retry, "expire": self.expire, "minimum": self.minimum}
        lines = ["[[dns.zone]]", f"name = {toml_value(self.apex)}", f"ttl = {self.ttl}",
                 f"ns = {toml_value(self.ns)}", f"soa = {toml_value(soa)}", "records = ["]
        for r in self.records:
            entry = {"name": r.name, "type": r.type, "data": r.data}
            if r.ttl is not None:
                entry["ttl"] = r.ttl
            lines.append(f"  {toml_value(entry)},")
        lines.append("]")
        return "\n".join(lines) + "\n"

    def zone_file(self):
        """The same zone as an RFC 1035 master file (for Knot)."""
        lines = [f"$ORIGIN {self.apex}",
                 f"@ {self.ttl} IN SOA {self.ns[0]} {self.rname} {self.serial} {self.refresh} "
                 f"{self.retry} {self.expire} {self.minimum}"]
        lines += [f"@ {self.ttl} IN NS {n}" for n in self.ns]
        for r in self.records:
            lines.append(f"{r.name} {self.ttl if r.ttl is None else r.ttl} IN {r.type} {r.data}")
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Processes


def pick_port(address):
    """A port free for both UDP and TCP on `address` right now (the kernel's choice)."""
    for _ in range(20):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            u.bind((address, 0))
            port = u.getsockname()[1]
            try:
                t.bind((address, port))
            except OSError:
                continue
            return port
        finally:
            u.close()
            t.close()
    raise RuntimeError(f"no free port on {address}")


def soa_query(apex):
    return build_query(apex, "SOA", id=0x5eed)


class Server:
    """A server process in the foreground, its output in a log file; stop() by PID."""

    name = "server"

    def __init__(self, run_dir, address, port, apex):
        self.run_dir = Path(run_dir)
        self.address, self.port, self.apex = address, port, apex
        self.proc = None
        self.exit_status = None
        self.log_path = self.run_dir / f"{self.name}.log"

    def command(self):
        raise NotImplementedError

    def write_config(self):
        raise NotImplementedError

    def control_ready(self):
        return True

    def start(self, timeout=15.0):
        self.write_config()
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.run_dir)
        finally:
            log.close()

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with status {self.proc.returncode}:\n"
                                   + self.log_tail())
            return self.control_ready() and udp(soa_query(self.apex), self.address, self.port,
                                                timeout=0.2, tries=1) is not None
        wait_until(f"{self.name} answers on {self.address}:{self.port}", ready, timeout, 0.05)
        return self

    def stop(self):
        """SIGTERM, then SIGKILL after 5 s; returns the exit status (None if never started)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                print(f"  {self.name} (pid {self.proc.pid}) ignored SIGTERM: SIGKILL", flush=True)
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def alive(self):
        return self.proc is not None and self.proc.poll() is None and pid_alive(self.proc.pid)

    def log_tail(self, lines=30):
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, exc_type, exc, tb):
        self.exit_status = self.stop()
        if exc_type is not None:
            print(f"  --- {self.name} log (last lines) ---\n{self.log_tail()}", flush=True)
        return False


class Steerd(Server):
    """steerd ($STEER_BUILD/control/steerd -c FILE) with a [dns] section answering on
    address:port. `dns` holds the [dns] keys beyond listen; `sections` is more configuration
    text (zones, PoPs, services, checks) appended as is; `metrics` the [metrics] listen
    address ("": none), read back with metrics()."""

    name = "steerd"

    def __init__(self, build, run_dir, address, port, apex, dns_keys, sections,
                 pop="local", extra_listen=(), metrics=""):
        super().__init__(run_dir, address, port, apex)
        self.metrics_listen = metrics
        self.binary = Path(build) / "control" / "steerd"
        self.socket = self.run_dir / "steerd.sock"
        self.config_path = self.run_dir / "steerd.toml"
        self.dns_keys = dns_keys
        self.sections = sections
        self.pop = pop
        self.listen = [f"{address}:{port}"] + list(extra_listen)

    def config_text(self):
        head = f"""# Written by testing/dns/dnslab.py.
[pop]
name = {toml_value(self.pop)}
region = "here"

[dataplane]
socket = {toml_value(str(self.run_dir / "no-dataplane.sock"))}

[cli]
socket = {toml_value(str(self.socket))}
mode = "0600"

[metrics]
listen = {toml_value(self.metrics_listen)}

[state]
dir = {toml_value(str(self.run_dir / "state"))}

[warmup]
max_ms = 0

[dns]
listen = {toml_value(self.listen)}
"""
        keys = "".join(f"{k} = {toml_value(v)}\n" for k, v in self.dns_keys.items())
        return head + keys + "\n" + self.sections

    def write_config(self):
        self.config_path.write_text(self.config_text())

    def command(self):
        return [str(self.binary), "-c", str(self.config_path)]

    def control_ready(self):
        try:
            with SteerdApi(self.socket, timeout=2.0):
                return True
        except Exception:  # not there yet, or not answering yet
            return False

    def api(self):
        return SteerdApi(self.socket)

    def cli(self, line):
        """The JSON document of a successful CLI request (raises on 8xxx/9xxx)."""
        with self.api() as api:
            return api.data(line)

    def metrics(self):
        """{(name, ((label, value), ...)): value} from GET /metrics."""
        host, port = self.metrics_listen.rsplit(":", 1)
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            m = re.match(r'^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$', line)
            if m:
                labels = tuple(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
                out[(m.group(1), labels)] = float(m.group(3))
        return out


def knot_value(v):
    if isinstance(v, bool):
        return "on" if v else "off"
    return json.dumps(v) if isinstance(v, str) else str(v)


class Knot(Server):
    """knotd -c CONF in the foreground, serving `zone` on address:port, with its own rundir,
    storage and control socket in run_dir (nothing of the system's Knot is used).
    `modules`: configuration text placed before the template (module sections such as
    `mod-geoip:`); `zone_keys`: more keys of the zone's entry (`module: mod-geoip/ID`)."""

    name = "knotd"

    def __init__(self, run_dir, address, port, zone, server_keys=None, modules="",
                 zone_keys=None):
        super().__init__(Path(run_dir), address, port, zone.apex)
        self.zone = zone
        self.dir = self.run_dir / "knot"
        self.server_keys = server_keys or {}
        self.modules = modules
        self.zone_keys = zone_keys or {}

    def write_config(self):
        self.dir.mkdir(exist_ok=True)
        (self.dir / "zone.db").write_text(self.zone.zone_file())
        server = {"rundir": str(self.dir), "listen": f"{self.address}@{self.port}",
                  **self.server_keys}
        text = "# Written by testing/dns/dnslab.py.\nserver:\n"
        text += "".join(f"    {k}: {knot_value(v)}\n" for k, v in server.items())
        text += f"""database:
    storage: "{self.dir / 'db'}"
control:
    listen: "{self.dir / 'knot.sock'}"
log:
  - target: stderr
    any: info
{self.modules}template:
  - id: default
    storage: "{self.dir}"
    semantic-checks: on
    journal-content: none
    zonefile-sync: -1
    zonefile-load: whole
zone:
  - domain: {self.zone.apex}
    file: "zone.db"
"""
        text += "".join(f"    {k}: {knot_value(v)}\n" for k, v in self.zone_keys.items())
        (self.dir / "knot.conf").write_text(text)

    def command(self):
        return [KNOTD, "-c", str(self.dir / "knot.conf")]


class KnotSecondary(Server):
    """knotd as a secondary of `primary` ("ADDR@PORT"): it transfers `apex` from there (its
    own outgoing address `via`), signed with TSIG key `key` = (name, algorithm, base64
    secret) when given, and accepts NOTIFY from `notify_from` (signed with the same key). The
    zone lives in its run directory only; before the first transfer it answers SERVFAIL."""

    name = "knotd-secondary"

    def __init__(self, run_dir, address, port, apex, primary, via, notify_from, key=None):
        super().__init__(Path(run_dir), address, port, apex)
        self.dir = self.run_dir / "knot-secondary"
        self.primary, self.via, self.notify_from, self.key = primary, via, notify_from, key

    def write_config(self):
        self.dir.mkdir(exist_ok=True)
        key_name = self.key[0] if self.key else None
        text = f"""# Written by testing/dns/dnslab.py.
server:
    rundir: "{self.dir}"
    listen: "{self.address}@{self.port}"
database:
    storage: "{self.dir / 'db'}"
control:
    listen: "{self.dir / 'knot.sock'}"
log:
  - target: stderr
    any: info
"""
        if self.key:
            text += (f"key:\n  - id: {self.key[0]}\n    algorithm: {self.key[1]}\n"
                     f"    secret: {self.key[2]}\n")
        text += f"""remote:
  - id: primary
    address: {self.primary}
    via: {self.via}
{f"    key: {key_name}" if key_name else ""}
acl:
  - id: notify-from-primary
    address: {self.notify_from}
    action: notify
{f"    key: {key_name}" if key_name else ""}
template:
  - id: default
    storage: "{self.dir}"
    journal-content: none
    zonefile-sync: -1
    zonefile-load: none
zone:
  - domain: {self.apex}
    master: primary
    acl: notify-from-primary
"""
        (self.dir / "knot.conf").write_text(text)

    def command(self):
        return [KNOTD, "-c", str(self.dir / "knot.conf")]


class RunDir:
    """A temporary directory for one case's configurations, sockets and logs, removed at the
    end (kept, with its path printed, when STEER_KEEP_DNS_TEST is set)."""

    def __init__(self, prefix):
        self.path = Path(tempfile.mkdtemp(prefix=f"steer-{prefix}-"))

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        if os.environ.get("STEER_KEEP_DNS_TEST"):
            print(f"  kept {self.path}", flush=True)
        else:
            shutil.rmtree(self.path, ignore_errors=True)


class PortListener:
    """A TCP listener on address:port that accepts and closes connections (a remote PoP as a
    TCP connect check sees it). close() makes probes fail (connection refused); open() brings
    it back."""

    def __init__(self, address, port):
        self.address, self.port = address, port
        self.sock = None
        self.thread = None
        self.stopping = threading.Event()

    def open(self):
        if self.sock is not None:
            return self
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.address, self.port))
        s.listen(64)
        s.settimeout(0.05)
        self.sock = s
        self.stopping.clear()
        self.thread = threading.Thread(target=self._accept, args=(s,), daemon=True)
        self.thread.start()
        return self

    def _accept(self, s):
        while not self.stopping.is_set():
            try:
                conn, _ = s.accept()
                conn.close()
            except socket.timeout:
                continue
            except OSError:
                return

    def close(self):
        if self.sock is None:
            return
        self.stopping.set()
        self.thread.join()
        self.sock.close()
        self.sock = None

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------------------------
# Messages


def encode_name(text):
    """A name in wire form with its case as written ("." is the root)."""
    if text in ("", "."):
        return b"\x00"
    out = b""
    for label in text.rstrip(".").split("."):
        raw = label.encode()
        out += bytes([len(raw)]) + raw
    return out + b"\x00"


def rr_type(t):
    return t if isinstance(t, int) else dns.rdatatype.from_text(t)


def rr_class(k):
    return k if isinstance(k, int) else dns.rdataclass.from_text(k)


def ecs_option(prefix, source=None, family=None, scope=0, address_bytes=None):
    """A Client Subnet option (code 8): "198.51.100.0/24" → family, source, scope 0 and the
    prefix's bytes; the keywords override each field to make malformed ones."""
    addr, _, length = prefix.partition("/")
    fam = 2 if ":" in addr else 1
    packed = socket.inet_pton(socket.AF_INET6 if fam == 2 else socket.AF_INET, addr)
    source = int(length) if source is None else source
    if address_bytes is None:
        address_bytes = packed[:(int(length) + 7) // 8]
    body = struct.pack("!HBB", fam if family is None else family, source, scope) + address_bytes
    return (8, body)


def build_query(name, qtype="A", qclass="IN", *, id=0x1234, opcode=0, flags=(),
                edns=None, qdcount=None, question=True, tail=b""):
    """A query as bytes. flags: header flag names to set ("RD", "CD", "AD", "AA", "TC", "RA",
    "Z", "QR"). edns: None (no OPT) or a dict {udp, version, do, zflags, options: [(code,
    bytes)]}. qdcount overrides the count; question=False leaves the question out; tail is
    appended raw (trailing garbage, a second question)."""
    bits = {"QR": 0x8000, "AA": 0x0400, "TC": 0x0200, "RD": 0x0100, "RA": 0x0080, "Z": 0x0040,
            "AD": 0x0020, "CD": 0x0010}
    f = (opcode & 0xf) << 11
    for b in flags:
        f |= bits[b]
    q = b""
    if question:
        q = encode_name(name) + struct.pack("!HH", rr_type(qtype), rr_class(qclass))
    ar = 0
    opt = b""
    if edns is not None:
        options = b"".join(struct.pack("!HH", code, len(body)) + body
                           for code, body in edns.get("options", []))
        ttl = (edns.get("ext_rcode", 0) << 24) | (edns.get("version", 0) << 16) | \
            (0x8000 if edns.get("do") else 0) | edns.get("zflags", 0)
        opt = b"\x00" + struct.pack("!HHIH", 41, edns.get("udp", 1232), ttl, len(options)) + options
        ar = 1
    qd = (1 if question else 0) if qdcount is None else qdcount
    return struct.pack("!HHHHHH", id, f, qd, 0, 0, ar) + q + opt + tail


def edns0(udp=1232, **kw):
    return dict(udp=udp, **kw)


NSID = (3, b"")


def parallel_map(fn, items, workers=16):
    """[fn(x) for x in items], computed by `workers` daemon threads. When the caller is
    interrupted (SIGTERM arrives as KeyboardInterrupt) it returns at once: no new item is
    started and the running ones are left to finish, so clean-up is not held up by the
    timeouts of queries nobody answers."""
    items = list(items)
    results = [None] * len(items)
    errors = []
    stop = threading.Event()
    lock = threading.Lock()
    todo = iter(enumerate(items))

    def work():
        while not stop.is_set():
            with lock:
                nxt = next(todo, None)
            if nxt is None:
                return
            try:
                results[nxt[0]] = fn(nxt[1])
            except Exception as e:  # reported in the caller's thread
                errors.append(e)
                stop.set()

    threads = [threading.Thread(target=work, daemon=True) for _ in range(min(workers, len(items)))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        stop.set()
    if errors:
        raise errors[0]
    return results


def _recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def udp(wire, address, port, timeout=1.0, tries=3, source=None):
    """Sends `wire` over UDP and returns the response with the same ID, or None when none came
    in `tries` × `timeout` seconds."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        if source:
            s.bind((source, 0))
        s.settimeout(timeout)
        want_id = wire[:2]
        for _ in range(tries):
            s.sendto(wire, (address, port))
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                s.settimeout(left)
                try:
                    data, _ = s.recvfrom(65535)
                except socket.timeout:
                    break
                if len(wire) < 2 or data[:2] == want_id:
                    return data
        return None
    finally:
        s.close()


def tcp(wire, address, port, timeout=3.0, source=None):
    """One query over a fresh TCP connection; the response or None (closed without one)."""
    return tcp_pipeline([wire], address, port, timeout, source)[0]


def tcp_pipeline(wires, address, port, timeout=3.0, source=None):
    """Writes every query at once on one connection (RFC 7766 pipelining) and reads as many
    responses; None for each one the server closed the connection before sending."""
    s = socket.create_connection((address, port), timeout=timeout,
                                 source_address=(source, 0) if source else None)
    try:
        s.sendall(b"".join(struct.pack("!H", len(w)) + w for w in wires))
        out = []
        for _ in wires:
            head = _recv_exact(s, 2)
            if head is None:
                out.append(None)
                continue
            out.append(_recv_exact(s, struct.unpack("!H", head)[0]))
        return out
    finally:
        s.close()


FLAG_NAMES = [("QR", 0x8000), ("AA", 0x0400), ("TC", 0x0200), ("RD", 0x0100), ("RA", 0x0080),
              ("Z", 0x0040), ("AD", 0x0020), ("CD", 0x0010)]


# Types whose RDATA text is names and numbers only: compared lower-cased, as names compare
# (RFC 4343) — a server may write them in the question's case through compression.
NAME_RDATA = {"NS", "CNAME", "PTR", "MX", "SRV", "SOA", "DNAME"}


def _records(section, order):
    out = []
    for rrset in section:
        rtype = dns.rdatatype.to_text(rrset.rdtype)
        for rd in rrset:
            data = rd.to_text()
            out.append((rrset.name.to_text().lower(), rtype, dns.rdataclass.to_text(rrset.rdclass),
                        rrset.ttl, data.lower() if rtype in NAME_RDATA else data))
    return out if order else sorted(out)


def view(wire, order=False):
    """A response as a dictionary: id, opcode, rcode (extended), flags, question (as sent:
    case kept), answer / authority / additional as (owner lower-cased, type, class, TTL,
    RDATA with its names lower-cased) tuples, sorted unless `order`, and opt (None, or udp,
    version, DO, other flag bits, option codes with their data). None for no response;
    {"unparsable": ...} for bytes dnspython cannot read."""
    if wire is None:
        return None
    if len(wire) < 12:
        return {"unparsable": f"{len(wire)} bytes", "hex": wire.hex()}
    flags = struct.unpack("!H", wire[2:4])[0]
    opcode = (flags >> 11) & 0xf
    try:
        # Parsed as a QUERY whatever the opcode (dnspython knows no opcode 15 and reads UPDATE
        # sections under other names); the opcode comes from the header.
        as_query = wire[:2] + struct.pack("!H", flags & ~0x7800) + wire[4:]
        m = dns.message.from_wire(as_query, ignore_trailing=False)
    except (dns.exception.DNSException, ValueError, struct.error) as e:
        return {"unparsable": f"{type(e).__name__}: {e}", "hex": wire.hex()}
    try:
        opcode_text = dns.opcode.to_text(opcode)
    except ValueError:
        opcode_text = str(opcode)
    v = {
        "id": m.id,
        "opcode": opcode_text,
        "rcode": dns.rcode.to_text(m.rcode()),
        "flags": [n for n, b in FLAG_NAMES if flags & b],
        "question": [(q.name.to_text(), dns.rdatatype.to_text(q.rdtype),
                      dns.rdataclass.to_text(q.rdclass)) for q in m.question],
        "answer": _records(m.answer, order),
        "authority": _records(m.authority, order),
        "additional": _records(m.additional, order),
        "opt": None,
        "size": len(wire),
    }
    if m.edns >= 0:
        v["opt"] = {
            "udp": m.payload,
            "version": m.edns,
            "do": bool(m.ednsflags & dns.flags.DO),
            "zflags": m.ednsflags & 0x7fff,
            "options": sorted((int(o.otype), o.to_wire().hex()) for o in m.options),
        }
    return v


def option(v, code):
    """The data (bytes) of option `code` in a view's OPT, or None."""
    if not v or not v.get("opt"):
        return None
    for c, data in v["opt"]["options"]:
        if c == code:
            return bytes.fromhex(data)
    return None


def ecs_of(v):
    """(family, source, scope, address bytes) of a view's Client Subnet option, or None."""
    data = option(v, 8)
    if data is None:
        return None
    family, source, scope = struct.unpack("!HBB", data[:4])
    return family, source, scope, data[4:]


def view_text(v):
    """A view on a few lines, for failure messages."""
    if v is None:
        return "no response"
    if "unparsable" in v:
        return f"unparsable: {v['unparsable']} ({v['hex'][:120]})"
    lines = [f"{v['opcode']} {v['rcode']} flags={' '.join(v['flags'])} q={v['question']}"]
    for s in ("answer", "authority", "additional"):
        for r in v[s]:
            lines.append(f"    {s[:3]} {' '.join(str(x) for x in r)}")
    if v["opt"]:
        lines.append(f"    opt {v['opt']}")
    return "\n".join(lines)


def addresses(v, section="answer", rtype=None):
    """The RDATA of a view's records of the section (and type), in order."""
    return [r[4] for r in v[section] if rtype is None or r[1] == rtype]


# --------------------------------------------------------------------------------------------
# Command-line clients


def dig(args, timeout=10):
    """Runs dig +yaml with `args`; the list of response message dictionaries it printed
    (response_message_data)."""
    out = subprocess.run(["dig", "+yaml", *args], capture_output=True, text=True,
                         timeout=timeout)
    docs = yaml.safe_load(out.stdout) or []
    msgs = [d["message"].get("response_message_data") for d in docs
            if isinstance(d, dict) and d.get("type") == "MESSAGE"]
    return [m for m in msgs if m is not None]


def kdig(args, timeout=10):
    """Runs kdig +json with `args`; the response as a dictionary (RFC 8427 names)."""
    out = subprocess.run(["kdig", "+json", *args], capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"kdig {' '.join(args)}: status {out.returncode}: "
                           f"{out.stderr.strip()[:300]}")
    return json.loads(out.stdout)


@dataclass
class Diff:
    """A difference between two views in one field."""
    field: str
    steer: object
    knot: object


def compare(a, b, fields=("rcode", "opcode", "flags", "question", "answer", "authority",
                           "additional", "opt")):
    """The fields where views a and b differ (no response and unparsable count as values)."""
    if a is None or b is None or "unparsable" in a or "unparsable" in b:
        return [] if a == b else [Diff("response", _short(a), _short(b))]
    return [Diff(f, a[f], b[f]) for f in fields if a[f] != b[f]]


def _short(v):
    if v is None:
        return None
    if "unparsable" in v:
        return "unparsable"
    return f"{v['rcode']} {' '.join(v['flags'])}"


__all__ = [
    "Checks", "Diff", "Failed", "Knot", "NSID", "PortListener", "Record", "RunDir", "Steerd",
    "Zone", "addresses", "build_query", "compare", "dig", "ecs_of", "ecs_option", "edns0",
    "encode_name", "kdig", "option", "parallel_map", "pick_port", "run_case", "tcp",
    "tcp_pipeline", "udp", "view", "view_text", "wait_until",
]
