"""Name and compute capability of CUDA device 0, asked of the CUDA driver itself (ctypes).

An engine build records the GPU it was built for, and a TensorRT runner refuses an engine built
for another one; asking torch for the name imported torch (about 1 s) into every
`trigkit compile --target gpu` of a user's ONNX model, which needs no torch otherwise. The
driver API answers the same question (``cuDeviceGetName``: the string torch's
``get_device_name`` returns, device 0 after ``CUDA_VISIBLE_DEVICES``) in milliseconds.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

LIBRARY = "libcuda.so.1"
CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75
CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76
NAME_BYTES = 256


@dataclass(frozen=True)
class CudaDevice:
    name: str
    compute_capability: str  # "9.0"


def _driver() -> Any:
    """The CUDA driver library, its argument types declared, or None where there is none."""
    try:
        lib = ctypes.CDLL(LIBRARY)
    except OSError:
        return None
    c_int_p = ctypes.POINTER(ctypes.c_int)
    lib.cuInit.argtypes = [ctypes.c_uint]
    lib.cuDeviceGetCount.argtypes = [c_int_p]
    lib.cuDeviceGet.argtypes = [c_int_p, ctypes.c_int]
    lib.cuDeviceGetName.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
    lib.cuDeviceGetAttribute.argtypes = [c_int_p, ctypes.c_int, ctypes.c_int]
    return lib


def device0(driver: Any = None) -> CudaDevice | None:
    """CUDA device 0, or None without a driver, a device, or with any driver error
    (``driver``: the library, for tests)."""
    lib = driver if driver is not None else _driver()
    if lib is None or lib.cuInit(0) != 0:
        return None
    count, dev = ctypes.c_int(0), ctypes.c_int(0)
    if lib.cuDeviceGetCount(count) != 0 or count.value < 1 or lib.cuDeviceGet(dev, 0) != 0:
        return None
    name = ctypes.create_string_buffer(NAME_BYTES)
    major, minor = ctypes.c_int(0), ctypes.c_int(0)
    calls = (
        lib.cuDeviceGetName(name, NAME_BYTES, dev.value),
        lib.cuDeviceGetAttribute(major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev.value),
        lib.cuDeviceGetAttribute(minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev.value),
    )
    if any(rc != 0 for rc in calls):
        return None
    return CudaDevice(name.value.decode(errors="replace"), f"{major.value}.{minor.value}")
