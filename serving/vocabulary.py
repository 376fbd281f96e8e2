"""Request values checked against the served bundle's dataset description (genres, demographics, ratings), as 422s."""

from __future__ import annotations

from fastapi.exceptions import RequestValidationError

from movierec.datasets.description import DatasetDescription


def _allowed(values) -> str:
    shown = [repr(v) for v in values]
    return ", ".join(shown) if shown else "none (this dataset has no such feature)"


def rating_error(rating: float, description: DatasetDescription, loc: tuple) -> dict | None:
    """A pydantic-style error when rating is not on the bundle's scale (4.5 for whole stars, 4.25 for half stars)."""
    if description.is_valid_rating(rating):
        return None
    return {
        "type": "rating_scale",
        "loc": loc,
        "msg": f"Input should be a rating on this dataset's scale ({description.name}): {description.rating_rule()}, "
        f"one of {', '.join(f'{value:g}' for value in description.rating_values())}",
        "input": rating,
    }


def check_rating(rating: float, description: DatasetDescription, loc: tuple = ("body", "rating")) -> None:
    """Raise a RequestValidationError (a 422 like any other) when rating is not on the bundle's scale."""
    error = rating_error(rating, description, loc)
    if error:
        raise RequestValidationError([error])


def vocabulary_errors(body: dict, description: DatasetDescription) -> list[dict]:
    """Pydantic-style errors for genres, profile values and given ratings outside the bundle's vocabularies and rating
    scale (empty when valid)."""
    errors = []
    for i, genre in enumerate(body.get("genres") or []):
        if genre not in description.genres:
            errors.append(
                {
                    "type": "literal_error",
                    "loc": ("body", "genres", i),
                    "msg": f"Input should be one of this dataset's genres ({description.name}): "
                    f"{_allowed(description.genres)}",
                    "input": genre,
                }
            )
    profile = body.get("profile") or {}
    for field, vocabulary in (
        ("gender", description.genders),
        ("age", description.age_groups),
        ("occupation", description.occupations),
    ):
        value = profile.get(field)
        if value is not None and value not in vocabulary:
            errors.append(
                {
                    "type": "literal_error",
                    "loc": ("body", "profile", field),
                    "msg": f"Input should be one of this dataset's {field} codes ({description.name}): "
                    f"{_allowed(vocabulary)}",
                    "input": value,
                }
            )
    for i, rating in enumerate(body.get("ratings") or []):
        error = rating_error(rating, description, ("body", "ratings", i, "rating"))
        if error:
            errors.append(error)
    return errors


def check_vocabulary(request, description: DatasetDescription) -> None:
    """Raise a RequestValidationError (a 422 like any other) when the request uses values the bundle does not know."""
    body = {
        "genres": getattr(request, "genres", None),
        "profile": request.profile.model_dump() if getattr(request, "profile", None) is not None else None,
        "ratings": [given.rating for given in getattr(request, "ratings", None) or []],
    }
    errors = vocabulary_errors(body, description)
    if errors:
        raise RequestValidationError(errors)
