"""Output shared by the demo scripts: a bold step heading on a terminal, plain otherwise; the
commands a demo runs on its lab (steerctl, tools/lab), each printed as the operator would type
it, followed by its output."""
import subprocess
import sys

BOLD = "\033[1m" if sys.stdout.isatty() else ""
PLAIN = "\033[0m" if sys.stdout.isatty() else ""


def say(text):
    print(f"\n{BOLD}== {text}{PLAIN}", flush=True)


def _lines(text, tail=None, keep=None):
    lines = text.rstrip("\n").split("\n")
    if keep:
        lines = [line for line in lines if keep(line)]
    if tail:
        lines = lines[-tail:]
    return "\n".join(lines)


def steerctl(lab, *args, lb="lb1", socket_path=None, show=True, tail=None, keep=None):
    """steerctl ARGS on `lab` (lablib.Lab.steerctl: the socket of LB host `lb`'s steerd, or
    `socket_path`); with show, prints "$ steerctl ARGS" ("(on LB)" for another LB host than
    lb1) and its output (the last `tail` lines, or the lines keep(line) accepts). Returns the
    output; CalledProcessError when steerctl fails."""
    args = [str(a) for a in args]
    r = lab.steerctl(*args, lb=lb, socket_path=socket_path)
    if show:
        print(f"$ steerctl {' '.join(args)}" + ("" if lb == "lb1" else f"     (on {lb})"))
        print(_lines(r.stdout + r.stderr, tail, keep), flush=True)
    if r.returncode != 0:
        raise subprocess.CalledProcessError(r.returncode, ["steerctl", *args], r.stdout, r.stderr)
    return r.stdout


def dataplane(lab, *args, lb="lb1"):
    """steerctl dataplane ARGS on LB host `lb`'s steer-dataplane, printed as steerctl() does."""
    return steerctl(lab, "dataplane", *args, lb=lb, socket_path=lab.lb(lb)["socket"])


def lab_command(lab, *args, show=True, keep=None, timeout=180):
    """tools/lab ARGS on `lab` (lablib.Lab.lab_tool); with show, prints "$ tools/lab ARGS" and
    its output, if any (the lines keep(line) accepts). Returns the output; LabError when it
    fails."""
    out = lab.lab_tool(*args, timeout=timeout)
    if show:
        print("$ tools/lab " + " ".join(str(a) for a in args), flush=True)
        if out.strip():
            print(_lines(out, keep=keep), flush=True)
    return out
