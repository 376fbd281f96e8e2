"""Forgiving title search on MovieLens-style titles: what a person types finds what they mean."""

from __future__ import annotations

import pytest

from movierec.search import TitleIndex, fold, words

TITLES = [
    "Godfather, The (1972)",
    "Godfather: Part II, The (1974)",
    "Godfather: Part III, The (1990)",
    "Star Wars: Episode IV - A New Hope (1977)",
    "Star Wars: Episode I - The Phantom Menace (1999)",
    "Alien³ (1992)",
    "Alien (1979)",
    "Aliens (1986)",
    "Dîner de cons, Le (1998)",
    "Cité des enfants perdus, La (City of Lost Children, The) (1995)",
    "Amélie (2001)",
    "Toy Story (1995)",
    "Toy Story 2 (1999)",
    "Story of Us, The (1999)",
    "Tess of the Storm Country (1922)",
]
# training ratings per title: a popular film and an obscure one
POPULARITY = [2000, 1500, 800, 2900, 1800, 800, 2000, 1800, 50, 300, 900, 2000, 1600, 100, 1]


@pytest.fixture(scope="module")
def index() -> TitleIndex:
    return TitleIndex(TITLES, POPULARITY)


def titles(index: TitleIndex, query: str, limit: int = 10) -> list[str]:
    return [TITLES[r] for r in index.search(query, limit).rows]


def test_fold_drops_case_accents_punctuation_and_splits_digits():
    assert fold("Dîner de cons, Le") == "diner de cons le"
    assert fold("Alien³") == "alien 3"
    assert fold("AMÉLIE!!") == "amelie"
    assert words("Star Wars: Episode IV - A New Hope") == ["star", "wars", "episode", "4", "new", "hope"]
    assert words("The") == ["the"]  # a query of articles alone still searches for them


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("the godfather", "Godfather, The (1972)"),
        ("Godfather, The", "Godfather, The (1972)"),
        ("GODFATHER", "Godfather, The (1972)"),
        ("godfather the", "Godfather, The (1972)"),
        ("godfather part 2", "Godfather: Part II, The (1974)"),
        ("Star Wars IV", "Star Wars: Episode IV - A New Hope (1977)"),
        ("new hope star wars", "Star Wars: Episode IV - A New Hope (1977)"),
        ("alien 3", "Alien³ (1992)"),
        ("le diner de cons", "Dîner de cons, Le (1998)"),
        ("amelie", "Amélie (2001)"),
        ("cite des enfants", "Cité des enfants perdus, La (City of Lost Children, The) (1995)"),
        ("toy st", "Toy Story (1995)"),
    ],
)
def test_what_people_type_finds_the_film_first(index, query, first):
    assert titles(index, query)[0] == first


def test_exact_match_beats_a_more_popular_prefix_match(index):
    # "Alien (1979)" is exact; "Aliens" and "Alien³" only start with the word
    assert titles(index, "alien")[0] == "Alien (1979)"


def test_same_quality_is_ordered_by_popularity(index):
    assert titles(index, "godfather") == [
        "Godfather, The (1972)",  # exact
        "Godfather: Part II, The (1974)",  # prefix, more popular
        "Godfather: Part III, The (1990)",
    ]


def test_partial_matches_are_ordered_by_the_share_of_words_found(index):
    # no title has all four words: 3 of 4 found beats 2 of 4, then popularity
    found = titles(index, "toy story of us")
    assert found[:3] == ["Story of Us, The (1999)", "Toy Story (1995)", "Toy Story 2 (1999)"]


def test_total_counts_every_match_and_limit_cuts(index):
    everything = index.search("godfather", 10)
    assert everything.total == 3 and len(everything.rows) == 3
    cut = index.search("godfather", 2)
    assert cut.total == 3 and len(cut.rows) == 2
    assert cut.rows == everything.rows[:2]


def test_nothing_found_and_bad_limit(index):
    assert index.search("zzzz qqqq", 5).total == 0
    assert index.search("!!!", 5).rows == []
    with pytest.raises(ValueError, match="limit must be at least 1"):
        index.search("godfather", 0)
    with pytest.raises(ValueError, match="15 titles but 2 popularity values"):
        TitleIndex(TITLES, [1, 2])


def test_short_common_words_alone_do_not_match_everything(index):
    # "of" is in two titles but is no evidence of what the person means
    assert index.search("of zzzz", 10).total == 0
