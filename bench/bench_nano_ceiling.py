"""The NanoAOD agreement ceiling table of the README (issue #16 item 3).

`python bench/bench_nano_ceiling.py [--menu nano_tt_v12] [--nanoaod ../shared/data/nano_tt_v12.root]
[--band 0.1]`: per recorded HLT path of the menu, the emulated-vs-recorded agreement, its
decomposition (near / far from the thresholds, the cuts the recorded-only events fail) and the
ceilings of :mod:`trigkit.emulator.nanoaod_ceiling`, as two markdown tables. L1 jets as
``trigkit emulate`` uses them by default (derived where the file can measure an L1 response).
One process, a second or two of CPU on the 200-event tt file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from trigkit.emulator.agreement_ceiling import Decomposition
from trigkit.emulator.nanoaod_ceiling import FEATURE_SETS, PathCeiling, menu_ceilings
from trigkit.emulator.result import clopper_pearson
from trigkit.emulator.schema import load_menu
from trigkit.events.nanoaod import read_nanoaod

HERE = Path(__file__).resolve().parent
DEFAULT_FILE = HERE.parent.parent / "shared" / "data" / "nano_tt_v12.root"


def pct(k: int, n: int, interval: bool = False) -> str:
    text = f"{100 * k / n:.1f}"
    if interval:
        lo, hi = clopper_pearson(k, n, 0.683)
        text += f" [{100 * float(lo):.1f}, {100 * float(hi):.1f}]"
    return text


def short(name: str) -> str:
    return name.replace("HLT_PFHT330PT30_QuadPFJet_75_60_45_40_", "HLT_PFHT330PT30_..._")


def decomposition_row(c: PathCeiling) -> str:
    d: Decomposition = c.decomposition
    failing = ", ".join(f"{k} {v}" for k, v in d.recorded_only_failing.items() if v)
    failing = (failing + ", " if failing else "") + f"several {d.recorded_only_several}"
    n_above, rec_above = d.far_above
    n_below, rec_below = d.far_below
    return (
        f"| `{short(c.name)}` | {pct(c.n_agree, c.n, True)} | {d.emulated_only_near} / "
        f"{d.emulated_only_far} | {d.recorded_only_near} / {d.recorded_only_far} | {failing} | "
        f"{rec_above} of {n_above} ({pct(rec_above, n_above, True) if n_above else '-'}) | "
        f"{rec_below} of {n_below} |"
    )


def ceiling_row(c: PathCeiling) -> str:
    cells = [f"{pct(c.in_sample[k], c.n)} / {pct(c.two_fold[k], c.n)}" for k in FEATURE_SETS]
    return f"| `{short(c.name)}` | {pct(c.n_agree, c.n)} | " + " | ".join(cells) + " |"


def tables(ceilings: list[PathCeiling], band: float) -> str:
    b = f"{100 * band:.0f} %"
    head = (
        f"| path | agreement [68 % CL] | emulated only: near / far | recorded only: near / far "
        f"| recorded only, failing only | recorded, of the events >= {b} above every threshold "
        f"| recorded, of those > {b} below one |\n|---|---|---|---|---|---|---|"
    )
    rows = [decomposition_row(c) for c in ceilings]
    head2 = (
        "| path | now | common shift | jet + tag shift | monotone in the cut margins "
        "| monotone in the parts |\n|---|---|---|---|---|---|"
    )
    rows2 = [ceiling_row(c) for c in ceilings]
    return "\n".join([head, *rows, "", head2, *rows2])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--menu", default="nano_tt_v12")
    ap.add_argument("--nanoaod", type=Path, default=DEFAULT_FILE)
    ap.add_argument("--band", type=float, default=0.1)
    args = ap.parse_args(argv)
    batch = read_nanoaod(args.nanoaod)
    print(tables(menu_ceilings(load_menu(args.menu), batch, args.band), args.band))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
