"""``whisperbench compare RUN_A RUN_B`` on the recorded runs and copies of one with a known
change: every metric compare declares, significance against the noise of the rounds, and a
change of configuration marked as such."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from helpers.evidence_runs import evidence_run

from whisperbench.cli import main
from whisperbench.results import COMPARE, shown_in

if TYPE_CHECKING:
    from conftest import VariantStorage


def row_of(out: str, case: str) -> str:
    return next(line for line in out.splitlines() if case in line)


def test_a_change_of_batch_size_is_marked_not_judged(
    gpu_storage: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", "0002", "0003", "--storage", str(gpu_storage)]) == 0
    out = capsys.readouterr().out
    row = row_of(out, "transcribe transformers tiny.en long-x2 [cuda float16]")
    assert "+42.8% ≠" in row
    assert "*" not in row
    assert (
        "config changed: transcribe transformers tiny.en long-x2 [cuda float16]: "
        "batch_size 64 -> 24"
    ) in out
    assert "(gone)" in row_of(out, "transcribe transformers-reference tiny.en long-x2")
    assert "≠ the configuration changed" in out


def test_every_compared_metric_has_its_columns(
    variants: VariantStorage, capsys: pytest.CaptureFixture[str]
) -> None:
    variants.add("0001", repeats=0)
    variants.add("0002", slower=1.5, wer_points=2.0, repeats=2)
    assert main(["compare", "1", "2", "--storage", str(variants.root)]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if "Case" in line)
    for declared in shown_in(COMPARE):  # those of the kinds compared: no latency case here
        if not set(declared.kinds) <= {"first-words", "stream"}:
            assert f"{declared.short} A" in out, declared.field
    assert "Stream WER A" not in out
    assert "Noise s" in header
    row = row_of(out, "transcribe faster-whisper tiny.en long [cpu int8_float32 int8]")
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    # time: +50 % is beyond the spread of 3 rounds; RTFx moves with it
    assert "+50.0% *" in cells
    assert "-33.3% *" in cells
    assert "+2.0 ?" in cells  # WER points: no per-utterance errors saved, cannot tell
    assert "+2 *" in cells  # repeated 8-grams
    assert "config changed" not in out


def test_runs_from_paths_and_unknown_runs(
    gpu_storage: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = sorted(gpu_storage.glob("000[12]_*.json"))
    assert main(["compare", str(first), str(second), "--storage", str(gpu_storage)]) == 0
    assert "(new)" in capsys.readouterr().out
    assert main(["compare", "0001", "0042", "--storage", str(gpu_storage)]) == 2
    assert "no readable run '0042'" in capsys.readouterr().err


def test_changes_show_their_interval_and_p_where_the_runs_hold_the_evidence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "320")  # wide enough that no case's name is cut
    evidence_run(tmp_path, "0001")
    evidence_run(tmp_path, "0002", level=1.2, more_errors_every=3)  # 20 more errors of 840
    assert main(["compare", "1", "2", "--storage", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if "faster-whisper tiny.en long [cpu" in line)
    cells = [cell.strip() for cell in lines[at].split("│")[1:-1]]
    below = [cell.strip() for cell in lines[at + 1].split("│")[1:-1]]  # p and the mark
    time_at = next(i for i, cell in enumerate(cells) if cell.startswith("+20.0% [+"))
    assert below[time_at] == "p<0.001 *"
    wer_at = next(i for i, cell in enumerate(cells) if cell.startswith("+2.4 [+"))
    assert below[wer_at] == "p<0.001 *"
    short = row_of(out, "transcribe faster-whisper tiny.en short [cpu int8_float32 int8]")
    assert " p" not in short  # saved without the evidence: no interval
