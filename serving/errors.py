"""Error responses that never fail themselves: bounded, sanitised 422s, a JSON 500, the store's 503, OpenAPI entries."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response

from movierec.store import StoreUnavailable
from serving.schemas import Error, ValidationErrorResponse

log = logging.getLogger("serving")

MAX_ERRORS = 20  # errors listed in one 422; the rest are counted in a last summary entry
MAX_ECHO = 200  # an input (or ctx) is echoed only when its JSON form is at most about this many characters
MAX_TEXT = 500  # longest msg / loc element kept

RESPONSES: dict[int, dict[str, Any]] = {
    404: {"model": Error, "description": "unknown user or movie id; the message gives the valid range"},
    413: {"model": Error, "description": "request body larger than the server's max_body_bytes (default 1 MiB)"},
    422: {"model": ValidationErrorResponse, "description": "invalid request: what was wrong, where, what is allowed"},
    503: {"model": Error, "description": "no bundle loaded yet (the service is starting); retry later"},
}
# the live-ratings endpoints' 503: the store, not the bundle, is what is missing
STORE_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": Error, "description": "the ratings database is unavailable or locked; retry later"}
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` entries of these error status codes."""
    return {code: RESPONSES[code] for code in codes}


def _text(value: str, limit: int = MAX_TEXT) -> str:
    """A string that always encodes as UTF-8 (lone surrogates become `\\udXXX` text), cut to `limit` characters."""
    if len(value) > limit:
        value = value[:limit] + f"... ({len(value)} characters)"
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _size(value: Any, budget: int) -> int:
    """Approximate JSON length of value, counting only up to budget + 1 (never walks a large input)."""
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, dict):
        total = 2
        for key, item in value.items():
            total += _size(key, budget) + _size(item, budget - total) + 2
            if total > budget:
                return budget + 1
        return total
    if isinstance(value, list | tuple):
        total = 2
        for item in value:
            total += _size(item, budget - total) + 1
            if total > budget:
                return budget + 1
        return total
    if isinstance(value, int):  # digits from the bit length: str() of a huge int is slow or refused
        return value.bit_length() * 30103 // 100000 + 2
    return len(str(value))


def _clean(value: Any) -> Any:
    """A JSON-safe copy: NaN/Infinity as strings, surrogates escaped, anything unknown as its str()."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict):
        return {_text(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return _text(str(value))


def _small(value: Any) -> bool:
    return _size(value, MAX_ECHO) <= MAX_ECHO


def field_error(error: dict[str, Any]) -> dict[str, Any]:
    """One pydantic error as a FieldError: loc, msg and type always; input and ctx only when small."""
    out: dict[str, Any] = {
        "type": _text(str(error.get("type", "invalid"))),
        "loc": [loc if isinstance(loc, int) and not isinstance(loc, bool) else _text(str(loc)) for loc in error["loc"]],
        "msg": _text(str(error.get("msg", "invalid value"))),
    }
    if "input" in error and _small(error["input"]):
        out["input"] = _clean(error["input"])
    ctx = error.get("ctx")
    if isinstance(ctx, dict) and _small({k: str(v) for k, v in ctx.items()}):
        out["ctx"] = _clean(ctx)
    return out


def validation_detail(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """At most MAX_ERRORS field errors, then one entry saying how many there were in all."""
    detail = [field_error(e) for e in errors[:MAX_ERRORS]]
    if len(errors) > MAX_ERRORS:
        detail.append(
            {
                "type": "too_many_errors",
                "loc": ["body"],
                "msg": f"{len(errors)} errors in all; only the first {MAX_ERRORS} are listed",
            }
        )
    return detail


async def validation_error_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    try:
        detail: list[dict[str, Any]] | str = validation_detail(list(exc.errors()))
    except Exception:  # the handler must answer whatever the errors hold
        log.exception("could not describe a validation error")
        detail = "invalid request (the error could not be described)"
    return JSONResponse({"detail": detail}, status_code=422)


def _undecodable_body(exc: HTTPException) -> str | None:
    """Why FastAPI could not decode a JSON body (its 400 with a decoding error as cause), else None."""
    cause = exc.__cause__
    if exc.status_code != 400:
        return None
    if isinstance(cause, UnicodeDecodeError):
        return "it is not UTF-8 text"
    if isinstance(cause, RecursionError):
        return "it is nested too deeply"
    if isinstance(cause, ValueError):
        return _text(str(cause), 200)
    return None


async def http_error_handler(request: Request, exc: HTTPException) -> Response:
    """FastAPI's handler, except that a body that is not decodable JSON is a 422 like any other invalid JSON."""
    reason = _undecodable_body(exc)
    if reason is None:
        return await http_exception_handler(request, exc)
    error = {"type": "json_invalid", "loc": ["body"], "msg": f"the body is not valid JSON: {reason}"}
    return JSONResponse({"detail": [error]}, status_code=422)


async def server_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A bug, not bad input: logged with its traceback, answered as JSON without internals."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal server error"}, status_code=500)


async def store_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    """StoreUnavailable anywhere -> 503 with the reason (the bundle keeps serving everything else)."""
    log.warning("%s", exc)
    return JSONResponse(
        {"detail": f"{exc}; nothing was changed, try again shortly"},
        status_code=503,
        headers={"Retry-After": "1"},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(HTTPException, http_error_handler)
    app.add_exception_handler(Exception, server_error_handler)
    app.add_exception_handler(StoreUnavailable, store_unavailable)
