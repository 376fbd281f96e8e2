"""Hostile input: non-finite numbers, lone surrogates, huge ints, oversized lists and bodies, duplicates; never a 500."""

import asyncio
import json

import pytest
from fastapi.testclient import TestClient

from movierec.datasets.ml1m import GENRES
from serving.config import Settings
from serving.limits import BodySizeLimit
from serving.main import create_app
from serving.schemas import MAX_GENRES

HUGE = 10**30
JSON = {"content-type": "application/json"}


def post_raw(client, path, raw):
    return client.post(path, content=raw.encode("utf-8", "surrogatepass"), headers=JSON)


@pytest.mark.parametrize(
    ("path", "raw", "loc"),
    [
        ("/recommend", '{"user_id": NaN}', ["body", "user_id"]),
        ("/recommend", '{"user_id": Infinity}', ["body", "user_id"]),
        ("/recommend", '{"user_id": -Infinity}', ["body", "user_id"]),
        ("/recommend", '{"user_id": 1e400}', ["body", "user_id"]),
        ("/recommend", '{"user_id": 1, "top_k_retrieve": NaN}', ["body", "top_k_retrieve"]),
        ("/recommend", '{"user_id": 1, "top_n_final": Infinity}', ["body", "top_n_final"]),
        ("/recommend", '{"profile": {"occupation": 1e400}}', ["body", "profile", "occupation"]),
        ("/recommend", '{"profile": {"age": NaN}}', ["body", "profile", "age"]),
        ("/recommend", '{"ratings": [{"movie_id": 1, "rating": NaN}]}', ["body", "ratings", 0, "rating"]),
        ("/recommend", '{"ratings": [{"movie_id": Infinity, "rating": 4}]}', ["body", "ratings", 0, "movie_id"]),
        ("/score", '{"user_id": 1, "movie_ids": [1, NaN]}', ["body", "movie_ids", 1]),
        ("/score", '{"user_id": 1e400, "movie_ids": [1]}', ["body", "user_id"]),
        ("/score", '{"ratings": [{"movie_id": 1, "rating": -Infinity}], "movie_ids": [1]}', ["body", "ratings", 0]),
        ("/recommend", '{"profile": {"gender": "\\ud800"}}', ["body", "profile", "gender"]),
        ("/recommend", '{"user_id": 1, "genres": ["\\udfff"]}', ["body", "genres", 0]),
        ("/recommend", '{"user_id": 1, "\\ud800": 1}', ["body"]),
        ("/score", '{"user_id": 1, "movie_ids": ["\\ud800"]}', ["body", "movie_ids", 0]),
    ],
)
def test_non_finite_numbers_and_lone_surrogates_are_422(client, path, raw, loc):
    response = post_raw(client, path, raw)
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert any(e["loc"][: len(loc)] == loc for e in errors), errors
    assert all(e["msg"] for e in errors)


def test_non_finite_echo_is_json_safe(client):
    errors = post_raw(client, "/recommend", '{"user_id": NaN}').json()["detail"]
    assert errors[0]["msg"] == "Input should be a finite number" and errors[0]["input"] == "NaN"
    errors = post_raw(client, "/recommend", '{"profile": {"gender": "\\ud800"}}').json()["detail"]
    assert errors[0]["input"] == "\\ud800"


def test_large_invalid_input_is_not_echoed(client):
    body = json.dumps({"user_id": 1, "genres": "x" * 900_000})
    response = client.post("/recommend", content=body, headers=JSON)
    assert response.status_code == 422
    assert len(response.content) < 2_000
    assert response.json()["detail"][0]["loc"] == ["body", "genres"]


def test_many_errors_are_capped(client):
    body = json.dumps({"user_id": 1, **{f"extra{i}": i for i in range(20_000)}})
    response = client.post("/recommend", content=body, headers=JSON)
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert len(errors) <= 21 and "20000 errors" in errors[-1]["msg"]
    assert len(response.content) < 5_000


@pytest.mark.parametrize(
    "payload",
    [
        {"user_id": 1, "genres": [f"g{i}" for i in range(MAX_GENRES + 1)]},
        {"user_id": 1, "genres": ["Horror"] * 1000},
        {"user_id": 1, "genres": [0] * 100_000},
    ],
)
def test_genres_longer_than_the_genre_list_are_422(client, payload):
    response = client.post("/recommend", json=payload)
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert len(errors) == 1 and errors[0]["type"] == "too_long" and f"at most {MAX_GENRES}" in errors[0]["msg"]


def test_every_genre_once_is_accepted(client):
    assert client.post("/recommend", json={"user_id": 1, "genres": list(GENRES)}).status_code == 200


@pytest.mark.parametrize(
    ("path", "payload", "fragment"),
    [
        ("/recommend", {"user_id": 1, "genres": ["Drama", "Horror", "Drama"]}, "'Drama'"),
        ("/score", {"user_id": 1, "movie_ids": [2, 1, 1, 2]}, "movie_id 1 "),
        ("/score", {"profile": {"age": 25}, "movie_ids": [5, 3, 5]}, "movie_id 5 "),
        ("/recommend", {"ratings": [{"movie_id": 7, "rating": 4}, {"movie_id": 7, "rating": 5}]}, "movie_id 7 "),
    ],
)
def test_duplicates_are_422_naming_the_first_duplicate(client, path, payload, fragment):
    response = client.post(path, json=payload)
    assert response.status_code == 422, response.text
    assert fragment in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("GET", f"/user/{HUGE}", None),
        ("GET", f"/user/1?top={HUGE}", None),
        ("GET", f"/movie/{HUGE}", None),
        ("GET", f"/movie/{HUGE}/similar", None),
        ("GET", f"/movie/1/similar?k={HUGE}", None),
        ("GET", f"/movies?q=a&limit={HUGE}", None),
        ("POST", "/recommend", {"user_id": HUGE}),
        ("POST", "/recommend", {"user_id": 1, "top_k_retrieve": HUGE}),
        ("POST", "/recommend", {"user_id": 1, "top_n_final": HUGE}),
        ("POST", "/recommend", {"ratings": [{"movie_id": HUGE, "rating": 4}]}),
        ("POST", "/recommend", {"profile": {"occupation": HUGE}}),
        ("POST", "/score", {"user_id": 1, "movie_ids": [HUGE]}),
        ("POST", "/score", {"user_id": 1, "movie_ids": [-HUGE]}),
    ],
)
def test_huge_integers_are_4xx(client, method, path, payload):
    response = client.request(method, path, json=payload)
    assert response.status_code in (404, 422), response.text
    assert response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"user_id": "\xff\xfe"}', "not UTF-8"),
        (b"\xff", "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"user_id": ' + b"7" * 5000 + b"}", "digits"),
    ],
)
def test_undecodable_json_is_422_not_400(client, body, fragment):
    response = client.post("/recommend", content=body, headers=JSON)
    assert response.status_code == 422, response.text
    error = response.json()["detail"][0]
    assert error["loc"] == ["body"] and fragment in error["msg"]


def test_other_http_errors_keep_their_status(client):
    response = client.get("/user/99999")
    assert response.status_code == 404 and "99999" in response.json()["detail"]


def test_surrogate_in_query_is_not_a_500(client):
    assert client.get("/movies?q=%ED%A0%80").status_code == 200


def test_body_over_the_limit_is_413_before_parsing(client):
    body = b'{"user_id": 1, "pad": "' + b"x" * (2 << 20) + b'"}'
    response = client.post("/recommend", content=body, headers=JSON)
    assert response.status_code == 413
    assert "1048576 bytes" in response.json()["detail"]


def test_body_without_content_length_over_the_limit_is_413(client):
    def chunks():
        yield b'{"user_id": 1, "pad": "'
        for _ in range(3):
            yield b"x" * (1 << 20)
        yield b'"}'

    response = client.post("/recommend", content=chunks(), headers=JSON)
    assert response.status_code == 413


def test_body_at_the_limit_is_served(client):
    head = b'{"user_id": 1, "top_n_final": 3}'
    body = head + b" " * ((1 << 20) - len(head))
    response = client.post("/recommend", content=body, headers=JSON)
    assert response.status_code == 200 and len(response.json()["recommendations"]) == 3


async def echo_app(scope, receive, send):
    """A minimal ASGI app that reads the whole body and answers with its length."""
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": str(size).encode()})


def call(app, chunks, headers=()):
    """Drive an ASGI app with a body in several http.request messages; returns (status, body, messages read)."""
    scope = {"type": "http", "method": "POST", "path": "/", "headers": list(headers)}
    pending = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1} for i, chunk in enumerate(chunks)
    ]
    read, sent = [], []

    async def receive():
        message = pending.pop(0) if pending else {"type": "http.disconnect"}
        read.append(message)
        return message

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:]), len(read)


def test_limit_counts_streamed_chunks():
    app = BodySizeLimit(echo_app, max_body_bytes=100)
    assert call(app, [b"x" * 40, b"x" * 60]) == (200, b"100", 2)
    status, body, read = call(app, [b"x" * 40, b"x" * 40, b"x" * 40, b"x" * 40])
    assert status == 413 and b"100 bytes" in body and read == 3  # stops reading at the first chunk over the limit


def test_limit_rejects_a_declared_length_before_reading():
    app = BodySizeLimit(echo_app, max_body_bytes=100)
    status, body, read = call(app, [b"x" * 101], headers=[(b"content-length", b"101")])
    assert status == 413 and read == 0 and b"101" in body


def test_limit_setting_is_used(synthetic_bundle):
    app = create_app(Settings(artifacts_dir=synthetic_bundle, max_body_bytes=64))
    with TestClient(app) as small:
        assert small.post("/recommend", json={"user_id": 1}).status_code == 200
        response = small.post("/recommend", json={"user_id": 1, "genres": list(GENRES)})
        assert response.status_code == 413 and "64 bytes" in response.json()["detail"]


def test_not_ready_is_a_documented_503(synthetic_bundle):
    app = create_app(Settings(artifacts_dir=synthetic_bundle))
    loading = TestClient(app)  # not entered: the lifespan (bundle load) does not run
    response = loading.get("/user/1")
    assert response.status_code == 503 and response.json()["detail"]
    schema = app.openapi()
    for path, method in [("/user/{user_id}", "get"), ("/recommend", "post"), ("/movies", "get")]:
        assert "503" in schema["paths"][path][method]["responses"]


def test_openapi_documents_every_status_and_the_user_rule(client):
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    for path in ("/user/{user_id}", "/movie/{movie_id}", "/movie/{movie_id}/similar"):
        responses = paths[path]["get"]["responses"]
        assert {"200", "404", "422", "503"} <= set(responses), (path, responses)
        assert responses["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    for path in ("/recommend", "/score"):
        assert {"200", "404", "413", "422", "503"} <= set(paths[path]["post"]["responses"])
    components = schema["components"]["schemas"]
    for name in ("RecommendRequest", "ScoreRequest"):
        known, new = components[name]["oneOf"]
        assert known["required"][0] == "user_id" and "profile" not in known["properties"]
        assert "user_id" not in new["properties"] and new["anyOf"] == [
            {"required": ["profile"]},
            {"required": ["ratings"]},
        ]
        assert known["additionalProperties"] is False and new["additionalProperties"] is False
        assert "duplicate" in components[name]["description"]
    recommend = components["RecommendRequest"]["oneOf"][0]["properties"]
    genres = recommend["genres"]["anyOf"][0]
    assert genres["maxItems"] == MAX_GENRES and genres["uniqueItems"] is True
    assert components["ScoreRequest"]["oneOf"][0]["properties"]["movie_ids"]["uniqueItems"] is True
