"""The session's results table and its repetition warnings, on the records of a recorded run."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

from rich.console import Console

from whisperbench.history import load_history
from whisperbench.results import SESSION, Measured, TranscribeResult, shown_in
from whisperbench.results.metrics import latency_metrics
from whisperbench.suite.tables import repetition_warnings, results_table


def rows_of(storage: Path) -> list[tuple[str, Measured]]:
    (run,) = load_history(storage).runs
    return [(case.name, Measured(case.result, case.timing)) for case in run.cases]


def rendered(rows: list[tuple[str, Measured]]) -> list[str]:
    buffer = io.StringIO()
    Console(file=buffer, width=220).print(results_table(rows))
    return buffer.getvalue().splitlines()


def test_a_row_per_case_with_what_ran_and_every_session_metric(cpu_storage: Path) -> None:
    rows = rows_of(cpu_storage)
    lines = rendered(rows)
    header = [
        cell.strip() for cell in next(line for line in lines if "Case" in line).split("┃")[1:-1]
    ]
    throughput = [  # energy only where measured: these runs predate it
        m for m in shown_in(SESSION) if m not in latency_metrics() and not m.where_present
    ]
    assert header == ["Case", "Device", "dtype", "Batch", *(m.label for m in throughput)]
    row = next(line for line in lines if "│ faster-whisper-tiny.en-long " in line)
    cells = dict(zip(header, (c.strip() for c in row.split("│")[1:-1]), strict=True))
    assert cells["dtype"] == "int8_float32" and cells["Batch"] == "8"
    assert cells["Median s"] == "4.199" and cells["RTFx"] == "78.4" and cells["WER %"] == "9.5"
    assert cells["Repeats"] == "–"  # recorded before the count existed
    load = next(line for line in lines if "│ transformers-base " in line)
    assert "–" in load  # a load case has no RTFx or WER
    assert len([line for line in lines if line.startswith("│")]) == len(rows)


def test_a_warning_line_per_case_that_repeats_text(cpu_storage: Path) -> None:
    rows = rows_of(cpu_storage)
    assert repetition_warnings(rows) == []
    name, measured = next(r for r in rows if r[0] == "test_transcribe[transformers-tiny.en-long]")
    assert isinstance(measured.result, TranscribeResult)
    repeating = Measured(dataclasses.replace(measured.result, repeated_ngrams=14), measured.timing)
    assert repetition_warnings([*rows, (name, repeating)]) == [
        "whisperbench: warning: transformers-tiny.en-long: the transcript repeats 14 word "
        "8-gram(s) (not in the reference): repeated or hallucinated text?"
    ]


def test_energy_gets_a_column_where_a_case_has_it(cpu_storage: Path) -> None:
    rows = rows_of(cpu_storage)
    name, measured = next(r for r in rows if r[0] == "test_transcribe[transformers-tiny.en-long]")
    metered = dataclasses.replace(measured.result, energy_j_per_audio_hour=1234.4)
    lines = rendered([*rows, (name, Measured(metered, measured.timing))])
    assert "Energy J/audio h" in next(line for line in lines if "Case" in line)
    assert any("1234" in line for line in lines)
