"""Rich tables of benchmark results, shared by the pytest summary and the CLI."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def results_table(results: list[dict[str, Any]], title: str = "whisperbench") -> Table:
    """One row per case: speed (median, RTFx, cold), accuracy (WER) and what really ran."""
    table = Table(title=title)
    for column in (
        "Case",
        "Device",
        "dtype",
        "Batch",
        "Median s",
        "RTFx",
        "Cold s",
        "WER %",
        "Load s",
        "Peak RSS MB",
    ):
        table.add_column(
            column,
            justify="left" if column in ("Case", "Device", "dtype") else "right",
            no_wrap=column == "Case",
        )
    for row in results:
        params = row.get("params", {})
        wer = row.get("wer")
        median = row["audio_s"] / row["rtfx"] if row.get("rtfx") else None
        table.add_row(
            Text(row["case"].split("[", 1)[-1].rstrip("]")),
            str(params.get("device", "-")),
            str(params.get("dtype", "-")),
            str(params.get("batch_size", "-")),
            _fmt(median if row.get("kind") == "transcribe" else row.get("load_s"), ".3f"),
            _fmt(row.get("rtfx"), ".1f"),
            _fmt(row.get("cold_s"), ".3f"),
            _fmt(None if wer is None else 100 * wer, ".1f"),
            _fmt(row.get("load_s"), ".2f"),
            _fmt(row.get("peak_rss_mb"), ".0f"),
        )
    return table
