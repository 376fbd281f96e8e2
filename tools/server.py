"""The API as a child process for the tools and tests: a free port, a bounded wait for readiness, a clean stop.

api_server starts `python -m serving` as `make serve` does, on a throwaway SQLite rating store (never the user's),
and removes it afterwards. Standard library only: a tool that pins math threads imports this before numpy.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# set by api_server itself, or never wanted in a tool's server (the admin endpoint, make serve's worker count)
REPLACED_VARIABLES = ("ARTIFACTS_DIR", "DATABASE_URL", "MOVIEREC_DATA_DIR", "ADMIN_TOKEN", "WORKERS")


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop(proc: subprocess.Popen, timeout_s: float = 20) -> None:
    """Terminate a child process and wait for it; kill it when it does not exit in time."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout_s)


def wait_ready(
    proc: subprocess.Popen,
    url: str,
    timeout_s: float = 120,
    *,
    method: str = "GET",
    body: bytes | None = None,
    interval_s: float = 0.1,
    describe: Callable[[], str] = lambda: "",
) -> float:
    """Poll url until it answers 200 and return the seconds waited; RuntimeError when the process exits first or
    timeout_s passes (the message ends with describe(), e.g. the tail of the server's log)."""
    parts = urlsplit(url)
    start = time.monotonic()
    headers = {"Content-Type": "application/json"} if body is not None else {}
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with code {proc.returncode} before answering. {describe()}")
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
        try:
            conn.request(method, parts.path or "/", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                return time.monotonic() - start
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        if time.monotonic() - start > timeout_s:
            raise RuntimeError(f"{url} did not answer 200 within {timeout_s:.0f} s. {describe()}")
        time.sleep(interval_s)


def tail(path: Path, lines: int = 5) -> str:
    """The last lines of a log file on one line, or `(no output)`."""
    text = path.read_text(errors="replace").strip().splitlines() if path.exists() else []
    return " | ".join(text[-lines:]) or "(no output)"


@dataclass(frozen=True)
class Readiness:
    """The request that must answer 200 before the server counts as started."""

    method: str = "GET"
    path: str = "/health"
    body: bytes | None = None


HEALTH = Readiness()  # the default: the bundle is loaded and warmed up


@dataclass(frozen=True)
class Server:
    proc: subprocess.Popen
    port: int
    scratch: Path  # the throwaway store (and log) folder, removed when the server stops
    ready_s: float  # seconds from the process start to the first 200 of the readiness request


@contextmanager
def api_server(
    artifacts: Path,
    *,
    workers: int = 1,
    prefix: str = "movierec-server-",
    env: dict[str, str] | None = None,
    log_to_file: bool = False,
    ready: Readiness = HEALTH,
    timeout_s: float = 120.0,
    interval_s: float = 0.1,
) -> Iterator[Server]:
    """`python -m serving --workers N` on a free loopback port, serving `artifacts`, with a SQLite store in a fresh
    temporary folder named `prefix...` (removed on exit); yields once `ready` answers 200, stops the server on exit.

    env: extra environment variables (e.g. RELOAD_POLL_SECONDS). log_to_file: the server's output goes to
    server.log in the folder, and its tail into the error when it does not start; otherwise to this process's.
    RuntimeError when it does not start within timeout_s."""
    scratch = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        port = free_port()
        child_env = {k: v for k, v in os.environ.items() if k not in REPLACED_VARIABLES}
        child_env.update(
            ARTIFACTS_DIR=str(artifacts),
            DATABASE_URL=f"sqlite:///{scratch / 'ratings.sqlite3'}",
            MOVIEREC_DATA_DIR=str(scratch),
            LOG_LEVEL="warning",
            **(env or {}),
        )
        command = [sys.executable, "-m", "serving", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--workers", str(workers)]
        log_path = scratch / "server.log"
        if log_to_file:
            with open(log_path, "ab") as log:
                proc = subprocess.Popen(command, env=child_env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT)
        else:
            proc = subprocess.Popen(command, env=child_env, cwd=PROJECT_ROOT)
        try:
            ready_s = wait_ready(
                proc,
                f"http://127.0.0.1:{port}{ready.path}",
                timeout_s,
                method=ready.method,
                body=ready.body,
                interval_s=interval_s,
                describe=(lambda: tail(log_path)) if log_to_file else (lambda: ""),
            )
            yield Server(proc, port, scratch, ready_s)
        finally:
            stop(proc, 30)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
