"""Models: Keras 3 definitions (layers, towers, retrieval, ranker), their ONNX export, and the ONNX Runtime
runner that serving and evaluation use (runtime.py imports neither Keras nor TensorFlow)."""
