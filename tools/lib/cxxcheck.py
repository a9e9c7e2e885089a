"""Shared by tools/check-tidy and tools/check-headers: the project's C++ files, their compile
commands (from a meson build's compile_commands.json), and a per-file stamp so that a rerun
checks only what changed since the last clean check."""
import hashlib
import json
import os
import pathlib
import re
import shlex
import subprocess
from concurrent.futures import ThreadPoolExecutor

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
# The folders that hold the project's own C++ (third-party code is not in the tree).
FOLDERS = ["common", "hashing", "dataplane", "control", "bgp", "dns", "tools", "tests",
           "testing", "bench"]
# What the daemons and tools are built from (clang-tidy's scope: see tools/check-tidy).
PRODUCT_FOLDERS = ["common", "hashing", "dataplane", "control", "bgp", "dns", "tools"]
# Dropped from a compile command: what names the output, and the dependency file.
DROP_WITH_ARG = {"-o", "-MF", "-MQ", "-MT"}
DROP = {"-c", "-MD", "-MMD"}


def tracked(*patterns, folders=None):
    """Tracked files under FOLDERS (or `folders`) matching the glob PATTERNS ("*.cc"),
    relative to ROOT."""
    specs = [f"{d}/{p}" for d in (folders or FOLDERS) for p in patterns]
    out = subprocess.run(["git", "ls-files", "--", *specs], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return out.split()


class Command:
    """One entry of compile_commands.json: SOURCE (relative to ROOT) compiled in DIRECTORY
    with FLAGS (the argv without -c, the output, the depfile and the source), OUTPUT the
    object file (relative to DIRECTORY)."""

    def __init__(self, entry):
        self.directory = entry["directory"]
        path = os.path.normpath(os.path.join(self.directory, entry["file"]))
        self.source = os.path.relpath(path, ROOT)
        argv = entry.get("arguments") or shlex.split(entry["command"])
        self.flags, self.output = [], entry.get("output")
        args = iter(argv)
        for arg in args:
            if arg in DROP_WITH_ARG:
                value = next(args, "")
                if arg == "-o":
                    self.output = value
            elif arg in DROP or os.path.normpath(os.path.join(self.directory, arg)) == path:
                continue
            else:
                self.flags.append(arg)


def load_commands(build):
    """{source: Command} for BUILD (a pathlib.Path); the first entry wins for a source."""
    commands = {}
    for entry in json.loads((build / "compile_commands.json").read_text()):
        command = Command(entry)
        commands.setdefault(command.source, command)
    return commands


def ninja_deps(build):
    """{object file: [dependency paths, absolute]} from ninja's dependency log of BUILD."""
    out = subprocess.run(["ninja", "-C", str(build), "-t", "deps"], capture_output=True,
                         text=True).stdout
    deps, current = {}, None
    for line in out.splitlines():
        if line and not line[0].isspace():
            target = line.split(":", 1)[0]
            current = deps.setdefault(target, []) if "(VALID)" in line else None
        elif current is not None and line.strip():
            current.append(os.path.normpath(os.path.join(build, line.strip())))
    return deps


def read_depfile(path, base):
    """The dependencies listed by a make-style depfile, relative paths taken from BASE (the
    compiler's working directory); [] if unreadable."""
    try:
        text = pathlib.Path(path).read_text()
    except OSError:
        return []
    words = re.sub(r"\\\n", " ", text).split(":", 1)[-1].split()
    return [os.path.normpath(os.path.join(base, w)) for w in words]


class Stamps:
    """Per-check stamps under DIR: a check whose KEY (its command and configuration) is
    unchanged and whose dependencies are all older than its stamp is up to date."""

    def __init__(self, directory):
        self.dir = pathlib.Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)

    def _path(self, name):
        return self.dir / (name.replace("/", "__") + ".stamp")

    def fresh(self, name, key):
        path = self._path(name)
        try:
            saved = json.loads(path.read_text())
            made = path.stat().st_mtime
        except (OSError, ValueError):
            return False
        if saved.get("key") != key or not saved.get("deps"):
            return False
        try:
            return all(os.stat(d).st_mtime < made for d in saved["deps"])
        except OSError:
            return False

    def save(self, name, key, deps, started):
        """Records a clean check of NAME that began at STARTED (time.time()): a dependency
        edited while it ran stays newer than the stamp."""
        path = self._path(name)
        path.write_text(json.dumps({"key": key, "deps": sorted(set(deps))}))
        os.utime(path, (started, started))

    def drop(self, name):
        self._path(name).unlink(missing_ok=True)


def digest(*parts):
    h = hashlib.sha256()
    for part in parts:
        h.update(repr(part).encode())
        h.update(b"\0")
    return h.hexdigest()


def run_parallel(function, jobs):
    """Maps FUNCTION over JOBS on $JOBS threads (default 2, CI's core count), in order."""
    with ThreadPoolExecutor(max_workers=int(os.environ.get("JOBS", "2"))) as pool:
        yield from pool.map(function, jobs)
