"""Real benchmark sessions for the fault tests (``test_reliability.py``, issue 14, and
``test_reliability_sweep2.py``, issue 27): the issue's options, in-process sessions with the
suite's plugin and ``fault_injection``, real subprocesses, and the files they are given."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import soundfile as sf

from helpers.bench_runs import suite_env
from whisperbench.cli import build_parser, main

REPO = Path(__file__).resolve().parents[2]
SHORT = REPO / "src" / "whisperbench" / "data" / "audio" / "short.flac"
B = (
    "--models=tiny.en",
    "--implementations=transformers",
    "--clips=short",
    "--rounds=1",
    "--device=cpu",
)
"""The issue's ``B``."""
FAKE = ("--models=tiny.en", "--implementations=fake", "--device=cpu", "--rounds=1")
"""``B`` on the fake engine: the same session, no weights."""

Bench = Callable[..., pytest.RunResult]

# ``pytester`` drops, when a test that uses it ends, every module first imported during that
# test; one imported again later is a second copy, and rich's Table of one copy cannot be
# rendered by the Console of the other (NotRenderableError in later tests of this process).
# So what the in-process sessions and ``cli`` import lazily is imported here, once: the
# session's table (rich) and every command module.
for _module in ("rich.console", "rich.table", "whisperbench.suite.tables"):
    importlib.import_module(_module)
build_parser()


def make_bench(pytester: pytest.Pytester) -> Bench:
    """``bench(*options)``: a real pytest session of ``benchmarks/`` in-process, in a folder of
    its own, with the suite's plugin and ``fault_injection``."""
    for name in ("test_corpus.py", "test_load.py", "test_transcribe.py"):
        pytester.makepyfile(**{name[:-3]: (REPO / "benchmarks" / name).read_text()})

    def run(*options: str) -> pytest.RunResult:
        return pytester.runpytest_inprocess(
            "-p",
            "whisperbench.suite.plugin",
            "-p",
            "helpers.fault_injection",
            "-p",
            "no:cacheprovider",
            *options,
        )

    return run


def one_usage_error(result: pytest.RunResult, *expected: str) -> str:
    """The session stopped at its options: exit 4 and one line, holding ``expected``."""
    lines = [line for line in result.stderr.lines if line.strip()]
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
    assert len(lines) == 1, lines
    for text in expected:
        assert text in lines[0], lines[0]
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    return lines[0]


def cli(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, list[str], list[str]]:
    """``whisperbench ARGV``: exit code, stdout lines, stderr lines."""
    capsys.readouterr()  # what an in-process session printed before
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), [line for line in err.splitlines() if line.strip()]


def subprocess_suite(
    *options: str, inject: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m pytest benchmarks/`` in a real process (offline, one thread)."""
    command = [sys.executable, "-m", "pytest", "benchmarks/", "-p", "helpers.fault_injection"]
    command += ["-p", "no:cacheprovider", "-q", *options]
    return subprocess.run(
        command,
        cwd=REPO,
        env=suite_env(**(inject or {})),
        capture_output=True,
        text=True,
        timeout=300,
    )


def saved(storage: Path) -> list[Path]:
    return sorted(storage.glob("*/*.json"))


def write_clip(folder: Path, name: str, reference: bytes | str | None = None) -> Path:
    """A real recording (the short reference clip's samples) as ``folder/name`` and, with
    ``reference``, the ``.txt`` beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    samples, rate = sf.read(SHORT, dtype="float32")
    path = folder / name
    sf.write(path, samples, rate)
    if reference is not None:
        text = reference.encode("utf-8") if isinstance(reference, str) else reference
        path.with_suffix(".txt").write_bytes(text)
    return path


@contextmanager
def unwritable(folder: Path) -> Iterator[Path]:
    """``folder``, created empty and made unwritable: by its mode, and for root (whom modes do
    not stop) with ``chattr +i``; skips where neither holds."""
    folder.mkdir(parents=True)
    folder.chmod(0o555)
    immutable = False
    if os.access(folder, os.W_OK) and shutil.which("chattr"):
        immutable = subprocess.run(["chattr", "+i", str(folder)], check=False).returncode == 0
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("cannot make a folder unwritable here (root, no chattr)")
        yield folder
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=False)
        folder.chmod(0o755)
