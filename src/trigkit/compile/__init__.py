"""Compile: pruning, quantization, ONNX export, TensorRT and hls4ml targets, bundles."""
