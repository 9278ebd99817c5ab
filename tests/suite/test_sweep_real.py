"""The batch sweep on the real tiny.en (slow): ``pytest benchmarks/ --batch-sweep 1,2`` on the
CPU, offline, on the short clip, through ours and the plain recipe, as a user runs it (a
subprocess, ``bench_runs``): two saved records per engine, each with its batch size in the
parameters that ran, RTFx and WER, and the report's sweep plot drawn from them."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.bench_runs import run_suite

from whisperbench.history import load_history
from whisperbench.report.select import select
from whisperbench.report.sweep_plot import sweep_plot
from whisperbench.results.records import BatchSweepResult

pytestmark = pytest.mark.slow

ENGINES = ("transformers", "transformers-reference")


# 21-24 s of real tiny.en: nightly (the sweep's plumbing runs in CI on the fake engine)
@pytest.mark.heavy
def test_a_real_sweep_saves_a_record_per_batch_size(
    offline_hub_cache: Path, tmp_path: Path
) -> None:
    storage = tmp_path / "storage"
    run_suite(
        storage,
        offline_hub_cache,
        f"--implementations={','.join(ENGINES)}",
        "--batch-sweep=1,2",
        "-k",
        "load or batch_sweep",
    )
    history = load_history(storage)
    (run,) = history.runs
    swept = {
        case.name: case.result for case in run.cases if isinstance(case.result, BatchSweepResult)
    }
    assert sorted(swept) == sorted(
        f"test_batch_sweep[{engine}-tiny.en-short-batch{batch}]"
        for engine in ENGINES
        for batch in (1, 2)
    )
    for result in swept.values():
        assert result.params.batch_size == result.sweep_batch
        assert result.out_of_memory is None
        assert result.rtfx is not None and result.rtfx > 0
        assert result.wer is not None and result.wer < 0.25  # tiny.en on the short clip: 0.0
        assert result.cold_s is not None  # the untimed run at this batch size
    (chosen,) = select(history).machines
    image = sweep_plot(chosen.latest)
    assert image is not None and len(image) > 1000
