"""Which results a report shows: per machine, the newest result of each case, its columns, and
each case's history with what the regression rule said of every point."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from whisperbench.history import CaseKey, CaseResult, Run
from whisperbench.models import MODELS
from whisperbench.regressions import Finding, Limits, Verdict, series_verdicts
from whisperbench.report import formatting
from whisperbench.results import REPORT, Metric, shown_in

PARAM_COLUMNS: tuple[tuple[str, str], ...] = (
    ("device", "Device"),
    ("dtype", "dtype"),
    ("quantization", "Quantisation"),
    ("batch_size", "Batch"),
)
"""The parameters the summary shows, by ``Params`` field, with their headers."""


def model_order(model: str) -> tuple[int, str]:
    """Sizes in the model map's order (tiny first), unknown ones after."""
    names = list(MODELS)
    base = model.removesuffix("-synthetic")
    return (names.index(base) if base in names else len(names), model)


def sort_key(key: CaseKey) -> tuple[Any, ...]:
    return (key.implementation, model_order(key.model), key.clip or "", key.kind, key.label)


def latest_results(runs: Sequence[Run]) -> list[tuple[Run, CaseResult]]:
    """The newest result of each case among ``runs`` (oldest first)."""
    latest: dict[CaseKey, tuple[Run, CaseResult]] = {}
    for run in runs:
        for case in run.cases:
            latest[case.key] = (run, case)
    return [latest[key] for key in sorted(latest, key=sort_key)]


def summary_metrics() -> tuple[Metric, ...]:
    return shown_in(REPORT)


def summary_header() -> list[str]:
    return [
        "Implementation",
        "Model",
        "Clip",
        *(m.label for m in summary_metrics()),
        *(header for _, header in PARAM_COLUMNS),
        "Run",
    ]


def numeric_columns() -> set[str]:
    """The headers whose cells are numbers (right-aligned in HTML)."""
    return {m.label for m in summary_metrics()} | {"Batch"}


def summary_rows(runs: Sequence[Run]) -> list[list[str]]:
    """Rows of the per-machine table: a row per transcription case, plus a load-only row for an
    implementation x model whose transcriptions are missing."""
    latest = latest_results(runs)
    transcribed = {
        (c.key.implementation, c.key.model) for _, c in latest if c.key.kind == "transcribe"
    }
    rows = []
    for run, case in latest:
        key = case.key
        if key.kind == "load" and (key.implementation, key.model) in transcribed:
            continue
        rows.append(
            [
                key.implementation,
                key.model,
                key.clip if key.kind == "transcribe" and key.clip else "(load only)",
                *(formatting.value(m, case.value(m)) for m in summary_metrics()),
                *(formatting.param(case.params.get(name)) for name, _ in PARAM_COLUMNS),
                run.run_id,
            ]
        )
    return rows


def machine_title(runs: Sequence[Run]) -> str:
    return f"{runs[-1].machine}: {runs[-1].hardware}"


@dataclass(frozen=True)
class CaseHistory:
    key: CaseKey
    points: tuple[tuple[Run, CaseResult], ...]
    verdicts: tuple[Verdict, ...]

    @property
    def regressions(self) -> list[tuple[Run, Finding]]:
        return [
            (run, finding)
            for (run, _), verdict in zip(self.points, self.verdicts, strict=True)
            for finding in verdict.findings
        ]

    @property
    def config_changes(self) -> list[tuple[Run, tuple[str, ...]]]:
        return [
            (run, verdict.config_change)
            for (run, _), verdict in zip(self.points, self.verdicts, strict=True)
            if verdict.config_change
        ]


def case_histories(runs: Sequence[Run], limits: Limits) -> list[CaseHistory]:
    keys = sorted({c.key for run in runs for c in run.cases}, key=sort_key)
    out = []
    for key in keys:
        points = tuple((run, case) for run in runs if (case := run.case(key)) is not None)
        verdicts = series_verdicts([case for _, case in points], limits)
        if key.kind not in limits.kinds:  # not judged, but a change of configuration is shown
            verdicts = [Verdict((), verdict.config_change) for verdict in verdicts]
        out.append(CaseHistory(key, points, tuple(verdicts)))
    return out


def newest_findings(runs: Sequence[Run], limits: Limits) -> list[Finding]:
    """The regressions of the newest run of ``runs``."""
    newest = runs[-1]
    out: list[Finding] = []
    for item in case_histories(runs, limits):
        if item.points and item.points[-1][0] is newest:
            out += item.verdicts[-1].findings
    return out
