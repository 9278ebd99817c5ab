"""The one set of value formatters: the session's results table, the report (Markdown, HTML),
``whisperbench compare`` and ``check-regressions`` all show values through these."""

from __future__ import annotations

from typing import Any

from whisperbench.results import Metric

MISSING = "–"
"""What a table shows where a case has no value."""


def number(value: float | None, spec: str) -> str:
    return MISSING if value is None else format(value, spec)


def value(metric: Metric, raw: float | None) -> str:
    """A metric's value as its column shows it (scaled, without the unit): WER ``10.5``."""
    return number(metric.scaled(raw), metric.spec)


def value_with_unit(metric: Metric, raw: float | None) -> str:
    """A metric's value in a sentence: ``10.5%``, ``0.234 s``, ``12``."""
    text = value(metric, raw)
    if raw is None or not metric.unit:
        return text
    return f"{text}{metric.unit}" if metric.unit in ("%", "x") else f"{text} {metric.unit}"


def relative(change: float | None) -> str:
    """A relative change: ``+42.8%`` (from +0.428)."""
    return MISSING if change is None else f"{100 * change:+.1f}%"


def change_cell(metric: Metric, change: float | None) -> str:
    """A change as a table cell: ``+42.8%`` (relative), ``+1.2`` (points), ``+3`` (count)."""
    if change is None:
        return MISSING
    if metric.change == "relative":
        return relative(change)
    return f"{change:+.1f}" if metric.change == "points" else f"{change:+.0f}"


def change_text(metric: Metric, change: float | None) -> str:
    """A change in a sentence: ``+42.8%``, ``+1.2 points``, ``+3``."""
    cell = change_cell(metric, change)
    return f"{cell} points" if metric.change == "points" and change is not None else cell


def param(raw: Any) -> str:
    """A parameter's value as a cell (``–`` when the engine did not report it)."""
    return MISSING if raw is None else str(raw)


def unit_suffix(metric: Metric) -> str:
    """A column header's unit: `` s``, `` %``, or nothing for ratios and counts."""
    return "" if metric.unit in ("", "x") else f" {metric.unit}"
