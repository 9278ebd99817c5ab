"""What a report shows: the newest result of each case, in the model map's order, and each
case's history with the rule's verdicts, on the recorded H100 runs."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from whisperbench.history import load_history
from whisperbench.regressions import Limits
from whisperbench.report.select import (
    case_histories,
    latest_results,
    machine_selection,
    model_order,
    summary_header,
    summary_rows,
)
from whisperbench.results import REPORT, shown_in


def test_the_newest_result_of_each_case(gpu_storage: Path) -> None:
    runs = load_history(gpu_storage).runs
    latest = latest_results(runs)
    keys = [case.key for _, case in latest]
    assert len(keys) == len(set(keys))
    by_label = {case.key.label: run.run_id for run, case in latest}
    assert by_label["transcribe transformers tiny.en long-x2 [cuda float16]"] == "0003"
    assert by_label["transcribe transformers-reference tiny.en long-x2 [cuda float16]"] == "0002"
    assert by_label["transcribe transformers tiny.en short [cuda float16]"] == "0001"


def test_sizes_sort_as_the_model_map_lists_them() -> None:
    names = ["large-v3-synthetic", "base", "tiny.en", "my-own-size", "tiny"]
    assert sorted(names, key=model_order) == [
        "tiny",
        "tiny.en",
        "base",
        "large-v3-synthetic",
        "my-own-size",
    ]


def test_summary_rows_have_a_cell_per_column_and_load_only_rows(gpu_storage: Path) -> None:
    runs = load_history(gpu_storage).runs
    header = summary_header()
    assert header[:3] == ["Implementation", "Model", "Clip"]
    shown = [m for m in shown_in(REPORT) if not set(m.kinds) <= {"first-words", "stream"}]
    assert header[3 : 3 + len(shown)] == [m.label for m in shown]
    assert header[-5:] == ["Device", "dtype", "Quantisation", "Batch", "Run"]
    rows = summary_rows(latest_results(runs))
    assert rows and all(len(row) == len(header) for row in rows)
    assert all(row[2] != "(load only)" for row in rows)  # every loaded model was transcribed
    assert (
        len(summary_rows(latest_results(runs[:1]))) == 4
    )  # ours and the recipe, on short and long
    loads = dataclasses.replace(
        runs[0], cases=tuple(c for c in runs[0].cases if c.key.kind == "load")
    )
    load_rows = summary_rows(latest_results([loads]))
    assert [row[:3] for row in load_rows] == [
        ["transformers", "tiny.en", "(load only)"],
        ["transformers-reference", "tiny.en", "(load only)"],
    ]


def test_histories_carry_the_rules_verdicts_and_configuration_changes(gpu_storage: Path) -> None:
    runs = load_history(gpu_storage).runs
    histories = {item.key.label: item for item in case_histories(runs, Limits())}
    ours = histories["transcribe transformers tiny.en long-x2 [cuda float16]"]
    assert [run.run_id for run, _ in ours.points] == ["0002", "0003"]
    assert ours.regressions == []
    assert [(run.run_id, change) for run, change in ours.config_changes] == [
        ("0003", ("batch_size 64 -> 24",))
    ]
    assert machine_selection(runs, Limits()).newest_findings() == []


def test_a_report_selects_once_for_every_format(
    gpu_storage: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``write_report`` chooses the newest results and the judged histories once per machine
    and hands the same selection to Markdown, HTML (and its plots) and the JSON export."""
    from whisperbench.report import select, write

    calls: list[int] = []
    count = select.latest_results

    def counted(runs: Any) -> Any:
        calls.append(len(runs))
        return count(runs)

    monkeypatch.setattr(select, "latest_results", counted)
    history = load_history(gpu_storage)
    written = write.write_report(history, tmp_path, formats=("md", "html", "json"))
    assert len(written) == 4
    assert len(calls) == len(history.machines)  # was 8 for one machine
