"""Saved runs that carry the evidence of intervals (errors per unit of speech, the seconds of
each round), made from the recorded CPU run (``reports/cpu/runs-7ee3082``, saved before the
evidence existed) with a known change: for the fast tests of ``compare`` and
``check-regressions``. Only the ``long`` clip's cases get the evidence: 60 units of 14 words,
one error in each, as a 5.5 min clip gives."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

SOURCE = (
    Path(__file__).resolve().parents[2]
    / "reports/cpu/runs-7ee3082/Linux-CPython-3.11-64bit"
    / "0001_7ee30825bdd1baf5de7601076d0ff73cfb6f109e_20261124_080803.json"
)
MACHINE = "Linux-CPython-3.11-64bit"
UNITS = 60
ROUND_SHAPE = (0.98, 0.99, 1.0, 1.0, 1.01, 1.02)
"""Six rounds around the median, 2 % apart at most: tight, as CPU time on one thread is."""


def evidence_run(
    storage: Path,
    run_id: str,
    *,
    level: float = 1.0,
    more_errors_every: int = 0,
) -> Path:
    """Run ``run_id`` into ``storage``: every time of the ``long`` cases ``level`` times the
    recorded one (six rounds), and one more deletion in every ``more_errors_every``-th unit."""
    data = json.loads(SOURCE.read_text(encoding="utf-8"))
    for bench in data["benchmarks"]:
        info = bench["extra_info"]
        if info.get("clip") != "long":
            continue
        median = bench["stats"]["median"] * level
        rounds = [median * shape for shape in ROUND_SHAPE]
        bench["stats"].update(median=median, min=rounds[0], max=rounds[-1], mean=median)
        info["round_s"] = rounds
        info["rtfx"] = info["audio_s"] / median
        units = [
            [1, int(bool(more_errors_every) and i % more_errors_every == 0), 0, 14]
            for i in range(UNITS)
        ]
        info["unit_errors"] = {"long": units}
        info["wer"] = sum(sum(u[:3]) for u in units) / (14 * UNITS)
    when = datetime.fromisoformat(data["datetime"]) + timedelta(minutes=int(run_id))
    data["datetime"] = when.isoformat()
    folder = storage / MACHINE
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_id}_evidence_{when:%Y%m%d_%H%M%S}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path
