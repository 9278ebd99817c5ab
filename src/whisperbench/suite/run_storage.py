"""Where a benchmark session saves its run, and how, so that measured results are never lost
nor half-written:

- ``storage_problem``: checked when the session starts (before any model loads): the storage
  folder, and the machine's folder in it that the run goes into, are folders that can be
  written, with room for a run file (a real write of that size, so that full disks, read-only
  mounts and quotas all show); ``json_problem`` checks ``--benchmark-json``'s file likewise;
- ``SafeFileStorage``: pytest-benchmark's file storage whose ``save`` writes the run atomically
  (``atomic_write``); when the storage cannot take it after all (the disk filled during the
  session), the run goes to a fallback folder (``fallback_folders``), and ``failure`` says
  where, so that the session can name it and fail. ``save_or_fall_back`` does the same for
  any other results file (``--benchmark-json``).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_benchmark.storage.file import FileStorage
from pytest_benchmark.utils import safe_dumps

from whisperbench import atomic_write
from whisperbench.atomic_write import write_atomic
from whisperbench.folders import folder_problem

__all__ = [
    "FALLBACK_NAME",
    "ROOM_NEEDED",
    "SafeFileStorage",
    "SaveFailure",
    "describe_os_error",
    "json_problem",
    "safe_dumps",
    "save_or_fall_back",
    "storage_problem",
]

ROOM_NEEDED = 2**20
"""Room a run file needs (1 MiB: a run of a few dozen cases takes 20-100 KB, with
``--benchmark-save-data`` more)."""
FALLBACK_NAME = "whisperbench-unsaved"
"""The folder, under the temporary folder (else the home folder, else the current one), that
takes a run its storage could not."""


def describe_os_error(exc: OSError) -> str:
    """``No space left on device`` and the like: the system's words, without the errno."""
    return exc.strerror or str(exc) or type(exc).__name__


def storage_problem(
    folder: Path, room: int = ROOM_NEEDED, machine_id: str | None = None
) -> str | None:
    """Why ``folder`` cannot take a run file now (None: it can): a file, or under one; a
    folder that cannot be created or written; or too little room for ``room`` bytes, found by
    writing them (and removing them again). With ``machine_id``, the machine's folder in it
    (where pytest-benchmark puts the run) is checked too, and the room is tried there."""
    what = "the benchmark storage"
    problem = folder_problem(folder, what, write=True)
    machine = folder / machine_id if machine_id else None
    if problem is None and machine is not None:
        problem = folder_problem(machine, f"{what}'s machine folder", write=True)
    if problem is not None:
        return problem
    if machine is not None and machine.is_dir():  # the folder the run goes into
        return _room_problem(machine, room, f"{what}'s machine folder")
    return _room_problem(folder, room, what)


def json_problem(path: Path, room: int = ROOM_NEEDED) -> str | None:
    """Why ``path`` (``--benchmark-json``) cannot take the results file now (None: it can)."""
    what = "the --benchmark-json file"
    if path.is_dir():
        return f"{what} {path} is a folder; give a file name"
    folder = path.parent
    problem = folder_problem(folder, f"{what}'s folder", write=True)
    return problem or _room_problem(folder, room, f"{what}'s folder")


def _room_problem(folder: Path, room: int, what: str) -> str | None:
    """Create ``folder`` and write ``room`` bytes into it (removed again): why that fails."""
    probe = folder / f".whisperbench-probe-{uuid.uuid4().hex[:8]}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        try:
            atomic_write.write_file(probe, b"\0" * room)
        finally:
            with suppress(FileNotFoundError):
                probe.unlink()
    except OSError as exc:
        return f"{what} {folder} cannot take a run file ({describe_os_error(exc)})"
    return None


@dataclass(frozen=True)
class SaveFailure:
    """A run that its storage could not take, and where it went instead (None: nowhere)."""

    target: Path
    reason: str
    fallback: Path | None
    fallback_reasons: tuple[str, ...] = ()

    def line(self) -> str:
        """One line: what failed, where the run is now, and what to do with it."""
        cut = f"the run could not be saved as {self.target} ({self.reason})"
        if self.fallback is None:
            tried = "; ".join(self.fallback_reasons)
            return f"{cut}, nor in a fallback folder ({tried}): the measurements are lost"
        return (
            f"{cut}; it was saved as {self.fallback} instead: move it into "
            f"{self.target.parent} once there is room"
        )


def fallback_folders() -> list[Path]:
    """Where a run goes when its storage cannot take it, in order of preference."""
    return [
        Path(root) / FALLBACK_NAME
        for root in (tempfile.gettempdir(), os.path.expanduser("~"), os.getcwd())
    ]


class SafeFileStorage(FileStorage):  # type: ignore[misc]
    """pytest-benchmark's ``FileStorage`` with an atomic ``save`` that falls back."""

    failure: SaveFailure | None = None
    saved: Path | None = None

    @classmethod
    def like(cls, storage: Any) -> SafeFileStorage:
        """The same storage (folder, logger, machine id) as ``storage``."""
        return cls(storage.path, storage.logger, storage.default_machine_id)

    def save(self, output_json: dict[str, Any], save: str) -> None:
        name = f"{self._next_num}_{save}.json"
        target: Path = self.get(name)  # type: ignore[no-untyped-call]
        text: str = safe_dumps(output_json, ensure_ascii=True, indent=4)  # type: ignore[no-untyped-call]
        self.failure = save_or_fall_back(target, text, target.parent.name)
        if self.failure is None:
            self.saved = target
            self.logger.info(f"Saved benchmark data in: {target}")


def save_or_fall_back(target: Path, text: str, subfolder: str = "") -> SaveFailure | None:
    """Write ``text`` to ``target`` atomically (its folder created); when that fails, into
    ``subfolder`` of the first fallback folder that takes it. None: saved as asked."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, text)
    except OSError as exc:
        return _fall_back(target, describe_os_error(exc), text, fallback_folders(), subfolder)
    return None


def _fall_back(
    target: Path, reason: str, text: str, folders: Iterable[Path], subfolder: str = ""
) -> SaveFailure:
    problems = []
    for folder in folders:
        path = folder / subfolder / target.name if subfolder else folder / target.name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, text)
        except OSError as exc:
            problems.append(f"{path.parent}: {describe_os_error(exc)}")
            continue
        return SaveFailure(target, reason, path)
    return SaveFailure(target, reason, None, tuple(problems))
