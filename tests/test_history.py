"""Saved runs -> typed history, on the runs recorded under ``reports/`` (real runs of the suite
on 2 CPU cores and on an H100), and on broken or foreign copies of them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from whisperbench.errors import HistoryError
from whisperbench.history import CaseKey, load_history, load_run
from whisperbench.results import CorpusResult, LoadResult, TranscribeResult
from whisperbench.results.records import FirstWordsResult, StreamResult


def test_every_recorded_storage_loads_every_run_and_benchmark(
    recorded_storages: tuple[Path, ...], recorded_files: tuple[Path, ...]
) -> None:
    runs = []
    for storage in recorded_storages:
        history = load_history(storage)
        assert history.skipped == [] and history.problems() == [], storage
        runs += history.runs
    assert sorted(run.path for run in runs) == sorted(recorded_files)
    for run in runs:
        saved = json.loads(run.path.read_text(encoding="utf-8"))
        assert [case.name for case in run.cases] == [b["name"] for b in saved["benchmarks"]]
        for case, bench in zip(run.cases, saved["benchmarks"], strict=True):
            assert case.median_s == bench["stats"]["median"]
            assert case.timing.rounds == bench["stats"]["rounds"]
            assert case.key == CaseKey.of(case.result)
            assert isinstance(
                case.result,
                LoadResult | TranscribeResult | CorpusResult | FirstWordsResult | StreamResult,
            )


def test_the_gpu_history_reads_as_recorded(gpu_storage: Path) -> None:
    history = load_history(gpu_storage)
    assert history.machines == ["Linux-CPython-3.12-64bit"]  # rebuilt: the files sit flat
    assert [run.run_id for run in history.runs] == ["0001", "0002", "0003", "0004", "0005", "0006"]
    run = history.runs[2]
    (case,) = [c for c in run.cases if c.key.implementation == "transformers"]
    assert case.key.label == "transcribe transformers tiny.en long-x2 [cuda float16]"
    assert case.params.batch_size == 24
    assert case.params.decoder == "static greedy + CUDA graph"
    assert isinstance(case.result, TranscribeResult)
    assert case.result.word_errors is not None and case.result.word_errors.insertions == 64
    earlier = history.runs[1].case(case.key)
    assert earlier is not None
    assert case.config_changes(earlier) == ("batch_size 64 -> 24",)
    assert "H100" in run.hardware


def test_cpu_history_keeps_the_machine_folder_and_commit(cpu_storage: Path) -> None:
    history = load_history(cpu_storage)
    (run,) = history.runs
    assert run.machine == "Linux-CPython-3.11-64bit"
    assert run.commit.startswith("61e8063e")
    assert run.dirty
    faster = [c for c in run.cases if c.key.implementation == "faster-whisper"]
    assert faster and all(c.params.threads == 2 for c in faster)  # cpu_threads, typed
    assert all(c.params.get("compute_type") == "int8_float32" for c in faster)


def test_broken_and_foreign_files_are_skipped_one_line_each(
    storage_of: Callable[..., Path], cpu_storage: Path, broken_copies: Any
) -> None:
    (recorded,) = cpu_storage.glob("*/*.json")
    storage = storage_of(recorded)
    folder = next(storage.iterdir())
    text = recorded.read_text(encoding="utf-8")
    broken_copies(recorded, folder)
    (folder / "0005_list.json").write_text("[]")
    partial = json.loads(text)
    partial["benchmarks"][0]["extra_info"] = {"kind": "load"}
    (folder / "0006_partial.json").write_text(json.dumps(partial))

    history = load_history(storage)
    reasons = {s.path.name: s.reason for s in history.skipped}
    assert reasons["0002_truncated.json"].startswith("not valid JSON (truncated or corrupt?)")
    assert reasons["0003_empty.json"] == "empty file"
    assert reasons["0004_foreign.json"].startswith("no whisperbench results in this run")
    assert "kind load/transcribe" in reasons["0004_foreign.json"]
    assert reasons["0005_list.json"] == "not a pytest-benchmark run (no 'benchmarks' list)"
    assert len(history.runs) == 2
    partial_run = next(r for r in history.runs if r.path.name == "0006_partial.json")
    assert len(partial_run.cases) == len(partial["benchmarks"]) - 1
    assert "lacks implementation" in partial_run.ignored[0]
    assert any("1 benchmark(s) left out" in line for line in history.problems())


def test_runs_are_found_by_number_machine_or_path(gpu_storage: Path) -> None:
    history = load_history(gpu_storage)
    assert history.find("3").run_id == "0003"
    assert history.find("Linux-CPython-3.12-64bit/0002").run_id == "0002"
    path = next(gpu_storage.glob("0004_*.json"))
    assert history.find(str(path)).path == path
    with pytest.raises(HistoryError, match="no readable run '9'"):
        history.find("9")
    with pytest.raises(HistoryError, match="neither a file nor a run number"):
        history.find("latest")


def test_no_storage_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="no benchmark storage"):
        load_history(tmp_path / "nothing")
    with pytest.raises(HistoryError, match="only file storage"):
        load_history("s3://bucket/runs")


def test_a_run_outside_any_storage_loads_by_path(gpu_storage: Path) -> None:
    run = load_run(next(gpu_storage.glob("0001_*.json")))
    assert run.run_id == "0001"
    assert {c.key.kind for c in run.cases} == {"load", "transcribe"}


def test_a_run_cut_short_before_any_case_finished_still_loads(
    cpu_storage: Path, tmp_path: Path
) -> None:
    """An interrupt during the first load saves a run with no benchmark, but with the record
    that says so: it is read (so that check-regressions sees it as the newest run), not skipped
    as a foreign file; runs saved before the record existed read as complete."""
    source = next(cpu_storage.glob("*/0001_*.json"))
    data = json.loads(source.read_text(encoding="utf-8"))
    names = [bench["name"] for bench in data["benchmarks"]]
    data["benchmarks"] = []
    data["whisperbench"] = {
        "complete": False,
        "stopped": "interrupted (KeyboardInterrupt)",
        "expected": names,
        "measured": [],
        "not_run": names,
    }
    folder = tmp_path / "storage" / source.parent.name
    folder.mkdir(parents=True)
    (folder / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "0002_cut.json").write_text(json.dumps(data), encoding="utf-8")
    history = load_history(tmp_path / "storage")
    old, cut = history.runs
    assert old.record is None and old.complete
    assert cut.cases == () and not cut.complete and history.skipped == []
    assert cut.fate(names[0]) == "not run: the session was interrupted (KeyboardInterrupt)"
