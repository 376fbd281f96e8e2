"""Training stages: `python -m training.<stage>` for make data, train, holdout, evaluate, peers and notebooks.

Importing the package does nothing: each entry point's main() sets glibc's heap for training (training.memory)
before TensorFlow starts its threads.
"""
