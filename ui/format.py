"""Small display helpers shared by the pages (labels, stars, result tables)."""

from __future__ import annotations

import pandas as pd


def stars(rating: float) -> str:
    full = int(round(rating))
    return "★" * full + "☆" * (5 - full) + f" {rating:.2f}"


def recommendations_table(recommendations: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "rank": r["rank"],
                "title": r["title"],
                "year": r["year"],
                "genres": ", ".join(r["genres"]),
                "predicted rating": stars(r["predicted_rating"]),
                "relevance": f"{r['ranking_score']:.2e}",
                "retrieval score": round(r["retrieval_score"], 3),
                "because you rated": (
                    f"{r['because']['title']} ({r['because']['rating']:.0f}★)" if r["because"] else "—"
                ),
            }
            for r in recommendations
        ]
    )


def movies_table(movies: list[dict], score_key: str | None = None) -> pd.DataFrame:
    rows = []
    for m in movies:
        row = {"title": m["title"], "year": m["year"], "genres": ", ".join(m["genres"])}
        if score_key:
            row[score_key] = round(m[score_key], 3)
        rows.append(row)
    return pd.DataFrame(rows)
