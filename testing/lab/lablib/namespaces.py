"""Network namespaces: netns() runs a block of Python inside one (setns on this thread);
sockets created inside stay in that namespace, so one asyncio loop drives clients in the lab."""
import contextlib
import ctypes
import os
import resource

_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd):
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextlib.contextmanager
def netns(name):
    """Runs the block with this thread in network namespace `name` (ip netns). Sockets
    created in the block belong to that namespace for their whole life."""
    target = os.open(f"/run/netns/{name}", os.O_RDONLY | os.O_CLOEXEC)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(target)
        os.close(home)


def raise_nofile():
    """The open-file limit of this process raised to its hard limit (thousands of clients)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
