"""Register replication: the loads of a high-fanout pipeline register bit are shared among copies.

A bit of a stage's input register that feeds many adders is one long, slow net: the timing
estimate charges 1/65 ns per extra load (FloPoCo's UltraScale+ ``fanoutConstant_``), so a bit
read by 40 ops costs ~0.6 ns of routing on the path it starts. Vivado would replicate such a
register in ``phys_opt_design``; the estimate does not assume it. :func:`replicate_registers`
does it in the generated Verilog instead, so that every tool sees the same netlist:

* in each da4ml stage module, the ops (lines) that read an input tap ``vN = model_inp[hi:lo]``,
  directly or through pure-wiring aliases ``vM = vN[hi:lo]``, are split in order into groups
  that load every bit with at most ``max_fanout`` ops, balanced (17 loads at 16 become 9 + 8, at
  5 they become 5 + 4 + 4 + 4); group 0 keeps the original register, group ``c`` reads
  ``vN_c<c>``, whose loaded bits come from a new port ``model_dup``;
* the top module feeds ``model_dup`` from one Xilinx ``FDRE`` per copied bit, clocked like the
  stage's input register and with the same D. yosys's ``opt_merge`` merges only its internal
  cells, so the primitives survive synthesis (behavioural copies do not, even with ``keep``);
  ``(* keep = "true" *)`` asks Vivado not to merge them either. Verilator gets a behavioural
  ``FDRE`` (:data:`FDRE_SIM`) in the testbench only. The copies make a design Xilinx-only.

``max_fanout`` counts op reads, not LUT pins: one read is ~2-4 netlist loads of a bit (a shifted
add reads it once per operand, a sign bit is also extended).

The arithmetic is untouched: every copy holds the same value as its original every cycle, which
the bit-exact Verilator check of the flow confirms.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from trigkit.core.atomic import write_text
from trigkit.core.errors import TrigkitError

_TAP = re.compile(r"^\s*wire \[(\d+):0\] (v\d+); assign \2\[\d+:0\] = model_inp\[(\d+):(\d+)\];$")
_ALIAS = re.compile(
    r"^\s*wire \[(\d+):0\] (v\d+); assign \2\[(\d+):(\d+)\] = (v\d+)\[(\d+):(\d+)\];$"
)
_DECL = re.compile(r"^\s*wire \[(\d+):0\] (v\d+);")
_REF = re.compile(r"\b(v\d+)\b(?:\[(\d+)(?::(\d+))?\])?")
_PORT = re.compile(r"^(\s*)input \[(\d+):0\] model_inp,$", re.M)

FDRE_SIM = """// trigkit: behavioural model of the Xilinx FDRE primitive, for Verilator only
module FDRE #(parameter [0:0] INIT = 1'b0) (output reg Q, input C, input CE, input R, input D);
    initial Q = INIT;
    always @(posedge C) if (R) Q <= 1'b0; else if (CE) Q <= D;
endmodule
"""
FDRE_SIM_NAME = "FDRE.v"

Bit = tuple[str, int]  # (tap wire, bit)


@dataclass(frozen=True)
class Copy:
    """One replicated register bit: ``model_dup[index]`` of a stage holds ``model_inp[source]``."""

    index: int
    source: int


@dataclass
class _Stage:
    """A da4ml stage module: its input taps, the pure-wiring aliases of them, the lines that read
    them."""

    lines: list[str]
    taps: dict[str, tuple[int, int, int]]  # tap -> (width, offset in model_inp, line)
    roots: dict[str, list[Bit]]  # tap or alias -> the tap bit behind each of its bits
    reads: dict[
        int, list[tuple[int, int, list[Bit]]]
    ]  # line -> (start, end, tap bits) of each read

    @classmethod
    def parse(cls, text: str) -> _Stage:
        lines = text.split("\n")
        taps: dict[str, tuple[int, int, int]] = {}
        roots: dict[str, list[Bit]] = {}
        reads: dict[int, list[tuple[int, int, list[Bit]]]] = {}
        for j, line in enumerate(lines):
            if m := _TAP.match(line):
                name, width = m.group(2), int(m.group(1)) + 1
                taps[name] = (width, int(m.group(4)), j)
                roots[name] = [(name, b) for b in range(width)]
            elif alias := _alias(line, roots):
                roots[alias[0]] = alias[1]
            elif refs := _reads(line, roots):
                reads[j] = refs
        return cls(lines, taps, roots, reads)

    def loads(self) -> dict[str, list[tuple[int, frozenset[int]]]]:
        """For every tap, the lines reading it (in order) and which of its bits each reads."""
        out: dict[str, list[tuple[int, frozenset[int]]]] = {name: [] for name in self.taps}
        for j, refs in sorted(self.reads.items()):
            bits: dict[str, set[int]] = {}
            for *_, src in refs:
                for name, b in src:
                    bits.setdefault(name, set()).add(b)
            for name, b in bits.items():
                out[name].append((j, frozenset(b)))
        return out


def _alias(line: str, roots: dict[str, list[Bit]]) -> tuple[str, list[Bit]] | None:
    """``(name, tap bits)`` when ``line`` declares a whole wire as a slice of a tap or alias."""
    m = _ALIAS.match(line)
    if m is None or m.group(5) not in roots:
        return None
    width, hi, lo = int(m.group(1)), int(m.group(6)), int(m.group(7))
    if int(m.group(3)) != width or m.group(4) != "0" or hi - lo != width:
        return None
    return m.group(2), roots[m.group(5)][lo : hi + 1]


def _reads(line: str, roots: dict[str, list[Bit]]) -> list[tuple[int, int, list[Bit]]]:
    """``(start, end, tap bits)`` of every reference to a tap or alias in ``line``."""
    decl = _DECL.match(line)
    refs = []
    for r in _REF.finditer(line, decl.end() if decl else 0):  # the declared wire is not a read
        if r.group(1) in roots:
            src = roots[r.group(1)]
            hi = int(r.group(2)) if r.group(2) else len(src) - 1
            lo = int(r.group(3)) if r.group(3) else (hi if r.group(2) else 0)
            refs.append((r.start(), r.end(), src[lo : hi + 1]))
    return refs


def _groups(
    reads: list[tuple[int, frozenset[int]]], max_fanout: int
) -> list[list[tuple[int, frozenset[int]]]]:
    """Split the reading lines, in order, into groups with at most ~``max_fanout`` loads per bit."""
    load: dict[int, int] = {}
    for _, bits in reads:
        for b in bits:
            load[b] = load.get(b, 0) + 1
    worst = max(load.values(), default=0)
    if worst <= max_fanout:
        return [reads]
    n_groups = math.ceil(worst / max_fanout)

    def cap() -> int:  # spread what is left evenly over the groups left: 17 at 5 -> 5, 4, 4, 4
        return math.ceil(max(load.values()) / max(n_groups - len(groups) + 1, 1))

    groups: list[list[tuple[int, frozenset[int]]]] = [[]]
    count: dict[int, int] = {}
    limit = cap()
    for line, bits in reads:
        if any(count.get(b, 0) >= limit for b in bits):
            groups.append([])
            count = {}
            limit = cap()
        groups[-1].append((line, bits))
        for b in bits:
            count[b] = count.get(b, 0) + 1
            load[b] -= 1
    return groups


def _concat(bits: list[str]) -> str:
    """``{a[3], a[2], b[0]}`` with runs of one wire folded into ranges: ``{a[3:2], b[0]}``."""
    parts: list[tuple[str, int, int]] = []  # (wire, hi, lo), MSB first
    for ref in bits:
        name, idx = ref[:-1].split("[")
        b = int(idx)
        if parts and parts[-1][0] == name and parts[-1][2] == b + 1:
            parts[-1] = (name, parts[-1][1], b)
        else:
            parts.append((name, b, b))
    return "{" + ", ".join(f"{n}[{h}:{lo}]" if h != lo else f"{n}[{h}]" for n, h, lo in parts) + "}"


def replicate_stage(text: str, max_fanout: int) -> tuple[str, list[Copy]]:
    """Rewrite one da4ml stage module; return it and the register bits it now reads from
    ``model_dup``."""
    st = _Stage.parse(text)
    lines = list(st.lines)
    copies: list[Copy] = []
    group_of: dict[tuple[str, int], int] = {}  # (tap, line) -> copy number (0: the original)
    decls: dict[int, list[str]] = {}  # tap line -> copy wires declared after it
    for name, reads in st.loads().items():
        width, offset, tap_line = st.taps[name]
        for c, group in enumerate(_groups(reads, max_fanout)[1:], start=1):
            used = set().union(*(bits for _, bits in group))
            src = [f"{name}[{b}]" for b in range(width)]
            for b in sorted(used):
                src[b] = f"model_dup[{len(copies)}]"
                copies.append(Copy(len(copies), offset + b))
            alias = f"{name}_c{c}"
            decls.setdefault(tap_line, []).append(
                f"    wire [{width - 1}:0] {alias}; "
                f"assign {alias}[{width - 1}:0] = {_concat(src[::-1])};"
            )
            group_of.update(((name, j), c) for j, _ in group)
    if not copies:
        return text, []
    for j, refs in st.reads.items():
        line = lines[j]
        for start, end, src in reversed(refs):  # right to left: earlier offsets stay valid
            if all(group_of.get((name, j), 0) == 0 for name, _ in src):
                continue
            bits = [
                f"{name}_c{group_of[(name, j)]}[{b}]"
                if group_of.get((name, j), 0)
                else f"{name}[{b}]"
                for name, b in reversed(src)
            ]
            line = line[:start] + _concat(bits) + line[end:]
        lines[j] = line
    out: list[str] = []
    for j, line in enumerate(lines):
        out.append(line)
        out.extend(decls.get(j, ()))
    new = "\n".join(out)
    new, n = _PORT.subn(
        lambda m: f"{m.group(1)}input [{len(copies) - 1}:0] model_dup,\n{m.group(0)}", new, count=1
    )
    if n != 1:
        raise TrigkitError(
            "register replication: no 'input [N:0] model_inp,' port in a da4ml stage module"
        )
    return new, copies


def _top_with_copies(text: str, stage: int, source: str, copies: list[Copy]) -> str:
    inst = re.compile(rf"(\.model_inp\(stage{stage}_inp\))")
    text, n = inst.subn(rf".model_dup(stage{stage}_dup), \1", text, count=1)
    if n != 1:
        raise TrigkitError(
            f"register replication: stage{stage} is not instantiated with "
            f".model_inp(stage{stage}_inp)"
        )
    regs = [f"    wire [{len(copies) - 1}:0] stage{stage}_dup;"]
    regs += [
        f'    (* keep = "true" *) FDRE #(.INIT(1\'b0)) stage{stage}_dup_{c.index} '
        f"(.C(clk), .CE(1'b1), .R(1'b0), .D({source}[{c.source}]), "
        f".Q(stage{stage}_dup[{c.index}]));"
        for c in copies
    ]
    return text.replace(
        "\n    always @(posedge clk)", "\n" + "\n".join(regs) + "\n\n    always @(posedge clk)", 1
    )


def replicate_registers(src_dir: str | Path, top: str, stages: int, max_fanout: int) -> int:
    """Replicate the high-fanout input register bits of every stage of the da4ml project in
    ``src_dir`` (``<top>.v``, ``<top>_stage<k>.v``); return how many flip-flops were added."""
    if max_fanout < 2:
        raise TrigkitError(
            f"max fanout {max_fanout}: give >= 2 ops per register bit (0: no replication)"
        )
    src = Path(src_dir)
    top_path = src / f"{top}.v"
    top_text = top_path.read_text()
    if "\n    always @(posedge clk)" not in top_text:
        raise TrigkitError(f"register replication: {top_path} has no 'always @(posedge clk)' block")
    rewritten: dict[Path, str] = {}  # every file is rewritten only once all of them are ready
    added = 0
    for k in range(stages):
        path = src / f"{top}_stage{k}.v"
        new, copies = replicate_stage(path.read_text(), max_fanout)
        if copies:
            rewritten[path] = new
            top_text = _top_with_copies(
                top_text, k, "model_inp" if k == 0 else f"stage{k - 1}_out", copies
            )
            added += len(copies)
    rewritten[top_path] = top_text
    for path, text in rewritten.items():
        write_text(path, text)
    return added
