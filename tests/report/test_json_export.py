"""The github-action-benchmark export: one list of ``{name, unit, value, extra}`` per direction,
from the declared metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from whisperbench.history import load_history
from whisperbench.report import json_export
from whisperbench.results import exported

if TYPE_CHECKING:
    from conftest import VariantStorage


def test_each_direction_has_its_file_and_metrics(variants: VariantStorage) -> None:
    variants.add("0001", repeats=2)
    history = load_history(variants.root)
    files = json_export.export(history)
    assert json_export.TOOLS == {
        "benchmark-bigger-is-better.json": "customBiggerIsBetter",
        "benchmark-smaller-is-better.json": "customSmallerIsBetter",
    }
    bigger = json.loads(files["benchmark-bigger-is-better.json"])
    smaller = json.loads(files["benchmark-smaller-is-better.json"])
    assert len(bigger) == 12  # RTFx of each transcribe case
    assert len(smaller) == 24  # WER and repeated 8-grams of each
    units = {entry["name"].split(" [", 1)[1].split("] ", 1)[1]: entry["unit"] for entry in smaller}
    assert set(units.values()) == {"%", "count"}
    entry = next(
        e
        for e in smaller
        if e["name"] == "transcribe faster-whisper tiny.en long [cpu int8_float32 int8] WER "
        "(Linux-CPython-3.11-64bit)"
    )
    assert entry["value"] == pytest.approx(9.5465, abs=1e-4)  # percent, as shown
    assert entry["extra"].startswith("run 0001, commit 61e8063e")
    assert "batch_size=8" in entry["extra"]


def test_the_exported_metrics_are_the_declared_ones() -> None:
    assert [m.field for m in exported()] == [
        "rtfx",
        "wer",
        "repeated_ngrams",
        "energy_j_per_audio_hour",
        "first_text_s",
        "delay_p50_s",
        "stream_wer",
    ]


def test_nothing_to_export_is_an_empty_list(gpu_storage: Path) -> None:
    history = load_history(gpu_storage)
    history.runs = [r for r in history.runs if all(c.key.kind == "load" for c in r.cases)]
    assert json_export.entries(history, bigger_is_better=True) == []
