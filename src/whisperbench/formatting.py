"""The one set of value formatters: the session's results table, the report (Markdown, HTML),
``whisperbench compare`` and ``check-regressions`` all show values through these."""

from __future__ import annotations

from typing import Any

from whisperbench.results.metrics import Metric
from whisperbench.scoring.evidence import Difference, Interval

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


def interval(metric: Metric, found: Interval | None) -> str:
    """A value's 95 % interval as its column shows it: ``[7.1, 11.2]``; empty without one."""
    if found is None:
        return ""
    low, high = found.scaled(metric.scale)
    return f"[{format(low, metric.spec)}, {format(high, metric.spec)}]"


def value_and_interval(metric: Metric, raw: float | None, found: Interval | None) -> str:
    """A value with its interval, when it has one: ``9.0 [7.1, 11.2]``."""
    bounds = interval(metric, found)
    return f"{value(metric, raw)} {bounds}" if bounds else value(metric, raw)


def p_value(p: float) -> str:
    """``p=0.012``, ``p<0.001``."""
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def signed(change: float, kind: str) -> str:
    """A change as ``change_cell`` writes it, for kinds ``relative``, ``points``, ``count``
    and ``seconds``."""
    if kind == "relative":
        return relative(change)
    if kind == "seconds":
        return f"{change:+.3f} s"
    return f"{change:+.1f}" if kind == "points" else f"{change:+.0f}"


def change_interval(found: Difference, kind: str) -> str:
    """A change's 95 % interval: ``[+1.2, +2.8]``, ``[+8.9%, +11.2%]``."""
    return f"[{signed(found.low, kind)}, {signed(found.high, kind)}]"


def evidence_text(found: Difference, kind: str) -> str:
    """A change's interval and p in a sentence: ``[+1.2, +2.8], p=0.002 (MAPSSWE)``."""
    return f"{change_interval(found, kind)}, {p_value(found.p)} ({found.method})"


def relative(change: float | None) -> str:
    """A relative change: ``+42.8%`` (from +0.428)."""
    return MISSING if change is None else f"{100 * change:+.1f}%"


def change_cell(metric: Metric, change: float | None) -> str:
    """A change as a table cell: ``+42.8%`` (relative), ``+1.2`` (points), ``+3`` (count)."""
    return MISSING if change is None else signed(change, metric.change)


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


def duration(seconds: float) -> str:
    """A length of time in words: ``2.5 s``, ``3.2 min``, ``1.4 h``."""
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
