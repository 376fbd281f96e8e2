"""One keep-alive HTTP/1.1 connection to the API on the loopback, with almost no client overhead (http.client)."""

from __future__ import annotations

import http.client
import json
import time

JSON_HEADERS = {"Content-Type": "application/json"}


class Client:
    """Requests on one connection; a connection the server dropped is opened again once, for the next request."""

    def __init__(self, port: int, timeout_s: float = 30.0):
        self.port, self.timeout_s = port, timeout_s
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)

    def send(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        """(status, body bytes) of one request; a body is sent as JSON."""
        headers = JSON_HEADERS if body is not None else {}
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        except (OSError, http.client.HTTPException):  # a dropped keep-alive connection: one fresh try
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout_s)
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        return response.status, response.read()

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        """(status, decoded JSON body, {} when empty) of one request with an optional JSON body."""
        status, data = self.send(method, path, None if body is None else json.dumps(body).encode())
        return status, json.loads(data) if data else {}

    def timed(self, method: str, path: str, body: bytes | None = None) -> float:
        """Seconds one request took to answer completely, or -1.0 unless it answered 200."""
        start = time.perf_counter()
        status, _ = self.send(method, path, body)
        return time.perf_counter() - start if status == 200 else -1.0

    def close(self) -> None:
        self.conn.close()
