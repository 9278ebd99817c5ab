"""``whisperbench report``: a Markdown summary and an HTML page with plots from saved runs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from whisperbench.commands import _options

DEFAULT_OUTPUT = "reports/html"


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="Markdown + HTML report (tables, plots, history) from saved benchmark runs",
        description=(
            "Read the runs saved by `pytest benchmarks/ --benchmark-autosave` and write "
            "summary.md (a table per machine) and index.html (self-contained, with plots: RTFx "
            "by model and implementation, WER against RTFx, the history of each benchmark with "
            "regressions marked, machine facts and the commit of each run). Unreadable or "
            "foreign files are reported and skipped."
        ),
    )
    _options.add_storage(parser)
    parser.add_argument(
        "--output",
        default=DEFAULT_OUTPUT,
        metavar="DIR",
        help=f"folder for summary.md and index.html (default: {DEFAULT_OUTPUT}, git-ignored)",
    )
    _options.add_thresholds(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from whisperbench.errors import HistoryError
    from whisperbench.report import ReportSettings, write_report

    history = _options.load(args)
    if not history.runs:
        raise HistoryError(f"no readable runs in {history.storage}; nothing to report")
    settings = ReportSettings(
        window=args.window,
        time_checks=_options.time_checks(args),
        wer_points=_options.wer_points(args),
        kinds=_options.kinds(args),
    )
    files = write_report(history, Path(args.output), settings)
    print(f"{len(history.runs)} run(s) from {len(history.machines)} machine(s)")
    print(f"wrote {files.markdown}")
    print(f"wrote {files.html}")
    return 0
