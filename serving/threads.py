"""One math thread per process, set by the entry points: the service scales by worker processes, not by BLAS threads."""

from __future__ import annotations

import os

MATH_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def pin_math_threads() -> None:
    """Set each of MATH_THREAD_VARIABLES to 1 unless the environment already sets it (N workers x N BLAS/OpenMP
    threads on N cores collapse throughput). The libraries read them as they load, so call this before numpy or ONNX
    Runtime is imported; child processes inherit the environment."""
    for variable in MATH_THREAD_VARIABLES:
        os.environ.setdefault(variable, "1")
