"""Generate the C source of the AVX-512 lane kernel of one menu: one event per SIMD lane.

Why C, next to the numba kernel (:mod:`~trigkit.emulator.engine.codegen`, the fallback and the
test reference): one event per lane of a 16-lane AVX-512 register, the event's jets read from a
128-jet window by permutes, reaches ~50 % of ``trigkit bench emulator``'s memory floor on one
thread, the numba kernel (one event at a time) 22-29 %, and the same algorithm written with numba
vector intrinsics 40-41.5 % (``bench/notes/emulator_floor_simd_probe.md``). Only the C path makes
the goal, so it ships as a second backend (:mod:`~trigkit.emulator.engine.cbackend` compiles,
caches and calls it); a menu this module does not cover, a host without AVX-512 or without a
compiler runs the numba kernel.

The source is generated from the same plan as the numba kernel
(:func:`~trigkit.emulator.engine.plan.plan_menu`: the registers, the pt floor) with the same
float32 thresholds (:class:`~trigkit.emulator.cuts.base.Consts`, passed as ``cv``) and, per cut
type, a lane version of its register update and decision (``_EMIT`` / ``_EXPR``, by cut key).
Per chunk of events (the numba kernel's chunks, so the large-R prefix counts are the same): a
vectorised pass over its large-R jets; then groups of up to 16 events whose jets lie in the 128
jets from the group's first (a *window*, read by permutes; other groups, and the arrays' last 128
jets, use gathers; a second loop, the same way, reads the group's L1 jets for the cuts planned
on them). Per step, each live lane does its event's next jet: the numba kernel's
per-jet updates, as masked vector operations (a lane stops at its first jet below the pt floor,
as the numba loop breaks); the next step's pt is read at the end of a step. The triggers are the
same ``&`` / ``|`` expressions, on 16-bit lane masks; decisions are written as the numba
kernel's bool rows.

Why the decisions are the numba kernel's, bit for bit: every comparison is the same float32
comparison against the same float32 constant (ordered ``>=`` / ``<=``; the loop's end is
``not (p < floor)``, so a NaN pt goes on, as in numba); each lane adds its HT in float64 in jet
order, ``p`` or ``p * 0`` (what ``pd * ONE[sel]`` adds, NaN for a non-finite pt), sums the top-k
scores in float64 from the highest down; max / min of the top-k chain pick one of their
operands (a NaN score becomes -inf, as numba's ``max(NEG, s)``); nothing is reassociated and no
fast-math flag is used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trigkit.emulator.compiled import CompiledMenu
from trigkit.emulator.cuts.base import Consts, LoopLines
from trigkit.emulator.engine.plan import OnePassPlan, Register, trigger_expressions

ENTRY = "tk_lanes"  # the exported function (see HEADER)
S1, S2, S3 = (" " * n for n in (8, 12, 16))  # chunk / group / step


def c_double(x: float) -> str:
    """``x`` as an exact C double literal (hex float; INFINITY / NAN)."""
    if math.isnan(x):
        return "NAN"
    if math.isinf(x):
        return "INFINITY" if x > 0 else "(-INFINITY)"
    return f"({float(x).hex()})"


@dataclass
class LaneLoop(LoopLines):
    """The per-group loop over 16 events' jets, one per lane (``p`` the pt, ``ae`` the |eta|,
    ``alive`` the lanes still in their event's jets above the floor). Masks are shared like
    :class:`~trigkit.emulator.cuts.base.JetLoop`'s selections, counters as in every
    :class:`~trigkit.emulator.cuts.base.LoopLines`: per lane, as 32-bit integer vectors."""

    prefix: str = ""  # "l" for the loop over the L1 jets: its masks lm0.., score rows ls0..
    uses_pz: bool = False  # some HT adds p * 0 for unselected jets
    _masks: dict[str, str] = field(default_factory=dict)

    def mask(self, expr: str) -> str:
        """A ``__mmask16`` local holding ``expr``, shared by every use of the same expression."""
        if expr not in self._masks:
            self._masks[expr] = name = f"{self.prefix}m{len(self._masks)}"
            self.body.append(f"{S3}const __mmask16 {name} = {expr};")
        return self._masks[expr]

    def sel(self, pt_min: float | None, eta_max: float) -> str:
        """The lanes whose jet passes pt >= ``pt_min`` (when above the floor), |eta| <= max."""
        c = self.mask(f"_mm512_mask_cmp_ps_mask(alive, ae, {self.cs.le(eta_max)}, _CMP_LE_OQ)")
        if pt_min is not None and self.above_floor(pt_min):
            c = self.pt_at_least(c, pt_min)
        return c

    def pt_at_least(self, c: str, pt_min: float) -> str:
        return self.mask(f"_mm512_mask_cmp_ps_mask({c}, p, {self.cs.ge(pt_min)}, _CMP_GE_OQ)")

    def zero(self, var: str) -> str:
        return f"{S2}__m512i {var} = _mm512_setzero_si512();"

    def add(self, var: str, c: str) -> str:
        return f"{S3}{var} = _mm512_mask_add_epi32({var}, {c}, {var}, ONE_I);"

    def alias(self, var: str, counted: str) -> str:
        return f"{S2}const __m512i {var} = {counted};"

    def row_local(self, i: int) -> str:
        return f"{self.prefix}s{i}"


@dataclass
class FatLanes:
    """The per-chunk vectorised pass over the chunk's large-R jets: per register, the running
    count ``fn{r}`` of passing large-R jets (``conds``: its lane mask per 16 large-R jets)."""

    cs: Consts
    fatjet_fields: tuple[str, ...]
    conds: list[tuple[int, str]] = field(default_factory=list)
    rows: set[int] = field(default_factory=set)

    def score(self, name: str) -> str:
        i = self.fatjet_fields.index(name)
        self.rows.add(i)
        return f"fs{i}"


# ---- per cut type: the lane register update (_EMIT) and decision (_EXPR), by cut key ----


def _jets_single(r: int, t: float, loop: LaneLoop) -> str:
    return f"k{r}_{loop.cs.ge(t)}" if loop.above_floor(t) else f"k{r}"


def _emit_jets(r: int, key: tuple, cuts: list[Any], loop: LaneLoop, fat: FatLanes) -> None:
    c = loop.sel(None, key[0])
    if key[1]:  # single-jet cuts: one count per threshold
        for t in dict.fromkeys(cut.pt[0] for cut in cuts):
            above = loop.pt_at_least(c, t) if loop.above_floor(t) else c
            loop.count(above, _jets_single(r, t, loop))
        return
    n = max(len(cut.pt) for cut in cuts)
    # the i-th selected pt: written when the counter reads i before counting this jet (i + 1
    # when another register's counter of this selection counted it already)
    k, d = loop._counted.get(c, f"k{r}"), int(c in loop._counted)
    for i in range(n):
        loop.init.append(f"{S2}__m512 l{r}_{i} = _mm512_setzero_ps();")
        eq = f"_mm512_mask_cmpeq_epi32_mask({c}, {k}, _mm512_set1_epi32({i + d}))"
        loop.body.append(f"{S3}l{r}_{i} = _mm512_mask_mov_ps(l{r}_{i}, {eq}, p);")
    loop.count(c, f"k{r}")


def _expr_jets(cut: Any, r: int, loop: LaneLoop) -> str:  # noqa: ANN401
    if len(cut.pt) == 1:
        return f"GEI({_jets_single(r, cut.pt[0], loop)}, 1)"
    parts = [f"GEI(k{r}, {len(cut.pt)})"]
    parts += [
        f"GEF(l{r}_{i}, {loop.cs.ge(t)})" for i, t in enumerate(cut.pt) if loop.above_floor(t)
    ]
    return " & ".join(parts)


def _emit_ht(r: int, key: tuple, cuts: list[Any], loop: LaneLoop, fat: FatLanes) -> None:
    jet_pt, abs_eta, lead = key
    c = loop.sel(jet_pt, abs_eta)
    if lead > 0:  # the first `lead` selected jets: a counter incremented before this line
        k = loop.counter(c, f"kh{r}")
        c = loop.mask(f"_mm512_mask_cmple_epi32_mask({c}, {k}, _mm512_set1_epi32({lead}))")
    loop.uses_pz = True
    loop.init.append(f"{S2}__m512d ht{r}lo = _mm512_setzero_pd(), ht{r}hi = ht{r}lo;")
    loop.body += [
        f"{S3}h = _mm512_mask_mov_ps(pz, {c}, p);",
        f"{S3}ht{r}lo = _mm512_mask_add_pd(ht{r}lo, (__mmask8)alive, ht{r}lo, LO(h));",
        f"{S3}ht{r}hi = _mm512_mask_add_pd(ht{r}hi, (__mmask8)(alive >> 8), ht{r}hi, HI(h));",
    ]


def _expr_ht(cut: Any, r: int, loop: LaneLoop) -> str:  # noqa: ANN401
    return f"GED(ht{r}lo, ht{r}hi, {c_double(cut.min)})"


def _emit_count(r: int, key: tuple, cuts: list[Any], loop: LaneLoop, fat: FatLanes) -> None:
    field_, jet_pt, abs_eta, wp = key
    c = loop.sel(jet_pt, abs_eta)
    s = loop.score(field_)
    loop.init.append(f"{S2}__m512i nc{r} = _mm512_setzero_si512();")
    good = f"_mm512_mask_cmp_ps_mask({c}, {s}, {loop.cs.ge(wp)}, _CMP_GE_OQ)"
    loop.body.append(f"{S3}nc{r} = _mm512_mask_add_epi32(nc{r}, {good}, nc{r}, ONE_I);")


def _expr_count(cut: Any, r: int, loop: LaneLoop) -> str:  # noqa: ANN401
    return f"GEI(nc{r}, {cut.n})"


def _emit_top(r: int, key: tuple, cuts: list[Any], loop: LaneLoop, fat: FatLanes) -> None:
    field_, jet_pt, abs_eta = key
    k = max(cut.top for cut in cuts)
    c = loop.sel(jet_pt, abs_eta)
    loop.count(c, f"nq{r}")
    loop.init += [f"{S2}__m512 q{r}_{i} = NEG;" for i in range(k)]
    s = loop.score(field_)
    loop.body.append(f"{S3}v = _mm512_mask_max_ps(NEG, {c}, {s}, NEG);")  # NaN / unselected: -inf
    for i in range(k - 1):
        loop.body += [
            f"{S3}w = _mm512_max_ps(v, q{r}_{i});",
            f"{S3}v = _mm512_min_ps(v, q{r}_{i});",
            f"{S3}q{r}_{i} = w;",
        ]
    loop.body.append(f"{S3}q{r}_{k - 1} = _mm512_max_ps(v, q{r}_{k - 1});")


def _top_total(cut: Any, r: int, half: str, mean: bool) -> str:  # noqa: ANN401
    total = f"{half}(q{r}_0)"
    for i in range(1, cut.top):
        total = f"_mm512_add_pd({total}, {half}(q{r}_{i}))"
    return f"_mm512_div_pd({total}, _mm512_set1_pd({cut.top}.0))" if mean else total


def _expr_top(mean: bool) -> Any:  # noqa: ANN401
    def expr(cut: Any, r: int, loop: LaneLoop) -> str:  # noqa: ANN401
        lo, hi = _top_total(cut, r, "LO", mean), _top_total(cut, r, "HI", mean)
        return f"GEI(nq{r}, {cut.top}) & GED({lo}, {hi}, {c_double(cut.min)})"

    return expr


def _emit_fat(r: int, key: tuple, cuts: list[Any], loop: LaneLoop, fat: FatLanes) -> None:
    field_, pt, abs_eta, msd, xbb = key
    cs = fat.cs
    k = f"_mm512_mask_cmp_ps_mask(in, fp, {cs.ge(pt)}, _CMP_GE_OQ)"
    k = f"_mm512_mask_cmp_ps_mask({k}, fa, {cs.le(abs_eta)}, _CMP_LE_OQ)"
    k = f"_mm512_mask_cmp_ps_mask({k}, fm, {cs.ge(msd)}, _CMP_GE_OQ)"
    if field_ is not None:
        k = f"_mm512_mask_cmp_ps_mask({k}, {fat.score(field_)}, {cs.ge(xbb)}, _CMP_GE_OQ)"
    fat.conds.append((r, k))


def _expr_fat(cut: Any, r: int, loop: LaneLoop) -> str:  # noqa: ANN401
    return f"GEI(fj{r}, {cut.n})"


_EMIT = {
    "jets": _emit_jets,
    "ht": _emit_ht,
    "tagger": _emit_count,
    "btag_count": _emit_count,
    "btag_mean": _emit_top,
    "btag_sum": _emit_top,
    "fatjet": _emit_fat,
}
_EXPR = {
    "jets": _expr_jets,
    "ht": _expr_ht,
    "tagger": _expr_count,
    "btag_count": _expr_count,
    "btag_mean": _expr_top(True),
    "btag_sum": _expr_top(False),
    "fatjet": _expr_fat,
}


def unsupported(cm: CompiledMenu, plan: OnePassPlan) -> str | None:
    """Why this module cannot generate ``cm``'s kernel for ``plan`` (None: it can)."""
    keys = sorted({row.type.key for row in cm.cuts} - set(_EMIT))
    if keys:
        return f"cut type(s) {', '.join(keys)} have no C lane version"
    return None


def consts_array(cs: Consts) -> np.ndarray:
    """The float32 values of ``cs`` (``cv``), in C0, C1, ... order."""
    return np.array([float(v) for v in cs.values], dtype=np.float32)


@dataclass(frozen=True)
class LaneSource:
    """The generated C source, its constants (``cv``) and the number of decision columns."""

    text: str
    consts: np.ndarray
    n_triggers: int


def _triggers(cm: CompiledMenu, plan: OnePassPlan, loop: LaneLoop, l1: LaneLoop) -> list[str]:
    def cut(row: Any, reg: Register, on_l1: bool) -> str:
        return _EXPR[row.type.key](row.cut, reg, l1 if on_l1 else loop)

    return [
        f"{S2}const __mmask16 t{t} = (__mmask16)({expr or '0xffff'});"
        for t, expr in trigger_expressions(cm, plan, cut)
    ]


def _store(n_trig: int) -> list[str]:
    """The group's decision rows: per block of 8 triggers, lane l's bits as one byte, spread to
    8 bytes of 0 / 1 by ``pdep`` and copied into its row (``REM`` bytes in the last block)."""
    lines = [f"{S2}uint8_t *row = out + e * NT;"]
    for b in range(0, n_trig, 8):
        parts = [
            f"_mm_maskz_set1_epi8(t{t}, (char){1 << (t - b)})" for t in range(b, min(b + 8, n_trig))
        ]
        acc = parts[0]
        for x in parts[1:]:
            acc = f"_mm_or_si128({acc}, {x})"
        lines += [
            f"{S2}{{",
            f"{S3}uint8_t bits[16];",
            f"{S3}_mm_storeu_si128((__m128i *)bits, {acc});",
            f"{S3}for (int l = 0; l < nv; l++) {{",
            f"{S3}    uint64_t w8 = _pdep_u64(bits[l], 0x0101010101010101ULL);",
            f"{S3}    memcpy(row + l * NT + {b}, &w8, {min(8, n_trig - b)});",
            f"{S3}}}",
            f"{S2}}}",
        ]
    return lines


def _fat_chunk(fat: FatLanes) -> list[str]:
    if not fat.conds:
        return []
    n = len(fat.conds)
    lines = [
        f"{S1}const int64_t fb = fo[e0], fe = fo[e1];",
        f"{S1}int32_t *fnb = (int32_t *)malloc(sizeof(int32_t) * {n} * (fe - fb + 17));",
        f"{S1}if (!fnb) return -1;",
    ]
    for i, (r, _) in enumerate(fat.conds):
        lines += [f"{S1}int32_t *fn{r} = fnb + {i} * (fe - fb + 17);", f"{S1}int32_t fc{r} = 0;"]
        lines.append(f"{S1}fn{r}[0] = 0;")
    lines += [
        f"{S1}for (int64_t f = fb; f < fe; f += 16) {{",
        f"{S2}const __mmask16 in = fe - f >= 16 ? 0xffff : (__mmask16)((1u << (fe - f)) - 1);",
        f"{S2}const __m512 fp = _mm512_maskz_loadu_ps(in, fpt + f);",
        f"{S2}const __m512 fa = ABS(_mm512_maskz_loadu_ps(in, feta + f));",
        f"{S2}const __m512 fm = _mm512_maskz_loadu_ps(in, fmsd + f);",
    ]
    lines += [
        f"{S2}const __m512 fs{i} = _mm512_maskz_loadu_ps(in, fsc + {i} * fss + f);"
        for i in sorted(fat.rows)
    ]
    for r, cond in fat.conds:
        lines += [
            f"{S2}{{",
            f"{S3}const __mmask16 k = {cond};",
            f"{S3}__m512i pc = _mm512_popcnt_epi32(_mm512_and_si512(_mm512_set1_epi32(k), LOW));",
            f"{S3}_mm512_mask_storeu_epi32(fn{r} + (f - fb) + 1, in,"
            f" _mm512_add_epi32(pc, _mm512_set1_epi32(fc{r})));",
            f"{S3}fc{r} += __builtin_popcount(k);",
            f"{S2}}}",
        ]
    return [*lines, f"{S1}}}"]


def _fat_group(fat: FatLanes) -> list[str]:
    """Per group, each lane's large-R count ``fn[fo[e + 1] - fb] - fn[fo[e] - fb]``: one gather
    of the group's ``nv + 1`` bounds (16 at most), the next lane's bound by a lane shift (the
    16th from a scalar load)."""
    if not fat.conds:
        return []
    lines = [
        f"{S2}const int nf = nv < 16 ? nv + 1 : 16;",
        f"{S2}const __m512i fst = rel16(fo + e, fb, nf);",
        f"{S2}const __mmask16 fin = (__mmask16)((1u << nf) - 1);",
    ]
    for r, _ in fat.conds:
        g = f"g{r}"
        lines += [
            f"{S2}const __m512i {g} = _mm512_mask_i32gather_epi32(ZERO_I, fin, fst, fn{r}, 4);",
            f"{S2}const __m512i fj{r} = _mm512_sub_epi32(_mm512_alignr_epi32("
            f"_mm512_set1_epi32(nv < 16 ? 0 : fn{r}[fo[e + 16] - fb]), {g}, 1), {g});",
        ]
    return lines


def _l1_group(loop: LaneLoop) -> list[str]:
    """The loop over the group's L1 jets (the ``nv`` events the offline loop chose): window
    when they lie in the 128 L1 jets from the first, else gathers; in a block of its own."""
    if not loop.body:
        return []
    rows = sorted(loop.rows)
    head = [
        f"{S2}{{",
        f"{S2}const int64_t jb = lo[e];",
        f"{S2}const __m512i en = rel16(lo + e + 1, jb, nv);",
        f"{S2}const int win = lo[e + nv] - jb <= 128 && jb + 128 <= nl1;",
        f"{S2}const __m512i st = rel16(lo + e, jb, nv);",
        f"{S2}const float *gp = lpt + jb, *ge = leta + jb;",
        *[f"{S2}const float *gs{i} = lsc + {i} * lscs + jb;" for i in rows],
    ]
    return [*loop.init, *head, *_steps(loop, rows), f"{S2}}}", *loop.after]


def _steps(loop: LaneLoop, rows: list[int]) -> list[str]:
    """The step loop: from ``st`` to ``en`` per lane, ending at the first pt below the floor."""
    floor = loop.cs.ge(loop.pt_floor)
    head = [
        f"{S2}__m512i j = st;",
        f"{S2}__mmask16 s32 = _mm512_test_epi32_mask(j, B32);",
        f"{S2}__mmask16 s64 = _mm512_test_epi32_mask(j, B64);",
        f"{S2}__m512 p = FETCH(gp);",
        f"{S2}__mmask16 alive = _mm512_mask_cmp_ps_mask("
        f"_mm512_cmplt_epi32_mask(j, en), p, {floor}, _CMP_NLT_UQ);",
        f"{S2}while (alive) {{",
        f"{S3}const __m512 ae = ABS(FETCH(ge));",
        *[f"{S3}const __m512 {loop.prefix}s{i} = FETCH(gs{i});" for i in rows],
        f"{S3}__m512 v, w, h;",
        f"{S3}(void)v; (void)w; (void)h;",
    ]
    if loop.uses_pz:
        head.append(f"{S3}const __m512 pz = _mm512_mul_ps(p, _mm512_setzero_ps());")
    tail = [
        f"{S3}j = _mm512_add_epi32(j, ONE_I);",
        f"{S3}s32 = _mm512_test_epi32_mask(j, B32);",
        f"{S3}s64 = _mm512_test_epi32_mask(j, B64);",
        f"{S3}p = FETCH(gp);",
        f"{S3}alive = _mm512_mask_cmp_ps_mask("
        f"_mm512_mask_cmplt_epi32_mask(alive, j, en), p, {floor}, _CMP_NLT_UQ);",
        f"{S2}}}",
    ]
    return head + loop.body + tail


def _jet_group(loop: LaneLoop) -> list[str]:
    """The jet loop of one group (window or gathers), its per-step body generated."""
    if not loop.body:
        return [f"{S2}nv = lim;"]
    rows = sorted(loop.rows)
    head = [
        f"{S2}__m512i en = rel16(jo + e + 1, jb, lim);",
        f"{S2}const __mmask16 fit = _mm512_mask_cmple_epi32_mask("
        "(__mmask16)((1u << lim) - 1), en, _mm512_set1_epi32(128));",
        f"{S2}nv = __builtin_popcount(fit);",
        f"{S2}const int win = nv > 0 && jb + 128 <= njets;",
        f"{S2}if (!win) nv = lim;",
        f"{S2}else if (nv < lim) en = _mm512_maskz_mov_epi32(fit, en);",
        f"{S2}const __m512i st = rel16(jo + e, jb, nv);",
        f"{S2}const float *gp = pt + jb, *ge = eta + jb;",
        *[f"{S2}const float *gs{i} = sc + {i} * scs + jb;" for i in rows],
        *loop.init,
    ]
    return [*head, *_steps(loop, rows), *loop.after]


HEADER = """/* Generated by trigkit.emulator.engine.lanes_c for menu {name}; do not edit. */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NT {n_trig}
#define LO(x) _mm512_cvtps_pd(_mm512_castps512_ps256(x))
#define HI(x) _mm512_cvtps_pd(_mm512_extractf32x8_ps(x, 1))
#define ABS(x) _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(x), ABSM))
#define GEI(v, n) _mm512_cmpge_epi32_mask(v, _mm512_set1_epi32(n))
#define GEF(v, c) _mm512_cmp_ps_mask(v, c, _CMP_GE_OQ)
#define GED(lo, hi, x) ((__mmask16)(_mm512_cmp_pd_mask(lo, _mm512_set1_pd(x), _CMP_GE_OQ) | \\
    ((__mmask16)_mm512_cmp_pd_mask(hi, _mm512_set1_pd(x), _CMP_GE_OQ) << 8)))
/* lane l: a[j_l], from the 128 floats at a (window) or by a gather (j < en) */
#define PERM2(a, k) _mm512_permutex2var_ps(_mm512_loadu_ps(a + 32 * k), j, \\
    _mm512_loadu_ps(a + 32 * k + 16))
#define WIN(a) _mm512_mask_mov_ps(_mm512_mask_mov_ps(PERM2(a, 0), s32, PERM2(a, 1)), s64, \\
    _mm512_mask_mov_ps(PERM2(a, 2), s32, PERM2(a, 3)))
#define GATH(a) _mm512_mask_i32gather_ps(_mm512_setzero_ps(), \\
    _mm512_cmplt_epi32_mask(j, en), j, a, 4)
#define FETCH(a) (win ? WIN(a) : GATH(a))

/* 16 int64 values a[0..n) - b as int32 (lanes >= n: 0) */
static inline __m512i rel16(const int64_t *a, int64_t b, int n)
{{
    __mmask8 mlo = n >= 8 ? 0xff : (__mmask8)((1u << n) - 1);
    __mmask8 mhi = n >= 16 ? 0xff : (n <= 8 ? 0 : (__mmask8)((1u << (n - 8)) - 1));
    __m512i vb = _mm512_set1_epi64(b);
    __m256i lo = _mm512_cvtepi64_epi32(
        _mm512_maskz_sub_epi64(mlo, _mm512_maskz_loadu_epi64(mlo, a), vb));
    __m256i hi = _mm512_cvtepi64_epi32(
        _mm512_maskz_sub_epi64(mhi, _mm512_maskz_loadu_epi64(mhi, a + 8), vb));
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}}

/* chunks [c0, c1) of `chunk` events; 0, or -1 when out of memory */
int {entry}(int64_t c0, int64_t c1, int64_t chunk, int64_t n, const int64_t *jo,
            const float *pt, const float *eta, const float *sc, int64_t scs,
            const int64_t *fo, const float *fpt, const float *feta, const float *fmsd,
            const float *fsc, int64_t fss, const int64_t *lo, const float *lpt,
            const float *leta, const float *lsc, int64_t lscs, const float *cv, uint8_t *out)
{{
    const int64_t njets = jo[n], nl1 = lo[n];
    (void)nl1; (void)lpt; (void)leta; (void)lsc; (void)lscs;
    const __m512 NEG = _mm512_set1_ps(-INFINITY);
    const __m512i ONE_I = _mm512_set1_epi32(1), ZERO_I = _mm512_setzero_si512();
    const __m512i ABSM = _mm512_set1_epi32(0x7fffffff);
    const __m512i B32 = _mm512_set1_epi32(32), B64 = _mm512_set1_epi32(64);
    const __m512i LOW = _mm512_setr_epi32(1, 3, 7, 15, 31, 63, 127, 255, 511, 1023, 2047,
                                          4095, 8191, 16383, 32767, 65535);
    (void)njets; (void)NEG; (void)ZERO_I; (void)ABSM; (void)B32; (void)B64; (void)LOW;
    (void)pt; (void)eta; (void)sc; (void)scs; (void)fpt; (void)feta; (void)fmsd; (void)fsc;
    (void)fss; (void)fo; (void)cv;
{consts}
    for (int64_t ch = c0; ch < c1; ch++) {{
        const int64_t e0 = ch * chunk, e1 = e0 + chunk < n ? e0 + chunk : n;
{chunk}
        int nv;
        for (int64_t e = e0; e < e1; e += nv) {{
            const int lim = e1 - e >= 16 ? 16 : (int)(e1 - e);
            const int64_t jb = jo[e];
            (void)jb;
"""

FOOTER = """        }}
{free}
    }}
    return 0;
}}
"""


def generate_lane_source(cm: CompiledMenu, plan: OnePassPlan) -> LaneSource:
    """C source of the lane kernel for ``cm`` (see the module docstring); the caller checks
    :func:`unsupported` first."""
    cs = Consts()
    loop = LaneLoop(cs, plan.pt_floor, cm.jet_fields)
    l1 = LaneLoop(cs, plan.l1_pt_floor, cm.l1_jet_fields, prefix="l")
    fat = FatLanes(cs, cm.fatjet_fields)
    regs: list[Register] = list(plan.registers)
    for coll, into in (("jets", loop), ("l1jets", l1)):
        for reg in regs:
            if reg.collection == coll:
                _EMIT[reg.type.key](reg.index, reg.key, list(reg.cuts), into, fat)
    for reg in regs:
        if reg.collection == "fatjets":
            _EMIT[reg.type.key](reg.index, reg.key, list(reg.cuts), loop, fat)
    n_trig = cm.n_l1 + cm.n_hlt
    jet = _jet_group(loop) + _l1_group(l1)  # registers the floor constants
    trig = _triggers(cm, plan, loop, l1)
    valid = [f"{S2}const __mmask16 valid = (__mmask16)((1u << nv) - 1);", f"{S2}(void)valid;"]
    body = [*jet, *valid, *_fat_group(fat), *trig, *_store(n_trig)]
    consts = [
        f"    const __m512 C{i} = _mm512_set1_ps(cv[{i}]); (void)C{i};"
        for i in range(len(cs.values))
    ]
    head = HEADER.format(
        name=cm.menu.name.replace("*/", "* /"),
        n_trig=max(n_trig, 1),
        entry=ENTRY,
        consts="\n".join(consts),
        chunk="\n".join(_fat_chunk(fat)),
    )
    foot = FOOTER.format(free=f"{S1}free(fnb);" if fat.conds else "")
    text = head + "\n".join(body) + "\n" + foot
    return LaneSource(text, consts_array(cs), n_trig)
