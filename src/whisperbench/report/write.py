"""Writes a report in the formats asked for: ``md`` (summary.md), ``html`` (index.html),
``json`` (github-action-benchmark's two files), ``bencher`` (a BMF file per machine)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from whisperbench.atomic_write import write_atomic
from whisperbench.history import History
from whisperbench.regressions import Limits

FORMATS = ("md", "html", "json", "bencher")
DEFAULT_FORMATS = ("md", "html")


def write_report(
    history: History,
    output: Path,
    limits: Limits | None = None,
    formats: Sequence[str] = DEFAULT_FORMATS,
    progress: Callable[[str], None] = lambda message: None,
) -> list[Path]:
    """Write each format into ``output``; the files written, in order."""
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown report format(s) {', '.join(unknown)}; use {', '.join(FORMATS)}")
    output.mkdir(parents=True, exist_ok=True)
    from whisperbench.report.select import select

    selection = select(history, limits)  # once, for every format
    texts: dict[str, str] = {}
    if "md" in formats:
        from whisperbench.report import markdown

        texts[markdown.NAME] = markdown.markdown_summary(selection)
    if "html" in formats:
        from whisperbench.report import html

        texts[html.NAME] = html.html_report(selection)
    if "json" in formats:
        from whisperbench.report import json_export

        texts.update(json_export.export(selection))
    if "bencher" in formats:
        from whisperbench.report import bencher

        texts.update(bencher.export(selection.history))
    written = []
    for name, text in texts.items():
        path = output / name
        write_atomic(path, text)
        progress(f"wrote {path}")
        written.append(path)
    return written
