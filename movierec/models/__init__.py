"""The models: Keras 3 definitions, their ONNX export, and the ONNX Runtime runner that serving and evaluation use.

Layers, towers, retrieval and the ranker are defined with Keras; runtime.py imports neither Keras nor TensorFlow.
"""
