"""What an installed whisperbench needs is in its wheel: the default clips and the real-speech
clips as package data (read through ``importlib.resources``, never through the source tree),
the benchmark cases (``pytest --pyargs whisperbench.benchmarks``) and the entry points (the
pytest plugin, the built-in engines).

The whole path (a fresh venv, the wheel installed, the default benchmark run offline from a
folder outside the checkout) takes minutes and a network-free wheel mirror, so it is a recorded
manual run (see the README's "Installed use"); this test checks the wheel it would install."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from configparser import ConfigParser
from pathlib import Path

import pytest

from whisperbench import data
from whisperbench.suite.inputs import CLIPS, DEFAULT_CLIPS

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow  # builds a wheel of 33 MB


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(out), str(REPO)],
        check=True, capture_output=True,
    )  # fmt: skip
    (found,) = out.glob("whisperbench-*.whl")
    return zipfile.ZipFile(found)


def test_the_shipped_clips_are_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for name in ("audio", "realspeech", "corpus"):
        shipped = {
            "whisperbench/data/" + path.relative_to(data.folder(name).parent).as_posix()
            for path in data.folder(name).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        }
        assert shipped and shipped <= names, sorted(shipped - names)[:5]
    for clip in CLIPS:
        assert f"whisperbench/data/audio/{clip}.flac" in names
        assert f"whisperbench/data/audio/{clip}.txt" in names
    assert "real" in DEFAULT_CLIPS


def test_the_benchmarks_and_entry_points_are_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for case in ("test_load", "test_transcribe", "test_corpus"):
        assert f"whisperbench/benchmarks/{case}.py" in names
    (entry_points,) = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
    parser = ConfigParser()
    parser.read_string(wheel.read(entry_points).decode())
    assert parser["pytest11"]["whisperbench.suite.plugin"] == "whisperbench.suite.plugin"
    assert "transformers" in parser["whisperbench.implementations"]


def test_nothing_reads_the_source_tree() -> None:
    """No module of the package climbs out of it to reach ``fixtures/`` (``parents[2]``)."""
    source = REPO / "src" / "whisperbench"
    for path in source.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert '"fixtures"' not in text and "parents[2]" not in text, path
