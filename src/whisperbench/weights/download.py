"""Download (or resume) a model's snapshot from the Hugging Face Hub: only the files its format
needs. No machine of this project reaches the Hub; users' machines do."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import snapshot_download

from whisperbench.weights.formats import repo_files_format
from whisperbench.weights.layout import resolve_cache_dir

__all__ = ["download_snapshot"]


def download_snapshot(repo_id: str, weights_format: str, cache_dir: Path | None = None) -> Path:
    """Fetch the files of ``repo_id`` that ``weights_format`` needs into the hub cache (the one
    ``layout.resolve_cache_dir`` gives); show the hub's progress bars. A format converted from
    another downloads its source's files."""
    source = repo_files_format(weights_format)
    path = snapshot_download(
        repo_id,
        cache_dir=resolve_cache_dir(cache_dir),
        allow_patterns=list(source.allow_patterns),
    )
    return Path(path)
