"""The storage's save lock: one session numbers and writes its run at a time (the concurrent
sessions themselves are in ``test_reliability.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from filelock import Timeout

from whisperbench.suite.storage_lock import LOCK_NAME, SaveLock, file_storage_folder


def test_the_storage_option_names_the_folder_as_pytest_benchmark_reads_it() -> None:
    assert file_storage_folder("file://reports/benchmarks") == Path("reports/benchmarks")
    assert file_storage_folder("/abs/runs") == Path("/abs/runs")
    assert file_storage_folder("elasticsearch+https://host/index/doc") is None


def test_a_second_session_waits_until_the_first_has_saved(tmp_path: Path) -> None:
    first, second = SaveLock(tmp_path / "storage"), SaveLock(tmp_path / "storage")
    first.acquire()
    first.acquire()  # taken once per session
    assert first.held and (tmp_path / "storage" / LOCK_NAME).exists()
    with pytest.raises(Timeout):
        second.acquire(timeout_s=0.2)
    assert not second.held
    first.release()
    second.acquire(timeout_s=0.2)
    assert second.held
    second.release()
    assert not second.held
