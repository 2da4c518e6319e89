"""Page-locked host buffers and their device-side (mapped) views: the one place that makes them."""

from __future__ import annotations

import numpy as np
import torch


def pinned(a: np.ndarray) -> torch.Tensor:
    """A page-locked copy of ``a`` (C-contiguous), so that copies to the GPU can run async."""
    return torch.from_numpy(np.ascontiguousarray(a)).pin_memory()


def mapped(t: torch.Tensor) -> object:
    """A cupy view of pinned host tensor ``t`` through its device-side (mapped) address."""
    import cupy

    ptr = t.data_ptr()
    try:
        dptr = int(cupy.cuda.runtime.hostGetDevicePointer(ptr, 0))
    except Exception:  # noqa: BLE001 - with unified addressing the device pointer is the host one
        dptr = ptr
    nbytes = t.numel() * t.element_size()
    mem = cupy.cuda.UnownedMemory(dptr, nbytes, t, 0)
    return cupy.ndarray(
        tuple(t.shape), dtype=t.numpy().dtype, memptr=cupy.cuda.MemoryPointer(mem, 0)
    )
