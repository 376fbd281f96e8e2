"""Child processes for tools and tests: a free port, a bounded wait for readiness, a clean stop.

Used for the API under `make bench`, the replay simulation and the tests.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import time
from collections.abc import Callable
from urllib.parse import urlsplit


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
