"""Index encoders that map raw values to 1..n and every unseen value to the reserved index 0."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

UNKNOWN_INDEX = 0


class IndexEncoder:
    """Sequential encoder: sorted known values get 1..n; anything else gets UNKNOWN_INDEX. Never raises."""

    def __init__(self, values: Iterable) -> None:
        self.classes_ = np.unique(np.asarray(list(values) if not isinstance(values, np.ndarray) else values))

    @classmethod
    def from_classes(cls, classes: np.ndarray) -> IndexEncoder:
        """An encoder over already sorted, unique classes (as stored in a bundle); refuses anything else."""
        classes = np.asarray(classes)
        if classes.ndim != 1 or (len(classes) > 1 and not np.all(classes[1:] > classes[:-1])):
            raise ValueError("encoder classes must be a sorted 1-d array of unique values")
        encoder = cls.__new__(cls)
        encoder.classes_ = classes
        return encoder

    @property
    def size(self) -> int:
        """Vocabulary size including the unknown index (embedding input_dim)."""
        return len(self.classes_) + 1

    def transform(self, values) -> np.ndarray:
        raw = np.asarray(values)
        values = _comparable(raw, self.classes_.dtype.kind)
        if values is None or values.size == 0 or len(self.classes_) == 0:
            return np.zeros(raw.shape, dtype=np.int32)
        pos = np.searchsorted(self.classes_, values)
        pos_clipped = np.minimum(pos, len(self.classes_) - 1)
        known = self.classes_[pos_clipped] == values
        return np.where(known, pos_clipped + 1, UNKNOWN_INDEX).astype(np.int32)

    def inverse_transform(self, indices) -> np.ndarray:
        indices = np.asarray(indices)
        if np.any((indices < 1) | (indices > len(self.classes_))):
            raise ValueError(f"indices must be in 1..{len(self.classes_)} (0 is the unknown index)")
        return self.classes_[indices - 1]

    def __contains__(self, value) -> bool:
        return bool(self.transform([value])[0] != UNKNOWN_INDEX)

    def __repr__(self) -> str:
        return f"IndexEncoder({len(self.classes_)} known values + unknown)"


def _comparable(values: np.ndarray, kind: str) -> np.ndarray | None:
    """values cast so they compare with classes of dtype kind `kind`; None when they never can."""
    if kind == "U":
        return values.astype(str)
    if kind in "iu":
        if values.dtype.kind in "iu":
            return values
        if values.dtype.kind == "f":
            whole = np.isfinite(values) & (values == np.round(values))
            return np.where(whole, values, np.iinfo(np.int64).min).astype(np.int64)
        return None
    return values
