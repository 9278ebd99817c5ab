"""The batch sweep in the report (``--batch-sweep``): the newest result of each sweep case,
and the table of them (RTFx, median time, device memory per batch size), ending each sweep
with the size that did not fit where one did not; ``sweep_plot`` draws the timed ones."""

from __future__ import annotations

from whisperbench import formatting
from whisperbench.history import CaseResult, Run
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
    return sorted(found, key=lambda item: _order(item[1].result))


def _order(result: object) -> tuple[str, tuple[int, str], str, int]:
    """Engine, model (in the model map's order), clip, batch size."""
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


def sweep_ends(latest: Latest) -> list[tuple[str, BatchSweepResult]]:
    """The size at which each sweep ran out of memory (the untimed record its run kept), with
    its run's name: the newest run's for each engine, model and clip, unless a run as new or
    newer timed that same size."""
    runs = sorted({id(run): run for run, _ in latest}.values(), key=_newest_first)
    timed = {
        _point(case.result): run
        for run, case in latest
        if case.key.kind == BATCH_SWEEP and isinstance(case.result, BatchSweepResult)
    }
    ends: dict[tuple[str, str, str], tuple[str, BatchSweepResult]] = {}
    for run in runs:
        for record in run.untimed_results():
            if not isinstance(record, BatchSweepResult) or record.out_of_memory is None:
                continue
            sweep = (record.implementation, record.model, record.clip)
            fitted = timed.get(_point(record))
            timed_since = fitted is not None and _newest_first(fitted) <= _newest_first(run)
            if sweep in ends or timed_since:
                continue
            ends[sweep] = (run_name(run), record)
    return list(ends.values())


def _point(result: BatchSweepResult) -> tuple[str, str, str, int]:
    return result.implementation, result.model, result.clip, result.sweep_batch


def _newest_first(run: Run) -> tuple[float, str]:
    return -run.when.timestamp(), run.run_id


def sweep_rows(latest: Latest) -> list[list[str]]:
    """A row per timed size, and one per sweep that ran out of memory ("out of memory" and
    the error where the figures would be)."""
    rows: list[tuple[tuple[str, tuple[int, str], str, int], list[str]]] = []
    for run, case in sweep_cases(latest):
        result = case.result
        assert isinstance(result, BatchSweepResult)
        figures = [cell(m, case) for m in sweep_metrics()]
        rows.append((_order(result), _row(result, figures, case.params.device, run)))
    for run, result in sweep_ends(latest):
        figures = [f"out of memory ({result.out_of_memory})"]
        figures += [formatting.MISSING] * (len(sweep_metrics()) - 1)
        rows.append((_order(result), _row(result, figures, result.params.device, run)))
    return [row for _, row in sorted(rows, key=lambda item: item[0])]


def _row(result: BatchSweepResult, figures: list[str], device: str | None, run: str) -> list[str]:
    return [
        result.implementation,
        result.model,
        result.clip,
        str(result.sweep_batch),
        *figures,
        formatting.param(device),
        formatting.param(result.params.dtype),
        run,
    ]
