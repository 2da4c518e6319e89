"""Menu emulator benchmark: ``python bench/bench_emulator.py [--events N] [--menu run3_hh4b]``.

Thin wrapper around ``trigkit bench emulator``: fused numba pass vs the awkward-array
implementation of the same menu, identical decisions asserted; writes bench/results/emulator.json.
"""

from __future__ import annotations

import sys

from trigkit.cli.app import main

if __name__ == "__main__":
    sys.exit(main(["bench", "emulator", *sys.argv[1:]]))
