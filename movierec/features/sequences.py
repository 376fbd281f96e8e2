"""Causal training windows: each training rating a target whose inputs are only the ratings its user gave before it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from movierec.features.space import FeatureSpace

IGNORED = -1  # target of a position that predicts nothing (padding, a window's user token after a cut)


@dataclass(frozen=True)
class Windows:
    """Sequence-to-sequence training examples in the user tower's input layout.

    Window w holds up to L consecutive ratings of one user (slot 0 = latest, as FeatureSpace histories); its
    outputs, in chronological order (position L = after the latest rating), predict `targets[w]`: the catalogue row
    of the rating that followed each position, IGNORED where nothing is predicted. A user's first window starts at
    their first rating, so its user-token position predicts that first rating from demographics alone (the cold
    path). Every training rating is the target of exactly one position: `rating_window` / `rating_position` say
    which, in the order of the ratings frame given.
    """

    inputs: dict[str, np.ndarray]  # user-tower inputs, one row per window
    targets: np.ndarray  # (windows, L + 1) catalogue rows or IGNORED
    target_time: np.ndarray  # (windows, L + 1) timestamp of each target (0 where IGNORED)
    future: np.ndarray  # (windows, L + 1) catalogue row of a random later rating of the user (from the target on)
    rated: np.ndarray  # (windows, L + 1) catalogue row of the rating each position is the state after, else IGNORED
    rating_window: np.ndarray  # per training rating
    rating_position: np.ndarray  # per training rating

    def __len__(self) -> int:
        return len(self.targets)


def training_windows(space: FeatureSpace, ratings: pd.DataFrame, length: int | None = None, seed: int = 0) -> Windows:
    """Cut each user's ratings (time order, ties in frame order) into windows of `length` (the history length).

    Windows are aligned on the user's latest rating: the latest window is full, the oldest may be shorter.
    """
    length = int(length or space.history_length)
    order = np.lexsort((np.arange(len(ratings)), ratings["timestamp"].to_numpy(), ratings["user_id"].to_numpy()))
    users = ratings["user_id"].to_numpy()[order]
    movie_index = space.movie_ids.transform(ratings["movie_id"].to_numpy()[order])
    centred = space.centre_ratings(ratings["rating"].to_numpy()[order])
    centred = np.where(movie_index != 0, centred, 0.0).astype(np.float32)
    rows = space.catalog_rows(ratings["movie_id"].to_numpy()[order])
    if np.any(rows < 0):
        raise KeyError(f"movie_id {ratings['movie_id'].to_numpy()[order][rows < 0][0]} is not in the catalogue")
    times = ratings["timestamp"].to_numpy()[order].astype(np.int64)
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    counts = np.diff(np.r_[starts, len(users)])

    # window ends e (exclusive, offsets in the user's block): m-1, m-1-L, ... while > 0; or 0 when m == 1
    n_windows = np.maximum(1, -(-(counts - 1) // length))
    user_of_window = np.repeat(np.arange(len(starts)), n_windows)
    k = np.arange(len(user_of_window)) - np.repeat(np.cumsum(n_windows) - n_windows, n_windows)
    end = np.maximum(counts[user_of_window] - 1 - k * length, 0)
    begin = np.maximum(end - length, 0)
    base = starts[user_of_window]

    slot = np.arange(length)[None, :]
    held = slot < (end - begin)[:, None]  # slot j holds the rating at offset end - 1 - j
    at = np.where(held, base[:, None] + end[:, None] - 1 - slot, 0)
    hist_m = np.where(held, movie_index[at], 0).astype(np.int32)
    hist_r = np.where(held, centred[at], 0.0).astype(np.float32)

    # chronological position L - j (the state after slot j's rating) predicts the rating at offset end - j
    targets = np.full((len(end), length + 1), IGNORED, np.int64)
    target_time = np.zeros((len(end), length + 1), np.int64)
    next_at = np.where(held, base[:, None] + end[:, None] - slot, 0)
    targets[:, length - np.arange(length)] = np.where(held, rows[next_at], IGNORED)
    target_time[:, length - np.arange(length)] = np.where(held, times[next_at], 0)
    first = begin == 0  # the user-token position, just before the oldest slot, predicts the user's first rating
    user_pos = length - (end - begin)
    targets[first, user_pos[first]] = rows[base[first]]
    target_time[first, user_pos[first]] = times[base[first]]

    rated = np.full((len(end), length + 1), IGNORED, np.int64)  # position L - j is the state after slot j's rating
    rated[:, length - np.arange(length)] = np.where(held, rows[at], IGNORED)

    # a random rating of the user's from the target on (the target itself included): the longer-term taste
    rng = np.random.default_rng(seed)
    target_offset = np.full(targets.shape, -1, np.int64)
    target_offset[:, length - np.arange(length)] = np.where(held, end[:, None] - slot, -1)
    target_offset[first, user_pos[first]] = 0
    m_w = counts[user_of_window][:, None]
    later = target_offset + np.floor(rng.random(targets.shape) * (m_w - target_offset)).astype(np.int64)
    future = np.where(target_offset >= 0, rows[np.where(target_offset >= 0, base[:, None] + later, 0)], IGNORED)

    # every rating: the window and position that predict it
    offset = np.arange(len(users)) - np.repeat(starts, counts)
    m = counts[np.repeat(np.arange(len(starts)), counts)]
    w_first = np.repeat(np.cumsum(n_windows) - n_windows, counts)
    k_of = np.where(offset == 0, n_windows[np.repeat(np.arange(len(starts)), counts)] - 1, (m - 1 - offset) // length)
    window = w_first + k_of
    position = np.where(offset == 0, user_pos[window], length - (end[window] - offset))
    rating_window = np.empty(len(order), np.int64)
    rating_position = np.empty(len(order), np.int64)
    rating_window[order], rating_position[order] = window, position

    user_ids = users[base]
    urows = space.user_rows(user_ids)
    inputs = FeatureSpace.assemble_user(
        space.user_ids.transform(user_ids),
        space.user_gender[urows],
        space.user_age[urows],
        space.user_occupation[urows],
        hist_m,
        hist_r,
        np.zeros(len(end), np.float32),
    )
    return Windows(inputs, targets, target_time, future, rated, rating_window, rating_position)
