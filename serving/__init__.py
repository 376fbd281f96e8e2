"""FastAPI service over a trained bundle: two-stage recommendations, scores, catalogue lookups, metrics.

Importing the package pins the math libraries to one thread per process (unless the environment says otherwise):
the service scales by worker processes, and N workers x N BLAS/OpenMP threads on N cores collapse throughput.
"""

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
