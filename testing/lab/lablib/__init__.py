"""lablib: the Python library of the netns lab (testing/lab/lablib/lab.py)."""
from .lab import *  # noqa: F401,F403
from .lab import _pid_alive  # noqa: F401
