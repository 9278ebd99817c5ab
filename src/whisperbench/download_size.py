"""How much a download would still fetch, from the hub's file metadata, and whether we are offline.

Only the files matching the family's ``allow_patterns`` count (what ``whisperbench download``
fetches); files the cached snapshot already holds at the listed size are left out.
"""

from __future__ import annotations

import fnmatch
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import HfApi
from huggingface_hub import constants as hub_constants
from huggingface_hub.errors import LocalEntryNotFoundError, OfflineModeIsEnabled

from whisperbench.cache import ModelStatus
from whisperbench.models import FAMILY_FILES, Family, get_model

METADATA_TIMEOUT_S = 5.0
"""Per request; the whole estimate gives up after ``TOTAL_TIMEOUT_S``."""
TOTAL_TIMEOUT_S = 15.0
OFFLINE = "unknown (offline)"
_TRUE = {"1", "on", "yes", "true"}
_NETWORK_ERROR_NAMES = {
    "ConnectError",
    "ConnectTimeout",
    "ReadTimeout",
    "TimeoutException",
    "NetworkError",
    "TransportError",
    "ProxyError",
}


def offline_mode() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE), read now as well as at huggingface_hub's import."""
    env = os.environ
    flag = env.get("HF_HUB_OFFLINE") or env.get("TRANSFORMERS_OFFLINE") or ""
    return flag.strip().lower() in _TRUE or bool(hub_constants.HF_HUB_OFFLINE)


def is_network_error(exc: BaseException) -> bool:
    """True when ``exc`` (or what it was raised from) says the hub cannot be reached."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(
            current, OfflineModeIsEnabled | LocalEntryNotFoundError | ConnectionError | TimeoutError
        ):
            return True
        if any(cls.__name__ in _NETWORK_ERROR_NAMES for cls in type(current).__mro__):
            return True
        current = current.__cause__ or current.__context__
    return False


@dataclass(frozen=True)
class DownloadEstimate:
    bytes: int | None
    """None when unknown."""
    note: str
    """Empty when known; otherwise why it is unknown, e.g. ``unknown (offline)``."""

    def describe(self) -> str:
        return self.note if self.bytes is None else f"{self.bytes / 1_000_000:,.1f} MB"


def _family_of(record: ModelStatus) -> Family | None:
    repos = get_model(record.model).repos
    return next((family for family, repo in repos.items() if repo == record.repo_id), None)


def _cached_size(record: ModelStatus, name: str) -> int | None:
    if record.snapshot_path is None:
        return None
    try:
        return (Path(record.snapshot_path) / name).stat().st_size
    except OSError:
        return None


def estimate_download(records: Iterable[ModelStatus], api: HfApi | None = None) -> DownloadEstimate:
    """Bytes still to fetch for the ``missing`` and ``incomplete`` records (each repo once)."""
    needing: dict[str, tuple[Family, ModelStatus]] = {}
    for record in records:
        family = _family_of(record)
        if record.status in ("missing", "incomplete") and record.repo_id and family:
            needing.setdefault(record.repo_id, (family, record))
    if not needing:
        return DownloadEstimate(0, "")
    if offline_mode():
        return DownloadEstimate(None, OFFLINE)
    api = api or HfApi()
    deadline = time.monotonic() + TOTAL_TIMEOUT_S
    total = 0
    for repo_id, (family, record) in needing.items():
        if time.monotonic() > deadline:
            return DownloadEstimate(None, "unknown (the hub answered too slowly)")
        try:
            info = api.model_info(repo_id, files_metadata=True, timeout=METADATA_TIMEOUT_S)
        except Exception as exc:  # the hub raises many types: DNS, HTTP, gated, not found
            if is_network_error(exc):
                return DownloadEstimate(None, OFFLINE)
            return DownloadEstimate(None, f"unknown ({repo_id}: {type(exc).__name__})")
        patterns = FAMILY_FILES[family].allow_patterns
        for sibling in info.siblings or []:
            if not any(fnmatch.fnmatch(sibling.rfilename, p) for p in patterns):
                continue
            size = sibling.size or 0
            if _cached_size(record, sibling.rfilename) != size:
                total += size
    return DownloadEstimate(total, "")
