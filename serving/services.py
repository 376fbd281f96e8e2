"""What the routes share: who a user is and their context, catalogue rows and look-ups, checked requests.

Routes parse, call these and build their response models; they never import each other. Store calls made here run
where the route puts them (serving.deps.store_call: inline on a local SQLite file, in the thread pool for a networked
database). Errors a client caused are raised as the HTTPException (or 422) the API answers.
"""

from __future__ import annotations

import datetime as dt
import logging
from types import SimpleNamespace

import numpy as np
from fastapi import HTTPException, status

from movierec.recommender import UserContext
from movierec.store import RatingStore, StoreUnavailable
from movierec.store.store import LiveRating
from serving.deps import store_call
from serving.schemas import DEFAULT_RETRIEVE, Profile, RatingItem, RecommendRequest, UserChoice
from serving.state import Loaded
from serving.vocabulary import check_rating, check_vocabulary

log = logging.getLogger("serving")


# ---- the catalogue -------------------------------------------------------------------------------------
def movie_not_found(loaded: Loaded, movie_id: int) -> HTTPException:
    ids = loaded.bundle.movies["movie_id"]
    return HTTPException(
        status.HTTP_404_NOT_FOUND,
        f"movie_id {movie_id} not found: movie ids range {ids.min()}-{ids.max()} ({len(ids)} movies; "
        "not every id in that range exists — search with GET /movies?q=title)",
    )


def catalogue_rows(loaded: Loaded, movie_ids) -> np.ndarray:
    """Catalogue rows of movie_ids; a 404 naming the first id that is not in the catalogue."""
    rows = loaded.recommender.catalogue.rows(movie_ids)
    if np.any(rows < 0):
        raise movie_not_found(loaded, int(np.asarray(movie_ids)[rows < 0][0]))
    return rows


def movie_row(loaded: Loaded, movie_id: int) -> int:
    return int(catalogue_rows(loaded, [movie_id])[0])


def movie(loaded: Loaded, movie_id: int) -> dict:
    """A catalogue movie's title, genres, year and training-period ratings (404 when not in the catalogue)."""
    return loaded.recommender.catalogue.movie(movie_row(loaded, movie_id))


def similar_movies(loaded: Loaded, movie_id: int, k: int) -> tuple[dict, list[dict]]:
    """The movie (404 when not in the catalogue) and its k nearest movies, each with its similarity, nearest first."""
    row = movie_row(loaded, movie_id)
    rec = loaded.recommender
    neighbours = []
    for other, similarity in rec.similar(movie_id, k):
        info = rec.catalogue.movie(other)
        neighbours.append(
            {
                "movie_id": info["movie_id"],
                "title": info["title"],
                "genres": info["genres"],
                "year": info["year"],
                "similarity": similarity,
            }
        )
    return rec.catalogue.movie(row), neighbours


def search_movies(loaded: Loaded, query: str, limit: int) -> tuple[int, list[dict]]:
    """(every match, at most `limit` of them as catalogue movies, best first)."""
    catalogue = loaded.recommender.catalogue
    found = catalogue.search(query, limit)
    return found.total, [catalogue.movie(r) for r in found.rows]


def example_users(loaded: Loaded) -> dict:
    """The lowest user id at or above the 90th percentile of training ratings (and its count), the lowest with none."""
    user_ids = loaded.bundle.users["user_id"].to_numpy()
    counts = (
        loaded.bundle.train_ratings["user_id"].value_counts().reindex(user_ids, fill_value=0).to_numpy().astype(int)
    )
    threshold = np.quantile(counts, 0.9)
    rich = int(user_ids[counts >= threshold].min())
    none = user_ids[counts == 0]
    return {
        "rich_history": rich,
        "rich_history_ratings": int(counts[user_ids == rich][0]),
        "no_history": int(none.min()) if len(none) else None,
    }


def served_vocabulary(loaded: Loaded) -> dict:
    """The served dataset's genres, demographic codes with labels, rating scale, and the models /recommend runs."""
    description = loaded.bundle.description
    return {
        "dataset": description.name,
        "genres": list(description.genres),
        "genders": dict(description.genders),
        "age_groups": {str(code): label for code, label in description.age_groups.items()},
        "occupations": {str(code): label for code, label in description.occupations.items()},
        "rating": {
            "min": description.rating_min,
            "max": description.rating_max,
            "step": description.rating_step,
            "values": list(description.rating_values()),  # every allowed rating, lowest first
        },
        "models": list(loaded.recommender.models),  # what POST /recommend's "model" may name
    }


# ---- who is a user -------------------------------------------------------------------------------------
def dataset_user_ids(loaded: Loaded) -> np.ndarray:
    return loaded.bundle.users["user_id"].to_numpy()


def is_dataset_user(loaded: Loaded, user_id: int) -> bool:
    return loaded.recommender.contexts.is_dataset_user(user_id)


def unknown_user(loaded: Loaded, user_id: int) -> HTTPException:
    ids = dataset_user_ids(loaded)
    return HTTPException(
        status.HTTP_404_NOT_FOUND,
        f"user_id {user_id} not found: dataset users are {ids.min()}-{ids.max()}, users created with POST /users "
        f"have ids above {ids.max()}",
    )


def require_user(loaded: Loaded, store: RatingStore, user_id: int) -> None:
    """404 unless user_id is a dataset user or one created through the API."""
    if not is_dataset_user(loaded, user_id) and store.user(user_id) is None:
        raise unknown_user(loaded, user_id)


def in_catalogue(loaded: Loaded, pairs: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Live ratings of movies the served catalogue has (a later bundle may have dropped some)."""
    if not pairs:
        return pairs
    rows = loaded.recommender.catalogue.rows([m for m, _ in pairs])
    return [pair for pair, row in zip(pairs, rows, strict=True) if row >= 0]


def user_context(loaded: Loaded, store: RatingStore, user_id: int) -> UserContext:
    """The user's context: training-period ratings plus live ratings, oldest first (404 for an unknown user).

    When the database is down a dataset user is served from the bundle alone; a created user needs the store.
    """
    rec = loaded.recommender
    dataset_user = is_dataset_user(loaded, user_id)
    try:
        live = store.history(user_id)
        stored = None if dataset_user else store.user(user_id)
    except StoreUnavailable as exc:
        if not dataset_user:
            raise
        log.warning("user %s served without live ratings: %s", user_id, exc)
        live, stored = [], None
    live = in_catalogue(loaded, live)
    if dataset_user:
        return rec.contexts.known(user_id, live)
    if stored is None:
        raise unknown_user(loaded, user_id)
    return rec.contexts.new(stored.gender, stored.age, stored.occupation, live, user_id=user_id)


async def resolve_user(loaded: Loaded, choice: UserChoice, store: RatingStore) -> UserContext:
    """The context of a request's user: a known user_id (with their live ratings), or a new user's profile and
    ratings; 422 for values the served dataset does not know, 404 for an unknown user or movie."""
    rec = loaded.recommender
    check_vocabulary(choice, loaded.bundle.description)  # genres and profile codes of the served dataset
    if choice.user_id is not None:
        # training-period plus live ratings (dataset or created user)
        return await store_call(store, user_context, loaded, store, choice.user_id)
    profile = choice.profile
    ratings = [(r.movie_id, r.rating) for r in choice.ratings or []]
    catalogue_rows(loaded, [m for m, _ in ratings])
    return rec.contexts.new(
        profile.gender if profile else None,
        profile.age if profile else None,
        profile.occupation if profile else None,
        ratings,
    )


def retrieval_depth(loaded: Loaded, request: RecommendRequest) -> int:
    """The candidates a /recommend request retrieves; 422 when its sizes or model do not fit the served bundle."""
    n_catalog = loaded.recommender.catalogue.size
    top_k = request.top_k_retrieve or min(DEFAULT_RETRIEVE, n_catalog)
    if top_k > n_catalog:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"top_k_retrieve must be between 1 and the catalogue size {n_catalog}, got {top_k}",
        )
    if request.top_n_final > top_k:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"top_n_final ({request.top_n_final}) must be <= top_k_retrieve ({top_k})",
        )
    if request.model not in loaded.recommender.models:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"model {request.model!r} is not in the served bundle; it holds: {', '.join(loaded.recommender.models)}",
        )
    return top_k


# ---- live users and ratings ------------------------------------------------------------------------------
def check_profile(loaded: Loaded, profile: Profile) -> None:
    """422 unless the profile's codes are the served dataset's."""
    check_vocabulary(SimpleNamespace(profile=profile), loaded.bundle.description)


def check_given_rating(loaded: Loaded, rating: float) -> None:
    """422 unless the rating is on the served dataset's scale (4.5 is one for a whole-star dataset)."""
    check_rating(rating, loaded.bundle.description)


def save_rating(loaded: Loaded, store: RatingStore, user_id: int, movie_id: int, rating: float) -> LiveRating:
    """Store a live rating (replacing the user's previous one of the movie); 404 for an unknown user or movie."""
    require_user(loaded, store, user_id)
    catalogue_rows(loaded, [movie_id])
    return store.put_rating(user_id, movie_id, rating)


def delete_rating(store: RatingStore, user_id: int, movie_id: int) -> None:
    """Remove a live rating; 404 when there is none (dataset ratings cannot be removed)."""
    if not store.delete_rating(user_id, movie_id):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"user_id {user_id} has no live rating of movie_id {movie_id} (dataset ratings cannot be deleted)",
        )


def user_ratings(loaded: Loaded, store: RatingStore, user_id: int, source: str) -> list[RatingItem]:
    """A user's ratings of `source` (all, dataset or live), newest first; 404 for an unknown user."""
    dataset_user = is_dataset_user(loaded, user_id)
    if not dataset_user and store.user(user_id) is None:
        raise unknown_user(loaded, user_id)
    items: list[RatingItem] = []
    if source in ("all", "live"):
        items += [_item(loaded, r.movie_id, r.rating, r.rated_at, "live") for r in store.ratings_of(user_id)]
    if source in ("all", "dataset") and dataset_user:
        # with source=all a live rating of a movie is the user's current rating of it: the dataset one (or its
        # copy folded into a retrained bundle) is not listed again
        rerated = {item.movie_id for item in items} if source == "all" else set()
        items += [item for item in _dataset_items(loaded, user_id) if item.movie_id not in rerated]
    items.sort(key=lambda item: (item.rated_at, item.source == "live", item.movie_id), reverse=True)
    return items


def _item(loaded: Loaded, movie_id: int, rating: float, rated_at: dt.datetime, source: str) -> RatingItem:
    catalogue = loaded.recommender.catalogue
    row = int(catalogue.rows([movie_id])[0])
    title = catalogue.titles[row] if row >= 0 else None
    return RatingItem(movie_id=movie_id, title=title, rating=rating, rated_at=rated_at, source=source)


def _dataset_items(loaded: Loaded, user_id: int) -> list[RatingItem]:
    train = loaded.bundle.train_ratings
    mine = train[train["user_id"].to_numpy() == user_id]
    return [
        _item(loaded, int(m), float(r), dt.datetime.fromtimestamp(int(t), dt.UTC), "dataset")
        for m, r, t in zip(mine["movie_id"], mine["rating"], mine["timestamp"], strict=True)
    ]
