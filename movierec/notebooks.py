"""Execute the project notebooks top to bottom (nbclient), optionally writing HTML copies."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from movierec.config import PROJECT_ROOT

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
NOTEBOOKS = ("01-eda.ipynb", "02-evaluation.ipynb")


def execute_notebook(path: Path, env: dict[str, str] | None = None, timeout: int = 900) -> nbformat.NotebookNode:
    """Run every cell from the project root (relative paths mean what they mean for the make targets); a failing
    cell raises CellExecutionError."""
    notebook = nbformat.read(path, as_version=4)
    # plots inline whatever backend the calling process chose (Streamlit, for one, exports MPLBACKEND=Agg)
    env = {"MPLBACKEND": "module://matplotlib_inline.backend_inline", **(env or {})}
    previous = {key: os.environ.get(key) for key in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        NotebookClient(
            notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(PROJECT_ROOT)}}
        ).execute()
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return notebook


def to_html(notebook: nbformat.NotebookNode, target: Path) -> Path:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(notebook)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body, encoding="utf-8")
    return target


def is_stripped(path: Path) -> bool:
    """True when no cell carries outputs or an execution count (what git must hold)."""
    notebook = nbformat.read(path, as_version=4)
    return all(
        not cell.get("outputs") and cell.get("execution_count") is None
        for cell in notebook.cells
        if cell.cell_type == "code"
    )
