"""Datasets the recommender runs on: one description of a dataset and one adapter per MovieLens family.

Everything about one dataset (vocabularies, scale, archive layout, download, parser) lives in its adapter module,
and the registry (movierec.datasets.registry: ADAPTERS, load) imports every adapter: a new dataset is one adapter
module plus one registry line. Code elsewhere takes a dataset's vocabularies and scale from its DatasetDescription.
This package imports nothing on import, and movierec.config re-exports nothing from it.
"""
