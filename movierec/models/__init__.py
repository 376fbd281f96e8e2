"""Keras 3 model definitions: layers, the two towers, the retrieval model and the rating ranker."""
