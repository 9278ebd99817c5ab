"""Whether a folder can serve as the place something is read from or written to, said in one
line: a path that is a file, or lies under one, or a folder that cannot be written. Checked
with ``os.access``; nothing is created. The model cache (``weights.layout``), the benchmark
storage (``run_storage``) and the report's output folder use it."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["folder_problem", "nearest_existing"]


def nearest_existing(path: Path) -> Path:
    """``path`` or the nearest of its parents that exists."""
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(path.anchor or ".")


def folder_problem(folder: Path, what: str, *, write: bool) -> str | None:
    """Why ``folder`` (called ``what``, e.g. "the cache folder") cannot serve, or None: it is
    a file or lies under one; with ``write``, it (or the parent it would be created in) cannot
    be written."""
    existing = nearest_existing(folder)
    if not existing.is_dir():
        kind = "a file" if existing.is_file() else "not a folder"
        where = "is" if existing == folder else f"lies under {existing}, which is"
        return f"{what} {folder} {where} {kind}"
    if write and not os.access(existing, os.W_OK | os.X_OK):
        if existing == folder:
            return f"{what} {folder} cannot be written ({_why_not_writable(existing)})"
        return f"{what} {folder} cannot be created: {existing} cannot be written"
    return None


def _why_not_writable(folder: Path) -> str:
    try:
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs (Windows)
        read_only = False
    return "read-only file system" if read_only else "permission denied"
