"""The tensor-core kernel's host side, without a GPU: the fragment packing (against the PTX
layouts of ``fragment_coords``), the float64 model of its fp16 roundings (against torch), a
lane-by-lane numpy run of the kernel's data flow (against that model), and the launch geometry."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trigkit.benchmarks.gpu_contenders import local_dips
from trigkit.compile.gpu_model import synthetic_objects
from trigkit.runtime.cuda import mma as gm

LANES = np.arange(32)
G, T = LANES >> 2, LANES & 3


@pytest.fixture(scope="module")
def module() -> torch.nn.Module:
    return local_dips().module.eval()


def _jets(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    return synthetic_objects(n, 15, 6, seed=seed)


def test_fragment_coords_cover_each_tile_once():
    for kind, shape, regs in (
        ("a16", (16, 16), 4),
        ("b16", (16, 8), 2),
        ("a8", (16, 8), 2),
        ("b8", (8, 8), 1),
    ):
        seen = {
            gm.fragment_coords(kind, lane, r, h)
            for lane in range(32)
            for r in range(regs)
            for h in range(2)
        }
        assert seen == {(i, j) for i in range(shape[0]) for j in range(shape[1])}, kind
    assert {gm.fragment_coords("c", lane, r, 0) for lane in range(32) for r in range(4)} == {
        (i, j) for i in range(16) for j in range(8)
    }
    with pytest.raises(ValueError, match="unknown fragment kind"):
        gm.fragment_coords("d", 0, 0, 0)


def test_packed_fragments_give_the_weights_back(module):
    block = gm.pack_params(module)
    assert block.dtype == np.uint32 and block.shape == (gm.PARAM_WORDS,)
    dense = gm.dense_weights(module)
    for name, w, (k, n) in zip(
        ("w1", "w2", "w3", "r1", "r2", "r3"),
        dense[0::2],
        [(8, 64), (64, 64), (64, 64), (64, 64), (64, 32), (32, 8)],
        strict=True,
    ):
        assert np.array_equal(
            gm.unpack_b(block, name, k, n), w.astype(np.float16).astype(np.float64)
        ), name
    for name, b in zip(("b1", "b2", "b3", "c1", "c2", "c3"), dense[1::2], strict=True):
        got = block[gm.OFF[name] : gm.OFF[name] + len(b)].view(np.float32)
        assert np.array_equal(got, b.astype(np.float32)), name
    linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
    assert np.array_equal(dense[0][:6], linears[0].weight.detach().double().t().numpy())
    assert not dense[0][6:].any() and not dense[10][:, 3:].any()


def test_fp16_model_matches_torch(module):
    tracks, mask = _jets(256)
    with torch.no_grad():
        want = torch.softmax(
            module(torch.from_numpy(tracks), torch.from_numpy(mask)).double(), dim=1
        ).numpy()
    got = gm.reference_mma(module, tracks, mask)
    assert np.allclose(got.sum(axis=1), 1.0)
    assert 0 < np.abs(got - want).max() < 1e-2


def test_other_architectures_are_refused():
    with pytest.raises(ValueError, match="only for the 6-64-64-64"):
        gm.pack_params(torch.nn.Sequential(torch.nn.Linear(4, 8)))


# ---- lane-by-lane numpy run of run_group (the CUDA source's data flow, statement by statement)


def _pack2(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.stack([lo, hi], axis=-1).astype(np.float16).view(np.uint32)[..., 0]


def _decode(kind: str, regs: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    halves = regs.astype(np.uint32).view(np.float16).reshape(32, -1, 2)
    out = np.zeros(shape)
    for lane in range(32):
        for r in range(halves.shape[1]):
            for h in range(2):
                out[gm.fragment_coords(kind, lane, r, h)] = halves[lane, r, h]
    return out


def _mma(c: np.ndarray, a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    """c [32,4] f32 += A [16,k] @ B [k,8], the operands given as per-lane registers."""
    prod = _decode("a16" if k == 16 else "a8", a, (16, k)) @ _decode(
        "b16" if k == 16 else "b8", b, (k, 8)
    )
    out = c.copy()
    for lane in range(32):
        for r in range(4):
            out[lane, r] += prod[gm.fragment_coords("c", lane, r, 0)]
    return out.astype(np.float32)


def _bias(p: np.ndarray, off: str, nt: int) -> np.ndarray:
    b = p[gm.OFF[off] :].view(np.float32)
    lo, hi = b[nt * 8 + 2 * T], b[nt * 8 + 2 * T + 1]
    return np.stack([lo, hi, lo, hi], axis=1)


def _relu_pack(c: list[np.ndarray]) -> list[np.ndarray]:
    r = [np.maximum(x, 0) for x in c]
    return [
        np.stack(
            [
                _pack2(r[2 * kt][:, 0], r[2 * kt][:, 1]),
                _pack2(r[2 * kt][:, 2], r[2 * kt][:, 3]),
                _pack2(r[2 * kt + 1][:, 0], r[2 * kt + 1][:, 1]),
                _pack2(r[2 * kt + 1][:, 2], r[2 * kt + 1][:, 3]),
            ],
            axis=1,
        )
        for kt in range(len(c) // 2)
    ]


def _dense(a: list[np.ndarray], p: np.ndarray, w: str, b: str, n_tiles: int) -> list[np.ndarray]:
    c = [_bias(p, b, nt) for nt in range(n_tiles)]
    for kt in range(len(a)):
        for nt in range(n_tiles):
            base = gm.OFF[w] + (kt * n_tiles + nt) * 64
            c[nt] = _mma(c[nt], a[kt], p[base : base + 64].reshape(32, 2), 16)
    return c


def _run_group(
    p: np.ndarray, x: np.ndarray, mask: np.ndarray, jet0: int, nj: int, out: np.ndarray
) -> None:
    ra = [np.zeros((32, 4), dtype=np.uint32) for _ in range(4)]
    for i in range(nj):
        jet = jet0 + i
        rows = [G, G + 8]
        xa = np.zeros((32, 2), dtype=np.uint32)
        for r, row in enumerate(rows):
            ok = (T < 3) & (row < 15)
            f = np.where(ok, 2 * T, 0)
            vals = x[jet, np.minimum(row, 14), :][
                np.arange(32)[:, None], f[:, None] + np.array([0, 1])
            ]
            xa[:, r] = np.where(ok, _pack2(vals[:, 0], vals[:, 1]), 0)
        m = [
            (mask[jet, G] != 0).astype(np.float32),
            np.where(G < 7, mask[jet, np.minimum(G + 8, 14)] != 0, 0),
        ]
        c = [
            _mma(
                _bias(p, "b1", nt),
                xa,
                p[gm.OFF["w1"] + nt * 32 : gm.OFF["w1"] + nt * 32 + 32][:, None],
                8,
            )
            for nt in range(8)
        ]
        c = _dense(_relu_pack(c), p, "w2", "b2", 8)
        c = _dense(_relu_pack(c), p, "w3", "b3", 8)
        pool = np.stack(
            [
                np.maximum(c[nt][:, e], 0) * m[0] + np.maximum(c[nt][:, e + 2], 0) * m[1]
                for nt in range(8)
                for e in range(2)
            ],
            axis=1,
        ).astype(np.float32)
        for off in (4, 8, 16):
            pool = pool + pool[LANES ^ off]
        sel = G == (i & 7)
        for kt in range(4):
            lo = _pack2(pool[:, 4 * kt], pool[:, 4 * kt + 1])
            hi = _pack2(pool[:, 4 * kt + 2], pool[:, 4 * kt + 3])
            cols = (0, 2) if i < 8 else (1, 3)
            ra[kt][sel, cols[0]], ra[kt][sel, cols[1]] = lo[sel], hi[sel]
    c = _dense(ra, p, "r1", "c1", 8)
    d = _dense(_relu_pack(c), p, "r2", "c2", 4)
    z = _dense(_relu_pack(d), p, "r3", "c3", 1)[0]
    src = (LANES & ~3) | 1
    for lane in np.flatnonzero(T == 0):
        for row, (z0, z1, z2) in (
            (G[lane], z[lane, :2].tolist() + [z[src[lane], 0]]),
            (G[lane] + 8, z[lane, 2:].tolist() + [z[src[lane], 2]]),
        ):
            if row < nj:
                e = np.exp(np.array([z0, z1, z2]) - max(z0, z1, z2))
                out[jet0 + row] = e / e.sum()


@pytest.mark.parametrize("group", [16, 5])
def test_lane_level_data_flow_matches_the_fp16_model(module, group):
    n = 21
    tracks, mask = _jets(n, seed=2)
    p = gm.pack_params(module)
    out = np.full((n, 3), np.nan)
    for jet0 in range(0, n, group):
        _run_group(
            p, tracks.astype(np.float16), mask.astype(np.uint8), jet0, min(group, n - jet0), out
        )
    want = gm.reference_mma(module, tracks, mask)
    assert not np.isnan(out).any()
    assert np.abs(out - want).max() < 2e-3


@pytest.mark.parametrize("n", [1, 2, 15, 16, 17, 255, 4096, 65536, 100_003])
def test_launch_geometry_covers_every_jet_once(n):
    max_blocks = 132 * 3
    group = gm.group_size(n, max_blocks * gm.WARPS)
    grid = gm.launch_grid(n, group, max_blocks)
    assert 1 <= group <= gm.MAX_GROUP and 1 <= grid <= max_blocks
    n_groups = -(-n // group)
    seen = np.zeros(n, dtype=int)
    for block in range(grid):
        for warp in range(gm.WARPS):
            for gi in range(block * gm.WARPS + warp, n_groups, grid * gm.WARPS):
                seen[gi * group : min(n, (gi + 1) * group)] += 1
    assert (seen == 1).all()
    if n <= max_blocks * gm.WARPS:
        assert group == 1  # small batches: one jet per warp, spread over blocks


@pytest.mark.parametrize("n", [7, 100])  # numpy and torch conversions
def test_jet_records_hold_fp16_tracks_then_the_mask_bytes(n):
    from trigkit.runtime.cuda.mma_run import fill_records, record_views

    tracks, mask = _jets(n, seed=5)
    rec = np.full((n, gm.RECORD_BYTES), 0xAB, dtype=np.uint8)
    fill_records(rec, tracks, mask)
    assert np.array_equal(
        rec[:, : gm.MASK_OFFSET].view(np.float16).reshape(n, 15, 6), tracks.astype(np.float16)
    )
    assert np.array_equal(
        rec[:, gm.MASK_OFFSET : gm.MASK_OFFSET + 15], (mask != 0).astype(np.uint8)
    )
    xs, ms = record_views(rec)
    assert np.array_equal(xs, tracks.astype(np.float16)) and np.array_equal(ms, mask != 0)
    assert (rec[:, -1] == 0xAB).all()  # the pad byte is left alone
    assert gm.RECORD_BYTES % 4 == 0 and gm.MASK_OFFSET == 15 * 6 * 2  # 32-bit loads stay aligned
