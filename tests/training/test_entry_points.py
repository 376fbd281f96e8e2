"""The training entry points set glibc's heap in main() (training.memory): importing one starts no thread first."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
ENTRY_POINTS = ("training.train", "training.tune", "training.peers", "training.evaluate", "training.data")
# each starts threads that allocate (pyarrow's pool) or big ones of its own; once one has, glibc's arena count is fixed
THREADED = ("numpy", "pandas", "pyarrow", "tensorflow", "keras")


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_importing_an_entry_point_loads_nothing_that_starts_threads(module):
    code = (
        f"import json, sys\nimport {module}\nprint(json.dumps(sorted(m for m in {THREADED!r} if m in sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=PROJECT)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_the_package_itself_does_nothing_on_import():
    code = "import json, sys\nimport training\nprint(json.dumps(sorted(m for m in sys.modules if m.startswith('training'))))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=PROJECT)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["training"]
