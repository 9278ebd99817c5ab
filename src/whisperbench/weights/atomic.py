"""Folders that appear whole or not at all: built under a temporary name beside their place,
then renamed into it. A crash leaves only a hidden ``.NAME.tmp-*`` folder, never a half-written
``NAME``. ``build_once`` also lets processes that need the same folder at the same time (two
pytest-xdist workers on a fresh machine, two shells) take turns: one builds, the others wait on a
lock file beside it (``.NAME.lock``) and then use its result."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from filelock import FileLock

__all__ = ["build_once", "building"]


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
            with suppress(FileNotFoundError):  # another process moved it aside first
                os.replace(target, old)
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.replace(temp, target)
        except OSError:  # another process put its folder there first
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def build_once(
    target: Path, is_current: Callable[[Path], bool], write: Callable[[Path], None]
) -> Path:
    """``target``, written by ``write`` (into a path it creates) unless ``is_current(target)``.

    The check and the build run under a lock beside ``target``, so of several processes that
    find it missing at once, one builds and the others reuse its folder; none swaps a folder out
    from under another that is reading it. An out-of-date ``target`` is replaced whole.
    """
    if is_current(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(target.with_name(f".{target.name}.lock")):
        if is_current(target):
            return target
        with building(target, replace=True) as temp:
            write(temp)
    return target
