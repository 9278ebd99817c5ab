"""Copy repos out of the session's offline hub cache so that a test can damage its own copy."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

TINY_CT2 = "Systran/faster-whisper-tiny.en"
TINY_TF = "openai/whisper-tiny.en"


def repo_dir(cache: Path, repo_id: str) -> Path:
    return cache / ("models--" + repo_id.replace("/", "--"))


def _link_or_copy(src: str, dst: str) -> None:
    """Hard-link blobs (fast, no extra disk); damage must then unlink before writing."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def copy_repos(source_cache: Path, target_cache: Path, *repo_ids: str) -> Path:
    """``repo_ids`` copied (symlinks kept, blobs hard-linked) into ``target_cache``."""
    target_cache.mkdir(parents=True, exist_ok=True)
    for repo_id in repo_ids:
        shutil.copytree(
            repo_dir(source_cache, repo_id),
            repo_dir(target_cache, repo_id),
            symlinks=True,
            copy_function=_link_or_copy,
        )
    return target_cache


def snapshot(cache: Path, repo_id: str) -> Path:
    folder = repo_dir(cache, repo_id)
    revision = (folder / "refs" / "main").read_text().strip()
    return folder / "snapshots" / revision


def blob_of(cache: Path, repo_id: str, name: str) -> Path:
    link = snapshot(cache, repo_id) / name
    return (link.parent / os.readlink(link)).resolve()


def replace_blob(cache: Path, repo_id: str, name: str, data: bytes) -> None:
    """Write ``data`` as the blob behind ``name`` without touching a hard-linked original."""
    blob = blob_of(cache, repo_id, name)
    blob.unlink()
    blob.write_bytes(data)


def make_fifo(cache: Path, repo_id: str, name: str) -> Path:
    """Replace ``name`` in the snapshot by a named pipe that nobody writes: opening it hangs."""
    path = snapshot(cache, repo_id) / name
    path.unlink()
    os.mkfifo(path)
    return path
