"""Runtime: one `Runner` interface over TensorRT, onnxruntime and torch; Triton export."""
