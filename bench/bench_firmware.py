"""Bit-exact firmware emulation vs hls4ml C simulation (and, with --rtl, the RTL path).

    python bench/bench_firmware.py [--n 100000] [--repeats 3] [--json bench/results/firmware.json]
    python bench/bench_firmware.py --rtl [--json bench/results/firmware_rtl.json]

A thin wrapper around ``trigkit bench firmware`` / ``trigkit bench firmware-rtl``.
"""

from __future__ import annotations

import sys

from trigkit.cli.app import main

if __name__ == "__main__":
    args = sys.argv[1:]
    if "--rtl" in args:
        args.remove("--rtl")
        sys.exit(main(["bench", "firmware-rtl", *args]))
    sys.exit(main(["bench", "firmware", *args]))
