"""A corpus spread over pytest-xdist workers (``--shards N -n N``): the cases of each shard go
to one worker (``shard_scope``); workers that cannot each have a device are refused before any
starts; and, the issue's test, a sharded corpus over two CPU workers (real tiny.en, real
speech) gives the WER of the unsharded case and a joined throughput, saved as one run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.bench_runs import REPO, run_suite, suite_env

from whisperbench.history import CaseResult, load_run
from whisperbench.results import CorpusResult, metric
from whisperbench.suite.workers import process_cpus
from whisperbench.suite.xdist_shards import shard_scope


def test_each_shard_is_a_unit_of_work() -> None:
    corpus = "benchmarks/test_corpus.py::test_corpus[transformers-tiny.en-real-{}]"
    assert shard_scope(corpus.format("shard2of3")) == "shard2"
    assert shard_scope(corpus.format("shard3of3")) == "shard3"
    # the load cases (and anything else) go with shard 1, whose worker times the load
    assert shard_scope("benchmarks/test_load.py::test_load[transformers-tiny.en]") == "shard1"
    assert shard_scope(corpus.format("shard1of3")) == "shard1"


CPUS = len(process_cpus())


@pytest.mark.slow  # pytest sessions of their own, with xdist's controller
@pytest.mark.parametrize(
    ("workers", "shards", "problem"),
    [
        (
            CPUS + 1,
            CPUS + 1,
            f"-n {CPUS + 1} with --shards on the CPU: {CPUS} CPU(s) for this process, one or "
            f"more per worker; give -n {CPUS} or fewer, or leave out -n to run the shards in turn",
        ),
        (3, 2, "-n 3 with --shards 2: 1 worker(s) would have no shard; give -n 2, or --shards 3"),
    ],
)
def test_workers_without_a_device_or_a_shard_are_one_usage_error(
    workers: int, shards: int, problem: str
) -> None:
    """Refused by the controlling process, before any worker starts."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "benchmarks/",
            "-p",
            "no:cacheprovider",
            f"-n={workers}",
            f"--shards={shards}",
            "--implementations=fake",
            "--clips=corpus",
            "--device=cpu",
        ],
        cwd=REPO,
        env=suite_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.strip()]
    assert line == f"ERROR: {problem}"


def corpus_cases(path: Path) -> list[CaseResult]:
    return [case for case in load_run(path).cases if case.key.kind == "corpus"]


@pytest.mark.heavy
def test_a_sharded_corpus_over_two_cpu_workers_gives_the_unsharded_wer(
    offline_hub_cache: Path, tmp_path: Path
) -> None:
    """tiny.en (transformers, CPU) on the first 12 real recordings, one utterance at a time
    (so that each utterance's transcript cannot depend on which others share its batch): run
    whole, then in two shards over two xdist workers, each pinned to a CPU of its own."""
    if len(process_cpus()) < 2 or not hasattr(os, "sched_getaffinity"):
        pytest.skip("two CPU workers need two CPUs this process may pin")
    common = (
        "--clips=real",
        "--dataset-limit=12",
        "--corpus-batching=one-by-one",
        "--benchmark-timer=time.perf_counter",  # the wall time the shards share
    )
    whole_run = run_suite(tmp_path / "whole", offline_hub_cache, *common)
    sharded_run = run_suite(tmp_path / "sharded", offline_hub_cache, *common, "-n=2", "--shards=2")

    (whole_case,) = corpus_cases(whole_run)
    *shard_cases, joint = corpus_cases(sharded_run)
    whole, result = whole_case.result, joint.result
    assert isinstance(whole, CorpusResult) and isinstance(result, CorpusResult)
    # one run saved (run_suite found exactly one new file), the shards and the load in it
    assert [case.name for case in shard_cases] == [
        "test_corpus[transformers-tiny.en-realspeech-first12-one-by-one-shard1of2]",
        "test_corpus[transformers-tiny.en-realspeech-first12-one-by-one-shard2of2]",
    ]
    record = load_run(sharded_run).record
    assert record is not None and record.complete and len(record.measured) == 3
    # each shard ran on its own worker, pinned to its own CPU
    shards = [case.result for case in shard_cases]
    assert all(isinstance(shard, CorpusResult) for shard in shards)
    workers = {(s.shard_worker, s.shard_device) for s in shards if isinstance(s, CorpusResult)}
    assert {worker for worker, _ in workers} == {"gw0", "gw1"}
    assert len({device for _, device in workers}) == 2
    assert all(str(device).startswith("CPU ") for _, device in workers)

    # the joined case is the unsharded case: its name, its key, its WER and interval
    assert (joint.name, joint.key) == (whole_case.name, whole_case.key)
    assert whole.wer is not None and result.wer == whole.wer
    assert result.word_errors == whole.word_errors
    assert result.unit_errors == whole.unit_errors
    wer = metric("wer")
    assert wer.interval(result) == wer.interval(whole)
    assert (result.utterances, result.shards) == (12, 2)
    assert result.audio_s == pytest.approx(whole.audio_s or 0)
    # joined throughput: all the audio over the slower worker's time
    slowest = max(case.timing.median_s for case in shard_cases)
    assert joint.timing.median_s == pytest.approx(slowest)
    assert result.rtfx == pytest.approx((result.audio_s or 0) / slowest)
    print(
        f"whole: WER {whole.wer:.4f}, RTFx {whole.rtfx:.1f} ({whole_case.timing.median_s:.2f} s); "
        f"2 shards over 2 CPU workers: WER {result.wer:.4f}, RTFx {result.rtfx:.1f} "
        f"({slowest:.2f} s); shards: "
        + ", ".join(
            f"shard {c.result.value('shard')} {c.result.value('rtfx'):.1f}x "
            f"{c.timing.median_s:.2f} s on {c.result.value('shard_worker')}"
            for c in shard_cases
        )
    )
