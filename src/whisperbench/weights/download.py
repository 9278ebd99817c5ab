"""Download (or complete) a model's snapshot from the Hugging Face Hub: only the files its format
needs. No machine of this project reaches the Hub; users' machines do."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import snapshot_download

from whisperbench.models import get_model, native_repo
from whisperbench.weights.formats import get_format, repo_files_format
from whisperbench.weights.layout import resolve_cache_dir
from whisperbench.weights.partials import StalePartials, remove_stale_partials

__all__ = ["DownloadPlan", "Downloaded", "download_plans", "download_snapshot"]


@dataclass(frozen=True)
class DownloadPlan:
    """One repository to download, and which of its files."""

    repo_id: str
    weights_format: str
    allow_patterns: tuple[str, ...]


@dataclass(frozen=True)
class Downloaded:
    snapshot: Path
    partials: StalePartials
    """What earlier, interrupted downloads of the repo had left, now removed (or still busy)."""


def download_snapshot(
    repo_id: str,
    weights_format: str,
    cache_dir: Path | None = None,
    allow_patterns: Sequence[str] | None = None,
) -> Downloaded:
    """Fetch the files of ``repo_id`` that ``weights_format`` needs (or ``allow_patterns``) into
    the hub cache (the one ``layout.resolve_cache_dir`` gives); show the hub's progress bars. A
    format converted from another downloads its source's files. Once the snapshot is whole, the
    ``.incomplete`` blobs that killed downloads left are removed (``partials``)."""
    patterns = repo_files_format(weights_format).allow_patterns
    cache = resolve_cache_dir(cache_dir)
    path = snapshot_download(
        repo_id,
        cache_dir=cache,
        allow_patterns=list(allow_patterns if allow_patterns is not None else patterns),
    )
    return Downloaded(Path(path), remove_stale_partials(cache, repo_id))


def download_plans(size: str, weights_format: str) -> list[DownloadPlan]:
    """What to download for ``size`` in ``weights_format``, in order of preference: the
    format's native repo where it has one (online users get the engine's own files), then the
    repo it is read or converted from."""
    plans = []
    native = native_repo(size, weights_format)
    if native is not None and get_format(weights_format).conversion is not None:
        plans.append(DownloadPlan(native.repo_id, weights_format, native.allow_patterns))
    source = repo_files_format(weights_format)
    repo_id = get_model(size).repo_id(source.name)
    plans.append(DownloadPlan(repo_id, source.name, source.allow_patterns))
    return plans
