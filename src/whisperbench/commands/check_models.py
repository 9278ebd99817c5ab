"""``whisperbench check-models``: which models are cached, whole and loadable, and what to fetch.

Exit code 0 when every (implementation, model) asked for is ready, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from whisperbench.cache import (
    STATUSES,
    ModelStatus,
    inspect_many,
    resolve_cache_dir,
    status_counts,
)
from whisperbench.download_size import estimate_download
from whisperbench.implementations import parse_implementation_list
from whisperbench.models import parse_model_list

DEFAULT_MODEL = "medium"
_STYLES = {
    "complete": "green", "incomplete": "yellow", "missing": "red", "error": "red",
    "timeout": "magenta",
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check-models",
        help="show which models are cached, complete and loadable",
        description="Inspect the Hugging Face cache for each (implementation, model): complete, "
        "incomplete, missing, error (fails to load) or timeout (load exceeded its limit). "
        "Exit code 0 when all are ready, 1 otherwise.",
    )
    parser.add_argument(
        "--model", default=DEFAULT_MODEL,
        help=f"a size, a comma-separated list, or 'all' (default: {DEFAULT_MODEL})",
    )
    parser.add_argument(
        "--implementations", default="all",
        help="comma-separated implementation names, or 'all' registered ones (default: all)",
    )
    parser.add_argument(
        "--verify-method", choices=("load", "cache-only"), default="load",
        help="load: also load each complete model in a child process, killed at the model "
        "map's limit; cache-only: file checks only (default: load)",
    )
    parser.add_argument(
        "--verify-timeout", type=float, default=None, metavar="SECONDS",
        help="override the model map's load limit (15 s, 30 s for large)",
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=None,
        help="Hugging Face hub cache (default: HF_HUB_CACHE, else HF_HOME/hub)",
    )
    parser.add_argument("--json", action="store_true", help="print the records as JSON (for CI)")
    parser.add_argument(
        "--verbose", "-v", action="store_true",
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
        table.add_column(column, justify="right" if column in ("Size (MB)", "Load s") else "left")
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


def _print_report(console: Console, records: list[ModelStatus], info: dict[str, Any],
                  verbose: bool) -> None:
    console.print(records_table(records, verbose))
    counts = info["counts"]
    console.print(
        " · ".join(f"{name} {count}" for name, count in counts.items()
                   if count or name in ("ready", "incomplete", "missing"))
    )
    free = info["free_disk_bytes"]
    free_text = "unknown" if free is None else f"{free / 1e9:,.1f} GB"
    console.print(f"cache: {info['cache_dir']}  ·  free disk: {free_text}", soft_wrap=True)
    console.print(f"download still needed: {info['download_needed']}")
    fixes = dict.fromkeys(record.fix for record in records if record.fix)
    for fix in fixes:
        console.print(f"fix: {fix}", soft_wrap=True, markup=False, highlight=False)
    if verbose:
        for record in records:
            if record.snapshot_path:
                console.print(
                    f"{record.implementation} {record.model}: {record.snapshot_path}",
                    soft_wrap=True, highlight=False,
                )


def run(args: argparse.Namespace) -> int:
    sizes = parse_model_list(args.model)
    implementations = parse_implementation_list(args.implementations)
    cache_dir = resolve_cache_dir(args.cache_dir)
    errors = Console(stderr=True)

    def progress(message: str) -> None:
        if args.verbose or not args.json:
            errors.print(f"[dim]{message}…[/]", highlight=False)

    records = inspect_many(
        implementations, sizes, cache_dir=cache_dir, verify_method=args.verify_method,
        timeout_s=args.verify_timeout, progress=progress,
    )
    info = summary(records, cache_dir)
    if args.json:
        payload = {"records": [record.to_dict() for record in records], "summary": info}
        print(json.dumps(payload, indent=2))
    else:
        _print_report(Console(), records, info, args.verbose)
    return 0 if info["all_ready"] else 1
