"""Test-only pytest plugin (loaded with ``-p regression_injection``) that makes a benchmark run
worse on purpose, through the suite's ``pytest_whisperbench_model_loaded`` hook:

- ``WHISPERBENCH_TEST_SLOWDOWN_S=S``: every transcription after the first (the cold run, which
  check-regressions does not judge) first busy-waits S seconds of CPU time: a slowdown that
  wall-clock and CPU-time timers see alike;
- ``WHISPERBENCH_TEST_DROP_WORDS=1``: every transcript loses every other word: a WER rise.

Product code knows nothing of this; ``tests/test_regressions.py`` runs the suite with it.
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


@pytest.hookimpl
def pytest_whisperbench_model_loaded(implementation: Any, config: pytest.Config) -> None:
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
