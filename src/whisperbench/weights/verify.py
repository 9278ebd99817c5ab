"""Verify weights by loading them in a child process that is killed at a time limit.

A load that hangs inside native code (a blocking ``open``, a stuck mmap, a C++ loader) is not
interrupted by SIGALRM or by Python threads, so the load runs in its own process:
``main(FORMAT, PATH)`` of this module in a fresh interpreter. The child loads the folder with its
format's own loader (``formats.WeightFormat.verify_loader``: transformers' ``from_pretrained``,
CTranslate2's ``Whisper``), offline and on the CPU, with no implementation involved, and reports
on stdout with one protocol line before loading and one after. The parent (``run_verify_load``)
starts the clock when the child says it is loading, so interpreter start-up and imports do not
eat into the model's limit. ``verify_folder`` runs it once per process for the same files.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

PROTOCOL_PREFIX = "WHISPERBENCH_VERIFY "
STARTUP_TIMEOUT_S = 60.0
"""How long the child may take to import its loader before it starts loading."""

CHILD = "import sys; from whisperbench.weights.verify import main; sys.exit(main(sys.argv[1:]))"
"""The child's program (``-c``, not ``-m``: the package imports this module before ``-m``
would run it)."""

Outcome = Literal["ok", "error", "timeout"]


@dataclass(frozen=True)
class VerifyResult:
    outcome: Outcome
    message: str
    """ok: how long the load took; error: the loader's message; timeout: which limit was hit."""
    load_s: float | None


def last_line(exc: BaseException) -> str:
    """``Type: last line of the message``: loaders wrap the root cause, which comes last."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[-1]}" if lines else type(exc).__name__


def _emit(payload: dict[str, object]) -> None:
    sys.stdout.write(PROTOCOL_PREFIX + json.dumps(payload) + "\n")
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """The child: import the format's loader, announce the load, load, report."""
    parser = argparse.ArgumentParser(prog="whisperbench.weights.verify")
    parser.add_argument("format")
    parser.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    try:
        from whisperbench.weights.formats import get_format

        load = get_format(args.format).verify_loader()
        _emit({"event": "loading"})
        start = time.perf_counter()
        load(args.path)
        load_s = time.perf_counter() - start
    except Exception as exc:  # every loader failure is a result to report, not a crash
        _emit({"event": "done", "ok": False, "error": last_line(exc)})
        return 1
    _emit({"event": "done", "ok": True, "load_s": load_s})
    return 0


def _pump(stream: IO[str], sink: queue.Queue[str | None]) -> None:
    for line in stream:
        sink.put(line)
    sink.put(None)


def _kill(proc: subprocess.Popen[str]) -> None:
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _reap(proc: subprocess.Popen[str], grace_s: float = 10.0) -> None:
    """Wait for a child that has reported; kill it if it lingers on exit."""
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        _kill(proc)


def run_verify_load(
    path: Path,
    weights_format: str,
    limit_s: float,
    *,
    startup_timeout_s: float = STARTUP_TIMEOUT_S,
) -> VerifyResult:
    """Load the ``weights_format`` folder ``path`` in a child; kill it at ``limit_s``."""
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, weights_format, str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=os.name == "posix",
    )
    assert proc.stdout is not None and proc.stderr is not None
    lines: queue.Queue[str | None] = queue.Queue()
    stderr_tail: deque[str] = deque(maxlen=20)
    threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
    stderr_thread = threading.Thread(
        target=lambda: stderr_tail.extend(proc.stderr or ()), daemon=True
    )
    stderr_thread.start()

    deadline = time.monotonic() + startup_timeout_s
    loading = False
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            _kill(proc)
            if loading:
                return VerifyResult(
                    "timeout",
                    f"loading did not finish within the {limit_s:g} s limit; the loader was killed",
                    None,
                )
            return VerifyResult(
                "timeout",
                f"the verifying process did not start loading within {startup_timeout_s:g} s "
                f"(importing the {weights_format} loader hung); it was killed",
                None,
            )
        if line is None:  # the child closed stdout without a final report: it crashed
            _reap(proc)
            stderr_thread.join(timeout=2)
            tail = next((s.strip() for s in reversed(stderr_tail) if s.strip()), "no output")
            return VerifyResult(
                "error", f"the loader exited with code {proc.returncode}: {tail}", None
            )
        if not line.startswith(PROTOCOL_PREFIX):
            continue
        payload = json.loads(line[len(PROTOCOL_PREFIX) :])
        if payload.get("event") == "loading":
            loading = True
            deadline = time.monotonic() + limit_s
            continue
        _reap(proc)
        if payload.get("ok"):
            load_s = float(payload["load_s"])
            return VerifyResult("ok", f"loaded in {load_s:.1f} s (limit {limit_s:g} s)", load_s)
        return VerifyResult("error", str(payload.get("error", "unknown error")), None)


_VERIFIED: dict[tuple[Any, ...], VerifyResult] = {}


def clear_verify_cache() -> None:
    """Forget the verify-by-load results of this process."""
    _VERIFIED.clear()


def _fingerprint(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and mtimes behind the folder: a changed file means a new verification."""
    items = []
    for path in sorted(folder.rglob("*")):
        try:
            st = path.stat()
        except OSError:
            continue
        items.append((str(path.relative_to(folder)), st.st_size, st.st_mtime_ns))
    return tuple(items)


def verify_folder(path: Path, weights_format: str, limit_s: float) -> VerifyResult:
    """``run_verify_load``, once per process for the same files, format and limit."""
    key = (weights_format, str(path.resolve()), _fingerprint(path), limit_s)
    result = _VERIFIED.get(key)
    if result is None:
        result = run_verify_load(path, weights_format, limit_s)
        _VERIFIED[key] = result
    return result
