"""`python3 -m lablib CMD ...`: the library's command line (lablib.cli)."""
import sys

from .cli import main

sys.exit(main(sys.argv[1:]))
