"""One model loaded at a time: the cases run model after model (each model's load case first),
the pool releases a model once its last case has run, and every case records the memory
available when it started. The order and the release points as pure functions, then a real
pytest session of ``benchmarks/`` on the fake engine with two models."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from whisperbench.history import load_history
from whisperbench.suite import pool
from whisperbench.suite.cases import (
    CorpusCase,
    LoadCase,
    TranscribeCase,
    last_cases,
    order_by_model,
)

REPO = Path(__file__).resolve().parents[2]


def test_cases_run_model_after_model_with_the_load_first() -> None:
    """pytest collects ``test_corpus.py``, ``test_load.py``, ``test_transcribe.py`` in that
    order; a test that is not a case keeps its place at the front."""
    collected = [
        "not a case",
        CorpusCase("ours", "tiny.en", "tiny.en", "corpus"),
        CorpusCase("ours", "base", "base", "corpus"),
        LoadCase("ours", "tiny.en", "tiny.en"),
        LoadCase("ours", "base", "base"),
        LoadCase("seed", "tiny.en", "tiny.en"),
        TranscribeCase("ours", "tiny.en", "tiny.en", "short"),
        TranscribeCase("ours", "tiny.en", "tiny.en", "long"),
        TranscribeCase("ours", "base", "base", "short"),
        TranscribeCase("seed", "tiny.en", "tiny.en", "short"),
    ]
    ordered = [collected[index] for index in order_by_model(collected)]
    assert ordered == [
        "not a case",
        LoadCase("ours", "tiny.en", "tiny.en"),
        CorpusCase("ours", "tiny.en", "tiny.en", "corpus"),
        TranscribeCase("ours", "tiny.en", "tiny.en", "short"),
        TranscribeCase("ours", "tiny.en", "tiny.en", "long"),
        LoadCase("ours", "base", "base"),
        CorpusCase("ours", "base", "base", "corpus"),
        TranscribeCase("ours", "base", "base", "short"),
        LoadCase("seed", "tiny.en", "tiny.en"),
        TranscribeCase("seed", "tiny.en", "tiny.en", "short"),
    ]
    assert last_cases(ordered) == {
        4: ("ours", "tiny.en"),
        7: ("ours", "base"),
        9: ("seed", "tiny.en"),
    }
    assert order_by_model([]) == [] and last_cases(["not a case"]) == {}


RECORDER = """
import json, os

def _log(event):
    with open(os.environ["EVENTS"], "a") as out:
        out.write(json.dumps(event) + "\\n")

def pytest_whisperbench_model_loaded(implementation, config):
    size = implementation.model_info.size
    _log(["load", size])
    cleanup = implementation.cleanup
    def released():
        _log(["release", size])
        cleanup()
    implementation.cleanup = released

def pytest_runtest_call(item):
    _log(["run", item.name])
"""


def test_a_session_loads_one_model_at_a_time_and_records_free_memory(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pytest benchmarks/ --implementations fake --models tiny.en,base --clips short,medium``:
    each model is released after its last case, before the next model loads. Only a release
    that a later case depends on pays for a garbage collection: the last model goes with the
    session's end, as every model did before."""
    collections: list[int] = []
    counting = SimpleNamespace(collect=lambda: collections.append(1) or 0)
    monkeypatch.setattr(pool, "gc", counting)  # the pool's gc alone, not pytest's
    for name in ("test_load.py", "test_transcribe.py"):
        pytester.makepyfile(**{name[:-3]: (REPO / "benchmarks" / name).read_text()})
    pytester.makeconftest(RECORDER)
    events = tmp_path / "events.jsonl"
    monkeypatch.setenv("EVENTS", str(events))
    storage = tmp_path / "storage"
    result = pytester.runpytest_inprocess(
        "-p",
        "whisperbench.suite.plugin",
        "--implementations=fake",
        "--models=tiny.en,base",
        "--clips=short,medium",
        "--rounds=1",
        "--device=cpu",
        f"--benchmark-storage=file://{storage}",
        "--benchmark-autosave",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=6)
    seen = [tuple(json.loads(line)) for line in events.read_text().splitlines()]
    assert seen == [
        ("run", "test_load[fake-tiny.en]"),
        ("load", "tiny.en"),
        ("run", "test_transcribe[fake-tiny.en-short]"),
        ("run", "test_transcribe[fake-tiny.en-medium]"),
        ("release", "tiny.en"),
        ("run", "test_load[fake-base]"),
        ("load", "base"),
        ("run", "test_transcribe[fake-base-short]"),
        ("run", "test_transcribe[fake-base-medium]"),
        ("release", "base"),
    ]
    assert len(collections) == 1  # tiny.en's release, before base loads
    (run,) = load_history(storage).runs
    assert len(run.cases) == 6
    for case in run.cases:
        assert case.result.available_memory_mb is not None, case.name
        assert case.result.available_memory_mb > 0, case.name
