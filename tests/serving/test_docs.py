"""/docs and /redoc load every script, stylesheet and icon from the API itself, so they render without internet."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

PAGES = ("/docs", "/redoc")
ASSET_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


def referenced_urls(html: str) -> list[str]:
    """Every src/href attribute of the page."""
    return re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)["\']', html)


@pytest.mark.parametrize("page", PAGES)
def test_page_is_html_with_local_assets_only(client, page):
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    urls = referenced_urls(response.text)
    assert any(url.endswith(".js") for url in urls), urls
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), f"{page} references a non-local URL: {url}"
    host = urlsplit(str(response.url)).netloc
    foreign = [u for u in re.findall(r"https?://[^\s\"'<>)]+", response.text) if urlsplit(u).netloc != host]
    assert not foreign, f"{page} references other hosts: {foreign}"


@pytest.mark.parametrize("page", PAGES)
def test_every_referenced_asset_is_served(client, page):
    for url in referenced_urls(client.get(page).text):
        response = client.get(url)
        assert response.status_code == 200, url
        suffix = url[url.rfind(".") :]
        assert suffix in ASSET_TYPES, f"unexpected asset {url}"
        assert ASSET_TYPES[suffix] in response.headers["content-type"], (url, response.headers["content-type"])
        assert len(response.content) > 1000, url


def test_assets_are_the_real_bundles(client):
    swagger = client.get("/docs").text
    assert "SwaggerUIBundle(" in swagger and "url: '/openapi.json'" in swagger
    assert '"validatorUrl": null' in swagger  # otherwise Swagger UI fetches a badge from validator.swagger.io
    js = next(u for u in referenced_urls(swagger) if u.endswith(".js"))
    assert "SwaggerUIBundle" in client.get(js).text
    redoc = client.get("/redoc").text
    assert '<redoc spec-url="/openapi.json">' in redoc
    js = next(u for u in referenced_urls(redoc) if u.endswith(".js"))
    assert "Redoc" in client.get(js).text
    assert client.get("/openapi.json").json()["info"]["title"] == "movierec"


def test_oauth2_redirect_page_is_served(client):
    response = client.get("/docs/oauth2-redirect")
    assert response.status_code == 200
    assert "swaggerUIRedirectOauth2" in response.text


def test_docs_routes_stay_out_of_the_schema_and_unknown_assets_are_404(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert not any(p.startswith(("/docs", "/redoc", "/static")) for p in paths), sorted(paths)
    response = client.get("/static/docs/no-such-file.js")
    assert response.status_code == 404
