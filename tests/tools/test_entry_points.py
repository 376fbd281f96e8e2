"""The tools set threads and the allocator in their entry points: importing one changes nothing and loads no numpy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
TOOLS = sorted(f"tools.{path.stem}" for path in (PROJECT / "tools").glob("*.py") if path.stem != "__init__")
# their main() pins math threads or sets the heap first, so nothing that starts threads may load before it
PIN_BEFORE_NUMPY = ("tools.bench", "tools.bench_topk", "tools.bench_csv", "tools.server", "tools.client")


@pytest.mark.parametrize("module", TOOLS)
def test_importing_a_tool_changes_no_environment_variable(module):
    code = (
        "import json, os, sys\n"
        "before = dict(os.environ)\n"
        f"import {module}\n"
        "print(json.dumps({'changed': sorted(k for k in set(before) | set(os.environ) if before.get(k) != "
        "os.environ.get(k)), 'numpy': 'numpy' in sys.modules}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=PROJECT, env=env
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["changed"] == []
    if module in PIN_BEFORE_NUMPY:
        assert not result["numpy"], f"importing {module} loads numpy before its main() could pin threads"


def test_every_tool_module_is_covered():
    assert set(PIN_BEFORE_NUMPY) <= set(TOOLS)
    assert {"tools.bench", "tools.bench_topk", "tools.bench_csv", "tools.simulate", "tools.seeds"} <= set(TOOLS)
