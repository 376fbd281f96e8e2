"""End to end in a real headless Chromium: the real API on a small bundle, the real Streamlit app, a click."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

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
OUTPUT = Path(__file__).resolve().parents[1] / "output"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    start = time.time()
    while time.time() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@pytest.fixture(scope="module")
def servers(synthetic_bundle, tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (make browser)")
    api_port, ui_port = free_port(), free_port()
    logs = tmp_path_factory.mktemp("logs")
    env = {**os.environ, "ARTIFACTS_DIR": str(synthetic_bundle), "API_URL": f"http://127.0.0.1:{api_port}"}
    root = Path(__file__).resolve().parents[2]
    api_log, ui_log = open(logs / "api.log", "w"), open(logs / "ui.log", "w")  # noqa: SIM115 (closed below)
    api = subprocess.Popen(
        [sys.executable, "-m", "serving", "--port", str(api_port)],
        env=env,
        cwd=root,
        stdout=api_log,
        stderr=subprocess.STDOUT,
    )
    ui = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "ui/app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(ui_port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
        ],
        env=env,
        cwd=root,
        stdout=ui_log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_http(f"http://127.0.0.1:{api_port}/health", api)
        wait_http(f"http://127.0.0.1:{ui_port}/_stcore/health", ui)
        yield f"http://127.0.0.1:{ui_port}"
    finally:
        for proc in (ui, api):
            proc.terminate()
            proc.wait(timeout=30)
        api_log.close()
        ui_log.close()


def test_recommend_in_a_real_browser(servers):
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)  # playwright makes a fresh profile
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(servers, wait_until="domcontentloaded")
            page.get_by_text("Recommendations for a MovieLens user").wait_for(timeout=60_000)
            user_box = page.get_by_label("User id (1-240)")
            user_box.fill("7")
            user_box.press("Enter")
            page.get_by_text("User 7").wait_for(timeout=30_000)
            page.get_by_role("button", name="Recommend").click()
            page.get_by_text("API latency").wait_for(timeout=30_000)
            page.wait_for_timeout(1000)  # let the data grid paint
            page.screenshot(path=str(OUTPUT / "ui-recommend.png"), full_page=True)
            grid = page.locator("[data-testid='stDataFrame']").last
            assert grid.is_visible()
            text = page.content()
            assert "Movie" in text or "Saga" in text or "Cité" in text
        finally:
            browser.close()
    assert (OUTPUT / "ui-recommend.png").stat().st_size > 10_000
