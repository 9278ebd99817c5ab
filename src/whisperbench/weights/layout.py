"""Where model files live: the Hugging Face hub cache and its layout, and whisperbench's own
folder for what it builds (the joined bundled models, conversions).

The hub cache folder is resolved here and nowhere else, from the environment as it is when
asked (``huggingface_hub.constants`` reads it once, at import, which tests and the suite's
``--offline`` change later). A repo lives in ``<cache>/models--org--name``: ``refs/main`` names a
revision, ``snapshots/<revision>/`` holds links to ``blobs/``.
"""

from __future__ import annotations

import os
from pathlib import Path

from whisperbench.errors import CacheDirError, ModelImportError
from whisperbench.folders import folder_problem

__all__ = [
    "cache_dir_problem",
    "check_cache_dir",
    "holds_models",
    "read_main_ref",
    "repo_folder",
    "repo_folder_name",
    "resolve_cache_dir",
    "snapshot_folder",
    "whisperbench_cache_root",
]


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(os.path.expandvars(value)).expanduser() if value else None


def _xdg_cache_home() -> Path:
    return _env_path("XDG_CACHE_HOME") or Path(os.path.expanduser("~")) / ".cache"


def resolve_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """The hub cache folder: ``cache_dir`` when given, else HF_HUB_CACHE (or its older name
    HUGGINGFACE_HUB_CACHE), else HF_HOME/hub, else ~/.cache/huggingface/hub (XDG_CACHE_HOME
    honoured), read from the environment now."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        found = _env_path(name)
        if found is not None:
            return found
    home = _env_path("HF_HOME")
    if home is not None:
        return home / "hub"
    return _xdg_cache_home() / "huggingface" / "hub"


def cache_dir_problem(cache_dir: Path, *, write: bool) -> str | None:
    """Why ``cache_dir`` cannot be a hub cache (None: it can): a file, or a path under one;
    with ``write`` (an import or a download goes into it) also a folder that cannot be
    written, or a missing one that cannot be created (``folders.folder_problem``)."""
    return folder_problem(cache_dir, "the cache folder", write=write)


def holds_models(cache_dir: Path) -> bool:
    """Whether ``cache_dir`` holds any model repo (``models--*``) at all."""
    try:
        return any(entry.name.startswith("models--") for entry in os.scandir(cache_dir))
    except OSError:
        return False


def check_cache_dir(cache_dir: str | Path | None, *, write: bool) -> Path:
    """The hub cache folder (``resolve_cache_dir``), or ``CacheDirError`` saying why it cannot
    serve and what to do (see ``cache_dir_problem``)."""
    folder = resolve_cache_dir(cache_dir)
    problem = cache_dir_problem(folder, write=write)
    if problem is None:
        return folder
    fix = (
        "pass another folder with --cache-dir"
        if cache_dir is not None
        else "point HF_HUB_CACHE (or HF_HOME) at another folder, or pass --cache-dir"
    )
    raise CacheDirError(f"{problem}; {fix}")


def whisperbench_cache_root() -> Path:
    """``~/.cache/whisperbench`` (``$XDG_CACHE_HOME/whisperbench``): folders whisperbench builds."""
    return _xdg_cache_home() / "whisperbench"


def repo_folder_name(repo_id: str) -> str:
    """``models--org--name`` for ``org/name``; anything else is refused with the expected form."""
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise ModelImportError(f"repo id {repo_id!r} must look like ORG/NAME")
    return "models--" + repo_id.replace("/", "--")


def repo_of(path: Path) -> str | None:
    """``org/name`` of the hub-cache snapshot that ``path`` lies in (a snapshot folder or a file
    in it), or None for a path outside a hub cache."""
    for folder in (path, *path.parents):
        if folder.parent.name == "snapshots" and folder.parent.parent.name.startswith("models--"):
            org, _, name = folder.parent.parent.name.removeprefix("models--").partition("--")
            return f"{org}/{name}" if name else None
    return None


def repo_folder(cache_dir: Path, repo_id: str) -> Path:
    """``<cache>/models--org--name``, as huggingface_hub lays a model repo out."""
    return cache_dir / repo_folder_name(repo_id)


def read_main_ref(repo_dir: Path) -> str | None:
    """The revision ``refs/main`` names, or None when it is absent or empty."""
    try:
        return (repo_dir / "refs" / "main").read_text().strip() or None
    except OSError:
        return None


def snapshot_folder(repo_dir: Path, revision: str) -> Path:
    return repo_dir / "snapshots" / revision
