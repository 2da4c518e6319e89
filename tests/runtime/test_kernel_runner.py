"""The cuda-kernel runtime backend: which models it takes (a float64 side-by-side check of the
network's structure), how bad options and inputs fail, and - on a CUDA GPU with cupy - its
outputs against torch in every mode."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trigkit.benchmarks.gpu import _Spec
from trigkit.benchmarks.gpu_contenders import local_dips
from trigkit.compile.gpu_model import synthetic_objects
from trigkit.core.errors import TrigkitError
from trigkit.runtime.backends.cuda_kernel import KernelRunner, kernel_equivalence


def Spec(name: str, shape: tuple[int, ...]) -> _Spec:  # noqa: N802 - reads like the spec it builds
    return _Spec(name, shape, "float32")


SPECS = [Spec("tracks", (-1, 15, 6)), Spec("mask", (-1, 15))]


def _gpu() -> bool:
    try:
        import cupy  # noqa: F401
    except ImportError:
        return False
    return torch.cuda.is_available() and torch.cuda.get_device_capability(0) >= (8, 0)


def gpu(test):  # noqa: ANN001, ANN201 - decorator
    return pytest.mark.gpu(
        pytest.mark.skipif(not _gpu(), reason="needs a CUDA GPU (sm_80+) and cupy")(test)
    )


@pytest.fixture(scope="module")
def module() -> torch.nn.Module:
    return local_dips().module.eval()


def _jets(n: int, seed: int = 4) -> dict[str, np.ndarray]:
    tracks, mask = synthetic_objects(n, 15, 6, seed=seed)
    return {"tracks": tracks, "mask": mask}


def _torch_probs(module: torch.nn.Module, feed: dict[str, np.ndarray]) -> np.ndarray:
    with torch.no_grad():
        logits = module(torch.from_numpy(feed["tracks"]), torch.from_numpy(feed["mask"]))
    return torch.softmax(logits.double(), dim=1).numpy()


def test_the_dips_anchor_is_the_kernels_network(module):
    exact, rounded = kernel_equivalence(module)
    assert exact < 1e-6 and 1e-7 < rounded < 1e-3
    KernelRunner(module, SPECS)  # accepted


def test_a_network_fp16_cannot_carry_is_refused(module):
    import copy

    big = copy.deepcopy(module)
    with (
        torch.no_grad()
    ):  # the same function (ReLU is homogeneous), activations past the fp16 range
        for layer in (big.phi[0], big.phi[2], big.phi[4]):
            layer.bias.mul_(30000.0)
        big.phi[0].weight.mul_(30000.0)
        big.rho[0].weight.div_(30000.0)
    assert kernel_equivalence(big)[0] < 1e-5
    with pytest.raises(TrigkitError, match="fp16 arithmetic moves its probabilities"):
        KernelRunner(big, SPECS)


def test_mean_pooling_with_the_same_layers_is_refused(module):
    class MeanPool(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            pooled = (self.inner.phi(x) * mask.unsqueeze(-1)).sum(1) / mask.sum(
                1, keepdim=True
            ).clamp(min=1)
            return self.inner.rho(pooled)

    with pytest.raises(TrigkitError, match="not the network the kernel computes"):
        KernelRunner(MeanPool(module), SPECS)


def test_other_widths_and_inputs_are_refused(module):
    narrow = torch.nn.Sequential(torch.nn.Linear(6, 32), torch.nn.ReLU())
    with pytest.raises(TrigkitError, match="only for the 6-64-64-64"):
        KernelRunner(narrow, SPECS)
    with pytest.raises(TrigkitError, match=r"input 'tracks' must be float32 \[batch, 15, 6\]"):
        KernelRunner(module, [Spec("tracks", (-1, 20, 6)), Spec("mask", (-1, 20))])
    with pytest.raises(TrigkitError, match="takes inputs"):
        KernelRunner(module, [Spec("jets", (-1, 8))])


def test_bad_options_are_refused(module):
    with pytest.raises(TrigkitError, match="mode 'fast' unknown; valid: graph, persistent"):
        KernelRunner(module, SPECS, mode="fast")  # type: ignore[arg-type]
    with pytest.raises(
        TrigkitError, match=r"max_batch 1000 outside 1\.\.256 for mode 'persistent'"
    ):
        KernelRunner(module, SPECS, mode="persistent", max_batch=1000)


def test_staging_needs_an_active_runner(module):
    runner = KernelRunner(module, SPECS, max_batch=8)
    with pytest.raises(TrigkitError, match="not active"):
        runner.staging(4)
    with pytest.raises(TrigkitError, match="not active"):
        runner.infer_staged(4)


@pytest.mark.skipif(_gpu(), reason="checks the refusal on machines without a usable GPU")
def test_activation_without_a_gpu_says_why(module):
    runner = KernelRunner(module, SPECS)
    with pytest.raises(TrigkitError, match="needs (a CUDA GPU|compute capability|cupy)"):
        runner.activate()


def test_registered_backend_and_its_probe():
    from trigkit.runtime.backends import RUNNERS

    entry = RUNNERS.entry("cuda-kernel")
    ok, why = entry.probe()
    assert ok == _gpu(), why
    assert why


@gpu
@pytest.mark.parametrize("n", [1, 17, 3000])
def test_graph_mode_matches_torch(module, n):
    feed = _jets(n)
    with KernelRunner(module, SPECS, max_batch=4096) as r:
        first = r.infer(feed)
        again = r.infer(feed)  # replays the captured graph
    assert first.shape == (n, 3) and first.dtype == np.float32
    assert np.abs(first - _torch_probs(module, feed)).max() < 1e-2
    assert np.array_equal(first, again)


@gpu
def test_persistent_mode_matches_torch_and_survives_idle(module):
    import time

    from trigkit.runtime.cuda.mma_run import IDLE_NS

    with KernelRunner(module, SPECS, mode="persistent", max_batch=64) as r:
        for n in (1, 5, 64, 5):  # a new batch size restarts the server
            feed = _jets(n, seed=n)
            assert np.abs(r.infer(feed) - _torch_probs(module, feed)).max() < 1e-2
        time.sleep(IDLE_NS * 1.5e-9)  # the kernel leaves after IDLE_NS; the next call relaunches it
        feed = _jets(5, seed=9)
        assert np.abs(r.infer(feed) - _torch_probs(module, feed)).max() < 1e-2


@gpu
def test_bad_inputs_on_the_gpu(module):
    with KernelRunner(module, SPECS, max_batch=8) as r:
        feed = _jets(9)
        with pytest.raises(TrigkitError, match="batch 9 > max_batch 8"):
            r.infer(feed)
        feed = _jets(4)
        feed["tracks"][0, 0, 0] = 1e6
        with pytest.raises(TrigkitError, match="beyond the fp16 range"):
            r.infer(feed)
        feed["tracks"][0, 0, 0] = np.nan
        with pytest.raises(TrigkitError, match="NaN/Inf"):
            r.infer(feed)
        assert r.infer({k: v[:0] for k, v in _jets(3).items()}).shape == (0, 3)


def test_a_compiled_btag_bundle_loads_behind_the_kernel(request):
    pytest.importorskip("pydantic")
    pytest.importorskip("awkward")
    from trigkit.runtime import load_runner

    bundle = request.getfixturevalue("fp32_bundle")
    runner = load_runner(bundle.path, backend="cuda-kernel", max_batch=64)
    assert isinstance(runner, KernelRunner) and "cuda-kernel" in runner.label
    if not _gpu():
        with pytest.raises(TrigkitError, match="needs"):
            runner.activate()
        return
    feed = {k: v[:64] for k, v in _jets(64).items()}
    with runner:
        got = runner.infer(feed)
    with load_runner(bundle.path, backend="onnxruntime") as ort:
        assert np.abs(got - ort.infer(feed)).max() < 1e-2


@gpu
@pytest.mark.parametrize("mode", ["graph", "persistent"])
def test_staged_batches_give_the_same_probabilities(module, mode):
    feed = _jets(40, seed=11)
    with KernelRunner(module, SPECS, mode=mode, max_batch=64) as r:
        want = r.infer(feed)
        xs, ms = r.staging(40)
        xs[:] = 0
        ms[:] = 0
        xs[:] = feed["tracks"].astype(np.float16)
        ms[:] = feed["mask"] != 0
        assert np.array_equal(r.infer_staged(40), want)
        with pytest.raises(TrigkitError, match=r"batch 65 outside 1\.\.max_batch 64"):
            r.staging(65)
