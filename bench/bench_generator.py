"""Generator throughput benchmark: ``python bench/bench_generator.py [--events N]``.

Thin wrapper around ``trigkit bench generator``; writes bench/results/generator.json.
"""

from __future__ import annotations

import sys

from trigkit.cli.app import main

if __name__ == "__main__":
    sys.exit(main(["bench", "generator", *sys.argv[1:]]))
