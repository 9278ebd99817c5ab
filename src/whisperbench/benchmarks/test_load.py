"""Model load time, per implementation and size, under the model map's verification limit."""

from __future__ import annotations

from typing import Any

import pytest

from whisperbench.suite.cases import LoadCase, Skip
from whisperbench.suite.measure import measure_load
from whisperbench.suite.pool import ModelPool


def test_load(
    benchmark: Any, model_pool: ModelPool, load_case: LoadCase, record_result: Any
) -> None:
    benchmark.group = "load"
    try:
        measured = measure_load(benchmark, model_pool, load_case)
    except Skip as reason:
        pytest.skip(str(reason))
    record_result(measured)
    assert measured.result.load_s is not None and measured.result.load_s > 0
    assert measured.result.params.model == load_case.size
