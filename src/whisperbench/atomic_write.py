"""Files that appear whole or not at all: written to a temporary file in the same folder,
flushed to the disk, then renamed over the target (``os.replace`` is atomic within a file
system). A failure (a full disk, a kill) leaves the old file, or none, and never a partial one;
the temporary file is removed when the write fails.

``write_file`` is the one place where whisperbench writes a results file's bytes (the run
files, ``--benchmark-json``, the report, the storage's start-up probe), so that the tests can
put a full disk there where no small file system can be mounted."""

from __future__ import annotations

import os
import uuid
from contextlib import suppress
from pathlib import Path

__all__ = ["write_atomic", "write_file"]


def write_file(path: Path, data: bytes) -> None:
    """Create ``path`` (it must not exist yet) holding ``data``, flushed to the disk; created
    as ``open()`` creates files (mode 0666 less the umask), unlike mkstemp's 0600."""
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    with os.fdopen(handle, "wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; ``OSError`` when it cannot be written,
    with nothing left behind."""
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write_file(temp, text.encode("utf-8"))
        os.replace(temp, path)
    except BaseException as exc:
        with suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError) and exc.errno is not None:  # name the file, not the temp
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
