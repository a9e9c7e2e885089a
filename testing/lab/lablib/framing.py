"""Clients of steer's line protocol (common/framing.h, the contract): the dataplane's API
socket (Api), steerd's CLI socket (SteerdApi) and BIRD's control socket (BirdApi, the format it
comes from). Written from the protocol description rather than from the server's code, so they
check the framing independently: the greeting, "CCCC-text" continuation lines, the final
"CCCC text" line, JSON documents carried in 1000 lines, 8xxx/9xxx errors. Also two helpers
about the dataplane's replies: wait_switched (every worker on a generation) and
canonical_state (a state document, comparable)."""
import json
import re
import socket
import time
from dataclasses import dataclass, field

from .util import fam


class FramingError(Exception):
    """The server broke the line protocol."""


class ApiError(Exception):
    """An 8xxx (runtime) or 9xxx (request) error reply."""

    def __init__(self, code, message, request):
        super().__init__(f"{request!r}: {code} {message}")
        self.code = code
        self.message = message


_REPLY_LINE = re.compile(r"^(\d{4})([- ])(.*)$")


@dataclass
class Reply:
    lines: list = field(default_factory=list)  # (code, last, text)

    @property
    def code(self):
        return self.lines[-1][0]

    @property
    def message(self):
        return self.lines[-1][2]

    def text_of(self, code):
        return "\n".join(text for c, _, text in self.lines if c == code)

    def json(self):
        """The JSON document carried by the 1000 lines."""
        if not any(c == 1000 for c, _, _ in self.lines):
            raise FramingError(f"reply has no 1000 (JSON) lines: {self.lines!r}")
        text = self.text_of(1000)
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise FramingError(f"1000 lines are not one JSON document ({e}): {text[:200]!r}")


def parse_reply_line(line, previous_code):
    """(code, last, text) of one reply line; a line starting with a space continues the
    previous line's code (BIRD style)."""
    if line.startswith(" "):
        if previous_code is None:
            raise FramingError(f"continuation line without a previous code: {line!r}")
        return previous_code, False, line[1:]
    m = _REPLY_LINE.match(line)
    if not m:
        raise FramingError(f"malformed reply line (want 'DDDD-text' or 'DDDD text'): {line!r}")
    return int(m.group(1)), m.group(2) == " ", m.group(3)


class Api:
    """One connection to the dataplane API socket. Not thread-safe."""

    GREETING = r"steer-dataplane \S+ ready\."

    def __init__(self, path, timeout=10.0):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.buf = b""
        try:
            self.sock.connect(self.path)
            greeting = self._read_reply()
        except BaseException:
            self.sock.close()
            raise
        if len(greeting.lines) != 1 or greeting.code != 1:
            raise FramingError(f"greeting is not one 0001 line: {greeting.lines!r}")
        if not re.fullmatch(self.GREETING, greeting.message):
            raise FramingError(f"unexpected greeting: {greeting.message!r}")
        self.greeting = greeting.message

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _readline(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise FramingError(f"connection closed mid-reply (have {self.buf[:200]!r})")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        try:
            return line.decode("utf-8")
        except UnicodeDecodeError:
            raise FramingError(f"reply line is not UTF-8: {line[:200]!r}")

    def _read_reply(self):
        reply = Reply()
        code = None
        while True:
            line = self._readline()
            if line.startswith("+"):  # asynchronous notice: not part of the reply
                continue
            code, last, text = parse_reply_line(line, code)
            reply.lines.append((code, last, text))
            if last:
                return reply

    def request(self, line):
        """Sends one request line and returns its reply; raises ApiError on 8xxx/9xxx."""
        if "\n" in line or "\r" in line:
            raise ValueError("a request is one line")
        self.sock.sendall(line.encode() + b"\n")
        reply = self._read_reply()
        if reply.code >= 8000:
            raise ApiError(reply.code, reply.message, line[:80])
        if reply.code >= 1000:
            raise FramingError(f"reply to {line[:40]!r} ends with a data code: {reply.lines!r}")
        for code, _, _ in reply.lines[:-1]:
            if code >= 8000:
                raise FramingError(f"error code inside a successful reply: {reply.lines!r}")
        return reply

    def data(self, line, final="ok"):
        reply = self.request(line)
        if reply.code != 0 or (final is not None and reply.message != final):
            raise FramingError(f"{line[:40]!r}: want final '0000 {final}', got {reply.lines[-1]!r}")
        return reply.json()

    def apply(self, state):
        doc = state if isinstance(state, str) else json.dumps(state, separators=(",", ":"))
        return self.data("apply " + doc, final="applied")

    def state(self):
        return self.data("state")

    def stats(self):
        return self.data("stats")

    def status(self):
        return self.data("status")

    def flow(self, proto, src, sport, dst, dport):
        return self.data(f"flow {proto} {src} {sport} {dst} {dport}")

    def flow_backend(self, proto, src, sport, dst, dport):
        """The backend address the dataplane says this flow gets (None: no backend)."""
        return self.flow(proto, src, sport, dst, dport).get("backend")


def wait_switched(api, generation, timeout=5.0):
    """Waits until every worker reports `generation` (status); returns the last status."""
    deadline = time.monotonic() + timeout
    while True:
        st = api.status()
        workers = st.get("workers", [])
        if workers and all(w.get("generation") == generation for w in workers):
            return st
        if time.monotonic() > deadline:
            raise AssertionError(f"workers did not switch to generation {generation} in "
                                 f"{timeout} s: {workers}")
        time.sleep(0.02)


class SteerdApi(Api):
    """One connection to steerd's CLI socket: the same line protocol as the dataplane's API,
    with steerd's greeting."""

    GREETING = r"steerd \S+ ready\."

    def show(self, what):
        return self.data("show " + what)

    def raw(self, line):
        """The reply to `line`, whatever its code (no ApiError)."""
        self.sock.sendall(line.encode() + b"\n")
        return self._read_reply()


class BirdApi(Api):
    """One connection to a BIRD control socket (the same reply format: BIRD is where it comes
    from). request() raises ApiError on 8xxx/9xxx (e.g. 9001 for an unknown protocol name)."""

    GREETING = r"BIRD \S+ ready\."

    def protocols(self):
        """{name: {"proto", "table", "state", "since", "info"}} from `show protocols`."""
        reply = self.request("show protocols")
        out = {}
        for code, _, text in reply.lines:
            if code != 1002:
                continue
            cols = text.split(None, 4)
            if len(cols) < 5:
                continue
            name, proto, table, state, rest = cols
            # Since is "HH:MM:SS.mmm" (or a date and a time); Info follows it.
            m = re.match(r"(\S+(?: \d\d:\d\d:\d\d(?:\.\d+)?)?)\s*(.*)$", rest)
            since, info = (m.group(1), m.group(2).strip()) if m else (rest, "")
            out[name] = {"proto": proto, "table": table, "state": state, "since": since,
                         "info": info}
        return out


def canonical_state(doc):
    """The comparable part of a state document: VIPs and their backends, order-free."""
    out = set()
    for v in doc.get("vips", []):
        backends = frozenset((socket.inet_pton(fam(b["address"]), b["address"]),
                              None if b.get("state") == "drain" else b.get("weight", 1),
                              b.get("state", "up"))
                             for b in v.get("backends", []) if b.get("state", "up") != "down")
        out.add((socket.inet_pton(fam(v["address"]), v["address"]), v.get("proto"),
                 v.get("port", 0), v.get("encap", "ipip"), backends))
    return out
