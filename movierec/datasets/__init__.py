"""Datasets the recommender runs on: one description of a dataset and one adapter per MovieLens family.

The registry (movierec.datasets.registry: ADAPTERS, load) imports every adapter; this package itself imports
nothing, so movierec.config can re-export the ML-1M vocabularies without an import cycle.
"""
