"""Test files with named cases, one case per run (meson registers each as a test)."""
import signal
import sys


def case_main(prog, cases, run_case, argv):
    """The entry point of a test file with named cases (lab_test.py, steerd_test.py,
    bgp_test.py): one case per run, as meson registers them; SIGTERM (meson's timeout) unwinds
    through `with lab`, which tears the lab down."""
    def on_sigterm(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_sigterm)
    if len(argv) != 1 or argv[0] not in cases and argv[0] != "--list":
        print(f"usage: {prog} CASE | --list\ncases: {' '.join(cases)}", file=sys.stderr)
        return 2
    if argv[0] == "--list":
        print("\n".join(cases))
        return 0
    return run_case(argv[0])
