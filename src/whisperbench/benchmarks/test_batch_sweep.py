"""Memory and speed against batch size (``--batch-sweep 1,2,4,...``): each engine that takes a
batch size transcribes each clip at each size, warmed up at that size before timing, up to the
first size that does not fit; that case records the allocation failure, and the larger sizes
of its sweep skip, saying why."""

from __future__ import annotations

from typing import Any

import pytest

from whisperbench.results.records import BatchSweepResult
from whisperbench.suite.batch_sweep import SweepCase, SweepLedger
from whisperbench.suite.cases import Skip
from whisperbench.suite.inputs import ClipLibrary
from whisperbench.suite.pool import ModelPool
from whisperbench.suite.sweep_measure import measure_sweep_point


def test_batch_sweep(
    benchmark: Any,
    model_pool: ModelPool,
    clip_library: ClipLibrary,
    suite_config: Any,
    terminal: Any,
    sweep_case: SweepCase,
    batch_sweep: SweepLedger,
    record_result: Any,
) -> None:
    benchmark.group = f"batch-sweep-{sweep_case.clip}"
    ended = batch_sweep.skip_reason(sweep_case)
    if ended is not None:
        pytest.skip(ended)
    try:
        clip = clip_library.get(sweep_case.clip)
        loaded = model_pool.get(sweep_case.implementation, sweep_case.size)
    except Skip as reason:
        pytest.skip(str(reason))
    measured = measure_sweep_point(
        benchmark,
        loaded,
        clip,
        sweep_case,
        rounds=suite_config.rounds,
        warmup_rounds=suite_config.warmup_rounds,
        progress=terminal.progress,
        resource_interval_s=suite_config.resource_interval_s,
    )
    record_result(measured)
    result = measured.result
    assert isinstance(result, BatchSweepResult)
    if result.out_of_memory is not None:
        batch_sweep.ran_out(sweep_case, result.out_of_memory)
        terminal.notify(
            f"whisperbench: {sweep_case.id}: out of memory at batch {sweep_case.batch}, the "
            f"end of this sweep ({result.out_of_memory})"
        )
        return
    assert result.params.batch_size == sweep_case.batch
    assert result.rtfx is not None
