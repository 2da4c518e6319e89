"""Which FirmwareNetwork layers the RTL path (``--rtl``) implements, checked before any work.

The RTL generator (:mod:`trigkit.firmware.rtl.generate`) covers per-jet dense / relu / linear
layers and a final softmax. Set layers (``pointwise``, ``conv1d``, ``mean_pool``) and the extra
activations (``leaky_relu``, ``relu6``) have hls4ml firmware and the bit-exact emulation, but
no RTL: :func:`check_rtl_supported` refuses them with one line naming the layer and ``--rtl``.
"""

from __future__ import annotations

from trigkit.core.errors import TrigkitError
from trigkit.fixedpoint.network import FirmwareNetwork

RTL_LAYER_KINDS = ("dense", "relu", "linear", "softmax (last)")


def check_rtl_supported(network: FirmwareNetwork) -> None:
    """TrigkitError on the first layer the RTL path cannot build."""
    last = len(network.layers) - 1
    for i, layer in enumerate(network.layers):
        ok = layer.kind in ("dense", "relu", "linear") or (layer.kind == "softmax" and i == last)
        if not ok or layer.n_const > 1:
            raise TrigkitError(
                f"layer '{layer.name}' ({layer.kind}): the RTL path (--rtl) does not implement "
                f"this layer kind; it covers {', '.join(RTL_LAYER_KINDS)}. Compile without "
                "--rtl (the hls4ml project and the bit-exact emulation support it)"
            )
