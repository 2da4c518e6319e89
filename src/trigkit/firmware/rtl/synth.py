"""yosys ``synth_xilinx`` of a da4ml RTL design and the parsing of its cell statistics."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from trigkit.core.errors import TrigkitError
from trigkit.core.tools import require_tool, run_tool
from trigkit.firmware.rtl.design import RtlDesign
from trigkit.firmware.rtl.timing import NETLIST_NAME


@dataclass(frozen=True)
class SynthResult:
    """yosys ``synth_xilinx`` cell counts (LUT includes SRL shift registers and INV, which
    Vivado implements as LUT1)."""

    lut: int
    ff: int
    dsp: int
    carry: int
    bram: int
    family: str
    cells: dict[str, int]
    source: str = "rtl: yosys synth_xilinx"


_FF_RE = re.compile(r"^FD[A-Z]*(_1)?$")


def parse_yosys_stat(text: str, family: str) -> SynthResult:
    """Cell counts from the last ``stat`` block of a yosys log."""
    blocks = text.split("Number of cells:")
    if len(blocks) < 2:
        raise TrigkitError("yosys output has no 'Number of cells' statistics")
    cells: dict[str, int] = {}
    for line in blocks[-1].splitlines()[1:]:
        m = re.match(r"^\s+(\$?[A-Za-z_][\w$]*)\s+(\d+)\s*$", line)
        if m:
            cells[m.group(1)] = int(m.group(2))
        elif line.strip() and not line.startswith(" "):
            break

    def total(pred) -> int:  # noqa: ANN001
        return sum(v for k, v in cells.items() if pred(k))

    return SynthResult(
        lut=total(lambda c: re.match(r"^(LUT[1-6](_2)?|SRL\w*|INV)$", c) is not None),
        ff=total(lambda c: _FF_RE.match(c) is not None),
        dsp=total(lambda c: c.startswith("DSP48")),
        carry=total(lambda c: c.startswith("CARRY")),
        bram=total(lambda c: c.startswith("RAMB")),
        family=family,
        cells=cells,
    )


def synthesize(design: RtlDesign, family: str = "xcup", timeout_s: float = 1800.0) -> SynthResult:
    """yosys ``synth_xilinx -flatten`` of the design; LUT/FF/DSP/CARRY/BRAM counts. The mapped
    netlist is left in ``<design>/netlist.json`` for
    :func:`~trigkit.firmware.rtl.timing.estimate_timing`."""
    yosys = require_tool("yosys", "RTL resource counts")
    root = Path(design.path)
    sources = sorted((root / "src").glob(f"{design.top}*.v"))
    sources = [p for p in sources if not p.name.endswith("_wrapper.v")]
    text = "".join(p.read_text() for p in sources)
    # only the library modules the design instantiates (lookup_table.v needs .mem files)
    sources += [
        p
        for p in sorted((root / "src" / "static").glob("*.v"))
        if re.search(rf"\b{re.escape(p.stem)}\b", text)
    ]
    # yosys 0.23 cannot honour rom_style="distributed" on da4ml's asynchronous ROMs ("no valid
    # mapping"); without the attribute it picks LUTs or block RAM itself (counted in ``bram``).
    ydir = root / "yosys"
    ydir.mkdir(exist_ok=True)
    for i, p in enumerate(sources):
        if p.name == "lookup_table.v":
            sources[i] = ydir / p.name
            sources[i].write_text(re.sub(r"\(\*\s*rom_style[^*]*\*\)", "", p.read_text()))
    script, stat_file = root / "synth.ys", root / "yosys_stat.txt"
    # the netlist for the timing estimate (rtl_timing); the techlib's cell modules go first, as
    # write_json cannot write their processes (the estimate reads their timing separately)
    script.write_text(
        "".join(f"read_verilog -defer -sv {p}\n" for p in sources)
        + f"synth_xilinx -top {design.top} -family {family} -flatten\ntee -o {stat_file} stat\n"
        + f"delete =A:whitebox =A:blackbox\nwrite_json {root / NETLIST_NAME}\n"
    )
    proc = run_tool(
        [yosys.path, "-q", "-s", script],
        cwd=root / "src" / "memfiles",
        tool=yosys,
        log_file=root / "yosys.log",
        timeout_s=timeout_s,
    )
    stat = stat_file.read_text() if stat_file.exists() else proc.stdout
    return parse_yosys_stat(stat, family)
