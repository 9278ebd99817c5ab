"""The benchmark suite end to end: real runs of ``pytest benchmarks/`` in a subprocess (tiny.en,
CPU, offline; see ``bench_runs.py``), as a user runs it.

- a saved run carries every ``extra_info`` field and the machine facts, under exact case IDs;
- ``--benchmark-compare --benchmark-compare-fail`` passes on the same code and fails on a
  slowdown injected by the test-only plugin ``regression_injection`` (never product code);
- a missing model skips with the command that fixes it; a load that hangs fails within the
  model map's limit while the other model's cases run; ``--audio`` takes a 44.1 kHz stereo file
  with a ``.txt`` beside it; ``pytest --help`` lists the suite's options.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers.bench_runs import (
    TIME_LIMIT,
    baseline_run,
    run_benchmarks,
    suite_env,
    transcribe_median,
)
from helpers.cache_helpers import TINY_CT2, copy_repos
from test_audio import make_44k_stereo

from whisperbench.audio import fixture_clip_path, load_audio
from whisperbench.implementations import ImplementationOptions
from whisperbench.implementations.faster_whisper import FasterWhisper
from whisperbench.models import get_model
from whisperbench.suite.cases import Skip, SuiteConfig
from whisperbench.suite.pool import ModelPool

pytestmark = pytest.mark.slow

LOAD_ID = "test_load[transformers-tiny.en]"
TRANSCRIBE_ID = "test_transcribe[transformers-tiny.en-short]"
SHORT_WER_MAX = 0.25
"""tiny.en on the ~9 s reference clip: measured 0.0."""
COMPARE_FAIL = TIME_LIMIT
"""``median:60%``, not 5 %: two runs of the same code (one round, CPU time, one thread) differed
by up to +15 % in the transcription median and +38 % in the one-shot load while other work
shared this 2-core machine (13 runs, load average 2-4), and by +26.8 % in a CI run. The load
case is left out of the compared runs (``-k test_transcribe``): the slowdown is injected into
transcription, and a one-shot load is too noisy to judge at any useful limit."""
SLOWDOWN_FACTOR = 3
"""The injected slowdown makes a timed transcription this many times slower (+200 %)."""
GUARD_TIMEOUT_S = 20
"""``--timeout`` for cases without the model map's limit (transcription cases) in the hang run:
only a guard, so that a second attempt at the hanging load cannot hold the run forever."""


# -- helpers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status: str
    """passed, failed, error or skipped."""
    message: str


def junit_outcomes(path: Path) -> dict[str, Outcome]:
    """Each case's outcome from a ``--junitxml`` report, by test ID."""
    outcomes = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        status, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            found = case.find(tag)
            if found is not None:
                status = "failed" if tag == "failure" else tag
                message = f"{found.get('message', '')}\n{found.text or ''}"
                break
        outcomes[case.get("name", "")] = Outcome(status, message)
    return outcomes


def only_run(storage: Path) -> dict[str, Any]:
    (path,) = storage.glob("*/*.json")
    return json.loads(path.read_text())


def benchmark(run: dict[str, Any], name: str) -> dict[str, Any]:
    return next(bench for bench in run["benchmarks"] if bench["name"] == name)


def output(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"


# -- a saved run ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def baseline(offline_hub_cache: Path, session_folder: Path) -> Path:
    """A run of the code as it is (shared with test_report and test_check_regressions)."""
    return baseline_run(offline_hub_cache, session_folder)


@pytest.fixture(scope="module")
def saved(baseline: Path) -> dict[str, Any]:
    return json.loads(baseline.read_text(encoding="utf-8"))


def test_case_ids_are_exact(saved: dict[str, Any]) -> None:
    assert sorted(bench["name"] for bench in saved["benchmarks"]) == [LOAD_ID, TRANSCRIBE_ID]


def test_transcribe_case_carries_every_extra_info_field(saved: dict[str, Any]) -> None:
    info = benchmark(saved, TRANSCRIBE_ID)["extra_info"]
    short = load_audio(fixture_clip_path("short"))
    assert info["audio_s"] == pytest.approx(len(short) / 16_000)
    assert info["rtfx"] > 0
    assert info["wer"] is not None and 0 <= info["wer"] <= SHORT_WER_MAX, info["transcript"]
    assert info["reference"] == "short.txt"
    assert info["transcript"] and len(info["transcript"]) <= 200
    assert info["load_s"] > 0
    assert info["cold_s"] > 0
    assert info["peak_rss_mb"] > 0
    params = info["params"]
    assert params["device"] == "cpu"
    assert params["dtype"] == "float32"
    assert params["attention"] == "sdpa"
    assert params["quantization"] == "none"
    assert isinstance(params["batch_size"], int) and params["batch_size"] >= 1
    assert params["chunk_length_s"] == 30


def test_load_case_records_the_load(saved: dict[str, Any]) -> None:
    info = benchmark(saved, LOAD_ID)["extra_info"]
    assert info["kind"] == "load"
    assert info["load_s"] > 0
    assert info["verify_timeout_s"] == get_model("tiny.en").verify_timeout_s
    assert info["params"]["model"] == "tiny.en"
    assert info["params"]["repo_id"] == "openai/whisper-tiny.en"


def test_machine_info_has_whisperbench_facts(saved: dict[str, Any]) -> None:
    facts = saved["machine_info"]["whisperbench"]
    assert facts["versions"]["torch"]
    assert facts["versions"]["transformers"]
    assert facts["ram_gb"] > 0
    assert facts["torch_threads"] == 1  # OMP_NUM_THREADS=1 in the run's environment


# -- comparison with a saved run -----------------------------------------------------------------


def compare_run(
    cache: Path, storage: Path, baseline: Path, **inject: str
) -> subprocess.CompletedProcess[str]:
    """The transcription case again, compared with ``baseline`` (the only run in ``storage``)."""
    folder = storage / baseline.parent.name
    folder.mkdir(parents=True)
    shutil.copy2(baseline, folder / baseline.name)
    return run_benchmarks(
        cache,
        "-k",
        "test_transcribe",
        f"--benchmark-storage=file://{storage}",
        "--benchmark-autosave",
        "--benchmark-compare",
        f"--benchmark-compare-fail={COMPARE_FAIL}",
        **inject,
    )


def test_compare_passes_when_nothing_changed(
    offline_hub_cache: Path, baseline: Path, tmp_path: Path
) -> None:
    done = compare_run(offline_hub_cache, tmp_path, baseline)
    assert done.returncode == 0, output(done)
    said = done.stdout + done.stderr
    assert f"Comparing against benchmarks from: {baseline.parent.name}/{baseline.name}" in said
    assert "Performance has regressed" not in said


def test_compare_fails_on_an_injected_slowdown(
    offline_hub_cache: Path, baseline: Path, tmp_path: Path
) -> None:
    slowdown_s = round((SLOWDOWN_FACTOR - 1) * transcribe_median(baseline), 2)
    done = compare_run(
        offline_hub_cache, tmp_path, baseline, WHISPERBENCH_TEST_SLOWDOWN_S=str(slowdown_s)
    )
    assert done.returncode == 1, output(done)
    regressed = (done.stdout + done.stderr).split("Performance has regressed:", 1)
    assert len(regressed) == 2, output(done)
    line = next(line for line in regressed[1].splitlines() if TRANSCRIBE_ID in line)
    assert "Field 'median' has failed PercentageRegressionCheck" in line
    percent = float(line.rsplit(":", 1)[1].split(">", 1)[0])
    assert percent > 100, line  # about +200 %; far beyond the run-to-run noise
    (new,) = (path for path in tmp_path.glob("*/*.json") if path.name != baseline.name)
    assert benchmark(json.loads(new.read_text()), TRANSCRIBE_ID)["stats"]["median"] >= slowdown_s


# -- --audio, and a model that is not cached -----------------------------------------------------


@dataclass(frozen=True)
class AudioRun:
    done: subprocess.CompletedProcess[str]
    saved: dict[str, Any]
    outcomes: dict[str, Outcome]
    audio: Path


@pytest.fixture(scope="module")
def audio_run(offline_hub_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> AudioRun:
    """``--audio`` on a 44.1 kHz stereo WAV with its transcript beside it, for tiny.en (cached)
    and base.en (neither cached nor bundled)."""
    folder = tmp_path_factory.mktemp("audio-run")
    audio = make_44k_stereo(folder)
    shutil.copy2(fixture_clip_path("short").with_suffix(".txt"), audio.with_suffix(".txt"))
    storage = folder / "storage"
    junit = folder / "junit.xml"
    done = run_benchmarks(
        offline_hub_cache,
        f"--audio={audio}",
        "--models=tiny.en,base.en",
        f"--benchmark-storage=file://{storage}",
        "--benchmark-autosave",
        f"--junitxml={junit}",
    )
    assert done.returncode == 0, output(done)
    return AudioRun(done, only_run(storage), junit_outcomes(junit), audio)


def test_audio_option_reports_wer_for_44k_stereo(audio_run: AudioRun) -> None:
    name = f"test_transcribe[transformers-tiny.en-{audio_run.audio.stem}]"
    assert audio_run.outcomes[name].status == "passed"
    info = benchmark(audio_run.saved, name)["extra_info"]
    assert info["audio_path"] == str(audio_run.audio)
    assert info["audio_s"] == pytest.approx(len(load_audio(fixture_clip_path("short"))) / 16_000)
    assert info["reference"] == audio_run.audio.with_suffix(".txt").name
    assert info["wer"] is not None and info["wer"] <= SHORT_WER_MAX, info["transcript"]


def test_missing_model_skips_with_the_fix_command(audio_run: AudioRun) -> None:
    cases = {
        "test_load[transformers-base.en]",
        f"test_transcribe[transformers-base.en-{audio_run.audio.stem}]",
    }
    for name in cases:
        outcome = audio_run.outcomes[name]
        assert outcome.status == "skipped", (name, outcome)
        assert "whisperbench download --model base.en" in outcome.message, outcome.message
    assert "whisperbench download --model base.en" in audio_run.done.stdout  # -ra: shown
    others = set(audio_run.outcomes) - cases
    assert others and all(audio_run.outcomes[name].status == "passed" for name in others)


# -- a load that hangs ---------------------------------------------------------------------------


@pytest.mark.skipif(
    FasterWhisper.unavailable_reason() is not None or not hasattr(os, "mkfifo"),
    reason=f"needs faster-whisper ({FasterWhisper.unavailable_reason()}) and named pipes",
)
def test_a_hanging_load_fails_within_its_limit_and_the_rest_runs(
    offline_hub_cache: Path, tmp_path: Path
) -> None:
    """Loading tiny.en through faster-whisper blocks in an ``open`` of a named pipe that nobody
    writes (``fault_injection``: a pipe inside the snapshot is now found by the cache check,
    before any load). pytest-timeout's SIGALRM interrupts that ``open`` (Python installs its
    handlers without SA_RESTART), and pytest-timeout's failure follows."""
    cache = copy_repos(offline_hub_cache, tmp_path / "hub", TINY_CT2, "Systran/faster-whisper-base")
    fifo = tmp_path / "hung-load"
    os.mkfifo(fifo)
    junit = tmp_path / "junit.xml"
    limit_s = get_model("tiny.en").verify_timeout_s
    start = time.monotonic()
    done = run_benchmarks(
        cache,
        "--implementations=faster-whisper",
        "--models=tiny.en,base",
        f"--timeout={GUARD_TIMEOUT_S}",
        f"--benchmark-storage=file://{tmp_path / 'storage'}",
        f"--junitxml={junit}",
        "-p",
        "helpers.fault_injection",
        timeout=300,
        WHISPERBENCH_TEST_HANG_LOAD=f"faster-whisper/tiny.en:{fifo}",
    )
    elapsed = time.monotonic() - start
    assert done.returncode == 1, output(done)  # the hung load's failure
    outcomes = junit_outcomes(junit)
    hung = outcomes["test_load[faster-whisper-tiny.en]"]
    assert hung.status == "failed", hung
    assert f"Timeout (>{limit_s}s) from pytest-timeout" in hung.message, hung.message
    for name in ("test_load[faster-whisper-base]", "test_transcribe[faster-whisper-base-short]"):
        assert outcomes[name].status == "passed", (name, outcomes[name])
    # The hung model's transcription case must not try the load again (it would hang again,
    # and only the --timeout guard above ends it); it skips, naming the failed load case.
    after = outcomes["test_transcribe[faster-whisper-tiny.en-short]"]
    assert after.status == "skipped", (
        "ModelPool did not record the timed-out load, so this case loaded it again",
        after,
    )
    assert "failed to load earlier in this session" in after.message, after.message
    assert "test_load[faster-whisper-tiny.en]" in after.message, after.message
    assert elapsed < limit_s + 60, f"the run took {elapsed:.0f} s"


# -- options -------------------------------------------------------------------------------------


def test_help_lists_the_suite_options(tmp_path: Path) -> None:
    """The plugin alone (no conftest: run outside the repository) adds the options."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--help", "-p", "whisperbench.suite.plugin"],
        cwd=tmp_path,
        env=suite_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, output(done)
    section = done.stdout.split("whisperbench benchmark suite:", 1)
    assert len(section) == 2, done.stdout
    for option in (
        "--models",
        "--implementations",
        "--device",
        "--audio",
        "--batch-size",
        "--rounds",
        "--warmup-rounds",
        "--offline",
        "--synthetic",
        "--dataset",
        "--dataset-limit",
        "--corpus-batching",
        "--corpus-budget",
        "--shards",
        "--progress",
    ):
        assert re.search(rf"^ +{option}(=| |$)", section[1], re.MULTILINE), option


# -- the model pool: weights provided before the timed load --------------------------------------


def test_the_pool_imports_bundled_weights_before_the_timed_load(tmp_path: Path) -> None:
    """A fresh cache: ``prepare`` imports the bundled tiny.en (one notice line) and keeps the
    folder; ``load(prepared=True)`` then times only the implementation's own load of it."""
    cache = tmp_path / "hub"
    config = SuiteConfig(
        models=("tiny.en",),
        implementations=("transformers",),
        clips=(),
        options=ImplementationOptions(device="cpu"),
        cache_dir=cache,
    )
    notices: list[str] = []
    pool = ModelPool(config, notify=notices.append)
    path = pool.prepare("transformers", "tiny.en")
    (notice,) = notices
    assert "openai/whisper-tiny.en was not cached; imported the bundled tiny.en" in notice
    assert path.is_relative_to(cache.resolve()) or path.is_relative_to(cache)
    loaded = pool.load("transformers", "tiny.en", prepared=True)
    try:
        assert loaded.implementation.snapshot_path == path
        assert loaded.load_s > 0
        assert pool.prepare("transformers", "tiny.en") == path and len(notices) == 1
    finally:
        pool.close()


def test_the_pool_skips_a_missing_model_with_the_fix_for_its_cache(tmp_path: Path) -> None:
    config = SuiteConfig(
        models=("small",),
        implementations=("transformers",),
        clips=(),
        options=ImplementationOptions(device="cpu"),
        cache_dir=tmp_path / "hub",
    )
    pool = ModelPool(config, notify=lambda line: None)
    with pytest.raises(Skip) as caught:
        pool.get("transformers", "small")
    message = str(caught.value)
    assert message.startswith("transformers small: missing: ")
    assert (
        "Fix: whisperbench download --model small --implementations transformers "
        f"--cache-dir {tmp_path / 'hub'}" in message
    )
    assert ("transformers", "small") not in pool.failures  # a skip is not a failed load
