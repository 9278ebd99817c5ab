"""Files that [github-action-benchmark](https://github.com/benchmark-action/github-action-benchmark)
reads: a JSON list of ``{"name", "unit", "value", "extra"}`` entries, one file per direction,
for its ``customBiggerIsBetter`` and ``customSmallerIsBetter`` tools.

Every metric that ``results.METRICS`` declares with ``export=True`` is written (RTFx bigger is
better; WER and repeated n-grams smaller is better) for the newest result of each case on each
machine. A name is the machine, the case and the metric, stable from run to run, so that the
action draws one line per name across commits.
"""

from __future__ import annotations

import json
from typing import Any

from whisperbench.history import History
from whisperbench.report.select import Selection, as_selection
from whisperbench.results.metrics import exported
from whisperbench.results.records import SPEED_PARAMS

BIGGER_NAME = "benchmark-bigger-is-better.json"
SMALLER_NAME = "benchmark-smaller-is-better.json"
TOOLS = {BIGGER_NAME: "customBiggerIsBetter", SMALLER_NAME: "customSmallerIsBetter"}


def entries(given: History | Selection, bigger_is_better: bool) -> list[dict[str, Any]]:
    """The entries of one file: the exported metrics of that direction."""
    out: list[dict[str, Any]] = []
    declared = [m for m in exported() if m.bigger_is_better == bigger_is_better]
    for chosen in as_selection(given).machines:
        machine = chosen.machine
        for run, case in chosen.latest:
            for m in declared:
                value = m.scaled(case.value(m))
                if value is None:
                    continue
                config = ", ".join(
                    f"{name}={case.params.get(name)}"
                    for name in SPEED_PARAMS
                    if case.params.get(name) is not None
                )
                out.append(
                    {
                        "name": f"{case.key.label} {m.name} ({machine})",
                        "unit": m.unit or "count",
                        "value": round(value, 6),
                        "extra": f"run {run.run_id}, commit {run.commit}; {config}",
                    }
                )
    return out


def export(given: History | Selection) -> dict[str, str]:
    """Each file's name and its JSON text."""
    selection = as_selection(given)
    return {
        name: json.dumps(entries(selection, tool == "customBiggerIsBetter"), indent=2) + "\n"
        for name, tool in TOOLS.items()
    }
