"""``whisperbench check-regressions`` and ``compare`` on real runs of the suite (see
``bench_runs.py``): two runs of the same code pass; a slowdown and a WER rise injected through
the ``pytest_whisperbench_model_loaded`` hook fail; broken history files are skipped."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from bench_runs import TIME_LIMIT, SuiteRuns, suite_runs, truncate

from whisperbench.cli import main
from whisperbench.history import Run, load_run
from whisperbench.regressions import CaseComparison, check_newest, parse_time_check

pytestmark = pytest.mark.slow

CASE = "transcribe transformers tiny.en short [cpu float32]"


@pytest.fixture(scope="module")
def runs(offline_hub_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> SuiteRuns:
    return suite_runs(offline_hub_cache, tmp_path_factory)


def check(storage: Path, *options: str) -> list[str]:
    return ["check-regressions", "--storage", str(storage), *options]


def test_two_runs_of_the_same_code_pass(
    runs: SuiteRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs.into(tmp_path, runs.baseline, runs.same)
    assert main(check(tmp_path, "--time", TIME_LIMIT)) == 0
    out = capsys.readouterr().out
    assert f"OK: no regressions in run {runs.same.name[:4]} (1 case(s) checked)" in out
    assert CASE in out


def test_an_injected_slowdown_fails(
    runs: SuiteRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs.into(tmp_path, runs.baseline, runs.same, runs.worse)
    assert main(check(tmp_path, "--time", TIME_LIMIT, "--wer", "none")) == 1
    out = capsys.readouterr().out
    assert "FAILED: 1 regression(s)" in out
    failure = out.split("FAILED", 1)[1]
    assert f"{CASE}: median time" in failure
    assert "(median of 2 run(s))" in failure
    assert f"over {TIME_LIMIT}" in failure


def test_an_injected_wer_rise_fails(
    runs: SuiteRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs.into(tmp_path, runs.baseline, runs.same, runs.worse)
    assert main(check(tmp_path, "--time", "none", "--wer", "1.0")) == 1
    failure = capsys.readouterr().out.split("FAILED", 1)[1]
    assert f"{CASE}: WER 50.0% vs 0.0% (median of 2 run(s)): +50.0 points, over 1" in failure
    assert "median time" not in failure


def test_default_limits_catch_both(
    runs: SuiteRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs.into(tmp_path, runs.baseline, runs.same, runs.worse)
    assert main(check(tmp_path)) == 1
    out = capsys.readouterr().out
    assert "REGRESSION (time, wer)" in out
    assert "limits: median:10%, WER +1 points" in out


def test_the_window_picks_the_runs_of_the_baseline(
    runs: SuiteRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs.into(tmp_path, runs.baseline, runs.same, runs.worse)
    assert main(check(tmp_path, "--window", "1", "--time", "none")) == 1
    out = capsys.readouterr().out
    assert f"earlier run(s) ({runs.same.name[:4]})" in out
    assert "(median of 1 run(s))" in out


def test_no_history_is_said_plainly_and_passes(
    runs: SuiteRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs.into(tmp_path, runs.baseline)
    assert main(check(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "no history to compare" in out
    assert runs.baseline.name[:4] in out


def test_no_runs_at_all_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Linux-CPython-3.11-64bit").mkdir()
    assert main(check(tmp_path)) == 2
    assert "no readable runs" in capsys.readouterr().err


def test_a_truncated_history_file_is_reported_and_skipped(
    runs: SuiteRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, broken, _ = runs.into(tmp_path, runs.baseline, runs.same, runs.worse)
    truncate(broken)
    runs.into(tmp_path, runs.same, machine="Darwin-CPython-3.12-arm64bit")
    assert main(check(tmp_path, "--machine", runs.machine, "--time", "none")) == 1
    captured = capsys.readouterr()
    assert f"{broken}: skipped: not valid JSON (truncated or corrupt?)" in captured.err
    assert "skipped: from machine Darwin-CPython-3.12-arm64bit" in captured.out
    # the newest run is still checked, against the one readable earlier run
    assert f"earlier run(s) ({runs.baseline.name[:4]})" in captured.out
    assert "WER 50.0% vs 0.0% (median of 1 run(s))" in captured.out


def test_compare_shows_changes_and_significance(
    runs: SuiteRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs.into(tmp_path, runs.baseline, runs.same, runs.worse)
    assert (
        main(["compare", runs.baseline.name[:4], str(runs.worse), "--storage", str(tmp_path)]) == 0
    )
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if CASE in line)
    assert "+50.0 *" in row  # the WER rise: a change of words is significant
    assert "% ?" in row  # one round per run: no noise seen, so no verdict on time
    assert "cannot tell" in out


def test_significance_needs_a_change_beyond_the_noise_of_the_rounds(runs: SuiteRuns) -> None:
    """The rule on real results, with the rounds' spread set as three-round runs would show it."""
    real = next(c for c in load_run(runs.baseline).cases if c.key.kind == "transcribe")
    a = dataclasses.replace(real, median_s=1.00, min_s=0.95, max_s=1.05, rounds=3)
    within = dataclasses.replace(a, median_s=1.08, min_s=1.02, max_s=1.12)
    beyond = dataclasses.replace(a, median_s=1.30, min_s=1.25, max_s=1.40)
    one_round = dataclasses.replace(beyond, rounds=1)
    assert CaseComparison(a.key, a, within).time_significant is False
    assert CaseComparison(a.key, a, beyond).time_significant is True
    assert CaseComparison(a.key, a, beyond).noise_s == pytest.approx(0.15)
    assert CaseComparison(a.key, a, one_round).time_significant is None


def test_check_uses_the_median_of_the_window_not_the_previous_run(runs: SuiteRuns) -> None:
    """One slow run in the history does not move the baseline: the median of the window does."""
    base_run = load_run(runs.baseline)
    real = next(c for c in base_run.cases if c.key.kind == "transcribe")

    def with_median(seconds: float, run_id: str) -> Run:
        case = dataclasses.replace(real, median_s=seconds, min_s=seconds, max_s=seconds)
        return dataclasses.replace(base_run, run_id=run_id, cases=(case,))

    history = [with_median(1.0, "0001"), with_median(1.0, "0002"), with_median(3.0, "0003")]
    newest = with_median(1.3, "0004")
    report = check_newest(
        [*history, newest],
        window=3,
        time_checks=[parse_time_check("median:20%")],
    )
    assert report is not None
    (case,) = report.cases
    assert case.baseline_time["median"] == 1.0
    assert [f.what for f in case.findings] == ["time"]  # +30 % against the median; the
    # previous run alone (3.0 s) would have called it 57 % faster
