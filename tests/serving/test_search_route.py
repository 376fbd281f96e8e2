"""GET /movies (forgiving title search with a total) and GET /users/examples over the synthetic bundle."""

from __future__ import annotations


def test_search_forgives_articles_case_and_numerals(client):
    for query, title in [
        ("the godfather", "Godfather, The (1972)"),
        ("GODFATHER", "Godfather, The (1972)"),
        ("Star Wars IV", "Star Wars: Episode IV - A New Hope (1977)"),
        ("alien 3", "Alien³ (1992)"),
        ("le diner de cons", "Dîner de cons, Le (1998)"),
    ]:
        body = client.get("/movies", params={"q": query}).json()
        assert body["movies"][0]["title"] == title, query
        assert body["total"] >= 1


def test_search_total_counts_beyond_the_limit(client):
    body = client.get("/movies", params={"q": "movie", "limit": 5}).json()
    assert len(body["movies"]) == 5
    assert body["total"] > 5
    counts = [m["rating_count"] for m in body["movies"]]
    assert counts == sorted(counts, reverse=True)  # same match quality: most rated first
    nothing = client.get("/movies", params={"q": "zzzz qqqq"}).json()
    assert nothing == {"total": 0, "movies": []}


def test_example_users_have_rich_and_no_history(client):
    body = client.get("/users/examples").json()
    rich = client.get(f"/users/{body['rich_history']}/ratings", params={"source": "dataset"}).json()
    assert rich["total"] == body["rich_history_ratings"] > 0
    totals = [
        client.get(f"/users/{u}/ratings", params={"source": "dataset", "limit": 1}).json()["total"]
        for u in range(1, 241)
    ]
    assert body["rich_history_ratings"] >= sorted(totals)[int(0.9 * len(totals)) - 1]
    assert body["no_history"] is not None
    assert client.get(f"/user/{body['no_history']}").json()["rating_count"] == 0
    assert body["no_history"] == 1 + next(i for i, t in enumerate(totals) if t == 0)
