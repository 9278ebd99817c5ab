"""Commands import lazily: ``whisperbench --help`` imports no command, and a command imports
only what it uses (``whisperbench report`` no engine, weights, suite, torch or matplotlib
before it draws a plot). Counted in a fresh process, from its ``sys.modules``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from whisperbench.cli import COMMANDS

COUNT = """
import json, sys
from whisperbench.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""

pytestmark = pytest.mark.slow  # a fresh interpreter per case


def loaded_after(*argv: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", COUNT, *argv], capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_help_imports_no_command() -> None:
    ours = {name for name in loaded_after("--help") if name.startswith("whisperbench")}
    assert ours == {
        "whisperbench",
        "whisperbench.cli",
        "whisperbench.errors",
        "whisperbench.safe_output",
    }


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_command_imports_no_other_command(command: str) -> None:
    loaded = loaded_after(command, "--help")
    others = {module for name, (module, _) in COMMANDS.items() if name != command}
    assert COMMANDS[command][0] in loaded
    assert not others & loaded


def test_report_loads_only_what_it_uses() -> None:
    loaded = loaded_after("report", "--help")
    ours = {name for name in loaded if name.startswith("whisperbench")}
    # 48 when the parser imported every command; 27 since records carry the resource timeline
    assert len(ours) <= 27, sorted(ours)
    for heavy in ("torch", "transformers", "matplotlib", "whisperbench.weights"):
        assert heavy not in loaded, heavy
    assert not {
        name
        for name in ours
        if name.startswith(("whisperbench.suite", "whisperbench.implementations"))
    }


def test_the_model_option_has_both_spellings(tmp_path: Path) -> None:
    """``--model`` and ``--models`` name the same thing in the commands and in the suite."""
    from whisperbench.cli import build_parser

    parser = build_parser("check-models")
    for spelling in ("--model", "--models"):
        args = parser.parse_args(["check-models", spelling, "base"])
        assert args.model == "base"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "--models=MODELS, --model=MODELS" in done.stdout


HEAVY_LIBRARIES = ("torch", "transformers", "scipy.stats", "matplotlib")
"""Imported where a function needs them (torch and scipy.stats cost about 2 s and 1 s)."""


@pytest.mark.parametrize("command", ["download", "check-models", "import-model", "compare"])
def test_a_command_that_touches_no_device_imports_no_heavy_library(command: str) -> None:
    loaded = loaded_after(command, "--help")
    assert not set(HEAVY_LIBRARIES) & loaded, sorted(set(HEAVY_LIBRARIES) & loaded)


def test_the_pytest_plugin_imports_no_heavy_library() -> None:
    """Every pytest in an environment with whisperbench installed loads the plugin (its
    ``pytest11`` entry point), whatever it tests: its import stays light. (A session still
    imports torch when it configures the suite: ``--device auto`` asks torch what is here.)"""
    code = "import json, sys, whisperbench.suite.plugin; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(done.stdout))
    assert not set(HEAVY_LIBRARIES) & loaded, sorted(set(HEAVY_LIBRARIES) & loaded)
