"""`make notebooks`: execute the EDA and evaluation notebooks and write HTML copies (gitignored)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from movierec.notebooks import NOTEBOOKS, NOTEBOOKS_DIR, execute_notebook, to_html


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.notebooks", description=__doc__)
    parser.add_argument("--html", type=Path, default=NOTEBOOKS_DIR / "html", help="where the HTML copies go")
    args = parser.parse_args(argv)
    for name in NOTEBOOKS:
        print(f"executing {name} ...", flush=True)
        notebook = execute_notebook(NOTEBOOKS_DIR / name)
        print(f"  -> {to_html(notebook, args.html / name.replace('.ipynb', '.html'))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
