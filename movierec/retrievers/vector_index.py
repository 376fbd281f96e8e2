"""Top-K by inner product over a catalogue of vectors, the same `index` / `top_k` calls for every backend.

`NumpyIndex` (exact, the default) needs nothing beyond NumPy. `FaissIndex` is the scale path for large
catalogues: `kind="flat"` is FAISS's exact `IndexFlatIP`, `kind="hnsw"` the approximate `IndexHNSWFlat`
(inner-product metric) tuned by `hnsw_m`, `ef_construction` and `ef_search`. FAISS (`pip install ".[scale]"`)
is imported only when a `FaissIndex` is created, so importing this module never needs it.

Both return `(identifiers, scores)` of shape `(n_queries, min(k, catalogue size))`, best first. A query with
fewer results than that (its exclusions leave too few movies) is padded with `MISSING_ID` and `-inf`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np

from movierec.errors import MovieRecError
from movierec.retrievers.topk import top_k_rows

MISSING_ID = -1  # the identifier in padded result slots (their score is -inf)
MAX_SCORE_MAGNITUDE = 1e30  # |inner product| bound that keeps float32 scores finite
# FAISS HNSW: a search that must fetch more than this share of the catalogue (k + exclusions) scans it exactly;
# a graph search that keeps that many candidates costs as much, and filtering its approximate list loses recall.
EXACT_FETCH_SHARE = 0.1
CHUNK_SCORES = 1 << 24  # NumPy backend: at most this many float32 scores in memory at once (64 MiB)
Backend = Literal["numpy", "faiss-flat", "faiss-hnsw"]
BACKENDS: tuple[str, ...] = ("numpy", "faiss-flat", "faiss-hnsw")
FAISS_INSTALL_HINT = "pip install '.[scale]' -c constraints.txt"


class VectorIndexError(MovieRecError, ValueError):
    """Bad input to a vector index: the message says which argument, what was wrong and what is allowed."""


class BackendUnavailableError(MovieRecError, ImportError):
    """The requested top-K backend needs a package that is not installed."""


def _first_bad_row(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask.reshape(mask.shape[0], -1).any(axis=1))[0])


def _as_matrix(values: Any, what: str) -> np.ndarray:
    """A finite 2-D float32 C-contiguous copy of `values` (a 1-D input is one row)."""
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise VectorIndexError(
            f"{what}: expected a 2-D array of numbers, got {type(values).__name__} ({exc})"
        ) from None
    if array.dtype.kind not in "iuf":  # real numbers only (not bool, complex, strings or objects)
        raise VectorIndexError(f"{what}: expected real numbers, got an array of dtype {array.dtype}")
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise VectorIndexError(f"{what}: expected a 2-D array (rows x dimension), got {array.ndim} dimensions")
    array = np.ascontiguousarray(array, dtype=np.float32)
    if not np.isfinite(array).all():
        bad = ~np.isfinite(array)
        raise VectorIndexError(f"{what}: row {_first_bad_row(bad)} holds NaN or infinite values (or overflows float32)")
    return array


def _max_norm(array: np.ndarray) -> float:
    return float(np.sqrt(np.einsum("ij,ij->i", array, array, dtype=np.float64).max())) if array.size else 0.0


class VectorIndex(ABC):
    """Exact or approximate maximum-inner-product search: `index(vectors, identifiers)`, then `top_k(queries, k)`;
    `scores(queries)` gives every exact inner product, for a score that adds terms to them (movierec.scoring)."""

    name: str = "base"

    def __init__(self) -> None:
        self._identifiers: np.ndarray | None = None
        self._vectors = np.empty((0, 0), dtype=np.float32)
        self._sorted_ids = np.empty(0, dtype=np.int64)
        self._sorted_rows = np.empty(0, dtype=np.int64)
        self._max_norm = 0.0
        self._dimension = 0

    @property
    def size(self) -> int:
        """How many vectors are indexed (0 before `index`)."""
        return 0 if self._identifiers is None else len(self._identifiers)

    @property
    def dimension(self) -> int:
        """The vectors' dimension (0 before `index`)."""
        return self._dimension

    def index(self, vectors: Any, identifiers: Any = None) -> VectorIndex:
        """Replace the catalogue with `vectors` (rows x dimension) named by `identifiers` (unique non-negative
        integers, one per row; default: the row numbers). Returns self. Nothing changes if the input is bad."""
        vectors = _as_matrix(vectors, "vectors")
        if vectors.shape[0] == 0:
            raise VectorIndexError("vectors: the catalogue is empty; index() needs at least one vector")
        if vectors.shape[1] == 0:
            raise VectorIndexError("vectors: the vectors have dimension 0; at least 1 is needed")
        ids = self._check_identifiers(identifiers, vectors.shape[0])
        self._build(vectors)  # may raise: the state below is only replaced after a complete build
        order = np.argsort(ids, kind="stable")
        self._vectors = vectors
        self._identifiers, self._sorted_ids, self._sorted_rows = ids, ids[order], order.astype(np.int64)
        self._max_norm, self._dimension = _max_norm(vectors), vectors.shape[1]
        return self

    def top_k(self, queries: Any, k: int, exclude: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """The k highest inner products for each query (rows x dimension; a 1-D query is a batch of one).

        exclude: None; a boolean mask over the catalogue rows, shape (size,) for every query or
        (n_queries, size); or a sequence with one entry per query, each None or an iterable of identifiers
        (identifiers not in the catalogue are ignored). Returns (identifiers int64, scores float32), both of
        shape (n_queries, min(k, size)), best first; slots a query cannot fill hold MISSING_ID and -inf.
        """
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise VectorIndexError(f"k: expected an integer >= 1, got {k!r}")
        queries = self._checked_queries(queries)
        excluded = self._excluded_rows(exclude, queries.shape[0])
        k = min(int(k), self.size)
        rows, scores = self._search(queries, k, excluded)
        identifiers = np.where(rows >= 0, self._identifiers[np.maximum(rows, 0)], MISSING_ID)
        return identifiers.astype(np.int64), scores.astype(np.float32)

    def scores(self, queries: np.ndarray) -> np.ndarray:
        """Every inner product of each query (a float32 rows x dimension array) with the indexed vectors: (n_queries,
        size) float32, catalogue rows in the order they were indexed. Exact whatever the backend (one matrix product).
        The hot path of a score that adds terms to them (movierec.scoring): only the shapes are checked; non-finite
        queries give non-finite scores."""
        self._check_indexed()
        if queries.ndim != 2 or queries.shape[1] != self._dimension:
            raise VectorIndexError(f"queries: shape {queries.shape}, expected (n, {self._dimension})")
        return queries @ self._vectors.T

    def _check_indexed(self) -> None:
        if self._identifiers is None:
            raise VectorIndexError(f"{self.name}: nothing is indexed yet; call index(vectors, identifiers) first")

    def _checked_queries(self, queries: Any) -> np.ndarray:
        self._check_indexed()
        queries = _as_matrix(queries, "queries")
        if queries.shape[1] != self._dimension:
            raise VectorIndexError(
                f"queries: dimension {queries.shape[1]} does not match the index's dimension {self._dimension}"
            )
        if _max_norm(queries) * self._max_norm > MAX_SCORE_MAGNITUDE:
            raise VectorIndexError("queries: inner products with the catalogue would overflow; normalise the vectors")
        return queries

    @staticmethod
    def _check_identifiers(identifiers: Any, n: int) -> np.ndarray:
        if identifiers is None:
            return np.arange(n, dtype=np.int64)
        ids = np.asarray(identifiers)
        if ids.ndim != 1 or len(ids) != n:
            raise VectorIndexError(f"identifiers: expected a 1-D array of {n} (one per vector), got shape {ids.shape}")
        if ids.dtype == bool or not np.issubdtype(ids.dtype, np.integer):
            raise VectorIndexError(f"identifiers: expected integers, got dtype {ids.dtype}")
        ids = ids.astype(np.int64)
        if (ids < 0).any():
            raise VectorIndexError(f"identifiers: must be >= 0 ({MISSING_ID} marks padding), got {int(ids.min())}")
        unique, counts = np.unique(ids, return_counts=True)
        if len(unique) != n:
            raise VectorIndexError(f"identifiers: must be unique, {int(unique[counts > 1][0])} appears more than once")
        return ids

    def _rows_of(self, identifiers: Iterable[Any], query: int) -> np.ndarray:
        try:
            ids = np.fromiter((int(i) for i in identifiers), dtype=np.int64)
        except (TypeError, ValueError, OverflowError) as exc:
            raise VectorIndexError(f"exclude[{query}]: expected an iterable of integer identifiers ({exc})") from None
        position = np.searchsorted(self._sorted_ids, ids).clip(0, self.size - 1)
        known = self._sorted_ids[position] == ids
        return np.unique(self._sorted_rows[position[known]])

    def _excluded_rows(self, exclude: Any, n_queries: int) -> list[np.ndarray] | None:
        """The catalogue rows not to return, one sorted array per query (None: nothing excluded)."""
        if exclude is None:
            return None
        if isinstance(exclude, np.ndarray) and exclude.dtype == bool:
            if exclude.shape == (self.size,):
                rows = np.flatnonzero(exclude)
                return [rows] * n_queries
            if exclude.shape == (n_queries, self.size):
                return [np.flatnonzero(row) for row in exclude]
            raise VectorIndexError(
                f"exclude: a boolean mask must have shape ({self.size},) or ({n_queries}, {self.size}), "
                f"got {exclude.shape}"
            )
        if isinstance(exclude, str | bytes) or not isinstance(exclude, Sequence | np.ndarray):
            raise VectorIndexError(
                "exclude: expected None, a boolean mask, or a sequence with one iterable of identifiers per query, "
                f"got {type(exclude).__name__}"
            )
        if len(exclude) != n_queries:
            raise VectorIndexError(f"exclude: expected one entry per query ({n_queries}), got {len(exclude)}")
        empty = np.empty(0, dtype=np.int64)
        result = []
        for query, entry in enumerate(exclude):
            if entry is None:
                result.append(empty)
            elif isinstance(entry, str | bytes) or not isinstance(entry, Iterable):
                raise VectorIndexError(
                    f"exclude[{query}]: expected None or an iterable of identifiers, got {type(entry).__name__}"
                )
            else:
                result.append(self._rows_of(entry, query))
        return result

    @abstractmethod
    def _build(self, vectors: np.ndarray) -> None:
        """Build the backend's structure from validated float32 vectors (the previous one stays until it succeeds)."""

    @abstractmethod
    def _search(self, queries: np.ndarray, k: int, excluded: list[np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
        """Validated queries, 1 <= k <= size -> (rows, scores) of shape (n_queries, k), padded with -1 / -inf."""


def _pad(rows: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    missing = np.isneginf(scores)
    return np.where(missing, -1, rows).astype(np.int64), scores


class NumpyIndex(VectorIndex):
    """Exact top-K with one matrix product per chunk of queries; ties go to the earlier row. The default."""

    name = "numpy"

    def _build(self, vectors: np.ndarray) -> None:
        pass  # the index's own copy of the vectors (VectorIndex.index) is all it searches

    def _search(self, queries, k, excluded):
        n, size = queries.shape[0], self.size
        rows = np.empty((n, k), dtype=np.int64)
        scores = np.empty((n, k), dtype=np.float32)
        step = max(1, CHUNK_SCORES // size)
        for start in range(0, n, step):
            stop = min(n, start + step)
            chunk = queries[start:stop] @ self._vectors.T
            if excluded is not None:
                for i in range(start, stop):
                    chunk[i - start, excluded[i]] = -np.inf
            top = top_k_rows(chunk, k)
            rows[start:stop], scores[start:stop] = top, np.take_along_axis(chunk, top, axis=1)
        return _pad(rows, scores)


def _import_faiss():
    try:
        import faiss
    except ImportError:
        raise BackendUnavailableError(
            f"the FAISS top-K backend needs the faiss-cpu package, which is not installed: {FAISS_INSTALL_HINT} "
            "(or use the default NumPy backend)"
        ) from None
    return faiss


def _bounded_int(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not low <= value <= high:
        raise VectorIndexError(f"{name}: expected an integer from {low} to {high}, got {value!r}")
    return int(value)


class FaissIndex(VectorIndex):
    """FAISS top-K: `kind="flat"` is exact (IndexFlatIP); `kind="hnsw"` approximate (IndexHNSWFlat, inner product).

    Exclusions are handled by over-fetching k + (the batch's largest exclusion) results and filtering them;
    a batch that must fetch over EXACT_FETCH_SHARE of the catalogue, or a query the HNSW graph cannot fill, is
    answered exactly from the index's own stored vectors. `threads` is passed to faiss.omp_set_num_threads (1: the serving workers
    scale by processes, one math thread each).
    """

    def __init__(
        self,
        kind: Literal["flat", "hnsw"] = "flat",
        *,
        hnsw_m: int = 32,
        ef_construction: int = 40,
        ef_search: int = 128,
        threads: int = 1,
    ) -> None:
        super().__init__()
        if kind not in ("flat", "hnsw"):
            raise VectorIndexError(f"kind: expected 'flat' (exact) or 'hnsw' (approximate), got {kind!r}")
        self.kind = kind
        self.name = f"faiss-{kind}"
        self.hnsw_m = _bounded_int(hnsw_m, "hnsw_m", 2, 256)
        self.ef_construction = _bounded_int(ef_construction, "ef_construction", 1, 4096)
        self.ef_search = _bounded_int(ef_search, "ef_search", 1, 65536)
        self.threads = _bounded_int(threads, "threads", 1, 1024)
        self._faiss = _import_faiss()
        self._index = None
        self._exact = None

    def _build(self, vectors: np.ndarray) -> None:
        faiss = self._faiss
        faiss.omp_set_num_threads(self.threads)
        dimension = vectors.shape[1]
        if self.kind == "flat":
            index = faiss.IndexFlatIP(dimension)
        else:
            index = faiss.IndexHNSWFlat(dimension, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = self.ef_construction
            index.hnsw.efSearch = self.ef_search
        index.add(vectors)
        self._index = index
        self._exact = index if self.kind == "flat" else faiss.downcast_index(index.storage)

    def _search(self, queries, k, excluded):
        self._faiss.omp_set_num_threads(self.threads)
        n, size = queries.shape[0], self.size
        counts = np.zeros(n, dtype=np.int64) if excluded is None else np.array([len(r) for r in excluded], np.int64)
        rows = np.full((n, k), -1, dtype=np.int64)
        scores = np.full((n, k), -np.inf, dtype=np.float32)
        if n == 0:
            return rows, scores
        fetch = min(size, k + int(counts.max()))
        exact = self.kind == "flat" or fetch > EXACT_FETCH_SHARE * size
        if exact:
            found_scores, found_rows = self._exact.search(queries, fetch)
        else:
            params = self._faiss.SearchParametersHNSW()
            params.efSearch = max(self.ef_search, fetch)  # the graph search keeps at least `fetch` candidates
            found_scores, found_rows = self._index.search(queries, fetch, params=params)
        redo = []
        for i in range(n):
            keep = found_rows[i] >= 0
            if counts[i]:
                keep &= ~np.isin(found_rows[i], excluded[i], assume_unique=False)
            kept_rows, kept_scores = found_rows[i][keep][:k], found_scores[i][keep][:k]
            rows[i, : len(kept_rows)], scores[i, : len(kept_rows)] = kept_rows, kept_scores
            if not exact and len(kept_rows) < min(k, size - counts[i]):
                redo.append(i)
        for i in redo:  # the approximate graph returned too few: answer this query exactly
            fetch_i = min(size, k + int(counts[i]))
            found_scores, found_rows = self._exact.search(queries[i : i + 1], fetch_i)
            keep = (found_rows[0] >= 0) & ~np.isin(found_rows[0], excluded[i] if excluded is not None else [])
            kept_rows, kept_scores = found_rows[0][keep][:k], found_scores[0][keep][:k]
            rows[i], scores[i] = -1, -np.inf
            rows[i, : len(kept_rows)], scores[i, : len(kept_rows)] = kept_rows, kept_scores
        return rows, scores


def make_index(backend: Backend = "numpy", **params: Any) -> VectorIndex:
    """A fresh, empty index by backend name: "numpy" (exact, default), "faiss-flat" (exact) or "faiss-hnsw"."""
    if backend == "numpy":
        if params:
            raise VectorIndexError(f"the numpy backend takes no parameters, got {sorted(params)}")
        return NumpyIndex()
    if backend in ("faiss-flat", "faiss-hnsw"):
        return FaissIndex(backend.removeprefix("faiss-"), **params)
    raise VectorIndexError(f"backend: expected one of {', '.join(BACKENDS)}, got {backend!r}")


__all__ = [
    "BACKENDS",
    "MISSING_ID",
    "BackendUnavailableError",
    "FaissIndex",
    "NumpyIndex",
    "VectorIndex",
    "VectorIndexError",
    "make_index",
]
