"""Small display helpers shared by the pages: readable titles, stars, genre chips, labels."""

from __future__ import annotations

import re

# MovieLens moves leading articles to the end: "Godfather, The (1972)", "Dîner de cons, Le (1998)"
TRAILING_ARTICLE = re.compile(
    r"^(?P<body>.+), (?P<article>The|A|An|Le|La|Les|L'|Il|El|Die|Der|Das|Lo|Los|Las)$", re.IGNORECASE
)
YEAR = re.compile(r"\s*\(\s*\d{4}\s*\)\s*$")
AKA = re.compile(r"^(?P<main>[^(]+?)\s*\((?P<aka>[^)]+)\)$")
GENRE_COLOURS = {
    "Action": "red",
    "Adventure": "orange",
    "Animation": "violet",
    "Children's": "violet",
    "Comedy": "orange",
    "Crime": "gray",
    "Documentary": "gray",
    "Drama": "blue",
    "Fantasy": "violet",
    "Film-Noir": "gray",
    "Horror": "red",
    "Musical": "green",
    "Mystery": "blue",
    "Romance": "red",
    "Sci-Fi": "green",
    "Thriller": "gray",
    "War": "gray",
    "Western": "orange",
}


def _front_article(title: str) -> str:
    match = TRAILING_ARTICLE.match(title.strip())
    if not match:
        return title.strip()
    article = match["article"]
    return f"{article}{match['body']}" if article.endswith("'") else f"{article} {match['body']}"


def display_title(title: str) -> str:
    """ "Godfather, The (1972)" -> "The Godfather"; an alternative title in brackets is kept, articles fixed too."""
    title = YEAR.sub("", title)
    aka = AKA.match(title)
    if aka:
        return f"{_front_article(aka['main'])} ({_front_article(aka['aka'])})"
    return _front_article(title)


def stars(rating: float) -> str:
    """Five stars, filled to the nearest whole star: 4.2 -> ★★★★☆."""
    full = max(0, min(5, int(round(rating))))
    return "★" * full + "☆" * (5 - full)


WHOLE_STARS = [1.0, 2.0, 3.0, 4.0, 5.0]  # the scale assumed when an API does not list its own


def rating_values(vocabulary: dict) -> list[float]:
    """The ratings a person may give, lowest first, from GET /vocabulary's rating scale."""
    scale = vocabulary.get("rating") or {}
    if scale.get("values"):
        return [float(v) for v in scale["values"]]
    if {"min", "max", "step"} <= set(scale):
        count = round((scale["max"] - scale["min"]) / scale["step"])
        return [scale["min"] + i * scale["step"] for i in range(count + 1)]
    return list(WHOLE_STARS)


def rating_text(rating: float) -> str:
    """4.0 -> "4", 4.5 -> "4.5" (as the rating goes to the API and back)."""
    return f"{float(rating):g}"


def genre_chips(genres: list[str]) -> str:
    """Markdown badges, one per genre."""
    return " ".join(f":{GENRE_COLOURS.get(g, 'gray')}-badge[{g}]" for g in genres)


def escape(text: str) -> str:
    """Text that Streamlit markdown shows literally (titles contain '*', '[', '$' at times)."""
    return re.sub(r"([\\`*_{}\[\]<>()#+\-.!|$~:])", r"\\\1", text)


def movie_heading(title: str, year: int | None) -> str:
    shown = escape(display_title(title))
    return f"**{shown}** · {year}" if year else f"**{shown}**"


def profile_line(user: dict, vocabulary: dict) -> str:
    """ "female · 25-34 · programmer · 53 ratings" from GET /user/{id} and GET /vocabulary."""
    parts = []
    if user.get("gender"):
        parts.append(vocabulary["genders"].get(user["gender"], user["gender"]))
    if user.get("age") is not None:
        parts.append(vocabulary["age_groups"].get(str(user["age"]), str(user["age"])))
    if user.get("occupation") is not None:
        parts.append(vocabulary["occupations"].get(str(user["occupation"]), str(user["occupation"])))
    count = user["rating_count"]
    parts.append(f"{count} rating{'s' if count != 1 else ''}" if count else "no ratings yet")
    return " · ".join(parts)


MODEL_LABELS = {  # short: the selector's choice is also its value in the URL (?model=EASE)
    "two_stage": "Our model",
    "ease": "EASE",
    "item_knn": "Item-KNN",
    "user_knn": "User-KNN",
    "mf": "Matrix factorisation",
    "popularity": "Most rated",
    "bias": "Best rated",
    "transitions": "What comes next",
}
MODEL_NOTES = {
    "ease": "a linear model of which movies go together",
    "item_knn": "movies rated by the same people as the ones you rated",
    "user_knn": "what people who rated like you went on to rate",
    "mf": "a low-rank factorisation of who rated what",
    "popularity": "the movies most rated in the training period, the same for everyone",
    "bias": "the best average ratings, corrected for how generous each rater is",
    "transitions": "what people rated right after the movies you rated last",
}


def model_label(name: str) -> str:
    """A model name of POST /recommend in words (an unknown one as it is)."""
    return MODEL_LABELS.get(name, name)
