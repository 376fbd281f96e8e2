"""Dataset-agnostic data handling: archives, shared parsing helpers and cache, splits and live ratings.

What is particular to one dataset (its layout, URL, parser and vocabularies) lives in its adapter, movierec/datasets/.
"""
