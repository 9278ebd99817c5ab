"""The suite's plugin is loaded by its ``pytest11`` entry point, once: not by a conftest, and
not a second time when ``-p whisperbench.suite.plugin`` names it too (the entry point bears the
module's name); with plugin autoloading off, ``-p`` loads it alone. Each case runs ``pytest
--help`` in a folder outside the checkout (no conftest)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a fresh interpreter per case

CASES = {
    "entry point": ((), {}),
    "entry point and -p": (("-p", "whisperbench.suite.plugin"), {}),
    "-p alone": (("-p", "whisperbench.suite.plugin"), {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_plugin_loads_once(case: str, tmp_path: Path) -> None:
    args, env = CASES[case]
    autoload_off = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"} if env else {}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider", *args,
         *(("-p", "pytest_benchmark.plugin") if autoload_off else ())],
        cwd=tmp_path, env={**os.environ, **env}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("--implementations=IMPLEMENTATIONS") == 1
    assert "already registered" not in done.stderr


def test_without_the_plugin_the_options_are_absent(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--help", "-p", "no:whisperbench.suite.plugin"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "--implementations" not in done.stdout
