"""Stage-2 probe (helper floor5): can numba itself emit the lane-per-event kernel?

Numba types whose data model is an LLVM vector (``F16`` = <16 x float>, ``I16`` = <16 x i32>,
``D8`` = <8 x double>, ``M16`` = <16 x i1>) and ~20 ``@intrinsic`` operations on them (loads,
the AVX-512 two-table permute ``vpermi2ps``, compares, selects, adds, max / min, float64
halves), so that an ``@njit`` kernel keeps 16 events' registers in zmm registers with no C
compiler. Minimal: the hot loop of one register pair (the HT and the selected-jet count of
run3_hh4b's L1 quad-jet seed, ``ht >= 280``, ``k0 >= 4``), window-fit groups and the next pt
read at the end of each step, as in hh4b_simd.c (``ht_k0_16``), which it is timed against, with
a plain numba loop (one event at a time, the generated kernel's shape) as the baseline.

    PYTHONPATH=src python bench/notes/probe_simd/numba_simd.py
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

HERE = Path(__file__).resolve().parent
TIMING_NO_STEPS = os.environ.get("FLOOR5_TIMING_NO_STEPS") == "1"  # a compile-time constant
_SKIP = os.environ.get("FLOOR5_TIMING_SKIP", "").split(",")  # timing only: parts left out
SKIP_STORE, SKIP_FJ, SKIP_FAT = "store" in _SKIP, "fj" in _SKIP, "fat" in _SKIP
F32, I32, F64, I1 = ir.FloatType(), ir.IntType(32), ir.DoubleType(), ir.IntType(1)
VF, VI, VD, VM, VM8 = (
    ir.VectorType(F32, 16),
    ir.VectorType(I32, 16),
    ir.VectorType(F64, 8),
    ir.VectorType(I1, 16),
    ir.VectorType(I1, 8),
)


def _vtype(name: str, llty: ir.Type) -> types.Type:
    cls = type(name, (types.Type,), {"__init__": lambda self: types.Type.__init__(self, name)})
    register_model(cls)(
        type(
            f"{name}Model",
            (models.PrimitiveModel,),
            {"__init__": lambda self, dmm, fe: models.PrimitiveModel.__init__(self, dmm, fe, llty)},
        )
    )
    return cls()


f16, i16, d8, m16 = _vtype("F16", VF), _vtype("I16", VI), _vtype("D8", VD), _vtype("M16", VM)


def _ptr(context, builder, arrty, arr, i):  # noqa: ANN001, ANN202
    a = context.make_array(arrty)(context, builder, arr)
    return builder.gep(a.data, [i])


@intrinsic
def vload(typingctx, arr, i):  # noqa: ANN001, ANN201
    """16 float32 from arr[i] (unaligned)."""

    def cg(context, builder, sig, args):  # noqa: ANN001, ANN202
        p = _ptr(context, builder, sig.args[0], args[0], args[1])
        return builder.load(builder.bitcast(p, VF.as_pointer()), align=4, typ=VF)

    return f16(arr, i), cg


@intrinsic
def vrel(typingctx, arr, i, base, n):  # noqa: ANN001, ANN201
    """int32(arr[i + l] - base) for lanes l < n (int64 array), else 0 (masked load)."""

    def cg(context, builder, sig, args):  # noqa: ANN001, ANN202
        p = _ptr(context, builder, sig.args[0], args[0], args[1])
        v64 = ir.VectorType(ir.IntType(64), 16)
        lanes = ir.Constant(VI, list(range(16)))
        nn = builder.trunc(args[3], I32)
        m = builder.icmp_signed("<", lanes, _splat(builder, nn, VI))
        fn = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(v64, [ir.PointerType(), I32, VM, v64]),
            "llvm.masked.load.v16i64.p0",
        )
        x = builder.call(fn, [p, ir.Constant(I32, 8), m, ir.Constant(v64, [0] * 16)])
        x = builder.sub(x, _splat(builder, args[2], v64))
        x = builder.select(m, x, ir.Constant(v64, [0] * 16))
        return builder.trunc(x, VI)

    return i16(arr, i, base, n), cg


def _splat(builder, x, vty):  # noqa: ANN001, ANN202
    v = builder.insert_element(ir.Constant(vty, ir.Undefined), x, ir.Constant(I32, 0))
    return (
        builder.shuffle_vector(v, ir.Constant(vty, ir.Undefined), ir.Constant(VI, [0] * 16))
        if vty.count == 16
        else builder.shuffle_vector(
            v,
            ir.Constant(vty, ir.Undefined),
            ir.Constant(ir.VectorType(I32, vty.count), [0] * vty.count),
        )
    )


@intrinsic
def splat_f(typingctx, x):  # noqa: ANN001, ANN201
    def cg(context, builder, sig, args):  # noqa: ANN001, ANN202
        return _splat(builder, args[0], VF)

    return f16(types.float32), cg


@intrinsic
def splat_i(typingctx, x):  # noqa: ANN001, ANN201
    def cg(context, builder, sig, args):  # noqa: ANN001, ANN202
        return _splat(builder, builder.trunc(args[0], I32), VI)

    return i16(types.int64), cg


@intrinsic
def zero_d(typingctx):  # noqa: ANN001, ANN201
    def cg(context, builder, sig, args):  # noqa: ANN001, ANN202
        return ir.Constant(VD, [0.0] * 8)

    return d8(), cg


@intrinsic
def perm2(typingctx, a, j, b):  # noqa: ANN001, ANN201
    """Lane l: (a ++ b)[j[l] & 31] (vpermi2ps)."""

    def cg(context, builder, sig, args):  # noqa: ANN001, ANN202
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(VF, [VF, VI, VF]), "llvm.x86.avx512.vpermi2var.ps.512"
        )
        return builder.call(fn, [args[0], args[1], args[2]])

    return f16(f16, i16, f16), cg


def _cmp(op: str, ordered: bool, ty):  # noqa: ANN001, ANN202
    @intrinsic
    def f(typingctx, a, b):  # noqa: ANN001, ANN202
        def cg(context, builder, sig, args):  # noqa: ANN001, ANN202
            if ty is i16:
                return builder.icmp_signed(op, args[0], args[1])
            if ordered:
                return builder.fcmp_ordered(op, args[0], args[1])
            return builder.fcmp_unordered(op, args[0], args[1])

        return m16(ty, ty), cg

    return f


fge, fle, fnlt = _cmp(">=", True, f16), _cmp("<=", True, f16), _cmp(">=", False, f16)
ilt, ieq = _cmp("<", True, i16), _cmp("==", True, i16)


def _bin(name: str, ty):  # noqa: ANN001, ANN202
    @intrinsic
    def f(typingctx, a, b):  # noqa: ANN001, ANN202
        def cg(context, builder, sig, args):  # noqa: ANN001, ANN202
            return getattr(builder, name)(args[0], args[1])

        return ty(ty, ty), cg

    return f


iadd, dadd, mand, mor = _bin("add", i16), _bin("fadd", d8), _bin("and_", m16), _bin("or_", m16)


@intrinsic
def sel_f(typingctx, m, a, b):  # noqa: ANN001, ANN201
    def cg(context, builder, sig, args):  # noqa: ANN001, ANN202
        return builder.select(args[0], args[1], args[2])

    return f16(m16, f16, f16), cg


@intrinsic
def sel_i(typingctx, m, a, b):  # noqa: ANN001, ANN201
    def cg(context, builder, sig, args):  # noqa: ANN001, ANN202
        return builder.select(args[0], args[1], args[2])

    return i16(m16, i16, i16), cg


@intrinsic
def fabs16(typingctx, a):  # noqa: ANN001, ANN201
    def cg(context, builder, sig, args):  # noqa: ANN001, ANN202
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(VF, [VF]), "llvm.fabs.v16f32"
        )
        return builder.call(fn, [args[0]])

    return f16(f16), cg


@intrinsic
def bit_set(typingctx, j, b):  # noqa: ANN001, ANN201
    """Lanes whose j has bit value b (a power of two) set."""

    def cg(context, builder, sig, args):  # noqa: ANN001, ANN202
        x = builder.and_(args[0], _splat(builder, builder.trunc(args[1], I32), VI))
        return builder.icmp_signed("!=", x, ir.Constant(VI, [0] * 16))

    return m16(i16, types.int64), cg


@intrinsic
def add_masked_pd(typingctx, ht, m, p):  # noqa: ANN001, ANN201
    """(ht_lo, ht_hi) += float64(p) on the lanes of m, as two 8 x f64 halves; returns a tuple."""

    def cg(context, builder, sig, args):  # noqa: ANN001, ANN202
        lo_i = ir.Constant(ir.VectorType(I32, 8), list(range(8)))
        hi_i = ir.Constant(ir.VectorType(I32, 8), list(range(8, 16)))
        lo_h, hi_h = builder.extract_value(args[0], 0), builder.extract_value(args[0], 1)
        out = ir.Constant(context.get_value_type(sig.return_type), ir.Undefined)
        for k, (idx, h) in enumerate(((lo_i, lo_h), (hi_i, hi_h))):
            pv = builder.shuffle_vector(args[2], ir.Constant(VF, ir.Undefined), idx)
            mv = builder.shuffle_vector(args[1], ir.Constant(VM, ir.Undefined), idx)
            pd = builder.fpext(pv, VD)
            h2 = builder.select(mv, builder.fadd(h, pd), h)
            out = builder.insert_value(out, h2, k)
        return out

    tup = types.UniTuple(d8, 2)
    return tup(tup, m16, f16), cg


@intrinsic
def ge_pd2(typingctx, ht, x):  # noqa: ANN001, ANN201
    """Mask (as int) of lanes with ht >= x (float64)."""

    def cg(context, builder, sig, args):  # noqa: ANN001, ANN202
        x8 = builder.shuffle_vector(
            builder.insert_element(ir.Constant(VD, ir.Undefined), args[1], ir.Constant(I32, 0)),
            ir.Constant(VD, ir.Undefined),
            ir.Constant(ir.VectorType(I32, 8), [0] * 8),
        )
        parts = []
        for k in range(2):
            c = builder.fcmp_ordered(">=", builder.extract_value(args[0], k), x8)
            parts.append(builder.zext(builder.bitcast(c, ir.IntType(8)), ir.IntType(64)))
        return builder.or_(parts[0], builder.shl(parts[1], ir.Constant(ir.IntType(64), 8)))

    return types.int64(types.UniTuple(d8, 2), types.float64), cg


@intrinsic
def mbits(typingctx, m):  # noqa: ANN001, ANN201
    def cg(context, builder, sig, args):  # noqa: ANN001, ANN202
        return builder.zext(builder.bitcast(args[0], ir.IntType(16)), ir.IntType(64))

    return types.int64(m16), cg


@intrinsic
def win_get(typingctx, a, i, j):  # noqa: ANN001, ANN201
    """Lane l: a[i + j[l]] for j[l] < 128, by four vpermi2ps of the 128 floats at a[i]."""

    def cg(context, builder, sig, args):  # noqa: ANN001, ANN202
        p = _ptr(context, builder, sig.args[0], args[0], args[1])
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(VF, [VF, VI, VF]), "llvm.x86.avx512.vpermi2var.ps.512"
        )
        regs = [
            builder.load(
                builder.bitcast(
                    builder.gep(p, [ir.Constant(ir.IntType(64), 16 * k)]), VF.as_pointer()
                ),
                align=4,
                typ=VF,
            )
            for k in range(8)
        ]
        g = [builder.call(fn, [regs[2 * k], args[2], regs[2 * k + 1]]) for k in range(4)]
        zero = ir.Constant(VI, [0] * 16)
        s32 = builder.icmp_signed("!=", builder.and_(args[2], ir.Constant(VI, [32] * 16)), zero)
        s64 = builder.icmp_signed("!=", builder.and_(args[2], ir.Constant(VI, [64] * 16)), zero)
        lo = builder.select(s32, g[1], g[0])
        hi = builder.select(s32, g[3], g[2])
        return builder.select(s64, hi, lo)

    return f16(a, i, j), cg


@intrinsic
def gather1(typingctx, a, i, j, en):  # noqa: ANN001, ANN201
    """Lanes l with j[l] < en[l]: a[i + j[l]] (llvm.masked.gather), else 0."""

    def cg(context, builder, sig, args):  # noqa: ANN001, ANN202
        p = _ptr(context, builder, sig.args[0], args[0], args[1])
        v64 = ir.VectorType(ir.IntType(64), 16)
        off = builder.mul(builder.sext(args[2], v64), ir.Constant(v64, [4] * 16))
        addr = builder.add(_splat(builder, builder.ptrtoint(p, ir.IntType(64)), v64), off)
        pvt = ir.VectorType(F32.as_pointer(), 16)
        ptrs = builder.inttoptr(addr, pvt)
        m = builder.icmp_signed("<", args[2], args[3])
        fn = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(VF, [pvt, I32, VM, VF]),
            "llvm.masked.gather.v16f32.v16p0",
        )
        return builder.call(fn, [ptrs, ir.Constant(I32, 4), m, ir.Constant(VF, [0.0] * 16)])

    return f16(a, i, j, en), cg


@intrinsic
def any16(typingctx, m):  # noqa: ANN001, ANN201
    def cg(context, builder, sig, args):  # noqa: ANN001, ANN202
        b = builder.bitcast(args[0], ir.IntType(16))
        return builder.icmp_unsigned("!=", b, ir.Constant(ir.IntType(16), 0))

    return types.boolean(m16), cg


def _sel(ty):  # noqa: ANN001, ANN202
    @intrinsic
    def f(typingctx, m, a, b):  # noqa: ANN001, ANN202
        def cg(context, builder, sig, args):  # noqa: ANN001, ANN202
            return builder.select(args[0], args[1], args[2])

        return ty(m16, ty, ty), cg

    return f


fgt, flt = _cmp(">", True, f16), _cmp("<", True, f16)


@intrinsic
def neg_inf(typingctx):  # noqa: ANN001, ANN201
    def cg(context, builder, sig, args):  # noqa: ANN001, ANN202
        return ir.Constant(VF, [float("-inf")] * 16)

    return f16(), cg


@intrinsic
def zero_f(typingctx):  # noqa: ANN001, ANN201
    def cg(context, builder, sig, args):  # noqa: ANN001, ANN202
        return ir.Constant(VF, [0.0] * 16)

    return f16(), cg


@intrinsic
def mean_ge(typingctx, a, b, x):  # noqa: ANN001, ANN201
    """Bits of the lanes with (float64(a) + float64(b)) / 2 >= x (in two 8 x f64 halves)."""

    def cg(context, builder, sig, args):  # noqa: ANN001, ANN202
        x8 = builder.shuffle_vector(
            builder.insert_element(ir.Constant(VD, ir.Undefined), args[2], ir.Constant(I32, 0)),
            ir.Constant(VD, ir.Undefined),
            ir.Constant(ir.VectorType(I32, 8), [0] * 8),
        )
        parts = []
        for k in range(2):
            idx = ir.Constant(ir.VectorType(I32, 8), list(range(8 * k, 8 * k + 8)))
            ha = builder.fpext(
                builder.shuffle_vector(args[0], ir.Constant(VF, ir.Undefined), idx), VD
            )
            hb = builder.fpext(
                builder.shuffle_vector(args[1], ir.Constant(VF, ir.Undefined), idx), VD
            )
            m = builder.fdiv(builder.fadd(ha, hb), ir.Constant(VD, [2.0] * 8))
            c = builder.fcmp_ordered(">=", m, x8)
            parts.append(builder.zext(builder.bitcast(c, ir.IntType(8)), ir.IntType(64)))
        return builder.or_(parts[0], builder.shl(parts[1], ir.Constant(ir.IntType(64), 8)))

    return types.int64(f16, f16, types.float64), cg


@intrinsic
def store_rows(typingctx, out, e, nv, bits):  # noqa: ANN001, ANN201
    """out[e + l, t] = bit l of bits[t] for l < nv (out: uint8 (n, 8) C-contiguous; bits: an
    8-tuple of int64 masks), one masked 128-byte store."""

    def cg(context, builder, sig, args):  # noqa: ANN001, ANN202
        a = context.make_array(sig.args[0])(context, builder, args[0])
        base = builder.gep(a.data, [builder.mul(args[1], ir.Constant(ir.IntType(64), 8))])
        i16t, v16 = ir.IntType(16), ir.VectorType(ir.IntType(16), 16)
        lanebits = ir.Constant(v16, [1 << k for k in range(16)])
        rows = []
        for t in range(8):
            b = builder.trunc(builder.extract_value(args[3], t), i16t)
            bv = builder.shuffle_vector(
                builder.insert_element(ir.Constant(v16, ir.Undefined), b, ir.Constant(I32, 0)),
                ir.Constant(v16, ir.Undefined),
                ir.Constant(VI, [0] * 16),
            )
            c = builder.icmp_unsigned("!=", builder.and_(bv, lanebits), ir.Constant(v16, [0] * 16))
            rows.append(builder.zext(c, ir.VectorType(ir.IntType(8), 16)))
        v8 = ir.VectorType(ir.IntType(8), 16)

        # interleave: byte l * 8 + t = rows[t][l]
        def cat(x, y, n):  # noqa: ANN001, ANN202
            return builder.shuffle_vector(
                x, y, ir.Constant(ir.VectorType(I32, 2 * n), list(range(2 * n)))
            )

        r2 = [cat(rows[2 * k], rows[2 * k + 1], 16) for k in range(4)]
        r4 = [cat(r2[0], r2[1], 32), cat(r2[2], r2[3], 32)]
        allr = cat(r4[0], r4[1], 64)  # byte t * 16 + l
        v128 = ir.VectorType(ir.IntType(8), 128)
        perm = [t * 16 + lane for lane in range(16) for t in range(8)]
        inter = builder.shuffle_vector(
            allr, ir.Constant(v128, ir.Undefined), ir.Constant(ir.VectorType(I32, 128), perm)
        )
        lanes = ir.Constant(ir.VectorType(I32, 128), [k // 8 for k in range(128)])
        nn = builder.trunc(args[2], I32)
        nv128 = builder.shuffle_vector(
            builder.insert_element(
                ir.Constant(ir.VectorType(I32, 128), ir.Undefined), nn, ir.Constant(I32, 0)
            ),
            ir.Constant(ir.VectorType(I32, 128), ir.Undefined),
            ir.Constant(ir.VectorType(I32, 128), [0] * 128),
        )
        m = builder.icmp_signed("<", lanes, nv128)
        fn = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [v128, ir.PointerType(), I32, ir.VectorType(I1, 128)]),
            "llvm.masked.store.v128i8.p0",
        )
        builder.call(fn, [inter, base, ir.Constant(I32, 1), m])
        _ = v8
        return context.get_dummy_value()

    return types.none(out, e, nv, types.UniTuple(types.int64, 8)), cg


sel_f2, sel_i2 = _sel(f16), _sel(i16)


@intrinsic
def fj_bits(typingctx, fn, fo, e, fb, nv):  # noqa: ANN001, ANN201
    """Bits of the lanes l < nv with fn[fo[e + l + 1] - fb] - fn[fo[e + l] - fb] >= 1: one
    masked gather of fn at fo[e .. e + 16) - fb (lane l's end is lane l + 1's start)."""

    def cg(context, builder, sig, args):  # noqa: ANN001, ANN202
        i64 = ir.IntType(64)
        v64 = ir.VectorType(i64, 16)
        fo_a = context.make_array(sig.args[1])(context, builder, args[1])
        fn_a = context.make_array(sig.args[0])(context, builder, args[0])
        nv = builder.trunc(args[4], I32)
        nf = builder.select(
            builder.icmp_signed("<", nv, ir.Constant(I32, 16)),
            builder.add(nv, ir.Constant(I32, 1)),
            ir.Constant(I32, 16),
        )
        lanes = ir.Constant(VI, list(range(16)))
        m = builder.icmp_signed("<", lanes, _splat(builder, nf, VI))
        ld = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(v64, [ir.PointerType(), I32, VM, v64]),
            "llvm.masked.load.v16i64.p0",
        )
        f0 = builder.call(
            ld,
            [builder.gep(fo_a.data, [args[2]]), ir.Constant(I32, 8), m, ir.Constant(v64, [0] * 16)],
        )
        f0 = builder.select(
            m, builder.sub(f0, _splat(builder, args[3], v64)), ir.Constant(v64, [0] * 16)
        )
        # vpgatherdd (32-bit indices from fn's base: one 16-lane gather, as in the C probe)
        ga = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(VI, [VI, ir.PointerType(), VI, VM, I32]),
            "llvm.x86.avx512.mask.gather.dpi.512",
        )
        g = builder.call(
            ga,
            [ir.Constant(VI, [0] * 16), fn_a.data, builder.trunc(f0, VI), m, ir.Constant(I32, 4)],
        )
        last_idx = builder.sub(
            builder.load(builder.gep(fo_a.data, [builder.add(args[2], args[4])])), args[3]
        )
        last = builder.load(builder.gep(fn_a.data, [last_idx]))
        g1 = builder.shuffle_vector(
            g, _splat(builder, last, VI), ir.Constant(VI, list(range(1, 17)))
        )
        c = builder.icmp_signed(">=", builder.sub(g1, g), ir.Constant(VI, [1] * 16))
        c = builder.and_(c, builder.icmp_signed("<", lanes, _splat(builder, nv, VI)))
        return builder.zext(builder.bitcast(c, ir.IntType(16)), i64)

    return types.int64(fn, fo, e, fb, nv), cg


@intrinsic
def trailing_ones(typingctx, x):  # noqa: ANN001, ANN201
    """The number of trailing one bits of x (tzcnt of ~x), no loop."""

    def cg(context, builder, sig, args):  # noqa: ANN001, ANN202
        i64 = ir.IntType(64)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(i64, [i64, I1]), "llvm.cttz.i64"
        )
        return builder.call(fn, [builder.not_(args[0]), ir.Constant(I1, 0)])

    return types.int64(types.int64), cg


@intrinsic
def fat_block(typingctx, fpt, feta, fmsd, fsc, f, fe, cv, fn, fb, base):  # noqa: ANN001, ANN201
    """Large-R jets f .. min(f + 16, fe): fn[g - fb + 1] = base + the number passing among
    f .. g (lane g: ctpop of the pass mask below it); returns base + the block's count."""

    def cg(context, builder, sig, args):  # noqa: ANN001, ANN202
        i64 = ir.IntType(64)
        arrs = [context.make_array(sig.args[k])(context, builder, args[k]) for k in range(4)]
        cva = context.make_array(sig.args[6])(context, builder, args[6])
        fna = context.make_array(sig.args[7])(context, builder, args[7])
        f, fe, fb, base = args[4], args[5], args[8], args[9]
        rem = builder.trunc(builder.sub(fe, f), I32)
        lanes = ir.Constant(VI, list(range(16)))
        m = builder.icmp_signed("<", lanes, _splat(builder, rem, VI))
        ld = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(VF, [ir.PointerType(), I32, VM, VF]),
            "llvm.masked.load.v16f32.p0",
        )
        z = ir.Constant(VF, [0.0] * 16)
        v = [builder.call(ld, [builder.gep(a.data, [f]), ir.Constant(I32, 4), m, z]) for a in arrs]
        fab = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(VF, [VF]), "llvm.fabs.v16f32"
        )
        v[1] = builder.call(fab, [v[1]])

        def cst(k):  # noqa: ANN001, ANN202
            return _splat(builder, builder.load(builder.gep(cva.data, [ir.Constant(i64, k)])), VF)

        k = builder.and_(m, builder.fcmp_ordered(">=", v[0], cst(5)))
        k = builder.and_(k, builder.fcmp_ordered("<=", v[1], cst(0)))
        k = builder.and_(k, builder.fcmp_ordered(">=", v[2], cst(6)))
        k = builder.and_(k, builder.fcmp_ordered(">=", v[3], cst(7)))
        kb = builder.zext(builder.bitcast(k, ir.IntType(16)), I32)
        low = ir.Constant(VI, [(2 << i) - 1 for i in range(16)])
        pop = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(VI, [VI]), "llvm.ctpop.v16i32"
        )
        pc = builder.call(pop, [builder.and_(_splat(builder, kb, VI), low)])
        b32 = builder.trunc(base, I32)
        pc = builder.add(pc, _splat(builder, b32, VI))
        st = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [VI, ir.PointerType(), I32, VM]),
            "llvm.masked.store.v16i32.p0",
        )
        dst = builder.gep(fna.data, [builder.add(builder.sub(f, fb), ir.Constant(i64, 1))])
        builder.call(st, [pc, dst, ir.Constant(I32, 4), m])
        p1 = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(I32, [I32]), "llvm.ctpop.i32"
        )
        return builder.add(base, builder.zext(builder.call(p1, [kb]), i64))

    return types.int64(fpt, feta, fmsd, fsc, f, fe, cv, fn, fb, base), cg


@njit(inline="always")
def fetch_win(a, jb, j, en):  # noqa: ANN001, ANN201
    return win_get(a, jb, j)


@njit(inline="always")
def fetch_gather(a, jb, j, en):  # noqa: ANN001, ANN201
    return gather1(a, jb, j, en)


@njit(inline="always")
def group16(fetch, pt, eta, sc, jb, st, en, cv):  # noqa: ANN001, ANN201, PLR0915
    """One group's jet steps (``fetch``: the window or gathers); the trigger bits."""
    C0, C1, C2, C3, C4, C6, C8, C9, C10 = (
        cv[0],
        cv[1],
        cv[2],
        cv[3],
        cv[4],
        cv[6],
        cv[8],
        cv[9],
        cv[10],
    )
    vC0, vC1, vC2, vC3, vC4 = splat_f(C0), splat_f(C1), splat_f(C2), splat_f(C3), splat_f(C4)
    one = splat_i(1)
    NEG = neg_inf()
    k0 = splat_i(0)
    k1 = k0
    nq1 = k0
    l0 = zero_f()
    l1 = l0
    l2 = l0
    l3 = l0
    q00 = NEG
    q01 = NEG
    q10 = NEG
    q11 = NEG
    ht = (zero_d(), zero_d())
    j = st
    p = fetch(pt, jb, j, en)
    alive = mand(ilt(j, en), fnlt(p, vC4))
    if TIMING_NO_STEPS:  # timing probe only (wrong decisions): the per-group work alone
        alive = ilt(en, st)
    while any16(alive):
        ae = fabs16(fetch(eta, jb, j, en))
        s = fetch(sc, jb, j, en)
        c0 = mand(alive, fle(ae, vC0))
        l0 = sel_f2(mand(c0, ieq(k0, splat_i(0))), p, l0)
        l1 = sel_f2(mand(c0, ieq(k0, splat_i(1))), p, l1)
        l2 = sel_f2(mand(c0, ieq(k0, splat_i(2))), p, l2)
        l3 = sel_f2(mand(c0, ieq(k0, splat_i(3))), p, l3)
        k0 = sel_i2(c0, iadd(k0, one), k0)
        c1 = mand(mand(alive, fle(ae, vC1)), fge(p, vC2))
        k1 = sel_i2(c1, iadd(k1, one), k1)
        ht = add_masked_pd(ht, c0, p)
        v = sel_f2(mand(c0, fgt(s, NEG)), s, NEG)
        w = sel_f2(fgt(v, q00), v, q00)
        v = sel_f2(flt(v, q00), v, q00)
        q00 = w
        q01 = sel_f2(fgt(v, q01), v, q01)
        c2 = mand(c0, fge(p, vC3))
        nq1 = sel_i2(c2, iadd(nq1, one), nq1)
        v = sel_f2(mand(c2, fgt(s, NEG)), s, NEG)
        w = sel_f2(fgt(v, q10), v, q10)
        v = sel_f2(flt(v, q10), v, q10)
        q10 = w
        q11 = sel_f2(fgt(v, q11), v, q11)
        j = iadd(j, one)
        p = fetch(pt, jb, j, en)
        alive = mand(mand(alive, ilt(j, en)), fnlt(p, vC4))
    K4 = mbits(ilt(splat_i(3), k0))
    K2 = mbits(ilt(splat_i(1), k0))
    N2 = mbits(ilt(splat_i(1), nq1))
    a0 = mbits(fge(l0, splat_f(C8)))
    a1 = mbits(fge(l1, splat_f(C9)))
    a2 = mbits(fge(l2, splat_f(C6)))
    a3 = mbits(fge(l3, splat_f(C3)))
    b1 = mbits(fge(l1, splat_f(C10)))
    b3 = mbits(fge(l3, splat_f(C6)))
    h280 = ge_pd2(ht, 280.0)
    t0 = K4 & a0 & a1 & a2 & a3 & h280
    t1 = ge_pd2(ht, 320.0)
    t2 = ge_pd2(ht, 360.0)
    t3 = mbits(ilt(splat_i(0), k1))
    seed = t0 | t1 | t2
    t4 = seed & K4 & h280 & K2 & mean_ge(q00, q01, 0.55)
    t5 = seed & K4 & a0 & b1 & a2 & b3 & ge_pd2(ht, 340.0) & K2 & mean_ge(q00, q01, 0.7)
    t6 = seed & K4 & a0 & b1 & a2 & a3 & N2 & mean_ge(q10, q11, 0.65)
    return t0, t1, t2, t3, t4, t5, t6


@njit(cache=False)
def hh4b_numba_simd(jo, pt, eta, sc, fo, fpt, feta, fmsd, fsc, cv, out, fn):  # noqa: ANN001, ANN201
    """The whole run3_hh4b kernel with the numba vector intrinsics (hh4b_simd16 with WINDOW=2,
    PIPE=1, FATVEC=1); groups whose jets do not fit
    the 128-jet window (an event with > 128 jets, the arrays' last 128 jets): one event,
    gathered."""
    n = len(jo) - 1
    njets = len(pt)
    for e0 in range(0, n, 4096):
        e1 = min(n, e0 + 4096)
        fb = fo[e0]
        fn[0] = 0
        m0 = 0
        for f in range(fb, fo[e1], 16):  # 16 large-R jets at a time (vectorized prefix)
            if not SKIP_FAT:
                m0 = fat_block(fpt, feta, fmsd, fsc, f, fo[e1], cv, fn, fb, m0)
        e = e0
        while e < e1:
            lim = min(16, e1 - e)
            jb = jo[e]
            fit = mbits(ilt(vrel(jo, e + 1, jb, lim), splat_i(129))) & ((1 << lim) - 1)
            nv = trailing_ones(fit)
            win = nv > 0 and jb + 128 <= njets
            if not win:
                nv = 1
            st = vrel(jo, e, jb, nv)
            en = vrel(jo, e + 1, jb, nv)
            if win:
                t0, t1, t2, t3, t4, t5, t6 = group16(fetch_win, pt, eta, sc, jb, st, en, cv)
            else:
                t0, t1, t2, t3, t4, t5, t6 = group16(fetch_gather, pt, eta, sc, jb, st, en, cv)
            t7 = (t3 | t2) & (0 if SKIP_FJ else fj_bits(fn, fo, e, fb, nv))
            if not SKIP_STORE:
                store_rows(out, e, nv, (t0, t1, t2, t3, t4, t5, t6, t7))
            e += nv
    return out


@njit(cache=False, parallel=True)
def hh4b_numba_simd_par(jo, pt, eta, sc, fo, fpt, feta, fmsd, fsc, cv, out):  # noqa: ANN001, ANN201
    """hh4b_numba_simd with ``prange`` over the 4096-event chunks (each its own large-R
    prefix buffer), as the generated kernel does: the vector types inside a parfor.

    The whole run3_hh4b kernel with the numba vector intrinsics (hh4b_simd16 with WINDOW=2,
    PIPE=1, FATVEC=1); groups whose jets do not fit
    the 128-jet window (an event with > 128 jets, the arrays' last 128 jets): one event,
    gathered."""
    n = len(jo) - 1
    njets = len(pt)
    n_chunks = (n + 4095) // 4096
    for ch in prange(n_chunks):
        e0 = ch * 4096
        e1 = min(n, e0 + 4096)
        fn = np.empty(fo[e1] - fo[e0] + 1, dtype=np.int32)
        fb = fo[e0]
        fn[0] = 0
        m0 = 0
        for f in range(fb, fo[e1], 16):  # 16 large-R jets at a time (vectorized prefix)
            if not SKIP_FAT:
                m0 = fat_block(fpt, feta, fmsd, fsc, f, fo[e1], cv, fn, fb, m0)
        e = e0
        while e < e1:
            lim = min(16, e1 - e)
            jb = jo[e]
            fit = mbits(ilt(vrel(jo, e + 1, jb, lim), splat_i(129))) & ((1 << lim) - 1)
            nv = trailing_ones(fit)
            win = nv > 0 and jb + 128 <= njets
            if not win:
                nv = 1
            st = vrel(jo, e, jb, nv)
            en = vrel(jo, e + 1, jb, nv)
            if win:
                t0, t1, t2, t3, t4, t5, t6 = group16(fetch_win, pt, eta, sc, jb, st, en, cv)
            else:
                t0, t1, t2, t3, t4, t5, t6 = group16(fetch_gather, pt, eta, sc, jb, st, en, cv)
            t7 = (t3 | t2) & (0 if SKIP_FJ else fj_bits(fn, fo, e, fb, nv))
            if not SKIP_STORE:
                store_rows(out, e, nv, (t0, t1, t2, t3, t4, t5, t6, t7))
            e += nv
    return out


@njit(cache=False)
def ht_k0_numba_simd(jo, pt, eta, c0, c4, out):  # noqa: ANN001, ANN201
    """out[e] = (ht >= 280) | (k0 >= 4) << 1: window-fit groups of <= 16 events (events with
    > 128 jets, and the last 128 jets of the arrays: the one-event scalar loop)."""
    n = len(jo) - 1
    njets = len(pt)
    vc0, vc4, one = splat_f(c0), splat_f(c4), splat_i(1)
    e = 0
    while e < n:
        lim = min(16, n - e)
        jb = jo[e]
        en = vrel(jo, e + 1, jb, lim)
        fit = mbits(ilt(en, splat_i(129))) & ((1 << lim) - 1)
        nv = 0
        while nv < lim and (fit >> nv) & 1:
            nv += 1
        if nv == 0 or jb + 128 > njets:  # scalar: one event
            ht, k0 = 0.0, 0
            for j in range(jo[e], jo[e + 1]):
                p = pt[j]
                if p < c4:
                    break
                s = abs(eta[j]) <= c0
                k0 += s
                ht += np.float64(p) * (1.0 if s else 0.0)
            out[e] = (ht >= 280.0) | ((k0 >= 4) << 1)
            e += 1
            continue
        st = vrel(jo, e, jb, nv)
        en = vrel(jo, e + 1, jb, nv)
        j = st
        k0 = splat_i(0)
        ht = (zero_d(), zero_d())
        p = win_get(pt, jb, j)
        alive = mand(ilt(j, en), fnlt(p, vc4))
        while any16(alive):
            ae = fabs16(win_get(eta, jb, j))
            c = mand(alive, fle(ae, vc0))
            k0 = sel_i(c, iadd(k0, one), k0)
            ht = add_masked_pd(ht, c, p)
            j = iadd(j, one)
            p = win_get(pt, jb, j)
            alive = mand(mand(alive, ilt(j, en)), fnlt(p, vc4))
        h = ge_pd2(ht, 280.0)
        kk = mbits(ilt(splat_i(3), k0))
        for lane in range(nv):
            out[e + lane] = ((h >> lane) & 1) | (((kk >> lane) & 1) << 1)
        e += nv
    return out


@njit(cache=False)
def ht_k0_numba_scalar(jo, pt, eta, c0, c4, out):  # noqa: ANN001, ANN201
    """The same two registers, one event at a time (the generated kernel's loop shape)."""
    n = len(jo) - 1
    one = np.array([0.0, 1.0])
    for e in range(n):
        ht, k0 = 0.0, 0
        for j in range(jo[e], jo[e + 1]):
            p = pt[j]
            if p < c4:
                break
            s = abs(eta[j]) <= c0
            k0 += s
            ht += np.float64(p) * one[np.uint64(s)]
        out[e] = (ht >= 280.0) | ((k0 >= 4) << 1)
    return out


def main() -> None:
    sys.path.insert(0, str(HERE.parents[2]))
    from trigkit.benchmarks.emulator import _base_events, _tile
    from trigkit.emulator.columns import columns_from_batch
    from trigkit.emulator.compiled import compile_menu
    from trigkit.emulator.schema import load_menu

    cm = compile_menu(load_menu("run3_hh4b"))
    cols = _tile(columns_from_batch(_base_events(20000, 1), cm), 2_000_000)
    jo, pt, eta = cols.jet_offsets, cols.jet_pt, cols.jet_eta
    c0, c4 = np.float32(2.5), np.float32(30.0)
    so = Path(tempfile.gettempdir()) / f"floor5_htk0_{os.getpid()}.so"
    subprocess.run(
        [
            "gcc",
            "-O3",
            "-march=native",
            "-shared",
            "-fPIC",
            "-o",
            str(so),
            str(HERE / "hh4b_simd.c"),
        ],
        check=True,
    )
    lib = ctypes.CDLL(str(so))
    n = cols.n_events

    def run_c() -> np.ndarray:
        out = np.empty(n, np.uint8)
        lib.ht_k0_16(
            ctypes.c_int64(n),
            *(ctypes.c_void_p(a.ctypes.data) for a in (jo, pt, eta)),
            ctypes.c_float(c0),
            ctypes.c_float(c4),
            ctypes.c_void_p(out.ctypes.data),
        )
        return out

    fns = {
        "numba scalar": lambda: ht_k0_numba_scalar(jo, pt, eta, c0, c4, np.empty(n, np.uint8)),
        "numba intrinsics": lambda: ht_k0_numba_simd(jo, pt, eta, c0, c4, np.empty(n, np.uint8)),
        "C intrinsics": run_c,
    }
    t0 = time.perf_counter()
    ref = fns["numba scalar"]()
    t1 = time.perf_counter()
    got = fns["numba intrinsics"]()
    t2 = time.perf_counter()
    print(f"compile: numba scalar {t1 - t0:.2f} s, numba intrinsics {t2 - t1:.2f} s")
    print("numba intrinsics == numba scalar:", np.array_equal(got, ref))
    print("C intrinsics == numba scalar:", np.array_equal(run_c(), ref))
    best = dict.fromkeys(fns, np.inf)
    for _ in range(7):
        for k, f in fns.items():
            t = time.perf_counter()
            f()
            best[k] = min(best[k], time.perf_counter() - t)
    print(f"load {os.getloadavg()}")
    for k, v in best.items():
        print(f"| {k} | {v * 1e3:.2f} ms | {n / v / 1e6:.0f} M ev/s |")


if __name__ == "__main__":
    main()
