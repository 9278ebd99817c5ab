"""The batch sweep's plumbing without a model (``--batch-sweep``): its sizes and the usage error
for a bad one, its case IDs beside the unchanged IDs of the other cases, and the controller
on the ``fake`` engine (a real engine that needs no weights) whose memory holds two windows:
the batch that does not fit is a result row saying so, the larger ones skip with the reason.
In-process pytest sessions (``pytester``), saved runs read back into the report's table and
plot. The real sweep on tiny.en is in ``test_sweep_real.py`` (slow)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from helpers.suite_sessions import copy_benchmarks

from whisperbench.audio import load_clip
from whisperbench.history import load_history
from whisperbench.implementations import ImplementationOptions
from whisperbench.implementations.fake import FakeWhisper
from whisperbench.report.markdown import markdown_summary
from whisperbench.report.select import select
from whisperbench.report.sweep import sweep_rows
from whisperbench.report.sweep_plot import sweep_plot
from whisperbench.results import from_extra_info
from whisperbench.results.records import BatchSweepResult
from whisperbench.suite.batch_sweep import (
    SweepCase,
    SweepLedger,
    parse_batch_sweep,
    sweep_cases,
    sweeps_batches,
    unswept_engines,
)
from whisperbench.suite.cases import SuiteConfig, transcribe_cases
from whisperbench.suite.inputs import fixture_clips
from whisperbench.suite.loaded import LoadedModel
from whisperbench.suite.sweep_measure import measure_sweep_point

if TYPE_CHECKING:
    from conftest import StandInBenchmark

REPO = Path(__file__).resolve().parents[2]
SHORT = REPO / "src" / "whisperbench" / "data" / "audio" / "short.flac"
SMALL_MEMORY = """
import pytest
from whisperbench.implementations.fake import FakeWhisper


@pytest.fixture(autouse=True, scope="session")
def _memory_for_two_windows():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FakeWhisper, "memory_for_batches", 2)
        yield
"""
"""A conftest for the sessions: the fake engine's memory holds batches of at most 2."""


def sweep_session(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """The suite's load, transcribe and sweep cases on the fake engine and the short clip."""
    copy_benchmarks(pytester)
    pytester.makepyfile(test_batch_sweep=(REPO / "benchmarks" / "test_batch_sweep.py").read_text())
    pytester.makeconftest(SMALL_MEMORY)
    return pytester.runpytest_inprocess(
        "-p",
        "whisperbench.suite.plugin",
        "-p",
        "no:cacheprovider",
        "--implementations=fake",
        "--clips=short",
        "--device=cpu",
        "--rounds=1",
        *args,
    )


# -- the sizes --------------------------------------------------------------------------------


def test_sizes_are_read_in_order() -> None:
    assert parse_batch_sweep("1,2,4,8,16,32,64,128") == (1, 2, 4, 8, 16, 32, 64, 128)
    assert parse_batch_sweep(" 3, 5 ") == (3, 5)
    assert parse_batch_sweep(None) == ()


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("0,2", "0 is out of range"),
        ("-4", "-4 is out of range"),
        ("1,two", "'two' is not a whole number"),
        ("1.5", "'1.5' is not a whole number"),
        ("4,2", "2 does not increase"),
        ("2,2", "2 does not increase"),
        ("2000", "2000 is out of range"),
        ("", "names no batch size"),
    ],
)
def test_a_bad_size_names_the_problem_and_the_fix(given: str, problem: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_batch_sweep(given)
    message = str(raised.value)
    assert problem in message
    assert "give increasing whole numbers from 1 to 1024" in message
    assert "--batch-sweep 1,2,4,8,16,32,64,128" in message


@pytest.mark.parametrize("given", ["0", "8,4"])
def test_a_bad_sweep_is_one_usage_error_line(pytester: pytest.Pytester, given: str) -> None:
    result = sweep_session(pytester, f"--batch-sweep={given}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    lines = [line for line in result.stderr.lines if "--batch-sweep" in line]
    assert len(lines) == 1, result.stderr.str()
    assert lines[0].startswith("ERROR: --batch-sweep")
    assert "give increasing whole numbers" in lines[0]
    assert "Traceback" not in result.stderr.str()


# -- the cases --------------------------------------------------------------------------------


def test_sweep_ids_end_in_the_batch_and_leave_other_ids_unchanged() -> None:
    plain = SuiteConfig(
        models=("tiny.en",),
        implementations=("fake", "openai-whisper"),
        clips=fixture_clips(["short"]),
        options=ImplementationOptions(device="cpu"),
    )
    swept = dataclasses.replace(plain, batch_sweep=(1, 4, 16))
    assert [c.id for c in transcribe_cases(swept)] == [c.id for c in transcribe_cases(plain)]
    assert [c.id for c in transcribe_cases(plain)] == [
        "fake-tiny.en-short",
        "openai-whisper-tiny.en-short",
    ]
    assert sweep_cases(plain) == []
    assert [c.id for c in sweep_cases(swept)] == [
        "fake-tiny.en-short-batch1",
        "fake-tiny.en-short-batch4",
        "fake-tiny.en-short-batch16",
    ]


def test_an_engine_without_a_batch_size_gets_no_sweep_and_a_line_saying_so() -> None:
    assert sweeps_batches("transformers") and sweeps_batches("transformers-reference")
    assert sweeps_batches("insanely-fast-whisper") and sweeps_batches("faster-whisper")
    assert not sweeps_batches("openai-whisper") and not sweeps_batches("whisper.cpp")
    (line,) = unswept_engines(["transformers", "openai-whisper"], (1, 2))
    assert line.startswith("--batch-sweep: openai-whisper take(s) no batch size")
    assert unswept_engines(["openai-whisper"], ()) == []


# -- the controller ---------------------------------------------------------------------------


def fake_model(memory_for: int | None) -> LoadedModel:
    engine = FakeWhisper.with_memory_for(memory_for) if memory_for else FakeWhisper
    impl = engine(ImplementationOptions(device="cpu", batch_size=3))
    impl.load(None, impl.get_model_info("tiny.en"))
    return LoadedModel(impl, "tiny.en", "tiny.en", load_s=0.001, peak_rss_after_load_mb=1.0)


def test_a_batch_that_fits_is_timed_at_its_size_and_the_engine_set_back(
    stand_in_benchmark: type[StandInBenchmark],
) -> None:
    model = fake_model(memory_for=None)
    bench = stand_in_benchmark()
    case = SweepCase("fake", "tiny.en", "tiny.en", "short", batch=8)
    measured = measure_sweep_point(bench, model, load_clip(SHORT), case, rounds=2, warmup_rounds=1)
    result = measured.result
    assert isinstance(result, BatchSweepResult)
    assert result.sweep_batch == 8 and result.params.batch_size == 8
    assert result.out_of_memory is None and result.rtfx is not None
    assert measured.timing is not None and measured.timing.rounds == 2
    assert model.implementation.calls == 3  # type: ignore[attr-defined]  # cold, then 2 timed
    assert model.implementation.batch_size == 3  # the load's choice, for the other cases
    assert from_extra_info(json.loads(json.dumps(bench.extra_info))) == result


def test_a_batch_that_does_not_fit_is_a_row_saying_so_and_ends_its_sweep(
    stand_in_benchmark: type[StandInBenchmark],
) -> None:
    model = fake_model(memory_for=4)
    ledger = SweepLedger()
    clip = load_clip(SHORT)
    cases = [SweepCase("fake", "tiny.en", "tiny.en", "short", batch=b) for b in (4, 8, 16)]
    fits = measure_sweep_point(
        stand_in_benchmark(), model, clip, cases[0], rounds=1, warmup_rounds=1
    )
    assert fits.result.out_of_memory is None  # type: ignore[union-attr]
    failed = measure_sweep_point(
        stand_in_benchmark(), model, clip, cases[1], rounds=1, warmup_rounds=1
    )
    result = failed.result
    assert isinstance(result, BatchSweepResult)
    assert failed.timing is None and result.rtfx is None
    assert result.out_of_memory == "MemoryError: fake engine: batch 8 does not fit (memory for 4)"
    assert result.params.batch_size == 8 and result.sweep_batch == 8
    assert model.implementation.batch_size == 3
    ledger.ran_out(cases[1], result.out_of_memory)
    assert ledger.skip_reason(cases[0]) is None and ledger.skip_reason(cases[1]) is None
    assert ledger.skip_reason(cases[2]) == (
        "batch 16 skipped: the sweep ended at batch 8, the first that did not fit "
        "(fake-tiny.en-short-batch8: MemoryError: fake engine: batch 8 does not fit "
        "(memory for 4))"
    )
    other_clip = SweepCase("fake", "tiny.en", "tiny.en", "long", batch=16)
    assert ledger.skip_reason(other_clip) is None  # a sweep is one engine, model and clip


# -- a session, its saved run and the report --------------------------------------------------


def test_a_session_sweeps_up_to_the_first_batch_that_does_not_fit_and_reports_it(
    pytester: pytest.Pytester,
) -> None:
    storage = pytester.path / "storage"
    result = sweep_session(
        pytester,
        "--batch-sweep=1,2,4,8",
        f"--benchmark-storage=file://{storage}",
        "--benchmark-autosave",
        "-rs",
    )
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    outcomes = result.parseoutcomes()
    assert outcomes["passed"] == 5 and outcomes["skipped"] == 1  # load, transcribe, 1, 2, 4
    output = result.stdout.str()
    assert (
        "whisperbench: batch sweep fake-tiny.en-short-batch4: out of memory at batch 4, the end "
        "of its sweep: MemoryError: fake engine: batch 4 does not fit (memory for 2)"
    ) in output
    assert "batch 8 skipped: the sweep ended at batch 4, the first that did not fit" in output
    history = load_history(storage)
    (run,) = history.runs
    saved = {case.name: case.result for case in run.cases}
    for batch in (1, 2):
        record = saved[f"test_batch_sweep[fake-tiny.en-short-batch{batch}]"]
        assert isinstance(record, BatchSweepResult)
        assert record.sweep_batch == batch and record.params.batch_size == batch
        assert record.rtfx is not None and record.wer is not None
    assert saved["test_transcribe[fake-tiny.en-short]"].params.batch_size == 1

    assert "test_batch_sweep[fake-tiny.en-short-batch4]" not in saved  # nothing timed
    (ended,) = run.untimed_results()  # kept in the run's record instead
    assert isinstance(ended, BatchSweepResult) and ended.sweep_batch == 4
    assert ended.out_of_memory == "MemoryError: fake engine: batch 4 does not fit (memory for 2)"

    (chosen,) = select(history).machines
    rows = sweep_rows(chosen.latest)
    assert [row[:4] for row in rows] == [
        ["fake", "tiny.en", "short", "1"],
        ["fake", "tiny.en", "short", "2"],
        ["fake", "tiny.en", "short", "4"],
    ]
    assert rows[-1][4] == f"out of memory ({ended.out_of_memory})"
    assert rows[-1][-1] == run.run_id
    image = sweep_plot(chosen.latest)
    assert image is not None and len(image) > 1000  # a base64 PNG with something drawn
    summary = markdown_summary(history)
    assert "### Batch sweep" in summary
    assert "out of memory (MemoryError: fake engine: batch 4 does not fit" in summary
    assert "(load only)" not in summary  # the sweep's rows are not the summary's
