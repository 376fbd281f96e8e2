"""The notebooks run top to bottom (nbclient) and are committed without outputs."""

import os

import pytest

from movierec.artifacts import CURRENT
from movierec.config import ARTIFACTS_DIR
from movierec.notebooks import NOTEBOOKS, NOTEBOOKS_DIR, execute_notebook, is_stripped


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebooks_are_stripped(name):
    assert is_stripped(NOTEBOOKS_DIR / name), f"{name} has outputs: clear them before committing"


def _errors(notebook):
    return [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]


@pytest.mark.integration
def test_eda_notebook_runs_on_the_real_archive(real_zip):
    notebook = execute_notebook(NOTEBOOKS_DIR / "01-eda.ipynb", env={"ML1M_ZIP": str(real_zip)})
    assert not _errors(notebook)
    text = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    assert "1,000,209 ratings" in text and "train 800,167 / test 200,042" in text


def test_eda_notebook_runs_on_synthetic_data(synthetic_zip, tmp_path):
    notebook = execute_notebook(NOTEBOOKS_DIR / "01-eda.ipynb",
                                env={"ML1M_ZIP": str(synthetic_zip), "MOVIEREC_DATA_DIR": str(tmp_path)})
    assert not _errors(notebook)


def test_evaluation_notebook_runs(synthetic_bundle, synthetic_zip, tmp_path):
    """On the real bundle when one was trained here (make train), else on the test session's synthetic one."""
    if (ARTIFACTS_DIR / CURRENT).exists() and os.environ.get("ML1M_ZIP"):
        env = {"MOVIEREC_BUNDLE": str(ARTIFACTS_DIR), "ML1M_ZIP": os.environ["ML1M_ZIP"]}
    else:
        env = {"MOVIEREC_BUNDLE": str(synthetic_bundle), "ML1M_ZIP": str(synthetic_zip),
               "MOVIEREC_DATA_DIR": str(tmp_path)}
    notebook = execute_notebook(NOTEBOOKS_DIR / "02-evaluation.ipynb", env=env)
    assert not _errors(notebook)
    images = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 3
