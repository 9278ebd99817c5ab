"""``scripts/pool_engines.py`` on the recorded cost run (``reports/gpu/h100-c314ac3``): a row
per engine, model and clip group, the figures ``reports/gpu/README.md`` quotes."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from whisperbench.history import load_history

REPO = Path(__file__).resolve().parents[1]
COST_RUN = REPO / "reports" / "gpu" / "h100-c314ac3" / "bench"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "pool_engines", REPO / "scripts" / "pool_engines.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cost_run_pools_into_the_rows_the_readme_quotes() -> None:
    cases = [case for run in load_history(COST_RUN).runs for case in run.cases]
    rows = _script().pooled_rows(cases)
    assert len(rows) == 6  # three engines, long-x2 and the twelve readings
    ours = next(row for row in rows if row.startswith("| transformers | tiny.en | long-x2"))
    assert "| 10700 | 10.1% [8.3, 12.4] | 12 | 191 | 107 | 1848 | 847 |" in ours
    readme = (REPO / "reports" / "gpu" / "README.md").read_text(encoding="utf-8")
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        rtfx, wer, energy = cells[3], cells[4], cells[7]
        assert f"| {rtfx} | {wer} |" in readme and f"| {energy} |" in readme, row
