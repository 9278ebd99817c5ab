"""Folders that appear whole or not at all: built under a temporary name beside their place,
then renamed into it. A crash leaves only a hidden ``.NAME.tmp-*`` folder, never a half-written
``NAME``."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["building"]


def _aside(target: Path, what: str) -> Path:
    return target.with_name(f".{target.name}.{what}-{uuid.uuid4().hex[:8]}")


@contextmanager
def building(target: Path, *, replace: bool) -> Iterator[Path]:
    """A path (not yet created) to build ``target`` at; renamed to ``target`` when the block
    ends without an error, removed when it raises.

    ``replace``: an existing ``target`` is swapped out for the new folder. Otherwise an existing
    ``target`` (another process finished the same build first) is kept and the new one dropped.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = _aside(target, "tmp")
    try:
        yield temp
        if target.exists() and replace:
            old = _aside(target, "old")
            os.replace(target, old)
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.replace(temp, target)
        except OSError:  # another process put its folder there first
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(temp, ignore_errors=True)
