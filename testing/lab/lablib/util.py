"""Small helpers the other modules share: waiting for a condition, addresses, processes, and
the LB hosts of a lab.json."""
import socket
import time


def wait_until(what, predicate, timeout=10.0, interval=0.02):
    """Calls predicate() until it returns something true; returns that. AssertionError naming
    `what` (and the last value) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s (last: {last!r})")
        time.sleep(interval)


def fam(address):
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def norm_address(address):
    return socket.inet_ntop(fam(address), socket.inet_pton(fam(address), address))


def family_name(family):
    """"v4" / "v6" from "v4", "v6", 4, 6, "ipv4", "ipv6"."""
    f = str(family).lower().removeprefix("ip")
    if f in ("4", "v4"):
        return "v4"
    if f in ("6", "v6"):
        return "v6"
    raise ValueError(f"family {family!r}: want v4 or v6")


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def lab_lb(info, name="lb1"):
    """The entry of LB host `name` in lab.json's "lbs" (lab.json files without "lbs" describe
    lb1 only, in the top-level keys)."""
    for lb in info.get("lbs", []):
        if lb["name"] == name:
            return lb
    if name == "lb1" and "lbs" not in info:
        run = info["run_dir"]
        return dict(info["lb"], name="lb1", socket=info["socket"], bird_socket=None,
                    snippet=None, steerd_socket=f"{run}/steerd.sock", run_dir=run)
    raise KeyError(f"no LB {name!r} in lab {info.get('prefix')!r}")
