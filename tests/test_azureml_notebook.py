"""A v1-style notebook, ported with only its imports changed, run cell by cell in one
namespace as Jupyter does (examples/azureml-notebook/notebook.py): interactive logging,
an estimator with an empty-string flag, a ScriptRunConfig whose run_config carries a conda
environment (built from PyPI: no conda here), run management, a registered model."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "azureml-notebook" / \
    "notebook.py"


def _cells() -> list[str]:
    """The code cells, in order: a `# %%` line starts a cell, `# %% [markdown]` a text one."""
    cells: list[tuple[str, list[str]]] = [("code", [])]
    for line in NOTEBOOK.read_text().splitlines():
        if line.startswith("# %%"):
            cells.append(("markdown" if "[markdown]" in line else "code", []))
        else:
            cells[-1][1].append(line)
    return ["\n".join(lines) for kind, lines in cells[1:] if kind == "code"]


@pytest.mark.slow
def test_the_notebook_runs_cell_by_cell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RUNYARD_ENV_CACHE", str(tmp_path / "env-cache"))
    namespace: dict[str, object] = {"__name__": "__main__"}
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for number, cell in enumerate(_cells(), start=1):
            try:
                exec(compile(cell, f"{NOTEBOOK.name}, cell {number}", "exec"), namespace)
            except Exception as e:
                raise AssertionError(f"cell {number} failed: {type(e).__name__}: {e}\n"
                                     f"{cell}") from e
    out = capsys.readouterr().out
    assert "SDK version: " in out
    run = namespace["run"]
    assert run.get_status() == "Completed"  # type: ignore[attr-defined]
    metrics = run.get_metrics()  # type: ignore[attr-defined]
    assert metrics["a float"] == 0.75
    assert metrics["fibonacci"] == [0, 1, 1, 2, 3, 5, 8]
    assert metrics["squares"] == {"x": [0, 1, 2], "y": [0, 1, 4]}
    assert "outputs/notes.txt" in run.get_file_names()  # type: ignore[attr-defined]
    est_run = namespace["est_run"]
    est_metrics = est_run.get_metrics()  # type: ignore[attr-defined]
    assert est_metrics["alpha"] == 0.25
    assert est_metrics["verbose"] == 1  # the empty-string value became a bare flag
    src_run = namespace["src_run"]
    assert src_run.get_status() == "Completed"  # type: ignore[attr-defined]
    assert src_run.get_metrics()["alpha"] == 0.1  # type: ignore[attr-defined]
    assert src_run.get_details()["runDefinition"]["environment"]  # type: ignore[attr-defined]
    assert (tmp_path / "downloaded" / "outputs" / "model.txt").is_file()
    assert any(p.name == "driver_0.txt" for p in (tmp_path / "logs").rglob("*"))
    assert "2 children" in out
    model = namespace["model"]
    assert (model.name, model.version) == ("notebook-linear", 1)  # type: ignore[attr-defined]
    conda = [str(w.message) for w in seen if "conda" in str(w.message).lower()]
    assert conda, "the conda fallback says what it installs from PyPI"
    assert os.path.isdir(tmp_path / ".runyard")
