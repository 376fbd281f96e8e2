"""`make serve`: check the bundle (one clear line and exit 1 if unusable), then run uvicorn with N workers.

main() first pins the math libraries to one thread per process unless the environment says otherwise
(serving.threads: OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS, NUMEXPR_NUM_THREADS default to 1), and only
then imports what loads numpy and ONNX Runtime, which read them as they load: this module's top imports nothing else.
uvicorn's worker processes inherit the environment. Starting the app another way (`uvicorn serving.main:create_app`,
a TestClient) leaves the environment as it is.
"""

from __future__ import annotations

import argparse
import logging
import sys

from serving.threads import pin_math_threads


def main(argv: list[str] | None = None) -> int:
    pin_math_threads()
    import uvicorn

    from movierec.artifacts import read_manifest, resolve_bundle, verify_bundle
    from movierec.errors import BundleError
    from serving.config import get_settings

    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m serving", description=__doc__.splitlines()[0])
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
