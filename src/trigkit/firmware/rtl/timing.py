"""Register-to-register timing ESTIMATE of a yosys ``synth_xilinx`` netlist (no place & route).

Why not yosys's own ``sta`` pass: in yosys 0.23 it finds no timing arcs on CARRY4/MUXF7/MUXF8
("Module 'CARRY4' has no timing arcs!"), so its critical path stops at the first carry chain,
and it has no notion of routing delay. This module does the same longest-path search itself:

* **cells** - the delays of the ``specify`` blocks in yosys's Xilinx techlib
  (``+/xilinx/cells_sim.v``, the numbers abc9 maps with), read through yosys itself
  (``read_verilog -lib -specify``; :func:`load_cell_library`): combinational arcs
  (``$specify2``, e.g. LUT6 I0->O 642 ps), clock-to-Q (``$specify3``, FDRE 303 ps) and setup
  (``$setup`` rules, FDRE CE 109 ps). They are Artix-7 numbers (SymbiFlow prjxray-db), slower
  than a Virtex UltraScale+ -2 (FloPoCo's ``src/Targets/VirtexUltrascalePlus.hpp``, numbers
  cut from Vivado reports of an xcvu3p-2: LUT6 0.148 ns, FF 0.150 ns, CARRY8 CI->CO 0.015 ns),
  so for a VU9P they err on the slow side.
  MUXF9 (UltraScale only) has no arcs there: MUXF8's are used.
* **routing** - ``net_ns`` per routed hop (default 0.3 ns), plus ``fanout_ns`` per extra load
  (default 0). FloPoCo's UltraScale+ target puts a typical local route at 0.180 ns (0.5 ns in an
  earlier revision); 0.3 ns is the lower end of the usual 0.3-0.5 ns per-hop rule of thumb and
  1.7x FloPoCo's figure. Dedicated wires get no routing delay: the carry cascade CO->CI, a LUT
  driving a CARRY S input or a MUXF7 data input (same slice), MUXF7->MUXF8->MUXF9 - only when
  that LUT/MUX output feeds a single such pin (it can sit next to one consumer only).
* **paths** - from every clock-to-Q output to every setup-checked input; clock skew zero;
  top-level ports are not timed (da4ml registers its inputs and outputs; I/O timing belongs to
  the enclosing design).
* **verdict** - the clock is met when the critical path fits in ``period * (1 - uncertainty)``;
  the default 10 % is the setup uncertainty da4ml's generated XDC asks Vivado for.

Not modelled: placement and congestion, long or high-fanout routes beyond ``fanout_ns``, clock
skew/jitter beyond the uncertainty, and that Vivado maps and optimises differently from yosys
(e.g. it folds yosys's INV cells into the LUT that drives them and swaps critical signals onto
the fast LUT pins; here every INV is a LUT level and each arc uses the pin yosys chose). Cells
the techlib gives no arcs (DSP48E2, RAMB18E2: a softmax's multipliers and tables) stop the
estimate with an error naming them. The result is an estimate of fmax to choose a pipeline
depth with, not a timing sign-off.

**Part-aware presets** (:func:`timing_model_for`; ``--timing-model`` on the command line):

* ``7series`` (xc7a/xc7k/xc7v/xc7z/xc7s parts): the techlib numbers as they are (Artix-7),
  0.3 ns per routed hop, no delay on dedicated wires.
* ``ultrascale+`` (xcvu*p, xcku*p, xczu*, xcau* parts - the default VU9P is one): the cell delays
  of FloPoCo's Virtex UltraScale+ target (``src/Targets/VirtexUltrascalePlus.hpp``, revision in
  OreganeD/flopoco-mpt-ilp @ f5d7e29; numbers cut by its authors from Vivado timing reports of an
  xcvu3p-2): every LUT arc of LUT1/LUT2/INV 0.050 ns (``lut2Delay_``), of LUT3-LUT6 0.148 ns
  (``lut6Delay_``; FloPoCo's 0.035 ns ``lut5Delay_`` is not used - the slow side); flip-flop
  clock-to-Q 0.150 ns (``ffDelay_``); carry: S/DI -> CO 0.115 ns (``initCarryDelay_``, S -> CO7 of
  a CARRY8), S/DI -> O 0.116 ns, CI -> CO 0.015 ns (``carry8Delay_``, CIN -> COUT of a whole
  CARRY8, charged to every CARRY4 yosys emits - yosys 0.23 maps ``-family xcup`` adders to
  CARRY4, two per CARRY8, so this counts each CARRY8 twice), CI -> O 0.116 ns
  (``finalCarryDelay_``); routing 0.180 ns per hop (``typicalLocalRoutingDelay_``) plus 1/65 ns
  per extra load (``fanoutConstant_``), carry cascade CO -> CI 0.026 ns (``interCarryNetDelay_``,
  charged at every CARRY4 boundary), LUT -> carry S 0.011 ns (``lut_to_carry_net``). FloPoCo has
  no setup times or MUXF7/8/9 delays: those keep the (slower) techlib Artix-7 values. Still an
  estimate: no placement, no Vivado mapping, pin-independent LUT delays.
"""

from __future__ import annotations

import functools
import json
import re
import tempfile
from collections import defaultdict, deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from trigkit.core.errors import TrigkitError
from trigkit.core.tools import require_tool, run_tool

LABEL = "estimate (yosys, no place & route)"
LIBRARY = "yosys techlibs/xilinx/cells_sim.v specify delays (Artix-7, prjxray-db)"
US_PLUS_LIBRARY = (
    "FloPoCo VirtexUltrascalePlus.hpp (xcvu3p-2) LUT/FF/CARRY8 delays; "
    "setup and MUXF from yosys techlibs/xilinx/cells_sim.v (Artix-7)"
)
CELL_SETS = ("artix7", "ultrascale+")

# FloPoCo src/Targets/VirtexUltrascalePlus.hpp (OreganeD/flopoco-mpt-ilp @ f5d7e29), in ns
US_LUT2, US_LUT6, US_FF_CLK_Q = 0.050, 0.148, 0.150
US_CARRY_S_CO, US_CARRY_S_O, US_CARRY_CI_CO, US_CARRY_CI_O = 0.115, 0.116, 0.015, 0.116
US_NET, US_FANOUT, US_CASCADE, US_LUT_TO_CARRY = 0.180, 1.0 / 65, 0.026, 0.011
NETLIST_NAME = "netlist.json"
# cell types whose techlib model has no timing arcs, timed like a sibling that has them
ALIASES = {"MUXF9": "MUXF8"}
_UNTIMED_OK = {"BUFG", "IBUF", "OBUF", "VCC", "GND"}  # clock / pad cells: never on a reg->reg path

Pin = tuple[str, int]  # (port, bit index)


@dataclass(frozen=True)
class TimingModel:
    """The documented assumptions of the estimate (see the module docstring). ``cells``: the cell
    delays (``artix7``: the techlib as it is; ``ultrascale+``: FloPoCo's numbers); ``cell_scale``
    multiplies every cell delay; ``cascade_ns`` / ``lut_to_carry_ns``: the dedicated carry
    cascade CO -> CI and LUT -> carry S wires (0: free). Presets: :func:`timing_model_for`."""

    net_ns: float = 0.3
    fanout_ns: float = 0.0
    cell_scale: float = 1.0
    uncertainty: float = 0.1
    cells: str = "artix7"
    cascade_ns: float = 0.0
    lut_to_carry_ns: float = 0.0

    def __post_init__(self) -> None:
        if self.cells not in CELL_SETS:
            raise TrigkitError(
                f"timing model: cells '{self.cells}' unknown; valid: {', '.join(CELL_SETS)}"
            )
        for name in ("net_ns", "fanout_ns", "cell_scale", "cascade_ns", "lut_to_carry_ns"):
            if not getattr(self, name) >= 0:
                raise TrigkitError(f"timing model: {name} {getattr(self, name)} must be >= 0")
        if not 0 <= self.uncertainty < 1:
            raise TrigkitError(f"timing model: uncertainty {self.uncertainty} must be in [0, 1)")


TIMING_PRESETS: dict[str, TimingModel] = {
    "7series": TimingModel(),
    "ultrascale+": TimingModel(
        net_ns=US_NET,
        fanout_ns=US_FANOUT,
        cells="ultrascale+",
        cascade_ns=US_CASCADE,
        lut_to_carry_ns=US_LUT_TO_CARRY,
    ),
}
_FAMILIES = (  # (part-name pattern, preset)
    (re.compile(r"^xc7[akvzs]"), "7series"),
    (re.compile(r"^(xcvu\d+p|xcku\d+p|xczu|xcau)"), "ultrascale+"),
)
FAMILY_HELP = "7series: xc7a/xc7k/xc7v/xc7z/xc7s; ultrascale+: xcvu*p, xcku*p, xczu*, xcau*"


def timing_model_for(part: str, choice: str = "auto") -> TimingModel:
    """The timing preset for an FPGA part (``choice`` 'auto') or the one named by ``choice``."""
    c = choice.strip().lower()
    if c != "auto":
        if c not in TIMING_PRESETS:
            raise TrigkitError(
                f"--timing-model '{choice}' unknown; valid: auto, {', '.join(TIMING_PRESETS)}"
            )
        return TIMING_PRESETS[c]
    p = part.strip().lower()
    for pattern, name in _FAMILIES:
        if pattern.match(p):
            return TIMING_PRESETS[name]
    raise TrigkitError(
        f"part '{part}': no RTL timing preset for its family (known: {FAMILY_HELP}); "
        f"name one with --timing-model {' / '.join(TIMING_PRESETS)}"
    )


def timing_preset_name(model: TimingModel) -> str:
    """The preset's name, or 'custom'."""
    return next((n for n, m in TIMING_PRESETS.items() if m == model), "custom")


@dataclass(frozen=True)
class CellTiming:
    """Timing of one cell type: combinational arcs into each output pin, clock-to-Q, setup;
    ``outputs`` names its output ports (the netlist's cells may not say)."""

    outputs: frozenset[str] = frozenset()
    arcs: dict[Pin, tuple[tuple[Pin, float], ...]] = field(
        default_factory=dict
    )  # out -> ((in, ns), ...)
    clk_to_q: dict[Pin, float] = field(default_factory=dict)
    setup: dict[Pin, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TimingResult:
    """The critical register-to-register path of a netlist under a :class:`TimingModel`."""

    critical_path_ns: float
    logic_levels: int
    cell_ns: float
    route_ns: float
    routed_hops: int
    startpoint: str
    endpoint: str
    path: tuple[str, ...]
    per_register: dict[str, float]  # worst arrival + setup at each endpoint register (by net name)
    endpoints: int
    net_ns: float
    fanout_ns: float
    cell_scale: float
    uncertainty: float
    library: str = LIBRARY
    source: str = LABEL
    cells: str = "artix7"

    @property
    def fmax_mhz(self) -> float:
        return 1000.0 / self.critical_path_ns

    def required_ns(self, clock_period_ns: float) -> float:
        """The part of the period the data path may use (the rest is clock uncertainty)."""
        return clock_period_ns * (1.0 - self.uncertainty)

    def slack_ns(self, clock_period_ns: float) -> float:
        return self.required_ns(clock_period_ns) - self.critical_path_ns

    def meets(self, clock_period_ns: float) -> bool:
        return self.slack_ns(clock_period_ns) >= 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TimingResult:
        try:
            d = dict(data)
            d["path"] = tuple(d["path"])
            d["per_register"] = {str(k): float(v) for k, v in d["per_register"].items()}
            return cls(**d)
        except (KeyError, TypeError, AttributeError) as exc:
            raise TrigkitError(f"RTL timing JSON: bad or missing field ({exc})") from None


# -- the cell library ---------------------------------------------------------------------------


def _param(value: Any) -> int:
    """A yosys JSON parameter (binary string, 32-bit two's complement, or int) as an int."""
    if isinstance(value, int):
        return value
    s = str(value)
    if not s or set(s) - {"0", "1"}:
        return 0  # x/z bits: no delay given
    v = int(s, 2)
    return v - (1 << len(s)) if len(s) == 32 and s[0] == "1" else v


def parse_cell_library(lib_json: dict[str, Any]) -> dict[str, CellTiming]:
    """Cell timing from ``write_json`` of ``read_verilog -lib -specify cells_sim.v; proc``.

    Delays: the max of the rise/fall maxima, in ns.
    """
    lib: dict[str, CellTiming] = {}
    for name, mod in lib_json.get("modules", {}).items():
        where: dict[int, Pin] = {}
        for port, p in mod.get("ports", {}).items():
            for i, b in enumerate(p["bits"]):
                if isinstance(b, int):
                    where[b] = (port, i)
        arcs: dict[Pin, dict[Pin, float]] = defaultdict(dict)
        clk_to_q: dict[Pin, float] = {}
        setup: dict[Pin, float] = {}

        def pins(bits: list[Any]) -> list[Pin]:
            return [where[b] for b in bits if isinstance(b, int) and b in where]  # noqa: B023

        for cell in mod.get("cells", {}).values():
            kind, prm, conn = cell["type"], cell.get("parameters", {}), cell.get("connections", {})
            if kind in ("$specify2", "$specify3"):
                ns = (
                    max(_param(prm.get("T_RISE_MAX", 0)), _param(prm.get("T_FALL_MAX", 0))) / 1000.0
                )
                src, dst = pins(conn.get("SRC", [])), pins(conn.get("DST", []))
                if kind == "$specify3":  # edge-sensitive: clock -> output
                    for d in dst:
                        clk_to_q[d] = max(clk_to_q.get(d, 0.0), ns)
                    continue
                pairs = (
                    [(s, d) for s in src for d in dst]
                    if _param(prm.get("FULL", 0))
                    else list(zip(src, dst, strict=False))
                )
                for s, d in pairs:
                    arcs[d][s] = max(arcs[d].get(s, 0.0), ns)
            elif kind == "$specrule" and str(prm.get("TYPE", "")) in ("$setup", "$setuphold"):
                ns = max(_param(prm.get("T_LIMIT_MAX", 0)), 0) / 1000.0
                for s in pins(conn.get("SRC", [])):
                    setup[s] = max(setup.get(s, 0.0), ns)
        outputs = frozenset(
            p for p, v in mod.get("ports", {}).items() if v.get("direction") == "output"
        )
        lib[name] = CellTiming(
            outputs, {o: tuple(a.items()) for o, a in arcs.items()}, clk_to_q, setup
        )
    for alias, real in ALIASES.items():
        mine = lib.get(alias)
        if real in lib and (mine is None or not (mine.arcs or mine.clk_to_q or mine.setup)):
            lib[alias] = lib[real]
    return lib


@functools.lru_cache(maxsize=2)
def _library_from(yosys: str) -> dict[str, CellTiming]:
    with tempfile.TemporaryDirectory(prefix="trigkit-celllib-") as tmp:
        out = Path(tmp) / "cells.json"
        script = Path(tmp) / "lib.ys"
        script.write_text(
            f"read_verilog -lib -specify +/xilinx/cells_sim.v\nproc\nwrite_json {out}\n"
        )
        run_tool(
            [yosys, "-q", "-s", script],
            cwd=Path(tmp),
            log_file=Path(tmp) / "lib.log",
            timeout_s=300,
        )
        return parse_cell_library(json.loads(out.read_text()))


def _us_plus_cell(name: str, t: CellTiming) -> CellTiming:
    """One cell's timing with FloPoCo's UltraScale+ numbers (module docstring); others as given."""
    if name.startswith("LUT") or name == "INV":
        ns = US_LUT2 if name in ("LUT1", "LUT2", "INV") else US_LUT6
        return CellTiming(
            t.outputs,
            {o: tuple((i, ns) for i, _ in a) for o, a in t.arcs.items()},
            t.clk_to_q,
            t.setup,
        )
    if name.startswith("FD"):
        return CellTiming(t.outputs, t.arcs, {q: US_FF_CLK_Q for q in t.clk_to_q}, t.setup)
    if name.startswith("CARRY"):

        def carry_ns(o: Pin, i: Pin) -> float:
            if i[0] == "CI":
                return US_CARRY_CI_CO if o[0] == "CO" else US_CARRY_CI_O
            return US_CARRY_S_CO if o[0] == "CO" else US_CARRY_S_O

        return CellTiming(
            t.outputs,
            {o: tuple((i, carry_ns(o, i)) for i, _ in a) for o, a in t.arcs.items()},
            t.clk_to_q,
            t.setup,
        )
    return t


def library_for(lib: dict[str, CellTiming], cells: str) -> dict[str, CellTiming]:
    """``lib`` (the techlib's Artix-7 timing) as the cell set ``cells`` of a
    :class:`TimingModel`."""
    if cells == "artix7":
        return lib
    return {name: _us_plus_cell(name, t) for name, t in lib.items()}


def load_cell_library() -> dict[str, CellTiming]:
    """The techlib's cell timing, read through the installed yosys (cached per process)."""
    yosys = require_tool("yosys", "the RTL timing estimate")
    lib = _library_from(str(yosys.path))
    if "FDRE" not in lib or "LUT6" not in lib:
        raise TrigkitError(
            f"{yosys.path}: the Xilinx techlib cells_sim.v gave no FDRE/LUT6 specify timing"
        )
    return lib


# -- the netlist --------------------------------------------------------------------------------

_DEDICATED = (  # (driver type prefix, driver port, sink type prefix, sink ports): no routing delay
    ("CARRY", "CO", "CARRY", ("CI",)),
    ("LUT", "O", "CARRY", ("S",)),
    ("INV", "O", "CARRY", ("S",)),  # an INV is a LUT1 on the device
    ("LUT", "O", "MUXF7", ("I0", "I1")),
    ("MUXF7", "O", "MUXF8", ("I0", "I1")),
    ("MUXF8", "O", "MUXF9", ("I0", "I1")),
)


def _is_dedicated(drv_type: str, drv_port: str, sink_type: str, sink_port: str) -> bool:
    return any(
        drv_type.startswith(a) and drv_port == p and sink_type.startswith(b) and sink_port in q
        for a, p, b, q in _DEDICATED
    )


@dataclass
class _Net:
    driver: tuple[str, str, int] | None = None  # (cell, port, index)
    loads: list[tuple[str, str, int]] = field(default_factory=list)
    name: str = ""


@dataclass
class _Step:
    """How a net bit got its arrival time: from ``src`` (None: a clock-to-Q launch) through a
    cell arc of ``cell_ns`` after a route of ``net_ns``."""

    arrival: float
    src: int | None
    cell_ns: float
    net_ns: float
    label: str


def _top_module(netlist: dict[str, Any], where: str) -> tuple[str, dict[str, Any]]:
    mods = netlist.get("modules")
    if not isinstance(mods, dict) or not mods:
        raise TrigkitError(f"{where}: no 'modules' in the yosys JSON netlist")
    tops = [n for n, m in mods.items() if _param(m.get("attributes", {}).get("top", 0))]
    name = tops[0] if tops else next(iter(mods))
    return name, mods[name]


def _timed(t: CellTiming | None) -> bool:
    return t is not None and bool(t.arcs or t.clk_to_q or t.setup)


class _Graph:
    """Net bits of one flattened module, their drivers/loads and the routing delay of each hop."""

    def __init__(
        self, mod: dict[str, Any], library: dict[str, CellTiming], model: TimingModel, where: str
    ):
        self.cells: dict[str, dict[str, Any]] = mod.get("cells", {})
        self.library, self.model = library, model
        self.nets: dict[int, _Net] = defaultdict(_Net)
        missing: dict[str, int] = defaultdict(int)
        for cname, c in self.cells.items():
            t = library.get(c["type"])
            if not _timed(t) and c["type"] not in _UNTIMED_OK:
                missing[c["type"]] += 1
            # yosys omits port_directions for cells whose module it no longer holds
            dirs = c.get("port_directions") or {p: "output" for p in (t.outputs if t else ())}
            for port, bits in c.get("connections", {}).items():
                for i, b in enumerate(bits):
                    if isinstance(b, int):
                        if dirs.get(port) == "output":
                            self.nets[b].driver = (cname, port, i)
                        else:
                            self.nets[b].loads.append((cname, port, i))
        if missing:
            kinds = ", ".join(f"{k} ({n})" for k, n in sorted(missing.items()))
            raise TrigkitError(f"{where}: no timing model for cell types {kinds} in {LIBRARY}")
        for nname, n in mod.get("netnames", {}).items():
            nname = nname.removeprefix("$iopadmap$")  # a top-level port behind its pad buffer
            if not nname.startswith("$"):
                for i, b in enumerate(n["bits"]):
                    if isinstance(b, int) and not self.nets[b].name:
                        self.nets[b].name = f"{nname}[{i}]" if len(n["bits"]) > 1 else nname

    def type_of(self, cname: str) -> str:
        return self.cells[cname]["type"]

    def bit(self, cname: str, pin: Pin) -> Any:
        bits = self.cells[cname].get("connections", {}).get(pin[0], [])
        return bits[pin[1]] if pin[1] < len(bits) else "x"

    def hop(self, b: int, sink: str, sink_port: str) -> float:
        """Routing delay from net bit ``b``'s driver to input ``sink_port`` of cell ``sink``."""
        n = self.nets[b]
        assert n.driver is not None
        dcell, dport, _ = n.driver
        dt = self.type_of(dcell)
        if _is_dedicated(dt, dport, self.type_of(sink), sink_port):
            rivals = sum(_is_dedicated(dt, dport, self.type_of(c), p) for c, p, _ in n.loads)
            if rivals == 1:
                if dt.startswith("CARRY"):
                    return self.model.cascade_ns
                return self.model.lut_to_carry_ns if self.type_of(sink).startswith("CARRY") else 0.0
        return self.model.net_ns + self.model.fanout_ns * max(len(n.loads) - 1, 0)

    def arrivals(self) -> dict[int, _Step]:
        """Latest arrival at every net bit reachable from a clock-to-Q output."""
        scale = self.model.cell_scale
        preds: dict[int, list[tuple[int, float, str, str]]] = defaultdict(
            list
        )  # out <- (in, ns, port, label)
        launch: dict[int, _Step] = {}
        for cname, c in self.cells.items():
            t = self.library.get(c["type"])
            if t is None:
                continue
            for opin, d in t.clk_to_q.items():
                b = self.bit(cname, opin)
                if isinstance(b, int):
                    launch[b] = _Step(
                        d * scale, None, d * scale, 0.0, f"{c['type']} clk->{opin[0]}"
                    )
            for opin, ins in t.arcs.items():
                ob = self.bit(cname, opin)
                if isinstance(ob, int):
                    for ipin, d in ins:
                        ib = self.bit(cname, ipin)
                        if isinstance(ib, int) and self.nets[ib].driver is not None:
                            preds[ob].append(
                                (ib, d * scale, ipin[0], f"{c['type']} {ipin[0]}->{opin[0]}")
                            )
        steps: dict[int, _Step] = {}
        for b in _topological(preds, set(self.nets)):
            best = launch.get(b)
            for ib, d, port, label in preds.get(b, ()):
                if ib in steps:
                    driver = self.nets[b].driver
                    assert driver is not None
                    net = self.hop(ib, driver[0], port)
                    at = steps[ib].arrival + net + d
                    if best is None or at > best.arrival:
                        best = _Step(at, ib, d, net, label)
            if best is not None:
                steps[b] = best
        return steps

    def register_name(self, cname: str) -> str:
        """A register's name: the public net its output drives, without the bit index."""
        c = self.cells[cname]
        t = self.library.get(c["type"])
        for port, bits in c.get("connections", {}).items():
            if t is not None and port in t.outputs:
                for b in bits:
                    if isinstance(b, int) and self.nets[b].name:
                        return self.nets[b].name.split("[", 1)[0]
        return cname


def analyse_netlist(
    netlist: dict[str, Any],
    library: dict[str, CellTiming],
    model: TimingModel | None = None,
    where: str = "netlist",
) -> TimingResult:
    """Longest register-to-register path of a flattened yosys JSON netlist (see module
    docstring)."""
    model = model or TimingModel()
    library = library_for(library, model.cells)
    g = _Graph(_top_module(netlist, where)[1], library, model, where)
    steps = g.arrivals()
    worst: tuple[float, int, str, Pin, float] | None = (
        None  # (ns incl. setup, bit, cell, pin, setup)
    )
    per_reg: dict[str, float] = {}
    n_end = 0
    for cname, c in g.cells.items():
        t = library.get(c["type"])
        for ipin, su in t.setup.items() if t is not None else ():
            b = g.bit(cname, ipin)
            if isinstance(b, int) and b in steps:
                n_end += 1
                su *= model.cell_scale
                total = steps[b].arrival + g.hop(b, cname, ipin[0]) + su
                reg = g.register_name(cname)
                per_reg[reg] = max(per_reg.get(reg, 0.0), round(total, 6))
                if worst is None or total > worst[0]:
                    worst = (total, b, cname, ipin, su)
    if worst is None:
        raise TrigkitError(
            f"{where}: no register-to-register path (no clocked cell drives a clocked cell)"
        )
    total, b, end_cell, (end_pin, _), su = worst
    etype = g.type_of(end_cell)
    net = g.hop(b, end_cell, end_pin)
    path = [f"{etype} setup {end_pin} {su:.3f} (+net {net:.3f})"]

    def routed(x: float) -> int:  # a general-routing hop (not a dedicated carry/LUT->S wire)
        return int(x > 0 and x >= model.net_ns)

    cell_ns, route_ns, hops, levels = su, net, routed(net), 0
    cur: int | None = b
    start = ""
    while cur is not None:
        st = steps[cur]
        path.append(
            f"{st.label} {st.cell_ns:.3f}"
            + (f" (+net {st.net_ns:.3f})" if st.src is not None else "")
        )
        cell_ns, route_ns, hops = (
            cell_ns + st.cell_ns,
            route_ns + st.net_ns,
            hops + routed(st.net_ns),
        )
        if st.src is None:
            start = g.nets[cur].name or st.label
        else:
            levels += 1
        cur = st.src
    return TimingResult(
        critical_path_ns=round(total, 6),
        logic_levels=levels,
        cell_ns=round(cell_ns, 6),
        route_ns=round(route_ns, 6),
        routed_hops=hops,
        startpoint=start,
        endpoint=f"{g.register_name(end_cell)} ({etype}.{end_pin})",
        path=tuple(reversed(path)),
        per_register=dict(sorted(per_reg.items())),
        endpoints=n_end,
        net_ns=model.net_ns,
        fanout_ns=model.fanout_ns,
        cell_scale=model.cell_scale,
        uncertainty=model.uncertainty,
        library=LIBRARY if model.cells == "artix7" else US_PLUS_LIBRARY,
        cells=model.cells,
    )


def _topological(preds: dict[int, list[tuple[int, float, str, str]]], nodes: set[int]) -> list[int]:
    """Net bits in an order where every arc's input comes before its output (Kahn)."""
    succ: dict[int, list[int]] = defaultdict(list)
    indeg: dict[int, int] = defaultdict(int)
    nodes = nodes | set(preds)
    for ob, ins in preds.items():
        for ib, *_ in ins:
            succ[ib].append(ob)
            indeg[ob] += 1
    queue = deque(b for b in nodes if indeg[b] == 0)
    order: list[int] = []
    while queue:
        b = queue.popleft()
        order.append(b)
        for o in succ[b]:
            indeg[o] -= 1
            if indeg[o] == 0:
                queue.append(o)
    if len(order) < len(nodes):
        raise TrigkitError(
            f"combinational loop through {len(nodes) - len(order)} net bits: no timing estimate"
        )
    return order


def estimate_timing(netlist_path: str | Path, model: TimingModel | None = None) -> TimingResult:
    """:func:`analyse_netlist` of a ``write_json`` netlist file with the installed yosys's
    techlib."""
    path = Path(netlist_path)
    try:
        netlist = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise TrigkitError(f"{path}: cannot read the yosys JSON netlist: {exc}") from None
    return analyse_netlist(netlist, load_cell_library(), model, where=str(path))
