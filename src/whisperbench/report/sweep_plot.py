"""The batch sweep's figure (``--batch-sweep``): RTFx and device memory against batch size, a
panel pair per model and clip, a line per engine."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

from whisperbench.history import CaseResult
from whisperbench.report.figures import png, series_label
from whisperbench.report.select import Latest, model_order
from whisperbench.results.metrics import Metric, metric
from whisperbench.results.records import SWEEP_MEMORY_FIELDS, BatchSweepResult


def sweep_plot(latest: Latest) -> str | None:
    fig = sweep_figure(latest)
    return None if fig is None else png(fig)


def sweep_figure(latest: Latest) -> Figure | None:
    """RTFx (left) and device memory (right, where the device has a figure) against batch
    size, both batch axes in powers of two: a row of panels per model and clip, a line per
    engine (with its device, dtype and quantisation where the machine has several)."""
    cases = [
        case
        for _, case in latest
        if isinstance(case.result, BatchSweepResult) and case.value(metric("rtfx")) is not None
    ]
    if not cases:
        return None
    configs = {(c.key.device, c.key.dtype, c.key.quantization) for c in cases}
    panels = sorted({_panel(c) for c in cases}, key=lambda p: (model_order(p[0]), p[1]))
    memory = next(
        (m for m in map(metric, SWEEP_MEMORY_FIELDS) if any(c.value(m) is not None for c in cases)),
        None,
    )
    columns = 2 if memory is not None else 1
    fig = Figure(figsize=(5.0 * columns, 0.8 + 3.2 * len(panels)), layout="constrained")
    axes = fig.subplots(len(panels), columns, squeeze=False)
    for row, (model, clip) in zip(axes, panels, strict=True):
        mine = [c for c in cases if _panel(c) == (model, clip)]
        _lines(row[0], mine, configs, metric("rtfx"))
        row[0].set_ylabel("RTFx (higher is faster)")
        row[0].set_title(f"{model}, clip {clip}: speed", fontsize=9, loc="left")
        if memory is not None:
            _lines(row[1], mine, configs, memory)
            row[1].set_ylabel(f"{memory.label} (lower is smaller)")
            row[1].set_title(f"{model}, clip {clip}: {memory.name}", fontsize=9, loc="left")
    for ax in axes.flat:
        ax.set_xscale("log", base=2)
        ax.set_xlabel("batch size (windows decoded at once)")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7, loc="best")
    fig.suptitle("Speed and memory against batch size (newest sweep)", fontsize=10)
    return fig


def _panel(case: CaseResult) -> tuple[str, str]:
    result = case.result
    assert isinstance(result, BatchSweepResult)
    return result.model, result.clip


def _lines(
    ax: object, cases: Sequence[CaseResult], configs: set[tuple[str, str, str]], shown: Metric
) -> None:
    """A line per engine series: ``shown`` (scaled) against the batch size, each point
    marked."""
    for name in sorted({series_label(c.key, configs) for c in cases}):
        points = sorted(
            (result.sweep_batch, value)
            for c in cases
            if series_label(c.key, configs) == name
            and isinstance(result := c.result, BatchSweepResult)
            and (value := shown.scaled(c.value(shown))) is not None
        )
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", label=name)  # type: ignore[attr-defined]
