"""Output shared by the demo scripts: a bold step heading on a terminal, plain otherwise."""
import sys

BOLD = "\033[1m" if sys.stdout.isatty() else ""
PLAIN = "\033[0m" if sys.stdout.isatty() else ""


def say(text):
    print(f"\n{BOLD}== {text}{PLAIN}", flush=True)
