"""`make serve`: check the bundle (one clear line and exit 1 if unusable), then run uvicorn with N workers."""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from movierec.artifacts import read_manifest, resolve_bundle, verify_bundle
from movierec.errors import BundleError
from serving.config import get_settings


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m serving", description=__doc__)
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    parser.add_argument(
        "--workers", type=int, default=settings.workers, help="worker processes (default: $WORKERS, else 1)"
    )
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        folder = resolve_bundle(settings.artifacts_dir)
        verify_bundle(folder, read_manifest(folder))
    except BundleError as exc:
        logging.getLogger("serving").error("cannot start: %s", exc)
        return 1
    options = dict(
        host=args.host,
        port=args.port,
        log_level=settings.log_level,
        access_log=False,
        loop="uvloop",
        http="httptools",
    )
    if args.workers == 1:
        from serving.main import create_app

        uvicorn.run(create_app(settings), **options)
    else:  # each worker process builds its own app (settings come from the same environment)
        uvicorn.run("serving.main:create_app", factory=True, workers=args.workers, **options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
