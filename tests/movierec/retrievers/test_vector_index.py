"""The exact NumPy and the FAISS top-K backends answer the same `index` / `top_k` calls with the same results."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import faiss
import numpy as np
import pytest

from movierec.retrievers.vector_index import (
    MISSING_ID,
    BackendUnavailableError,
    FaissIndex,
    NumpyIndex,
    VectorIndexError,
    make_index,
)

ROOT = Path(__file__).resolve().parents[3]
N_MOVIES, DIMENSION = 100_000, 64
TOLERANCE = 1e-5
# HNSW on seeded random unit vectors (the hardest case for a graph index: no cluster structure) with M=32,
# efConstruction=40, efSearch=256 measured recall@10 0.945 against the exact top 10; the bound leaves a margin.
HNSW_RECALL_AT_10_BOUND = 0.90


def unit_vectors(rng: np.random.Generator, n: int, dimension: int = DIMENSION) -> np.ndarray:
    vectors = rng.standard_normal((n, dimension)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def catalogue() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """100,000 seeded unit vectors named by non-contiguous movie ids, and 100 unit queries."""
    rng = np.random.default_rng(14)
    identifiers = np.arange(N_MOVIES, dtype=np.int64) * 3 + 11
    return unit_vectors(rng, N_MOVIES), identifiers, unit_vectors(rng, 100)


@pytest.fixture(scope="module")
def numpy_index(catalogue) -> NumpyIndex:
    vectors, identifiers, _ = catalogue
    return NumpyIndex().index(vectors, identifiers)


@pytest.fixture(scope="module")
def flat_index(catalogue) -> FaissIndex:
    vectors, identifiers, _ = catalogue
    return FaissIndex("flat").index(vectors, identifiers)


def exact_scores(vectors: np.ndarray, queries: np.ndarray) -> np.ndarray:
    return queries.astype(np.float64) @ vectors.astype(np.float64).T


def assert_same_top_k(expected: tuple[np.ndarray, np.ndarray], actual: tuple[np.ndarray, np.ndarray]) -> None:
    """Same shape, scores to TOLERANCE, same identifiers at every position (two results whose scores are within
    TOLERANCE of each other may swap: float32 sums in another order can reorder a near-tie)."""
    (ids_e, scores_e), (ids_a, scores_a) = expected, actual
    assert ids_a.shape == ids_e.shape and scores_a.shape == scores_e.shape
    np.testing.assert_allclose(scores_a, scores_e, atol=TOLERANCE, rtol=0)
    for query in range(len(ids_e)):
        differ = np.flatnonzero(ids_a[query] != ids_e[query])
        for position in differ:
            near = np.abs(scores_e[query] - scores_e[query, position]) <= TOLERANCE
            assert ids_a[query, position] in set(ids_e[query, near]), (query, position)


def test_numpy_and_faiss_flat_return_the_same_top_k_on_100k_movies(catalogue, numpy_index, flat_index):
    vectors, identifiers, queries = catalogue
    for k in (1, 10, 200):
        result = numpy_index.top_k(queries, k)
        assert_same_top_k(result, flat_index.top_k(queries, k))
        ids, scores = result
        assert ids.shape == (len(queries), k) and ids.dtype == np.int64 and scores.dtype == np.float32
        assert (np.diff(scores, axis=1) <= 0).all()
    # and both agree with a float64 brute force over the whole catalogue
    truth = exact_scores(vectors, queries)
    order = np.argsort(-truth, axis=1, kind="stable")[:, :10]
    expected = (identifiers[order], np.take_along_axis(truth, order, axis=1))
    assert_same_top_k(expected, numpy_index.top_k(queries, 10))


def test_a_single_query_is_a_batch_of_one(catalogue, numpy_index, flat_index):
    _, _, queries = catalogue
    for backend in (numpy_index, flat_index):
        ids, scores = backend.top_k(queries[3], 5)
        batch_ids, batch_scores = backend.top_k(queries, 5)
        assert ids.shape == (1, 5)
        np.testing.assert_array_equal(ids[0], batch_ids[3])
        np.testing.assert_allclose(scores[0], batch_scores[3], atol=TOLERANCE)


def test_hnsw_recall_at_10_against_the_exact_index(catalogue, numpy_index):
    vectors, identifiers, queries = catalogue
    hnsw = FaissIndex("hnsw", hnsw_m=32, ef_construction=40, ef_search=256).index(vectors, identifiers)
    approx_ids, approx_scores = hnsw.top_k(queries, 10)
    exact_ids, _ = numpy_index.top_k(queries, 10)
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx_ids, exact_ids, strict=True)])
    assert recall >= HNSW_RECALL_AT_10_BOUND, recall
    assert (np.diff(approx_scores, axis=1) <= 0).all()
    # the scores it returns are the true inner products of the identifiers it returns
    rows = (approx_ids - 11) // 3
    true = np.einsum("qd,qkd->qk", queries, vectors[rows])
    np.testing.assert_allclose(approx_scores, true, atol=TOLERANCE)
    # exclusions still hold on the approximate path
    excluded = [set(exact_ids[q, :3].tolist()) for q in range(len(queries))]
    ids, _ = hnsw.top_k(queries, 10, exclude=excluded)
    assert all(not (set(row.tolist()) & gone) for row, gone in zip(ids, excluded, strict=True))
    assert (ids != MISSING_ID).all()


def test_exclusion_returns_the_exact_top_k_of_the_rest(catalogue, numpy_index, flat_index):
    vectors, identifiers, queries = catalogue
    queries = queries[:8]
    rng = np.random.default_rng(3)
    top_ids, _ = numpy_index.top_k(queries, 50)
    # each query excludes some of its own best movies, some random ones and an identifier not in the catalogue
    excluded = [
        set(top_ids[q, rng.choice(50, size=20, replace=False)].tolist())
        | set(rng.choice(identifiers, size=q * 30).tolist())
        | {2}
        for q in range(len(queries))
    ]
    truth = exact_scores(vectors, queries)
    for q, gone in enumerate(excluded):
        truth[q, np.isin(identifiers, list(gone))] = -np.inf
    order = np.argsort(-truth, axis=1, kind="stable")[:, :10]
    expected = (identifiers[order], np.take_along_axis(truth, order, axis=1).astype(np.float32))
    for backend in (numpy_index, flat_index):
        result = backend.top_k(queries, 10, exclude=excluded)
        assert_same_top_k(expected, result)
        assert all(not (set(row.tolist()) & gone) for row, gone in zip(result[0], excluded, strict=True))
    mask = np.stack([np.isin(identifiers, list(gone)) for gone in excluded])
    # a boolean mask over the rows says the same as the identifiers
    assert_same_top_k(expected, numpy_index.top_k(queries, 10, exclude=mask))
    assert_same_top_k(expected, flat_index.top_k(queries, 10, exclude=list(map(sorted, excluded))))


@pytest.mark.parametrize("backend", ["numpy", "faiss-flat", "faiss-hnsw"])
def test_k_larger_than_the_catalogue_returns_all_of_it_in_order(backend):
    rng = np.random.default_rng(5)
    vectors, queries = unit_vectors(rng, 40, 8), unit_vectors(rng, 3, 8)
    identifiers = rng.permutation(1000)[:40]
    index = make_index(backend).index(vectors, identifiers)
    ids, scores = index.top_k(queries, 1_000_000)
    assert ids.shape == scores.shape == (3, 40)
    order = np.argsort(-exact_scores(vectors, queries), axis=1, kind="stable")
    np.testing.assert_array_equal(ids, identifiers[order])
    np.testing.assert_allclose(scores, np.take_along_axis(exact_scores(vectors, queries), order, axis=1), atol=1e-6)


@pytest.mark.parametrize("backend", ["numpy", "faiss-flat", "faiss-hnsw"])
def test_a_query_that_excludes_nearly_everything_is_padded(backend):
    rng = np.random.default_rng(6)
    vectors, queries = unit_vectors(rng, 500, 16), unit_vectors(rng, 2, 16)
    index = make_index(backend).index(vectors)  # identifiers default to the row numbers
    keep = {7, 123, 499}
    excluded = [set(range(500)) - keep, None]
    ids, scores = index.top_k(queries, 5, exclude=excluded)
    assert ids.shape == (2, 5)
    scored = exact_scores(vectors, queries[:1])[0]
    expected = sorted(keep, key=lambda row: -scored[row])
    np.testing.assert_array_equal(ids[0], [*expected, MISSING_ID, MISSING_ID])
    assert np.isneginf(scores[0, 3:]).all() and np.isfinite(scores[0, :3]).all()
    np.testing.assert_array_equal(ids[1], np.argsort(-exact_scores(vectors, queries[1:]))[0, :5])


def test_the_approximate_index_falls_back_to_exact_when_too_many_are_excluded():
    rng = np.random.default_rng(7)
    vectors, queries = unit_vectors(rng, 4000, 32), unit_vectors(rng, 4, 32)
    exact = NumpyIndex().index(vectors)
    # 1,900 of 4,000 excluded: filtering an approximate over-fetch of 1,910 would lose true results
    hnsw = FaissIndex("hnsw", hnsw_m=4, ef_construction=8, ef_search=1).index(vectors)
    excluded = [set(rng.choice(4000, size=1900, replace=False).tolist()) for _ in range(len(queries))]
    assert_same_top_k(exact.top_k(queries, 10, exclude=excluded), hnsw.top_k(queries, 10, exclude=excluded))
    # a degenerate graph returns too few results for some queries: those queries are answered exactly
    sparse = FaissIndex("hnsw", hnsw_m=2, ef_construction=1, ef_search=1).index(vectors)
    queries = unit_vectors(rng, 32, 32)
    excluded = [set(rng.choice(4000, size=30, replace=False).tolist()) for _ in range(len(queries))]
    params = faiss.SearchParametersHNSW()
    params.efSearch = 40  # what top_k asks the graph for: k + 30 excluded
    _, raw = sparse._index.search(queries, 40, params=params)
    short = np.array([len(set(row[row >= 0].tolist()) - gone) < 10 for row, gone in zip(raw, excluded, strict=True)])
    assert short.any() and not short.all()
    ids, scores = sparse.top_k(queries, 10, exclude=excluded)
    expected_ids, expected_scores = exact.top_k(queries, 10, exclude=excluded)
    assert_same_top_k((expected_ids[short], expected_scores[short]), (ids[short], scores[short]))


def test_ties_go_to_the_earlier_row_in_numpy():
    vectors = np.array([[1, 0], [0, 1], [1, 0], [1, 0], [0.5, 0.5]], dtype=np.float32)
    index = NumpyIndex().index(vectors, [50, 40, 30, 20, 10])
    ids, scores = index.top_k([[1.0, 0.0]], 2)
    np.testing.assert_array_equal(ids, [[50, 30]])  # rows 0, 2, 3 tie at the cut: the first two rows win
    np.testing.assert_array_equal(scores, [[1.0, 1.0]])


def test_scores_are_every_exact_inner_product_in_row_order():
    vectors = np.random.default_rng(3).standard_normal((40, 8)).astype(np.float32)
    queries = np.random.default_rng(4).standard_normal((3, 8)).astype(np.float32)
    index = NumpyIndex().index(vectors, np.arange(100, 140))
    np.testing.assert_array_equal(index.scores(queries), queries @ vectors.T)
    with pytest.raises(VectorIndexError, match=r"shape \(3, 7\), expected \(n, 8\)"):
        index.scores(queries[:, :7])
    with pytest.raises(VectorIndexError, match="nothing is indexed yet"):
        NumpyIndex().scores(queries)


@pytest.mark.parametrize("backend", ["numpy", "faiss-flat", "faiss-hnsw"])
def test_bad_input_gets_a_clear_error(backend):
    index = make_index(backend)
    with pytest.raises(VectorIndexError, match="nothing is indexed yet"):
        index.top_k(np.ones((1, 4)), 3)
    with pytest.raises(VectorIndexError, match="the catalogue is empty"):
        index.index(np.empty((0, 4), dtype=np.float32), [])
    with pytest.raises(VectorIndexError, match="row 1 holds NaN"):
        index.index([[1.0, 0.0], [np.nan, 1.0]])
    with pytest.raises(VectorIndexError, match="must be unique, 7 appears more than once"):
        index.index(np.eye(3), [7, 8, 7])
    with pytest.raises(VectorIndexError, match="expected a 1-D array of 3"):
        index.index(np.eye(3), [1, 2])
    with pytest.raises(VectorIndexError, match="expected real numbers"):
        index.index([["a", "b"]])
    index.index(np.eye(4), [10, 11, 12, 13])
    with pytest.raises(VectorIndexError, match="queries: dimension 3 does not match the index's dimension 4"):
        index.top_k(np.ones((2, 3)), 2)
    for k in (0, -1, 2.5, True, "3"):
        with pytest.raises(VectorIndexError, match="k: expected an integer >= 1"):
            index.top_k(np.ones((1, 4)), k)
    with pytest.raises(VectorIndexError, match=r"one entry per query \(2\), got 1"):
        index.top_k(np.ones((2, 4)), 2, exclude=[{10}])
    with pytest.raises(VectorIndexError, match=r"mask must have shape \(4,\) or \(2, 4\)"):
        index.top_k(np.ones((2, 4)), 2, exclude=np.zeros((2, 3), dtype=bool))
    with pytest.raises(VectorIndexError, match=r"exclude\[0\]: expected an iterable of integer identifiers"):
        index.top_k(np.ones((1, 4)), 2, exclude=[["x"]])
    with pytest.raises(VectorIndexError, match="would overflow"):
        index.top_k(np.full((1, 4), 1e36), 2)
    # a rejected index() keeps the previous catalogue
    with pytest.raises(VectorIndexError):
        index.index(np.eye(5), [1, 1, 2, 3, 4])
    assert index.size == 4 and index.dimension == 4
    np.testing.assert_array_equal(index.top_k([[0, 0, 1, 0]], 1)[0], [[12]])


def test_bad_faiss_parameters_and_backend_names_are_rejected():
    with pytest.raises(VectorIndexError, match="kind: expected 'flat'"):
        FaissIndex("ivf")
    with pytest.raises(VectorIndexError, match="ef_search: expected an integer from 1 to 65536, got 0"):
        FaissIndex("hnsw", ef_search=0)
    with pytest.raises(VectorIndexError, match="backend: expected one of numpy, faiss-flat, faiss-hnsw"):
        make_index("annoy")


def test_without_faiss_the_numpy_backend_works_and_faiss_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)  # `import faiss` now raises ImportError
    with pytest.raises(BackendUnavailableError, match=r"needs the faiss-cpu package.*\.\[scale\]"):
        make_index("faiss-flat")
    ids, _ = make_index("numpy").index(np.eye(3)).top_k([[0, 1, 0]], 1)
    np.testing.assert_array_equal(ids, [[1]])


def test_importing_the_module_does_not_import_faiss():
    code = "import sys, movierec.retrievers.vector_index as v; v.NumpyIndex(); print('faiss' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "False"
