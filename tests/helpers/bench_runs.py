"""Real saved runs of the benchmark suite, made once per test session (by the first xdist
worker that needs them, read back by the others) and shared by ``test_report.py``,
``test_check_regressions.py`` and ``test_suite.py`` (which also starts runs of its own through
``run_benchmarks``).

Three runs of ``pytest benchmarks/`` (tiny.en, CPU, the short clip, one torch thread, one
round timed in CPU time) into one pytest-benchmark storage: two of the same code, then one made
slower and less accurate by the test-only plugin ``regression_injection`` (loaded with ``-p``).
Tests copy the files they need into storages of their own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

from whisperbench.history import Run, load_run

REPO = Path(__file__).resolve().parents[2]
TESTS = Path(__file__).resolve().parents[1]

TIME_LIMIT = "median:60%"
"""The time limit the tests use: wide enough for two runs of the same code (timed in CPU time
on one torch thread, they agree within a few percent on a quiet machine, but a CI run beside
the other xdist worker measured +26.8 % between two of them), below the injected slowdown
(more than +100 %)."""


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


SUITE_OPTIONS = (
    "-p",
    "helpers.regression_injection",
    "-p",
    "no:cacheprovider",
    "--models=tiny.en",
    "--implementations=transformers",
    "--clips=short",
    "--device=cpu",
    "--rounds=1",
    "--warmup-rounds=1",
    "--benchmark-timer=time.process_time",
    "-q",
)
"""The runs' defaults: tiny.en through ``transformers`` on the short clip, one round timed in
CPU time (the latency track runs only when asked: ``-m stream`` after them). Options given
after them win (pytest keeps the last value of an option)."""


def suite_env(**inject: str) -> dict[str, str]:
    """The environment of a suite run: offline, one thread, ``tests/`` importable (for the
    test-only plugins), plus ``inject`` (for example ``regression_injection``'s variables)."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        # one thread, timed in CPU time (SUITE_OPTIONS): two runs of the same code then agree
        # within a few percent while other work shares the machine (wall-clock times of two
        # threads on this busy 2-core machine swung 3x between runs)
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        **inject,
    }


def run_benchmarks(
    cache_dir: Path, *options: str, timeout: float = 600, **inject: str
) -> subprocess.CompletedProcess[str]:
    """``python -m pytest benchmarks/`` with ``SUITE_OPTIONS``, ``--cache-dir`` and then
    ``options``, in the repository; the finished process, whatever its exit status."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "benchmarks/",
        *SUITE_OPTIONS,
        f"--cache-dir={cache_dir}",
        *options,
    ]
    return subprocess.run(
        command, cwd=REPO, env=suite_env(**inject), capture_output=True, text=True, timeout=timeout
    )


def saved_runs(storage: Path) -> set[Path]:
    """The run files in a pytest-benchmark storage folder."""
    return set(storage.glob("*/*.json"))


def run_suite(storage: Path, cache_dir: Path, *options: str, **inject: str) -> Path:
    """One real run of the suite (``SUITE_OPTIONS``, then ``options``), saved into
    ``storage``; returns the new file."""
    before = saved_runs(storage)
    done = run_benchmarks(
        cache_dir,
        f"--benchmark-storage=file://{storage}",
        "--benchmark-autosave",
        *options,
        **inject,
    )
    if done.returncode != 0:
        pytest.fail(
            f"the benchmark suite failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    new = sorted(saved_runs(storage) - before)
    assert len(new) == 1, f"expected one saved run, found {new}:\n{done.stdout}"
    return new[0]


def transcribe_median(path: Path) -> float:
    run: Run = load_run(path)
    return max(case.median_s for case in run.cases if case.key.kind == "transcribe")


RECORD = "suite-runs.json"
"""The runs made so far in a shared folder: {"baseline": path, "same": ..., "worse": ...,
"slowdown_s": ...}."""


def _made(shared: Path) -> dict[str, str]:
    record = shared / RECORD
    made: dict[str, str] = json.loads(record.read_text(encoding="utf-8")) if record.exists() else {}
    return made


def _keep(shared: Path, made: dict[str, str]) -> None:
    (shared / RECORD).write_text(json.dumps(made), encoding="utf-8")


def _baseline(shared: Path, cache_dir: Path) -> Path:
    """The baseline run, made here unless ``shared`` records it (call under the lock)."""
    made = _made(shared)
    if "baseline" not in made:
        storage = shared / "suite-runs"
        storage.mkdir(exist_ok=True)
        made["baseline"] = str(run_suite(storage, cache_dir))
        _keep(shared, made)
    return Path(made["baseline"])


def baseline_run(cache_dir: Path, shared: Path) -> Path:
    """The first of the three runs (of the code as it is), made on first use in this test
    session by whichever xdist worker needs it first; ``shared`` is a folder every worker of
    the session sees (``session_folder``), and a lock there makes the others wait for it."""
    with FileLock(shared / "suite-runs.lock"):
        return _baseline(shared, cache_dir)


def suite_runs(cache_dir: Path, shared: Path) -> SuiteRuns:
    """The three runs, made once in this test session, as ``baseline_run``."""
    with FileLock(shared / "suite-runs.lock"):
        baseline = _baseline(shared, cache_dir)
        made = _made(shared)
        if "worse" not in made:
            storage = baseline.parent.parent
            same = run_suite(storage, cache_dir)
            slowdown_s = round(max(transcribe_median(baseline), transcribe_median(same)) + 0.3, 2)
            worse = run_suite(
                storage,
                cache_dir,
                WHISPERBENCH_TEST_SLOWDOWN_S=str(slowdown_s),
                WHISPERBENCH_TEST_DROP_WORDS="1",
            )
            made.update(same=str(same), worse=str(worse), slowdown_s=str(slowdown_s))
            _keep(shared, made)
    return SuiteRuns(baseline, Path(made["same"]), Path(made["worse"]), float(made["slowdown_s"]))


def truncate(path: Path) -> Path:
    """Cut a saved run in half, as an interrupted write or a full disk leaves it."""
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    return path
