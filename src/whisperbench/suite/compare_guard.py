"""pytest glue for pytest-benchmark's own ``--benchmark-compare`` and
``--benchmark-compare-fail``: they pair benchmarks by name alone, so a case would be judged
against a saved run of another configuration (batch size, dtype, device, decoder: the speed
parameters of ``results.SPEED_PARAMS``) without a word. Each such pair gets a warning line;
with ``--benchmark-compare-fail`` the pair is taken out of the comparison, so that no fail check
judges unlike with unlike (``whisperbench compare`` and ``check-regressions`` show the change).
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from whisperbench.errors import ResultError
from whisperbench.results.codec import from_extra_info
from whisperbench.results.records import config_changes

__all__ = ["unlike_pairs"]

LINES_KEY = pytest.StashKey[list[str]]()


def _params(extra_info: Any) -> Any:
    try:
        return from_extra_info(extra_info).params
    except (ResultError, KeyError, TypeError, ValueError):
        return None  # not a whisperbench result: nothing to say


def unlike_pairs(
    current: dict[str, Any], compared: dict[str, dict[str, Any]]
) -> list[tuple[str, tuple[str, ...]]]:
    """The benchmarks (by full name) of ``current`` (name -> extra_info) whose saved
    counterpart in ``compared`` (name -> saved benchmark) ran in another configuration, each
    with what changed."""
    pairs = []
    for name, extra_info in current.items():
        saved = compared.get(name)
        now, before = _params(extra_info), _params(saved and saved.get("extra_info"))
        if now is not None and before is not None and (changes := config_changes(before, now)):
            pairs.append((name, changes))
    return pairs


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, None, None]:
    """Before pytest-benchmark compares (first thing in its own ``pytest_sessionfinish``)."""
    benchmarks = getattr(session.config, "_benchmarksession", None)
    mapping = getattr(benchmarks, "compared_mapping", None) or {}
    current = {
        bench.fullname: bench.extra_info
        for bench in getattr(benchmarks, "benchmarks", [])
        if getattr(bench, "fullname", None)
    }
    lines = session.config.stash.setdefault(LINES_KEY, [])
    refuse = bool(getattr(benchmarks, "compare_fail", None))
    for path, compared in mapping.items():
        for name, changes in unlike_pairs(current, compared):
            verdict = "not like for like"
            verdict += ", so --benchmark-compare-fail does not judge it" if refuse else ""
            lines.append(
                f"whisperbench: warning: --benchmark-compare: {name} ran in another "
                f"configuration in {Path(path).name} ({', '.join(changes)}): {verdict}; "
                "whisperbench compare shows the change"
            )
            if refuse:
                del compared[name]
    return (yield)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    for line in config.stash.get(LINES_KEY, []):
        terminalreporter.write_line(line, yellow=True)
