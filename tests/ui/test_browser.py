"""Journeys in a real headless Chromium: the real API on a small bundle, the real Streamlit app, what a person sees.

One test per journey, each saving a screenshot under tests/output/. The API and the UI start once for the module.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tools.server import free_port, stop, wait_ready

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "tests" / "output"
SLOW = 60_000  # ms: a loaded 2-core CI machine
WIDE = {"width": 1400, "height": 1800}
PHONE = {"width": 390, "height": 844}


class Api:
    """The API as a process that a test can stop and start again on the same port."""

    def __init__(self, env: dict, port: int, log: Path):
        self.env, self.port, self.log = env, port, log
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "serving", "--port", str(self.port)],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_ready(self.proc, f"{self.url}/health", 120, interval_s=0.3)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc, 30)


class Servers:
    def __init__(self, api: Api, ui: str):
        self.api, self.ui = api, ui
        self.examples = requests.get(f"{api.url}/users/examples", timeout=10).json()


@pytest.fixture(scope="module")
def servers(synthetic_bundle, tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        print(f"skipped: Debian's chromium is not installed at {CHROMIUM} (make browser)")
        pytest.skip("Debian's chromium is not installed (make browser)")
    api_port, ui_port = free_port(), free_port()
    scratch = tmp_path_factory.mktemp("browser")
    env = {
        **os.environ,
        "ARTIFACTS_DIR": str(synthetic_bundle),
        "API_URL": f"http://127.0.0.1:{api_port}",
        "MOVIEREC_DATA_DIR": str(scratch),  # a throwaway live-ratings database
        "DATABASE_URL": f"sqlite:///{scratch / 'ratings.sqlite3'}",
    }
    api = Api(env, api_port, scratch / "api.log")
    ui_log = open(scratch / "ui.log", "w")  # noqa: SIM115 (closed below)
    ui = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "ui/app.py", "--server.headless", "true"]
        + ["--server.port", str(ui_port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        env=env,
        cwd=ROOT,
        stdout=ui_log,
        stderr=subprocess.STDOUT,
    )
    try:
        api.start()
        wait_ready(ui, f"http://127.0.0.1:{ui_port}/_stcore/health", 120, interval_s=0.3)
        yield Servers(api, f"http://127.0.0.1:{ui_port}")
    finally:
        stop(ui, 30)
        api.stop()
        ui_log.close()


@pytest.fixture(scope="module")
def browser(servers):
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)  # a fresh profile
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    page.set_default_timeout(SLOW)
    yield page
    context.close()


def expect():
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=SLOW)
    return playwright_expect


def cards(page):
    return page.locator("[class*='st-key-rec_']")


def shot(page, name: str) -> Path:
    path = OUTPUT / name
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def no_exception(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0


def test_user_with_history_gets_titles_and_because_lines(servers, page, browser):
    rich = servers.examples["rich_history"]
    page.goto(servers.ui, wait_until="domcontentloaded")
    expect()(page.get_by_text(f"User {rich}", exact=True)).to_be_visible()
    expect()(cards(page).first).to_be_visible()
    expect()(page).to_have_title("Recommend · movierec")
    first = cards(page).first
    expect()(first).to_contain_text(re.compile(r"(Movie|Saga|Alien|Godfather|Star Wars|Toy Story|Dîner|Amélie)"))
    expect()(first).to_contain_text("Because you rated")
    expect()(cards(page)).to_have_count(10)  # waits: Streamlit renders the cards one by one
    expect()(page.get_by_text("Because you rated")).to_have_count(10)
    expect()(page.get_by_role("button", name="Deploy")).to_have_count(0)
    no_exception(page)
    shot(page, "ui-recommend.png")

    phone = browser.new_page(viewport=PHONE)
    try:
        phone.goto(servers.ui, wait_until="domcontentloaded")
        expect()(cards(phone).first).to_be_visible()
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shot(phone, "ui-recommend-390px.png")
    finally:
        phone.close()


def test_change_user_through_the_url_and_keep_it_across_pages(servers, page):
    empty = servers.examples["no_history"]
    page.goto(f"{servers.ui}/?user={empty}", wait_until="domcontentloaded")
    expect()(page.get_by_text(f"User {empty}", exact=True)).to_be_visible()
    expect()(page.get_by_text("has not rated anything yet")).to_be_visible()
    expect()(cards(page).first).to_be_visible()  # the list is there at once, no button to press
    expect()(page.get_by_label("User id", exact=True)).to_have_value(str(empty))

    page.goto(f"{servers.ui}/?user=7", wait_until="domcontentloaded")
    expect()(page.get_by_text("User 7", exact=True)).to_be_visible()
    expect()(cards(page).first).to_contain_text("Because you rated")
    page.get_by_role("link", name="About").click()
    expect()(page.get_by_text("How it was tested")).to_be_visible()
    page.get_by_role("link", name="Recommend").click()
    expect()(page.get_by_text("User 7", exact=True)).to_be_visible()  # not reset to the default user
    expect()(page).to_have_url(re.compile(r"user=7"))
    page.reload(wait_until="domcontentloaded")
    expect()(page.get_by_text("User 7", exact=True)).to_be_visible()

    box = page.get_by_label("User id", exact=True)
    box.fill("99999")
    box.press("Enter")
    expect()(page.get_by_text("No list for user 99999")).to_be_visible()
    expect()(cards(page)).to_have_count(0)  # never another user's list under this id
    no_exception(page)
    shot(page, "ui-user-from-url.png")


def test_search_forgives_the_godfather(servers, page):
    page.goto(f"{servers.ui}/similar", wait_until="domcontentloaded")
    box = page.get_by_label("Find a movie")
    box.fill("the godfather")
    box.press("Enter")
    expect()(page.get_by_text("1 title matches “the godfather”")).to_be_visible()
    expect()(page.get_by_text("Movies like")).to_contain_text("The Godfather")
    expect()(page.get_by_role("combobox", name="Movie")).to_have_value("The Godfather (1972)")
    no_exception(page)
    shot(page, "ui-search.png")


def stars(page, container: str, n: int):
    """The n-th star (1-5) of the star widget inside the container with that key."""
    return page.locator(f".st-key-{container} [data-testid='stFeedbackButton']").nth(n - 1)


def test_new_user_rates_three_movies_and_finds_them_after_reload(servers, page):
    page.goto(f"{servers.ui}/new", wait_until="domcontentloaded")
    expect()(page.get_by_text("Rate as many movies as you like")).to_be_visible()  # limits stated up front
    page.get_by_role("button", name="Create my profile").click()
    expect()(page.get_by_text("You are user")).to_be_visible()
    expect()(page).to_have_url(re.compile(r"me=\d+"))
    user_id = int(re.search(r"me=(\d+)", page.url)[1])
    assert user_id > 240
    for query, movie_id in (("the godfather", 46), ("toy story", 85), ("alien 3", 6)):
        box = page.get_by_label("Search titles")
        box.fill(query)
        box.press("Enter")
        expect()(page.locator(f".st-key-found_{movie_id}")).to_be_visible()
        stars(page, f"found_{movie_id}", 5).click()
        expect()(page.locator(f".st-key-mine_{movie_id}")).to_be_visible()
    expect()(page.get_by_text("Your ratings (3)")).to_be_visible()

    page.reload(wait_until="domcontentloaded")
    expect()(page.get_by_text(f"You are user {user_id}")).to_be_visible()
    expect()(page.get_by_text("Your ratings (3)")).to_be_visible()
    for title in ("The Godfather", "Toy Story", "Alien³"):
        expect()(page.locator("[class*='st-key-mine_']").filter(has_text=title)).to_have_count(1)
    expect()(cards(page)).to_have_count(10)
    rated = requests.get(f"{servers.api.url}/users/{user_id}/ratings", timeout=10).json()
    assert {(r["movie_id"], r["rating"]) for r in rated["ratings"]} == {(46, 5), (85, 5), (6, 5)}
    no_exception(page)
    shot(page, "ui-new-user.png")


def test_rating_a_recommended_movie_in_place_removes_it_from_the_list(servers, page):
    page.goto(f"{servers.ui}/?user=9", wait_until="domcontentloaded")
    expect()(cards(page).first).to_be_visible()
    key = re.search(r"st-key-(rec_\d+)", cards(page).first.get_attribute("class"))[1]
    title = cards(page).first.locator("strong").first.inner_text()
    stars(page, key, 4).click()
    expect()(page.get_by_text(f"Saved: you rated {title}")).to_be_visible()
    expect()(page.locator(f".st-key-{key}")).to_have_count(0)
    expect()(cards(page)).to_have_count(10)  # the list refilled
    rated = requests.get(f"{servers.api.url}/users/9/ratings", params={"source": "live"}, timeout=10).json()
    assert [(r["movie_id"], r["rating"]) for r in rated["ratings"]] == [(int(key.split("_")[1]), 4)]
    no_exception(page)
    shot(page, "ui-rate-in-place.png")


def test_similar_movies(servers, page):
    page.goto(f"{servers.ui}/similar", wait_until="domcontentloaded")
    expect()(page.get_by_text("Movies like")).to_contain_text("Toy Story")
    similar = page.locator("[class*='st-key-movie_']")
    expect()(similar).to_have_count(10)
    expect()(similar.first).to_contain_text("similar")
    no_exception(page)
    shot(page, "ui-similar.png")


def test_api_stopped_shows_a_banner_and_retry_recovers(servers, page):
    servers.api.stop()
    try:
        page.goto(f"{servers.ui}/about", wait_until="domcontentloaded")
        banner = page.locator(".st-key-api_trouble")
        expect()(banner).to_contain_text("Something went wrong on our side")
        expect()(banner).to_contain_text(servers.api.url)
        no_exception(page)
        shot(page, "ui-api-down.png")
    finally:
        servers.api.start()
    page.get_by_role("button", name="Retry").click()
    expect()(page.get_by_text("How it was tested")).to_be_visible()
    expect()(page.locator(".st-key-api_trouble")).to_have_count(0)
    no_exception(page)
    shot(page, "ui-api-recovered.png")


def test_pick_a_peer_method_and_keep_it_in_the_url(servers, page):
    page.goto(f"{servers.ui}/?user=7", wait_until="domcontentloaded")
    expect()(page.get_by_text("how likely you are to watch the movie next")).to_be_visible()
    ours = cards(page).first.inner_text()
    page.get_by_role("combobox", name="Recommended by").click()
    page.get_by_role("option", name="EASE", exact=True).click()
    expect()(page.get_by_text("Ordered by EASE")).to_be_visible()
    expect()(cards(page).first).to_be_visible()
    expect()(page).to_have_url(re.compile(r"model=EASE"))
    expect()(cards(page).first).not_to_have_text(ours)  # waits for the rerun to replace the list
    page.reload(wait_until="domcontentloaded")
    expect()(page.get_by_text("Ordered by EASE")).to_be_visible()  # the choice survives a reload
    no_exception(page)
    shot(page, "ui-peer-model.png")
