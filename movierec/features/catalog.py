"""Movie-side raw features: genre multi-hot and release-year handling."""

from __future__ import annotations

import numpy as np
import pandas as pd

from movierec.config import GENRES

GENRE_INDEX = {genre: i for i, genre in enumerate(GENRES)}


def genre_multi_hot(genres: pd.Series) -> np.ndarray:
    """(n, 18) float32 multi-hot from 'A|B' genre strings; unknown genre names are ignored."""
    out = np.zeros((len(genres), len(GENRES)), dtype=np.float32)
    for row, value in enumerate(genres):
        for genre in str(value).split("|"):
            col = GENRE_INDEX.get(genre)
            if col is not None:
                out[row, col] = 1.0
    return out


def filled_years(years: pd.Series) -> tuple[np.ndarray, float]:
    """Years as float with missing ones replaced by the catalogue median; returns (years, fill value)."""
    numeric = pd.to_numeric(years, errors="coerce").astype("float64")
    fill = float(numeric.median()) if numeric.notna().any() else 1990.0
    return numeric.fillna(fill).to_numpy(), fill
