"""Which FirmwareNetwork layers the RTL path (``--rtl``) implements, checked before any work.

The RTL generator (:mod:`trigkit.firmware.rtl.generate`) covers dense / relu / linear layers,
the set layers (``pointwise``, ``conv1d``, ``mean_pool``; :mod:`trigkit.firmware.rtl.set_layers`),
the extra activations (``leaky_relu``, ``relu6``) and a final softmax. A sigmoid (the emulator
lacks it too) or a softmax before the last layer is refused by :func:`check_rtl_supported` with
one line naming the layer and ``--rtl``.
"""

from __future__ import annotations

from trigkit.core.errors import TrigkitError
from trigkit.fixedpoint.network import FirmwareNetwork

_PLAIN = ("dense", "relu", "linear", "pointwise", "conv1d", "mean_pool", "leaky_relu", "relu6")
RTL_LAYER_KINDS = (*_PLAIN, "softmax (last)")


def check_rtl_supported(network: FirmwareNetwork) -> None:
    """TrigkitError on the first layer the RTL path cannot build."""
    last = len(network.layers) - 1
    for i, layer in enumerate(network.layers):
        if not (layer.kind in _PLAIN or (layer.kind == "softmax" and i == last)):
            raise TrigkitError(
                f"layer '{layer.name}' ({layer.kind}): the RTL path (--rtl) does not implement "
                f"this layer kind; it covers {', '.join(RTL_LAYER_KINDS)}. Compile without "
                "--rtl (the hls4ml project and the bit-exact emulation support it)"
            )
