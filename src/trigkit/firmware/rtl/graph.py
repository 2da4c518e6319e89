"""Exact rewrites of a traced da4ml op graph (``CombLogic``) that shorten its longest path.

:func:`sink_constant_adds`: da4ml adds a constant (a dense layer's bias, with the rounding
half-LSB folded in by :mod:`trigkit.firmware.rtl.dense`) after the last adder of a tree, where it
costs one more carry chain on the slowest path: ``(p + q) + c``. Addition is associative and the
graph's values are exact (every op's interval is exact), so ``(p + c) + q`` is the same number;
with ``p`` the operand that is ready earlier the constant add runs in parallel with ``q``'s
subtree. The rewrite is repeated down the tree while the addend is read only there, so the
constant sinks to the earliest branch. Readiness is da4ml's own adder-level count (``latency``).

Op semantics (da4ml 0.6, ``codegen/rtl/verilog/comb.py``; values are unscaled):
add/sub (0/1) ``v = v[id0] +/- v[id1] * 2**data``; constant add (4) ``v = v[id0] + data * step``
with ``step`` the result interval's step.
"""

from __future__ import annotations

from typing import Any

__all__ = ["sink_constant_adds"]

_ADD, _SUB, _CADD = 0, 1, 4


def _pow2_step(x: float, step: float) -> float:
    """The largest power-of-two step <= ``step`` on which ``x`` lies."""
    s = step
    while x / s != round(x / s):
        s /= 2
    return s


def _shifted(qint: Any, c: float, step: float) -> Any:  # noqa: ANN401 - da4ml QInterval
    return type(qint)(qint.min + c, qint.max + c, min(qint.step, step))


def _slack_path(ops: list[Any], refs: Any, idx: int, depth: int = 0) -> list[int] | None:
    """Operand choices (0: id0, 1: id1) from the add/sub ``idx`` down to an operand that is ready
    at least one adder level before its sibling; None when no such operand is reachable through
    adds read only once."""
    op = ops[idx]
    if op.opcode not in (_ADD, _SUB) or refs[idx] != 1 or depth > 64:
        return None
    lat = (ops[op.id0].latency, ops[op.id1].latency)
    if lat[0] != lat[1]:
        return [0 if lat[0] < lat[1] else 1]
    for side, child in ((0, op.id0), (1, op.id1)):
        below = _slack_path(ops, refs, child, depth + 1)
        if below is not None:
            return [side, *below]
    return None


def _push(ops: list[Any], i: int, side: int) -> int:
    """Move the constant add ``ops[i]`` into operand ``side`` of the add/sub it reads; returns the
    index now holding the constant add (the old add's slot)."""
    c = ops[i]
    a_idx = c.id0
    a = ops[a_idx]
    const = c.data * c.qint.step
    if side == 0:  # c + (p +/- q 2^s) = (p + c) +/- q 2^s
        moved, k, unit = a.id0, const, c.qint.step
    else:  # p + (q + c 2^-s) 2^s, or p - (q - c 2^-s) 2^s
        moved, k, unit = (
            a.id1,
            const * 2.0**-a.data * (1 if a.opcode == _ADD else -1),
            c.qint.step * 2.0**-a.data,
        )
    x = ops[moved]
    qint = _shifted(x.qint, k, _pow2_step(k, unit))
    ops[a_idx] = a._replace(
        id0=moved,
        id1=-1,
        opcode=_CADD,
        data=round(k / qint.step),
        qint=qint,
        latency=x.latency,
        cost=c.cost,
    )
    ops[i] = a._replace(
        **({"id0": a_idx} if side == 0 else {"id1": a_idx}), qint=c.qint, latency=c.latency
    )
    return a_idx


def sink_constant_adds(comb: Any) -> Any:  # noqa: ANN401 - da4ml CombLogic in and out
    """``comb`` with every constant add moved down its adder tree to an operand with slack."""
    ops = list(comb.ops)
    refs = comb.ref_count
    for i in range(len(ops) - 1, -1, -1):
        if ops[i].opcode != _CADD:
            continue
        at = i
        for side in _slack_path(ops, refs, ops[i].id0) or ():
            at = _push(ops, at, side)
    return comb._replace(ops=ops)
