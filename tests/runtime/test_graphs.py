"""`runtime.cuda.graphs`: the one CUDA-graph capture helper (needs a CUDA GPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trigkit.runtime.cuda.graphs import capture, replayer

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


def test_replay_recomputes_from_the_static_inputs() -> None:
    x = torch.arange(6, dtype=torch.float32, device="cuda").reshape(2, 3)
    calls = []

    def body() -> torch.Tensor:
        calls.append(1)
        return x * 2 + 1

    graph, out = capture(body, warmup=3)
    assert len(calls) == 4  # three warm-up calls, one captured; replays run none of the Python
    x.copy_(torch.full_like(x, 5.0))
    graph.replay()
    torch.cuda.synchronize()
    assert len(calls) == 4
    np.testing.assert_array_equal(out.cpu().numpy(), np.full((2, 3), 11.0, dtype=np.float32))


def test_replayer_returns_the_pinned_host_result_of_each_replay() -> None:
    host_in = torch.zeros(4).pin_memory()
    dev = torch.zeros(4, device="cuda")
    res = torch.zeros(4).pin_memory()

    def body() -> None:  # copy in, compute, copy out: all in the graph
        dev.copy_(host_in, non_blocking=True)
        res.copy_(dev.square(), non_blocking=True)

    call = replayer(capture(body, torch.cuda.Stream())[0], res)
    for v in (2.0, 3.0):
        host_in.fill_(v)
        np.testing.assert_array_equal(call(), np.full(4, v * v, dtype=np.float32))


def test_autograd_is_off_in_the_capture() -> None:
    w = torch.ones(3, device="cuda", requires_grad=True)
    _, out = capture(lambda: w * 2)
    assert not out.requires_grad
