"""CUDA device 0 from the driver API (ctypes): a fake driver checks every call and each
failure; without a driver the answer is None."""

from __future__ import annotations

import ctypes

import pytest

from trigkit.core import cuda_device as cd


class FakeDriver:
    """The five driver calls, writing through the ctypes objects they get (as the real ones
    write through their pointers); ``fail``: the call that returns an error code."""

    def __init__(self, fail: str = "", count: int = 2) -> None:
        self.fail, self.count, self.calls = fail, count, []

    def _rc(self, call: str) -> int:
        self.calls.append(call)
        return 100 if call == self.fail else 0

    def cuInit(self, flags: int) -> int:
        assert flags == 0
        return self._rc("cuInit")

    def cuDeviceGetCount(self, n: ctypes.c_int) -> int:
        n.value = self.count
        return self._rc("cuDeviceGetCount")

    def cuDeviceGet(self, dev: ctypes.c_int, ordinal: int) -> int:
        assert ordinal == 0
        dev.value = 7  # an opaque handle, not the ordinal
        return self._rc("cuDeviceGet")

    def cuDeviceGetName(self, buf: ctypes.Array, size: int, dev: int) -> int:
        assert dev == 7 and size == len(buf) == cd.NAME_BYTES
        buf.value = b"NVIDIA H100 80GB HBM3"
        return self._rc("cuDeviceGetName")

    def cuDeviceGetAttribute(self, out: ctypes.c_int, attr: int, dev: int) -> int:
        assert dev == 7
        out.value = {75: 9, 76: 0}[attr]
        return self._rc(f"attr{attr}")


def test_device0_reads_name_and_compute_capability() -> None:
    driver = FakeDriver()
    assert cd.device0(driver) == cd.CudaDevice("NVIDIA H100 80GB HBM3", "9.0")
    assert driver.calls[0] == "cuInit"


@pytest.mark.parametrize(
    "fail", ["cuInit", "cuDeviceGetCount", "cuDeviceGet", "cuDeviceGetName", "attr75", "attr76"]
)
def test_any_driver_error_means_no_device(fail: str) -> None:
    assert cd.device0(FakeDriver(fail)) is None


def test_no_device_means_none() -> None:
    assert cd.device0(FakeDriver(count=0)) is None


def test_without_a_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    from trigkit.compile.tensorrt_build import NO_GPU, current_gpu

    monkeypatch.setattr(cd, "LIBRARY", "libcuda-that-is-not-here.so.1")
    assert cd._driver() is None and cd.device0() is None
    assert current_gpu() == (NO_GPU, "none")


def test_current_gpu_is_the_drivers_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    from trigkit.compile import tensorrt_build

    monkeypatch.setattr(cd, "_driver", FakeDriver)
    assert tensorrt_build.current_gpu() == ("NVIDIA H100 80GB HBM3", "9.0")


FAKE_LIBCUDA = r"""
#include <string.h>
int cuInit(unsigned int flags) { return flags == 0 ? 0 : 1; }
int cuDeviceGetCount(int *n) { *n = 1; return 0; }
int cuDeviceGet(int *dev, int ordinal) { *dev = 40 + ordinal; return 0; }
int cuDeviceGetName(char *name, int len, int dev) {
    if (dev != 40 || len < 32) return 101;
    strncpy(name, "NVIDIA H200", len);
    return 0;
}
int cuDeviceGetAttribute(int *v, int attr, int dev) {
    if (dev != 40) return 101;
    if (attr == 75) { *v = 9; return 0; }
    if (attr == 76) { *v = 0; return 0; }
    return 1;
}
"""


def test_the_ctypes_calls_through_a_compiled_library(tmp_path, monkeypatch) -> None:
    """The real ctypes path (argument types, pointers written by C) on a library with the
    driver's five functions, compiled here."""
    import shutil
    import subprocess

    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler to build the stand-in driver library")
    src, lib = tmp_path / "fake_cuda.c", tmp_path / "libfakecuda.so"
    src.write_text(FAKE_LIBCUDA)
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    monkeypatch.setattr(cd, "LIBRARY", str(lib))
    assert cd.device0() == cd.CudaDevice("NVIDIA H200", "9.0")
