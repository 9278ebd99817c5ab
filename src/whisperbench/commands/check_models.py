"""``whisperbench check-models``: which models are cached, whole and loadable, and what to fetch.

Exit code 0 when every (implementation, model) asked for is ready, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from whisperbench.commands._cache_options import add_cache_dir, add_model_selection, selection
from whisperbench.commands._model_status import ModelStatus, inspect_rows
from whisperbench.weights import STATUSES, cache_dir_flag, estimate_download, status_counts

DEFAULT_MODEL = "medium"
MAX_FIX_LINES = 4
PIPED_WIDTH = 160
_STYLES = {
    "complete": "green",
    "incomplete": "yellow",
    "missing": "red",
    "error": "red",
    "timeout": "magenta",
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check-models",
        description="Inspect the Hugging Face cache for each (implementation, model): complete, "
        "incomplete, missing, error (fails to load) or timeout (load exceeded its limit). "
        "Exit code 0 when all are ready, 1 otherwise.",
    )
    add_model_selection(parser, DEFAULT_MODEL)
    parser.add_argument(
        "--verify-method",
        choices=("load", "cache-only"),
        default="load",
        help="load: also load each complete model in a child process, killed at the model "
        "map's limit; cache-only: file checks only (default: load)",
    )
    parser.add_argument(
        "--verify-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="override the model map's load limit (15 s, 30 s for large)",
    )
    add_cache_dir(parser)
    parser.add_argument("--json", action="store_true", help="print the records as JSON (for CI)")
    parser.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="more columns (revision, load time, snapshot) and progress while loading",
    )
    parser.set_defaults(func=run)


def free_disk_bytes(path: Path) -> int | None:
    """Free bytes on the filesystem of ``path`` (or of its nearest existing parent)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return shutil.disk_usage(candidate).free
    return None


def summary(records: list[ModelStatus], cache_dir: Path) -> dict[str, Any]:
    counts = status_counts(records)
    estimate = estimate_download(records)
    return {
        "cache_dir": str(cache_dir),
        "counts": {"ready": counts["complete"], **{s: counts[s] for s in STATUSES[1:]}},
        "all_ready": all(record.ready for record in records),
        "free_disk_bytes": free_disk_bytes(cache_dir),
        "download_needed_bytes": estimate.bytes,
        "download_needed": estimate.describe(),
    }


def records_table(records: list[ModelStatus], verbose: bool) -> Table:
    table = Table(title="whisperbench check-models")
    columns = ["Implementation", "Model", "Repo", "Status", "Size (MB)", "Reason"]
    if verbose:
        columns[5:5] = ["Revision", "Load s"]
    for column in columns:
        wraps = column in ("Repo", "Reason")
        table.add_column(
            column,
            justify="right" if column in ("Size (MB)", "Load s") else "left",
            overflow="fold" if wraps else "ellipsis",
            no_wrap=not wraps,
            ratio=2 if column == "Reason" else (1 if wraps else None),
        )
    for record in records:
        row = [
            record.implementation,
            record.model,
            record.repo_id or "-",
            f"[{_STYLES[record.status]}]{record.status}[/]",
            f"{record.size_mb:,.1f}" if record.size_on_disk else "-",
            record.reason,
        ]
        if verbose:
            row[5:5] = [
                (record.revision or "-")[:12],
                "-" if record.load_s is None else f"{record.load_s:.1f}",
            ]
        table.add_row(*row)
    return table


def fix_lines(
    records: list[ModelStatus], cache_dir: Path | None = None, limit: int = MAX_FIX_LINES
) -> list[str]:
    """Each record's fix command; past ``limit`` of them, one download for them all
    (``cache_dir``: the ``--cache-dir`` given, which the commands repeat)."""
    fixes = list(dict.fromkeys(record.fix for record in records if record.fix))
    if len(fixes) <= limit:
        return fixes
    needing = [record for record in records if record.fix]
    sizes = ",".join(dict.fromkeys(record.model for record in needing))
    names = ",".join(dict.fromkeys(record.implementation for record in needing))
    flag = cache_dir_flag(cache_dir)
    return [
        f"whisperbench download --model {sizes} --implementations {names}{flag}  (offline: "
        f"whisperbench import-model DIR --repo-id REPO{flag}, or whisperbench import-model "
        f"--bundled SIZE{flag} for a bundled model)"
    ]


def _print_report(
    console: Console,
    records: list[ModelStatus],
    info: dict[str, Any],
    verbose: bool,
    cache_dir: Path | None,
) -> None:
    console.print(records_table(records, verbose))
    counts = info["counts"]
    console.print(
        " · ".join(
            f"{name} {count}"
            for name, count in counts.items()
            if count or name in ("ready", "incomplete", "missing")
        )
    )
    free = info["free_disk_bytes"]
    free_text = "unknown" if free is None else f"{free / 1e9:,.1f} GB"
    console.print(f"cache: {info['cache_dir']}  ·  free disk: {free_text}", soft_wrap=True)
    console.print(f"download still needed: {info['download_needed']}")
    for fix in fix_lines(records, cache_dir):
        console.print(f"fix: {fix}", soft_wrap=True, markup=False, highlight=False)
    if verbose:
        for record in records:
            if record.snapshot_path:
                console.print(
                    f"{record.implementation} {record.model}: {record.snapshot_path}",
                    soft_wrap=True,
                    highlight=False,
                )


def _stdout_console() -> Console:
    """A terminal's own width; piped (CI logs) 160 columns rather than rich's 80, unless COLUMNS."""
    console = Console()
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console = Console(width=PIPED_WIDTH)
    return console


def run(args: argparse.Namespace) -> int:
    chosen = selection(args)
    errors = Console(stderr=True)

    def progress(message: str) -> None:
        if args.verbose or not args.json:
            errors.print(f"[dim]{message}…[/]", highlight=False)

    records = inspect_rows(
        chosen.implementations,
        chosen.sizes,
        cache_dir=chosen.cache_dir,
        verify_method=args.verify_method,
        timeout_s=args.verify_timeout,
        progress=progress,
    )
    info = summary(records, chosen.cache_root)
    if args.json:
        payload = {"records": [record.to_dict() for record in records], "summary": info}
        print(json.dumps(payload, indent=2))
    else:
        _print_report(_stdout_console(), records, info, args.verbose, chosen.cache_dir)
    return 0 if info["all_ready"] else 1
