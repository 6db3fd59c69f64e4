"""Deployment: predict with a run, export it as one self-contained model (ONNX or TorchScript)."""
