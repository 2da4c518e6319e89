"""trigkit: take a trained jet tagger to a trigger.

Importing the package is cheap: numba kernels, torch models and the optional heavy backends
(TensorRT, hls4ml, onnxruntime, tensorflow) are imported only by the modules that use them.
"""

from trigkit.core.errors import MissingDependency, TrigkitError

__version__ = "0.1.0"
__all__ = ["MissingDependency", "TrigkitError", "__version__"]
