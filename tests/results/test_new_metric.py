"""A new metric is one declaration and one computation (``results.py``'s promise): a metric
declared here, and nowhere else, is computed for every transcribe case, saved, read back, shown
in the session's table and the report, exported, given its own ``check-regressions`` option and
judged."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from whisperbench import results
from whisperbench.audio import fixture_clip_path, load_clip
from whisperbench.cli import main
from whisperbench.history import load_history
from whisperbench.implementations import ImplementationOptions
from whisperbench.implementations.fake import FakeWhisper, saying
from whisperbench.report import json_export
from whisperbench.report.select import summary_header
from whisperbench.results import Judgement, Metric, Transcribed, from_extra_info
from whisperbench.results import metrics as declarations
from whisperbench.suite.measure import measure_transcription
from whisperbench.suite.pool import LoadedModel
from whisperbench.suite.tables import results_table


def words_per_second(seen: Transcribed) -> float:
    """The computation (a new metric's would live in metrics.py)."""
    return len(seen.text.split()) / seen.audio_s


WORDS_PER_SECOND = Metric(
    "words_per_second",
    "Words/s",
    "words per second",
    "Words/s",
    "",
    ".2f",
    "bigger",
    "relative",
    judge=Judgement("--words-per-second", "PERCENT", 20.0, "fail when it drops by more"),
    export=True,
    compute=words_per_second,
)
"""The declaration."""


@pytest.fixture
def declared(monkeypatch: pytest.MonkeyPatch) -> Metric:
    monkeypatch.setattr(declarations, "METRICS", (*declarations.METRICS, WORDS_PER_SECOND))
    return WORDS_PER_SECOND


def saved_run(folder: Path, number: int, text: str, bench: Any) -> Any:
    engine = FakeWhisper(ImplementationOptions(device="cpu"), handler=saying(text))
    engine.load(None, engine.get_model_info("tiny.en"))
    clip = load_clip(fixture_clip_path("short"))
    measured = measure_transcription(
        bench,
        LoadedModel(engine, "tiny.en", "tiny.en", 0.001, 1.0),
        clip,
        rounds=2,
        warmup_rounds=1,
    )
    run = {
        "machine_info": {"system": "Linux"},
        "commit_info": {"id": f"c{number}"},
        "datetime": f"2026-11-2{number}T00:00:00+00:00",
        "benchmarks": [bench.saved("test_transcribe[fake-tiny.en-short]")],
    }
    (folder / f"000{number}_run.json").write_text(json.dumps(run))
    return measured


def test_a_metric_declared_once_appears_everywhere(
    declared: Metric,
    tmp_path: Path,
    stand_in_benchmark: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "storage" / "Linux-CPython-3.11-64bit"
    folder.mkdir(parents=True)
    reference = load_clip(fixture_clip_path("short")).reference or ""
    first = saved_run(folder, 1, reference, stand_in_benchmark())
    half = " ".join(reference.split()[: len(reference.split()) // 2])
    saved_run(folder, 2, half, stand_in_benchmark())

    # computed and saved with the case, read back from the saved run
    expected = len(reference.split()) / 10.0349375
    assert first.value(declared) == pytest.approx(expected)
    history = load_history(folder.parent)
    record = history.runs[0].cases[0].result
    assert record == from_extra_info(json.loads(json.dumps(results.to_extra_info(record))))
    assert history.runs[0].cases[0].value(declared) == pytest.approx(expected)

    # the session's table
    buffer = io.StringIO()
    Console(file=buffer, width=250).print(results_table([("t[fake]", first)]))
    assert "Words/s" in buffer.getvalue()
    assert f"{expected:.2f}" in buffer.getvalue()

    # the report and the export
    assert "Words/s" in summary_header()
    bigger = json_export.entries(history, bigger_is_better=True)
    assert any(e["name"].endswith("words per second (Linux-CPython-3.11-64bit)") for e in bigger)

    # check-regressions: its own option, and a halving fails
    storage = str(folder.parent)
    assert main(["check-regressions", "--storage", storage, "--time", "none", "--wer", "none"]) == 1
    out = capsys.readouterr().out
    assert "REGRESSION (words_per_second)" in out
    assert "limits: WER" not in out and "words per second 20%" in out
    assert "words per second" in out.split("FAILED", 1)[1]
    argv = ["check-regressions", "--storage", storage, "--time", "none", "--wer", "none"]
    assert main([*argv, "--words-per-second", "none"]) == 0
