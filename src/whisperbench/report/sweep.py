"""The batch sweep in the report (``--batch-sweep``): the newest result of each sweep case,
and the table of them (RTFx, median time, device memory per batch size); ``sweep_plot``
draws them."""

from __future__ import annotations

from whisperbench import formatting
from whisperbench.history import CaseResult
from whisperbench.report.select import Latest, cell, model_order, run_name
from whisperbench.results.metrics import Metric, metric
from whisperbench.results.records import BATCH_SWEEP, SWEEP_MEMORY_FIELDS, BatchSweepResult


def sweep_cases(latest: Latest) -> list[tuple[str, CaseResult]]:
    """The newest result of each batch-sweep case, with its run's name, by engine, model, clip
    and batch size."""
    found = [
        (run_name(run), case)
        for run, case in latest
        if case.key.kind == BATCH_SWEEP and isinstance(case.result, BatchSweepResult)
    ]
    return sorted(found, key=lambda item: _order(item[1]))


def _order(case: CaseResult) -> tuple[str, tuple[int, str], str, int]:
    result = case.result
    assert isinstance(result, BatchSweepResult)
    return result.implementation, model_order(result.model), result.clip, result.sweep_batch


def sweep_metrics() -> tuple[Metric, ...]:
    return tuple(metric(name) for name in ("rtfx", "median_s", *SWEEP_MEMORY_FIELDS))


def sweep_header() -> list[str]:
    return [
        "Implementation",
        "Model",
        "Clip",
        "Batch",
        *(m.label for m in sweep_metrics()),
        "Device",
        "dtype",
        "Run",
    ]


def sweep_rows(latest: Latest) -> list[list[str]]:
    rows = []
    for run, case in sweep_cases(latest):
        result = case.result
        assert isinstance(result, BatchSweepResult)
        rows.append(
            [
                result.implementation,
                result.model,
                result.clip,
                str(result.sweep_batch),
                *(cell(m, case) for m in sweep_metrics()),
                formatting.param(case.params.device),
                formatting.param(case.params.dtype),
                run,
            ]
        )
    return rows
