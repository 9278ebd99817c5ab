"""``whisperbench report``: Markdown, HTML (with plots) and JSON (github-action-benchmark)
reports from saved runs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from whisperbench.commands import _options
from whisperbench.report.write import DEFAULT_FORMATS, FORMATS

DEFAULT_OUTPUT = "reports/html"


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        description=(
            "Read the runs saved by `pytest benchmarks/ --benchmark-autosave` and write "
            "summary.md (a table per machine) and index.html (self-contained, with plots: RTFx "
            "by model and implementation, WER against RTFx, the history of each benchmark with "
            "regressions and changes of configuration marked, machine facts and the commit of "
            "each run); with --format json, the files github-action-benchmark reads. "
            "Unreadable or foreign files are reported and skipped."
        ),
    )
    _options.add_storage(parser)
    parser.add_argument(
        "--from-hub",
        metavar="ORG/NAME",
        default=None,
        help="read the runs published to this dataset repo (--storage hf://datasets/ORG/NAME)",
    )
    parser.add_argument(
        "--output",
        type=_options.path_arg,
        default=DEFAULT_OUTPUT,
        metavar="DIR",
        help=f"folder for the report's files (default: {DEFAULT_OUTPUT}, git-ignored)",
    )
    parser.add_argument(
        "--format",
        dest="formats",
        action="append",
        type=_formats_arg,
        default=None,
        metavar="FORMATS",
        help=(
            f"comma-separated, repeatable: md (summary.md), html (index.html), json "
            "(benchmark-bigger-is-better.json and benchmark-smaller-is-better.json for "
            "github-action-benchmark), bencher (bencher-TESTBED.json per machine, Bencher "
            f"Metric Format) (default: {','.join(DEFAULT_FORMATS)})"
        ),
    )
    _options.add_thresholds(parser)
    parser.set_defaults(func=run)


def _formats_arg(text: str) -> tuple[str, ...]:
    names = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in FORMATS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown format {', '.join(unknown) or repr(text)}; choose from {', '.join(FORMATS)}"
        )
    return names


def _from_hub(args: argparse.Namespace) -> str:
    """--from-hub ORG/NAME as the storage it names (given with another --storage: an error)."""
    from whisperbench.errors import HistoryError
    from whisperbench.fleet import hub
    from whisperbench.history import DEFAULT_STORAGE

    if args.storage != DEFAULT_STORAGE:
        raise HistoryError("give --from-hub or --storage, not both")
    problem = hub.repo_id_problem(args.from_hub)
    if problem:
        raise HistoryError(f"--from-hub: {problem}")
    return hub.hub_storage(args.from_hub)


def run(args: argparse.Namespace) -> int:
    from whisperbench.errors import HistoryError, OutputError
    from whisperbench.folders import folder_problem
    from whisperbench.report.write import write_report

    if args.from_hub is not None:
        args.storage = _from_hub(args)
    formats = (
        tuple(dict.fromkeys(f for group in args.formats for f in group))
        if args.formats
        else DEFAULT_FORMATS
    )
    output = Path(args.output)
    problem = folder_problem(output, "the output folder", write=True)
    if problem is not None:
        raise OutputError(f"{problem}; pass another folder with --output")
    history = _options.load(args)
    if not history.runs:
        raise HistoryError(f"no readable runs in {history.storage}; nothing to report")
    print(f"{len(history.runs)} run(s) from {len(history.machines)} machine(s)")
    write_report(history, output, _options.limits(args), formats, progress=print)
    return 0
