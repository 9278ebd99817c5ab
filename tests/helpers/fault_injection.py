"""Test-only pytest plugin (loaded with ``-p helpers.fault_injection``) that makes a benchmark
session go wrong on purpose, for ``tests/test_reliability.py``; product code knows nothing of it.

- ``WHISPERBENCH_TEST_INTERRUPT_AT=N``: the N-th transcription of a loaded model sends SIGINT to
  this process, a real Ctrl-C (with one warm-up round, transcription 1 is the cold run and
  2, 3, ... are the timed rounds of the first clip); ``WHISPERBENCH_TEST_SIGNAL=TERM`` (or
  ``HUP``) sends that signal instead, as ``timeout``, a CI runner or a closed terminal does;
- ``WHISPERBENCH_TEST_SIGNAL_WHILE_COLLECTING=TERM`` (or ``HUP``, ``INT``): that signal, sent
  to this process while pytest collects the cases (before any model loads);
- ``WHISPERBENCH_TEST_SAY=TEXT``: every transcription returns TEXT (an empty TEXT fails the
  transcription case's own check);
- ``WHISPERBENCH_TEST_SAVE_BARRIER=DIR:N``: saving waits, spinning, until N sessions have
  reached the same point (each leaves a file in DIR), so that they then save at the same
  moment. It runs before the suite's own hooks, so before the storage lock is taken;
- ``WHISPERBENCH_TEST_HANG_LOAD=IMPLEMENTATION/SIZE:FIFO``: loading that model first opens the
  named pipe FIFO, which nobody writes: the load blocks in the ``open`` system call, as a load
  from a hung network file system would (the cache check finds a pipe inside a snapshot, so the
  pipe is kept outside it);
- ``WHISPERBENCH_TEST_FILL_DISK=FOLDER``: when the session saves, a file in FOLDER takes every
  free byte of its file system (a real full disk, met by the write of the run);
- ``WHISPERBENCH_TEST_NO_SPACE=FOLDER``: the same where no small file system can be mounted:
  from the moment the session saves, every write of a results file under FOLDER fails with
  ENOSPC (``no_space``: an ``OSError`` injected at ``atomic_write.write_file``).
"""

from __future__ import annotations

import dataclasses
import errno
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpers.regression_injection import wrap_transcribe

BARRIER_WAIT_S = 120.0


def pytest_configure(config: pytest.Config) -> None:
    hang = os.environ.get("WHISPERBENCH_TEST_HANG_LOAD")
    if not hang:
        return
    from whisperbench.implementations import get_implementation

    target, _, fifo = hang.partition(":")
    name, _, size = target.partition("/")
    cls = get_implementation(name)
    original = cls.load

    def load(self: Any, snapshot: Any, info: Any) -> None:
        if info.size == size:
            with open(fifo, "rb"):  # blocks until a writer opens the pipe: never
                pass
        original(self, snapshot, info)

    cls.load = load  # type: ignore[method-assign]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    name = os.environ.get("WHISPERBENCH_TEST_SIGNAL_WHILE_COLLECTING")
    if name:
        os.kill(os.getpid(), signal.Signals[f"SIG{name}"])


@pytest.hookimpl
def pytest_whisperbench_model_loaded(implementation: Any, config: pytest.Config) -> None:
    interrupt_at = int(os.environ.get("WHISPERBENCH_TEST_INTERRUPT_AT", "0") or 0)
    say = os.environ.get("WHISPERBENCH_TEST_SAY")
    if not interrupt_at and say is None:
        return
    if interrupt_at and signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # A process started in the background by a shell without job control (nohup, a CI
        # runner's `cmd &`) inherits SIGINT ignored; Ctrl-C at a terminal reaches Python's
        # handler, which is what this fault stands for.
        signal.signal(signal.SIGINT, signal.default_int_handler)

    number = signal.Signals[f"SIG{os.environ.get('WHISPERBENCH_TEST_SIGNAL', 'INT')}"]

    def interrupt(call: int) -> None:
        if call == interrupt_at:
            os.kill(os.getpid(), number)

    def saying(result: Any) -> Any:
        return dataclasses.replace(result, text=say)

    wrap_transcribe(implementation, before=interrupt, change=saying if say is not None else None)


@pytest.hookimpl(tryfirst=True)
def pytest_benchmark_update_json(
    config: pytest.Config, benchmarks: list[Any], output_json: dict[str, Any]
) -> None:
    fill = os.environ.get("WHISPERBENCH_TEST_FILL_DISK")
    if fill:
        fill_file_system(Path(fill))
    full = os.environ.get("WHISPERBENCH_TEST_NO_SPACE")
    if full:
        from whisperbench import atomic_write

        atomic_write.write_file = no_space(Path(full), 0)  # type: ignore[assignment]
    barrier = os.environ.get("WHISPERBENCH_TEST_SAVE_BARRIER")
    if not barrier:
        return
    folder, _, count = barrier.rpartition(":")
    arrivals = Path(folder)
    arrivals.mkdir(parents=True, exist_ok=True)
    (arrivals / str(os.getpid())).touch()
    deadline = time.monotonic() + BARRIER_WAIT_S
    while sum(1 for _ in arrivals.iterdir()) < int(count) and time.monotonic() < deadline:
        pass  # spin: the sessions leave the barrier within microseconds of each other


def fill_file_system(folder: Path) -> None:
    """Write ``folder/ballast`` until its file system has no byte left."""
    with (folder / "ballast").open("ab", buffering=0) as ballast:
        for size in (65536, 1):  # big blocks, then the last bytes one by one
            try:
                while True:
                    ballast.write(b"\0" * size)
            except OSError:
                pass


def no_space(folder: Path, size: int) -> Callable[[Path, bytes], None]:
    """``atomic_write.write_file`` on a disk of ``size`` bytes at ``folder``: a write under it
    that would take the files there past ``size`` creates its file, then fails with ENOSPC,
    as a full disk fails the write (the writer must remove what it created)."""
    from whisperbench import atomic_write

    real = atomic_write.write_file
    root = folder.resolve()

    def write_file(path: Path, data: bytes) -> None:
        inside = root == path.resolve().parent or root in path.resolve().parents
        used = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if inside else 0
        if inside and used + len(data) > size:
            path.touch(exist_ok=False)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(path, data)

    return write_file
