"""Forgiving title search: case, accents, punctuation, articles, word order and Roman numerals do not matter."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Articles that MovieLens moves to the end of a title ("Godfather, The", "Dîner de cons, Le"): dropped everywhere,
# so "the godfather", "godfather" and "Godfather, The" are the same words.
ARTICLES = frozenset({"the", "a", "an", "le", "la", "les", "l", "il", "el", "die", "der", "das", "lo", "los", "las"})
ROMAN = {
    numeral: str(value)
    for value, numeral in enumerate(
        ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii", "xiii", "xiv", "xv", "xvi"], 1
    )
}
YEAR = re.compile(r"\(\s*\d{4}\s*\)\s*$")
LETTER_DIGIT = re.compile(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])")
NOT_WORD = re.compile(r"[^a-z0-9]+")

# match levels, best first; 0 means no match
EXACT, PREFIX, ALL_WORDS, PARTIAL = 4, 3, 2, 1


def fold(text: str) -> str:
    """Lower case ASCII letters and digits separated by single spaces ("Alien³" -> "alien 3", "Être" -> "etre")."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    ascii_only = ascii_only.replace("&", " and ").replace("'", " ")
    spaced = LETTER_DIGIT.sub(" ", NOT_WORD.sub(" ", ascii_only))
    return " ".join(spaced.split())


def words(text: str) -> list[str]:
    """The words that count for matching: folded, Roman numerals as digits, articles dropped (kept if all articles)."""
    tokens = [ROMAN.get(t, t) for t in fold(text).split()]
    kept = [t for t in tokens if t not in ARTICLES]
    return kept or tokens


def main_title(title: str) -> str:
    """The title without its trailing "(year)"."""
    return YEAR.sub("", title).strip()


def starts_with(title: list[str], query: list[str]) -> bool:
    """Title words begin with the query words, the last one possibly typed in part ("godf" -> "godfather")."""
    n = len(query)
    return len(title) >= n and title[: n - 1] == query[:-1] and title[n - 1].startswith(query[-1])


@dataclass(frozen=True)
class SearchResult:
    rows: list[int]  # best first, at most limit
    total: int  # every matching title, before the limit


class TitleIndex:
    """Folded words of every title, built once per catalogue; search ranks by match quality, then popularity."""

    def __init__(self, titles: Sequence[str], popularity: Sequence[float]):
        self.popularity = np.asarray(popularity, dtype=np.float64)
        if len(self.popularity) != len(titles):
            raise ValueError(f"{len(titles)} titles but {len(self.popularity)} popularity values")
        self._sequences = [words(main_title(t)) for t in titles]
        self._sets = [frozenset(s) for s in self._sequences]

    def _level(self, query: list[str], query_set: frozenset[str], row: int) -> tuple[int, float]:
        """(match level, share of query words found) of one title."""
        title, title_set = self._sequences[row], self._sets[row]
        if query == title or query_set == title_set:
            return EXACT, 1.0
        if starts_with(title, query):
            return PREFIX, 1.0
        found = sum(1 for q in query if q in title_set or (len(q) >= 2 and any(t.startswith(q) for t in title_set)))
        if found == len(query):
            return ALL_WORDS, 1.0
        share = found / len(query)
        # a partial match needs a real word in common, not only a short one ("1", "of")
        if found and any(q in title_set and (len(q) >= 3 or q.isdigit() and len(q) >= 2) for q in query):
            return PARTIAL, share
        return 0, 0.0

    def search(self, query: str, limit: int) -> SearchResult:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        query_words = words(query)
        if not query_words:
            return SearchResult(rows=[], total=0)
        query_set = frozenset(query_words)
        scored = []
        for row in range(len(self._sequences)):
            level, share = self._level(query_words, query_set, row)
            if level:
                scored.append((-level, -share, -self.popularity[row], row))
        scored.sort()
        return SearchResult(rows=[row for *_, row in scored[:limit]], total=len(scored))


__all__ = ["TitleIndex", "SearchResult", "fold", "words", "main_title"]
