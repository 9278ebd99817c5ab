"""Test-only pytest plugin (loaded with ``-p helpers.regression_injection``) that makes a
benchmark run worse on purpose, through the suite's ``pytest_whisperbench_model_loaded`` hook:

- ``WHISPERBENCH_TEST_SLOWDOWN_S=S``: every transcription after the first (the cold run, which
  check-regressions does not judge) first busy-waits S seconds of CPU time: a slowdown that
  wall-clock and CPU-time timers see alike;
- ``WHISPERBENCH_TEST_DROP_WORDS=1``: every transcript loses every other word: a WER rise;
- ``WHISPERBENCH_TEST_SLOWER=F``: every call (``transcribe`` and ``transcribe_batch``) of the
  real engine first runs as it is, then busy-waits F times the CPU time it took (0.10: a
  slowdown of 10 % of its own work, whatever the machine's speed);
- ``WHISPERBENCH_TEST_DROP_EVERY=N``: every N-th word the engine writes (counted across its
  transcripts) is dropped: about 100/N more points of WER (50: +2 points) spread evenly over
  the speech.

Product code knows nothing of this; ``tests/test_regressions.py`` and
``tests/test_regression_evidence.py`` run the suite with it.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from typing import Any

import pytest


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def wrap_transcribe(
    implementation: Any,
    *,
    before: Callable[[int], None] | None = None,
    change: Callable[[Any], Any] | None = None,
) -> None:
    """Wrap ``implementation.transcribe``: ``before(n)`` runs before the n-th call (1: the
    cold run), ``change(result)`` gives the result returned instead."""
    original = implementation.transcribe
    calls = 0

    def transcribe(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if before is not None:
            before(calls)
        result = original(*args, **kwargs)
        return result if change is None else change(result)

    implementation.transcribe = transcribe


def slow_and_drop(implementation: Any, *, slower: float, drop_every: int) -> None:
    """Wrap ``implementation.transcribe`` and ``transcribe_batch``: the outermost call (the
    default ``transcribe_batch`` calls ``transcribe``) burns ``slower`` times its own CPU time
    after it, and loses every ``drop_every``-th word of its texts (0: none)."""
    depth = 0
    written = 0

    def drop(result: Any) -> Any:
        nonlocal written
        kept = []
        for word in result.text.split():
            written += 1
            if not drop_every or written % drop_every:
                kept.append(word)
        return dataclasses.replace(result, text=" ".join(kept))

    def wrapped(original: Callable[..., Any], batch: bool) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            nonlocal depth
            depth += 1
            start = time.process_time()
            try:
                result = original(*args, **kwargs)
            finally:
                depth -= 1
            if depth:
                return result
            _burn(slower * (time.process_time() - start))
            return [drop(r) for r in result] if batch else drop(result)

        return call

    implementation.transcribe = wrapped(implementation.transcribe, batch=False)
    implementation.transcribe_batch = wrapped(implementation.transcribe_batch, batch=True)


@pytest.hookimpl
def pytest_whisperbench_model_loaded(implementation: Any, config: pytest.Config) -> None:
    slower = float(os.environ.get("WHISPERBENCH_TEST_SLOWER", "0") or 0)
    drop_every = int(os.environ.get("WHISPERBENCH_TEST_DROP_EVERY", "0") or 0)
    if slower or drop_every:
        slow_and_drop(implementation, slower=slower, drop_every=drop_every)
    slowdown_s = float(os.environ.get("WHISPERBENCH_TEST_SLOWDOWN_S", "0") or 0)
    drop_words = os.environ.get("WHISPERBENCH_TEST_DROP_WORDS") == "1"
    if not slowdown_s and not drop_words:
        return

    def slow_down(call: int) -> None:
        if slowdown_s and call > 1:
            _burn(slowdown_s)

    def every_other_word(result: Any) -> Any:
        return dataclasses.replace(result, text=" ".join(result.text.split()[::2]))

    change = every_other_word if drop_words else None
    wrap_transcribe(implementation, before=slow_down, change=change)
