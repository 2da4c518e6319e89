"""Session fixtures for the runtime tests: gpu bundles compiled once from saved models."""

from __future__ import annotations

import pytest

from tests.runtime.gpu_helpers import save_untrained


@pytest.fixture(scope="session")
def btag_path(tmp_path_factory):
    return save_untrained("btag-deepsets", tmp_path_factory.mktemp("models") / "btag.pt")


@pytest.fixture(scope="session")
def fp32_bundle(btag_path, tmp_path_factory):
    from trigkit.compile.targets.gpu import compile_gpu

    return compile_gpu(
        btag_path,
        tmp_path_factory.mktemp("b") / "fp32",
        precision="fp32",
        max_batch=4096,
        engine="never",
    )


@pytest.fixture(scope="session")
def fp16_bundle(btag_path, tmp_path_factory):
    from trigkit.compile.targets.gpu import compile_gpu

    return compile_gpu(
        btag_path,
        tmp_path_factory.mktemp("b") / "fp16",
        precision="fp16",
        max_batch=4096,
        engine="never",
    )
