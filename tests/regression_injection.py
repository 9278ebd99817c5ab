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
from typing import Any

import pytest


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


@pytest.hookimpl
def pytest_whisperbench_model_loaded(implementation: Any, config: pytest.Config) -> None:
    slowdown_s = float(os.environ.get("WHISPERBENCH_TEST_SLOWDOWN_S", "0") or 0)
    drop_words = os.environ.get("WHISPERBENCH_TEST_DROP_WORDS") == "1"
    if not slowdown_s and not drop_words:
        return
    original = implementation.transcribe
    calls = 0

    def transcribe(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if slowdown_s and calls > 1:
            _burn(slowdown_s)
        result = original(*args, **kwargs)
        if drop_words:
            result = dataclasses.replace(result, text=" ".join(result.text.split()[::2]))
        return result

    implementation.transcribe = transcribe
