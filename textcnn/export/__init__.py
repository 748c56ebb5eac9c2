"""Export of trained models for serving without PyTorch: ONNX graphs checked against PyTorch (see docs/export.md)."""
