"""Real saved runs of the benchmark suite, made once per test session and shared by
``test_report.py`` and ``test_regressions.py``.

Three runs of ``pytest benchmarks/`` (tiny.en, CPU, the short clip, one torch thread, one
round timed in CPU time) into one pytest-benchmark storage: two of the same code, then one made
slower and less accurate by the test-only plugin ``regression_injection`` (loaded with ``-p``).
Tests copy the files they need into storages of their own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from whisperbench.history import Run, load_run

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent

TIME_LIMIT = "median:25%"
"""The time limit the tests use: wide enough for two runs of the same code (timed in CPU time
on one torch thread, they agree within a few percent even while other work shares this 2-core
machine), far below the injected slowdown (more than +100 %)."""


@dataclass(frozen=True)
class SuiteRuns:
    baseline: Path
    same: Path
    worse: Path
    """Slowed by ``slowdown_s`` of CPU time per timed transcription, every other word dropped."""
    slowdown_s: float

    @property
    def machine(self) -> str:
        return self.baseline.parent.name

    def into(self, storage: Path, *runs: Path, machine: str | None = None) -> list[Path]:
        """Copy ``runs`` into ``storage`` (pytest-benchmark's layout), keeping their names."""
        folder = storage / (machine or self.machine)
        folder.mkdir(parents=True, exist_ok=True)
        return [Path(shutil.copy2(run, folder / run.name)) for run in runs]


def run_suite(storage: Path, cache_dir: Path, **inject: str) -> Path:
    """One real run of the suite, saved into ``storage``; returns the new file."""
    before = set(storage.glob("*/*.json"))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        # one thread, timed in CPU time (below): two runs of the same code then agree within a
        # few percent while other work shares the machine (wall-clock times of two threads on
        # this busy 2-core machine swung 3x between runs)
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        **inject,
    }
    command = [
        sys.executable,
        "-m",
        "pytest",
        "benchmarks/",
        "-p",
        "regression_injection",
        "-p",
        "no:cacheprovider",
        "--models=tiny.en",
        "--implementations=transformers",
        "--clips=short",
        "--device=cpu",
        "--rounds=1",
        "--warmup-rounds=1",
        f"--cache-dir={cache_dir}",
        f"--benchmark-storage=file://{storage}",
        "--benchmark-autosave",
        "--benchmark-timer=time.process_time",
        "-q",
    ]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.fail(
            f"the benchmark suite failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    new = sorted(set(storage.glob("*/*.json")) - before)
    assert len(new) == 1, f"expected one saved run, found {new}:\n{done.stdout}"
    return new[0]


def transcribe_median(path: Path) -> float:
    run: Run = load_run(path)
    return max(case.median_s for case in run.cases if case.key.kind == "transcribe")


_MADE: dict[Path, SuiteRuns] = {}


def suite_runs(cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> SuiteRuns:
    """The three runs, made on first use in this session."""
    if cache_dir not in _MADE:
        storage = tmp_path_factory.mktemp("suite-runs")
        baseline = run_suite(storage, cache_dir)
        same = run_suite(storage, cache_dir)
        slowdown_s = round(max(transcribe_median(baseline), transcribe_median(same)) + 0.3, 2)
        worse = run_suite(
            storage,
            cache_dir,
            WHISPERBENCH_TEST_SLOWDOWN_S=str(slowdown_s),
            WHISPERBENCH_TEST_DROP_WORDS="1",
        )
        _MADE[cache_dir] = SuiteRuns(baseline, same, worse, slowdown_s)
    return _MADE[cache_dir]


def truncate(path: Path) -> Path:
    """Cut a saved run in half, as an interrupted write or a full disk leaves it."""
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    return path
