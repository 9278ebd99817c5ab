"""In-process pytest sessions of the benchmark suite (``pytester``): the suite's benchmark
modules copied into the session's folder, run with the suite's plugin."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = ("test_load.py", "test_transcribe.py", "test_corpus.py")


def copy_benchmarks(pytester: pytest.Pytester) -> None:
    for name in BENCHMARKS:
        pytester.makepyfile(**{name[:-3]: (REPO / "benchmarks" / name).read_text()})


def run_suite(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """The copied benchmarks run in process with the suite's plugin and ``args``."""
    return pytester.runpytest_inprocess(
        "-p", "whisperbench.suite.plugin", *args, "-p", "no:cacheprovider"
    )
