#!/usr/bin/python3
"""Writes the seed corpus of the parse_fuzz target: tests/fuzz/corpus/parse_fuzz/.

A few frames of every family crosscheck.py builds (IPv4/IPv6 with options and extension
headers, fragments, ICMP echo and errors, non-IP, malformed headers, truncations), one file per
frame, named after its family. Deterministic: the same seed writes the same bytes.

Usage: make_parse_corpus.py [OUT_DIR] [--seed N] [--per-family N]
"""

import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import crosscheck  # noqa: E402

DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "corpus",
                           "parse_fuzz")


def family(name):
    """'ipv4-l4-12' -> 'ipv4-l4'; 'raw-cut-3-of-icmp-error-7@40' -> 'raw-cut'."""
    if name.startswith(("raw-cut", "consistent-cut")):
        name = name.split("-of-")[0]
    return re.sub(r"-\d+$", "", name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?", default=DEFAULT_OUT)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--per-family", type=int, default=3)
    args = ap.parse_args()

    os.makedirs(args.out, exist_ok=True)
    for old in os.listdir(args.out):
        # corpus-*.bin: the frame corpus's seeds (make_frame_corpus.py), kept.
        if old.endswith(".bin") and not old.startswith("corpus-"):
            os.remove(os.path.join(args.out, old))

    taken = {}
    written = total = 0
    for name, frame, _ in crosscheck.build_cases(args.seed):
        fam = family(name)
        k = taken.get(fam, 0)
        if k >= args.per_family or len(frame) > 1600:
            continue
        taken[fam] = k + 1
        with open(os.path.join(args.out, "%s-%d.bin" % (fam, k)), "wb") as f:
            f.write(frame)
        written += 1
        total += len(frame)
    print("wrote %d frames, %d bytes, to %s" % (written, total, os.path.normpath(args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
