"""Shared test fixtures: one torch thread, and the real CMS NanoAOD samples in
``<repo>/../shared/data``."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """Tests use tiny tensors: several torch threads on a shared 2-core machine are many times
    slower than one (measured), so every test runs with one."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder with nano_tt_v12.root / nano_dimuon.root (CI clones the repo with shared/ beside
    it)."""
    if not (SHARED_DATA / "nano_tt_v12.root").is_file():
        pytest.skip(
            f"shared NanoAOD samples not found in {SHARED_DATA} (clone shared/ beside the repo)"
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def nano_tt(shared_data: Path) -> Path:
    """CMS Run-3 ttbar NanoAOD v12, 200 events."""
    return shared_data / "nano_tt_v12.root"


@pytest.fixture(scope="session")
def nano_dimuon(shared_data: Path) -> Path:
    """CMS 2018 collision data NanoAOD, 40 events, 664 HLT + 524 L1 bits, TrigObj."""
    return shared_data / "nano_dimuon.root"
