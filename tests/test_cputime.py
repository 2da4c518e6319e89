from __future__ import annotations

import subprocess
import sys
import time

from trigkit.core.cputime import cpu_seconds


def test_counts_this_process_and_finished_children() -> None:
    c0, p0 = cpu_seconds(), time.process_time()
    while time.process_time() - p0 < 0.2:  # busy here
        pass
    own = time.process_time() - p0
    assert cpu_seconds() - c0 >= own - 0.02  # os.times ticks at 10 ms
    busy = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass"
    c1 = cpu_seconds()
    subprocess.run([sys.executable, "-c", busy], check=True)
    assert cpu_seconds() - c1 >= 0.28  # the child's 0.3 CPU-s, once it has finished
