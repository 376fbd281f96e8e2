"""Movie-side raw features: genre multi-hot and release-year handling."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def genre_multi_hot(genres: pd.Series, vocabulary: Sequence[str]) -> np.ndarray:
    """(n, len(vocabulary)) float32 multi-hot from 'A|B' genre strings; names outside the vocabulary are ignored.

    vocabulary: the dataset's genres in column order (its description's `genres`).
    """
    index = {genre: i for i, genre in enumerate(vocabulary)}
    out = np.zeros((len(genres), len(vocabulary)), dtype=np.float32)
    for row, value in enumerate(genres):
        for genre in str(value).split("|"):
            col = index.get(genre)
            if col is not None:
                out[row, col] = 1.0
    return out


def filled_years(years: pd.Series) -> tuple[np.ndarray, float]:
    """Years as float with missing ones replaced by the catalogue median; returns (years, fill value)."""
    numeric = pd.to_numeric(years, errors="coerce").astype("float64")
    fill = float(numeric.median()) if numeric.notna().any() else 1990.0
    return numeric.fillna(fill).to_numpy(), fill
