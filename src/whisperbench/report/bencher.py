"""[Bencher](https://bencher.dev) Metric Format (BMF) JSON, one file per machine:
``{benchmark: {measure: {"value": v, "lower_value": lo, "upper_value": hi}}}``.

Bencher keeps one history per *testbed* and judges each testbed against its own thresholds,
so each machine gets its own file, ``bencher-<testbed>.json``, its testbed being the machine's
label or what it is (``fleet.machines``), never mixed with another machine's figures:
``bencher run --testbed <testbed> --adapter json --file bencher-<testbed>.json``.

A benchmark is a case (``transcribe transformers tiny.en short [cpu float32]``), the newest
result of it on that machine; its measures are the metrics ``results.METRICS`` declares with
``export=True``, by slug (``rtfx``; ``wer`` in percent; ``repeated-ngrams``). The bounds are
the 95 % interval the result carries (WER over its units of speech, RTFx over its timed
rounds); where it carries none, the bounds are left out, never made up.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from whisperbench.history import History, Run
from whisperbench.report.select import latest_results
from whisperbench.results import Metric, exported

PREFIX = "bencher-"
NAME_LIMIT = 1024
"""Bencher's longest benchmark name."""
SLUG_LIMIT = 64
"""Bencher's longest measure slug."""


def measure_slug(metric: Metric) -> str:
    return metric.field.replace("_", "-")[:SLUG_LIMIT]


def testbed(runs: Sequence[Run]) -> str:
    """The machine's name as a Bencher testbed slug: its label, else what it is."""
    from whisperbench.fleet.machines import default_folder, label_of, slug

    newest = runs[-1]
    return slug(label_of(newest) or default_folder(newest))


def metrics_of(runs: Sequence[Run]) -> dict[str, dict[str, dict[str, float]]]:
    """The BMF object of one machine's runs: the newest result of each case."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for _, case in latest_results(runs):
        measures: dict[str, dict[str, float]] = {}
        for metric in exported():
            value = metric.scaled(case.value(metric))
            if value is None:
                continue
            entry = {"value": round(value, 6)}
            interval = metric.interval(case.result)
            if interval is not None:
                scaled = interval.scaled(metric.scale)
                entry["lower_value"] = round(scaled.low, 6)
                entry["upper_value"] = round(scaled.high, 6)
            measures[measure_slug(metric)] = entry
        if measures:
            out[case.key.label[:NAME_LIMIT]] = measures
    return out


def export(history: History) -> dict[str, str]:
    """Each machine's file name and its BMF JSON text (machines whose folders name the same
    testbed share one file)."""
    testbeds: dict[str, list[Run]] = {}
    for machine in history.machines:
        runs = history.for_machine(machine)
        testbeds.setdefault(testbed(runs), []).extend(runs)
    files: dict[str, str] = {}
    for name, runs in sorted(testbeds.items()):
        runs.sort(key=lambda run: (run.when, run.run_id))
        document: dict[str, Any] = metrics_of(runs)
        if document:
            files[f"{PREFIX}{name}.json"] = json.dumps(document, indent=2) + "\n"
    return files
