"""Fixtures for every test module here.

- every test that uses real weights (``offline_hub_cache`` and the like) is marked ``slow``;
- ``_one_torch_thread``: one intra-op thread for every module;
- under pytest-xdist (``tox -e tests`` runs two workers), the worker's ``PYTEST_XDIST_*``
  variables are removed from the environment once the worker is configured, so that the suite
  sessions tests start (in process or as subprocesses) are not taken for xdist workers, which
  pytest-benchmark would run with saving disabled;
- the recorded runs: the 23 pytest-benchmark JSON files committed under ``reports/`` (real runs
  of the suite on 2 CPU cores and on an H100), read as they are: ``recorded_files``,
  ``recorded_storages``, ``gpu_storage`` (the H100 storage at 4e2b31c, whose run 0003 ran ours
  at batch 24 after batch 64 in run 0002), ``cpu_storage``, ``storage_of`` (copies runs into a
  temporary storage of pytest-benchmark's layout);
- ``latency_storage``: the fast tier's one small real run, of the latency track
  (``helpers.latency_runs``);
- ``variants``: a temporary storage of runs made from a recorded one with a known change
  (slower, WER up, repeated n-grams, other parameters), for the regression rule;
- ``StandInBenchmark``: the part of pytest-benchmark's ``benchmark`` fixture that the suite
  uses, timing real rounds with pytest-benchmark's own ``Stats``, for in-process suite tests.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from pytest_benchmark.stats import Stats

REPO = Path(__file__).resolve().parents[1]
REPORTS = REPO / "reports"
GPU_STORAGE = REPORTS / "gpu" / "h100-4e2b31c"
CPU_STORAGE = REPORTS / "cpu" / "runs-7ee3082"
RECORDED_FILES = tuple(sorted(REPORTS.rglob("*.json")))
"""Every run recorded under reports/ (23 when these tests were written)."""
MACHINE = "Linux-CPython-3.11-64bit"


REAL_WEIGHTS_FIXTURES = frozenset(
    {"offline_hub_cache", "offline_models", "offline_hub_env", "latency_storage"}
)
"""Fixtures that import real Whisper weights (``fixtures/model_cache.py``): a test that uses
one, directly or through another fixture, loads a real model and belongs to the slow tier."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that needs real weights is marked ``slow``, wherever it is written, and so is
    every ``heavy`` one, so that ``pytest -m "not slow"`` keeps only the fast tier. The tests
    marked ``first`` move to the front, in their order (pytest-xdist hands out test files in
    the order collected when ``--no-loadscope-reorder`` is given)."""
    for item in items:
        heavy = item.get_closest_marker("heavy") is not None
        if heavy or REAL_WEIGHTS_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: item.get_closest_marker("first") is None)


XDIST_VARIABLES = ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID")


def pytest_configure(config: pytest.Config) -> None:
    """An xdist worker knows itself by ``config.workerinput``; the variables are only for
    code run inside it, and there they would switch off the saving of nested suite sessions."""
    if hasattr(config, "workerinput"):
        for name in XDIST_VARIABLES:
            os.environ.pop(name, None)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Iterator[None]:
    """One intra-op thread: on a shared 2-core machine, two spinning threads run 4-20x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def session_folder(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Path:
    """A folder every xdist worker of this test session sees (pytest-xdist's way to make a
    session fixture once: the parent of the workers' own base folders), or this session's base
    folder without xdist. Whatever is made there once is made under a ``FileLock``."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if hasattr(request.config, "workerinput") else base


@pytest.fixture(scope="session")
def recorded_files() -> tuple[Path, ...]:
    assert len(RECORDED_FILES) >= 23, RECORDED_FILES
    return RECORDED_FILES


@pytest.fixture(scope="session")
def recorded_storages() -> tuple[Path, ...]:
    """Each folder of recorded runs, as ``--storage`` takes it."""
    folders = {
        path.parent.parent if path.parent.name.startswith("Linux-") else path.parent
        for path in RECORDED_FILES
    }
    return tuple(sorted(folders))


@pytest.fixture(scope="session")
def gpu_storage() -> Path:
    return GPU_STORAGE


@pytest.fixture(scope="session")
def cpu_storage() -> Path:
    return CPU_STORAGE


@pytest.fixture
def storage_of(tmp_path: Path) -> Callable[..., Path]:
    """``storage_of(*files, machine=...)``: a temporary pytest-benchmark storage holding copies
    of ``files`` under one machine folder; returns the storage."""
    storage = tmp_path / "storage"

    def make(*files: Path, machine: str = MACHINE) -> Path:
        folder = storage / machine
        folder.mkdir(parents=True, exist_ok=True)
        for path in files:
            shutil.copy2(path, folder / path.name)
        return storage

    return make


TIME_STATS = ("min", "max", "mean", "median", "stddev", "iqr", "q1", "q3", "ld15iqr", "hd15iqr")


@dataclass
class VariantStorage:
    """A pytest-benchmark storage of runs derived from one recorded run, each with a change
    whose effect is known. Run N is saved N minutes after the source, so they sort in order."""

    root: Path
    source: Path = (
        CPU_STORAGE
        / MACHINE
        / ("0001_7ee30825bdd1baf5de7601076d0ff73cfb6f109e_20261124_080803.json")
    )
    machine: str = MACHINE

    def add(
        self,
        run_id: str,
        *,
        slower: float = 1.0,
        wer_points: float = 0.0,
        repeats: int | None = None,
        params: dict[str, Any] | None = None,
        machine: str | None = None,
    ) -> Path:
        """A copy of the source run as run ``run_id``: every time ``slower`` times longer (and
        RTFx lower), WER ``wer_points`` higher, ``repeated_ngrams`` set, ``params`` updated."""
        data = json.loads(self.source.read_text(encoding="utf-8"))
        for bench in data["benchmarks"]:
            stats = bench["stats"]
            for name in TIME_STATS:
                if name in stats:
                    stats[name] *= slower
            info = bench["extra_info"]
            if info["kind"] == "transcribe":
                info["rtfx"] /= slower
                if info.get("wer") is not None:
                    info["wer"] += wer_points / 100
                if repeats is not None:
                    info["repeated_ngrams"] = repeats
            info["params"].update(params or {})
        when = datetime.fromisoformat(data["datetime"]) + timedelta(minutes=int(run_id))
        data["datetime"] = when.isoformat()
        folder = self.root / (machine or self.machine)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{run_id}_variant_{when:%Y%m%d_%H%M%S}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        return path


def write_broken_copies(run: Path, folder: Path) -> dict[str, Path]:
    """Copies of a saved run into ``folder`` as they go wrong in a storage: cut in half (an
    interrupted write), empty, and foreign (a pytest-benchmark run without whisperbench's
    extra_info); by kind."""
    text = run.read_text(encoding="utf-8")
    foreign = json.loads(text)
    for bench in foreign["benchmarks"]:
        bench["extra_info"] = {}
    copies = {
        "truncated": (folder / "0002_truncated.json", text[: len(text) // 2]),
        "empty": (folder / "0003_empty.json", ""),
        "foreign": (folder / "0004_foreign.json", json.dumps(foreign)),
    }
    for path, content in copies.values():
        path.write_text(content, encoding="utf-8")
    return {kind: path for kind, (path, _) in copies.items()}


@pytest.fixture
def broken_copies() -> Callable[[Path, Path], dict[str, Path]]:
    """``broken_copies(run, folder)``: see ``write_broken_copies``."""
    return write_broken_copies


@pytest.fixture
def variants(tmp_path: Path) -> VariantStorage:
    return VariantStorage(tmp_path / "variants")


class StandInBenchmark:
    """pytest-benchmark's ``benchmark`` fixture as the suite uses it: ``pedantic`` runs the
    warm-up rounds untimed and times each round into a real ``pytest_benchmark.stats.Stats``;
    ``extra_info`` is what a saved run would hold. ``disabled`` behaves like
    ``--benchmark-disable`` (one untimed call, no stats)."""

    def __init__(self, disabled: bool = False) -> None:
        self.extra_info: dict[str, Any] = {}
        self.stats: Any = None
        self.disabled = disabled
        self.group: str | None = None

    def pedantic(
        self, target: Callable[..., Any], *, rounds: int, warmup_rounds: int, iterations: int
    ) -> Any:
        if self.disabled:
            return target()
        stats = Stats()
        for _ in range(warmup_rounds):
            target()
        result = None
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(iterations):
                result = target()
            stats.update((time.perf_counter() - start) / iterations)
        self.stats = SimpleNamespace(stats=stats)
        return result

    def saved(self, name: str) -> dict[str, Any]:
        """This benchmark as a saved run's ``benchmarks`` entry."""
        return {
            "name": name,
            "group": self.group,
            "extra_info": self.extra_info,
            "stats": self.stats.stats.as_dict(),
        }


@pytest.fixture
def stand_in_benchmark() -> type[StandInBenchmark]:
    """``stand_in_benchmark()`` (or ``(disabled=True)``): a fresh ``StandInBenchmark``."""
    return StandInBenchmark


@pytest.fixture(scope="session")
def latency_storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real run of the latency track (slow, as every test with real weights: the fast
    tier covers the plumbing on the fake engine): ``helpers.latency_runs.latency_run``,
    faster-whisper on tiny.en and a 4.3 s real clip, into a storage of its own; returns the
    storage (one run, ``0001_*.json``)."""
    from helpers.latency_runs import latency_run

    storage = tmp_path_factory.mktemp("latency-runs")
    latency_run(storage, tmp_path_factory.mktemp("latency-hub"))
    return storage


@pytest.fixture(scope="session")
def openai_whisper_wer(offline_hub_cache: Path) -> Iterator[Callable[[str], float]]:
    """openai-whisper's WER on a reference clip (tiny.en, CPU, greedy), each clip transcribed
    once a session: the yardstick for the other engines' long-form WER."""
    from helpers.engine_helpers import clip_wer, loaded

    from whisperbench.implementations.openai_whisper import openai_whisper_missing

    missing = openai_whisper_missing()
    if missing:
        pytest.skip(missing)
    engine = loaded("openai-whisper", offline_hub_cache)
    found: dict[str, float] = {}

    def wer_on(clip_name: str) -> float:
        if clip_name not in found:
            found[clip_name] = clip_wer(engine, clip_name)[0]
        return found[clip_name]

    yield wer_on
    engine.cleanup()
