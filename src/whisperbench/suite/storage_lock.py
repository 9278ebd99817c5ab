"""One saving session at a time per pytest-benchmark file storage.

pytest-benchmark's ``FileStorage.save`` picks the next run number from the files it sees, then
checks that the name is free and opens it: two sessions that save at the same moment can pick
the same number, and in the same second the same name, so that one run overwrites the other.
The suite takes this lock (``<storage>/.whisperbench-save.lock``, a ``filelock`` lock, so it works
on every platform) before pytest-benchmark numbers the run and holds it until the file is
written; the next session then sees that file and takes the next number.
"""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock

__all__ = ["LOCK_NAME", "SaveLock", "file_storage_folder"]

LOCK_NAME = ".whisperbench-save.lock"
WAIT_S = 120.0
"""How long a session waits for another to finish saving (saving takes well under a second)."""


def file_storage_folder(storage: str) -> Path | None:
    """The folder of a pytest-benchmark storage option (``file://PATH`` or a bare path, as
    pytest-benchmark's ``load_storage`` reads it); None for another kind (elasticsearch)."""
    if "://" not in storage:
        return Path(storage)
    scheme, _, rest = storage.partition("://")
    return Path(rest) if scheme == "file" else None


class SaveLock:
    """The lock of one storage folder, taken at most once by a session."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_NAME
        self._lock: FileLock | None = None

    @property
    def held(self) -> bool:
        return self._lock is not None

    def acquire(self, timeout_s: float = WAIT_S) -> None:
        """Wait for the lock (``Timeout`` after ``timeout_s``); a no-op when already held."""
        if self._lock is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.path, timeout=timeout_s)
        lock.acquire()
        self._lock = lock

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None
