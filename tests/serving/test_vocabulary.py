"""The API's vocabulary comes from the served bundle's dataset description, and requests are checked against it."""

from __future__ import annotations

from movierec.datasets.csv_family import VARIANTS
from movierec.datasets.ml1m import GENRES
from serving.vocabulary import vocabulary_errors


def test_vocabulary_is_the_bundles_description(client):
    body = client.get("/vocabulary").json()
    assert body["dataset"] == "ml-1m" and body["genres"] == list(GENRES)
    assert body["genders"] == {"F": "female", "M": "male"} and body["age_groups"]["25"] == "25-34"
    assert body["occupations"]["12"] == "programmer"
    assert body["rating"] == {"min": 1.0, "max": 5.0, "step": 1.0, "values": [1.0, 2.0, 3.0, 4.0, 5.0]}


def test_unknown_genre_is_a_422_naming_the_allowed_ones(client):
    response = client.post("/recommend", json={"user_id": 1, "genres": ["Horror", "IMAX"]})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "genres", 1] and error["input"] == "IMAX"
    assert "one of this dataset's genres (ml-1m)" in error["msg"] and "'Western'" in error["msg"]


def test_profile_codes_of_the_dataset_are_accepted(client):
    response = client.post("/recommend", json={"profile": {"gender": "F", "occupation": 12}, "genres": ["Drama"]})
    assert response.status_code == 200
    response = client.post("/score", json={"profile": {"age": 25}, "movie_ids": [1]})
    assert response.status_code == 200


def test_a_dataset_without_demographics_refuses_every_profile_value():
    description = VARIANTS["ml-latest-small"].description
    errors = vocabulary_errors({"genres": ["IMAX", "Children's"], "profile": {"gender": "F", "age": None}}, description)
    assert [e["loc"] for e in errors] == [("body", "genres", 1), ("body", "profile", "gender")]
    assert "none (this dataset has no such feature)" in errors[1]["msg"]


def test_a_rating_off_the_whole_star_scale_is_a_422_naming_it(client):
    response = client.post(
        "/recommend", json={"ratings": [{"movie_id": 1, "rating": 5}, {"movie_id": 2, "rating": 4.5}]}
    )
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "ratings", 1, "rating"] and error["input"] == 4.5
    assert "scale (ml-1m): whole stars 1-5, one of 1, 2, 3, 4, 5" in error["msg"]
    assert (
        client.post("/score", json={"ratings": [{"movie_id": 1, "rating": 0.5}], "movie_ids": [2]}).status_code == 422
    )
    assert client.post("/recommend", json={"ratings": [{"movie_id": 1, "rating": 4.0}]}).status_code == 200


def test_half_star_datasets_take_half_stars_only():
    description = VARIANTS["ml-latest-small"].description
    assert vocabulary_errors({"ratings": [0.5, 4.5, 5.0, 3]}, description) == []
    errors = vocabulary_errors({"ratings": [4.5, 4.25, 0.0]}, description)
    assert [e["loc"] for e in errors] == [("body", "ratings", 1, "rating"), ("body", "ratings", 2, "rating")]
    assert "half stars 0.5-5, one of 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5" in errors[0]["msg"]
