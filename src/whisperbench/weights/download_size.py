"""How much a download would still fetch, from the hub's file metadata.

Only the files matching the format's ``allow_patterns`` count (what ``whisperbench download``
fetches); files the cached snapshot already holds at the listed size are left out.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import HfApi

from whisperbench.weights.download import download_plans
from whisperbench.weights.inspection import WeightsStatus
from whisperbench.weights.offline import hub_offline, is_network_error

__all__ = ["OFFLINE", "DownloadEstimate", "estimate_download"]

METADATA_TIMEOUT_S = 5.0
"""Per request; the whole estimate gives up after ``TOTAL_TIMEOUT_S``."""
TOTAL_TIMEOUT_S = 15.0
OFFLINE = "unknown (offline)"


@dataclass(frozen=True)
class DownloadEstimate:
    bytes: int | None
    """None when unknown."""
    note: str
    """Empty when known; otherwise why it is unknown, e.g. ``unknown (offline)``."""

    def describe(self) -> str:
        return self.note if self.bytes is None else f"{self.bytes / 1_000_000:,.1f} MB"


def _cached_size(record: WeightsStatus, name: str) -> int | None:
    if record.snapshot_path is None:
        return None
    try:
        return (Path(record.snapshot_path) / name).stat().st_size
    except OSError:
        return None


def estimate_download(
    records: Iterable[WeightsStatus], api: HfApi | None = None
) -> DownloadEstimate:
    """Bytes still to fetch for the ``missing`` and ``incomplete`` records (each repo once)."""
    needing: dict[str, tuple[WeightsStatus, tuple[str, ...]]] = {}
    for record in records:
        if record.status in ("missing", "incomplete") and record.repo_id:
            plan = download_plans(record.model, record.format)[0]  # what download fetches first
            needing.setdefault(plan.repo_id, (record, plan.allow_patterns))
    if not needing:
        return DownloadEstimate(0, "")
    if hub_offline():
        return DownloadEstimate(None, OFFLINE)
    api = api or HfApi()
    deadline = time.monotonic() + TOTAL_TIMEOUT_S
    total = 0
    for repo_id, (record, patterns) in needing.items():
        if time.monotonic() > deadline:
            return DownloadEstimate(None, "unknown (the hub answered too slowly)")
        try:
            info = api.model_info(repo_id, files_metadata=True, timeout=METADATA_TIMEOUT_S)
        except Exception as exc:  # the hub raises many types: DNS, HTTP, gated, not found
            if is_network_error(exc):
                return DownloadEstimate(None, OFFLINE)
            return DownloadEstimate(None, f"unknown ({repo_id}: {type(exc).__name__})")
        for sibling in info.siblings or []:
            if not any(fnmatch.fnmatch(sibling.rfilename, p) for p in patterns):
                continue
            size = sibling.size or 0
            cached = _cached_size(record, sibling.rfilename) if repo_id == record.repo_id else None
            if cached != size:
                total += size
    return DownloadEstimate(total, "")
