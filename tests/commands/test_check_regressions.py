"""``whisperbench check-regressions``.

Fast: on the recorded runs (``reports/``) and copies of one with a known change (``variants``):
exit codes, the options (one per judged metric), the table, changes of configuration.

Slow: on real runs of the suite (``bench_runs.py``): two runs of the same code pass; a slowdown
and a WER rise injected through the ``pytest_whisperbench_model_loaded`` hook fail; a broken
history file is skipped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from helpers.bench_runs import TIME_LIMIT, SuiteRuns, suite_runs, truncate
from helpers.evidence_runs import evidence_run

from whisperbench.cli import main

CASE = "transcribe transformers tiny.en short [cpu float32]"

if TYPE_CHECKING:
    from conftest import VariantStorage


@pytest.fixture(scope="module")
def runs(offline_hub_cache: Path, session_folder: Path) -> SuiteRuns:
    return suite_runs(offline_hub_cache, session_folder)


def check(storage: Path, *options: str) -> list[str]:
    return ["check-regressions", "--storage", str(storage), *options]


@pytest.mark.slow
def test_two_runs_of_the_same_code_pass(
    runs: SuiteRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs.into(tmp_path, runs.baseline, runs.same)
    assert main(check(tmp_path, "--time", TIME_LIMIT)) == 0
    out = capsys.readouterr().out
    assert f"OK: no regressions in run {runs.same.name[:4]} (1 case(s) checked)" in out
    assert CASE in out


@pytest.mark.slow
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


@pytest.mark.slow
def test_an_injected_wer_rise_fails(
    runs: SuiteRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs.into(tmp_path, runs.baseline, runs.same, runs.worse)
    assert main(check(tmp_path, "--time", "none", "--wer", "1.0")) == 1
    failure = capsys.readouterr().out.split("FAILED", 1)[1]
    assert f"{CASE}: WER 50.0% vs 0.0% (median of 2 run(s)): +50.0 points, over 1" in failure
    assert "median time" not in failure


@pytest.mark.slow
def test_default_limits_catch_both(
    runs: SuiteRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs.into(tmp_path, runs.baseline, runs.same, runs.worse)
    assert main(check(tmp_path)) == 1
    out = capsys.readouterr().out
    assert "REGRESSION (time, wer)" in out
    assert "limits: median:10%, WER +1 points" in out


@pytest.mark.slow
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


# -- fast: recorded runs and variants of one ------------------------------------------------------


def test_the_same_results_again_pass_with_every_limit_named(
    variants: VariantStorage, capsys: pytest.CaptureFixture[str]
) -> None:
    variants.add("0001")
    variants.add("0002")
    assert main(check(variants.root)) == 0
    out = capsys.readouterr().out
    assert (
        "of the same configuration; limits: median:10%, WER +1 points, repeated 8-grams +0" in out
    )
    assert "earlier run(s) (0001)" in out
    assert "OK: no regressions in run 0002 (12 case(s) checked)" in out
    header = next(line for line in out.splitlines() if "History median s" in line)
    for column in ("WER %", "History WER %", "Repeats", "History Repeats", "Runs", "Result"):
        assert column in header, column


def test_a_slowdown_and_a_wer_rise_fail_with_one_line_each(
    variants: VariantStorage, capsys: pytest.CaptureFixture[str]
) -> None:
    variants.add("0001")
    variants.add("0002", slower=1.3, wer_points=1.5)
    assert main(check(variants.root)) == 1
    out = capsys.readouterr().out
    failure = out.split("FAILED: ", 1)[1]
    assert failure.startswith("24 regression(s) in run 0002:")  # 12 cases x (time, WER)
    assert "REGRESSION (time, wer)" in out
    line = next(
        row for row in failure.splitlines() if "transformers tiny.en short" in row and "WER" in row
    )
    assert line.strip() == (
        "transcribe transformers tiny.en short [cpu float32]: "
        "WER 1.5% vs 0.0% (median of 1 run(s)): +1.5 points, over 1"
        " (limit alone, no interval: no per-utterance errors saved)"
    )


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ((), 1),
        (("--time", "none"), 1),
        (("--time", "none", "--wer", "none"), 1),
        (("--time", "none", "--wer", "none", "--repeats", "none"), 0),
        (("--time", "median:60%", "--wer", "3", "--repeats", "5"), 0),
    ],
)
def test_each_judged_metric_has_its_option(
    variants: VariantStorage, options: tuple[str, ...], code: int
) -> None:
    variants.add("0001", repeats=0)
    variants.add("0002", slower=1.5, wer_points=2.0, repeats=3)
    assert main(check(variants.root, *options)) == code


def test_a_repeats_rise_is_a_regression(
    variants: VariantStorage, capsys: pytest.CaptureFixture[str]
) -> None:
    variants.add("0001", repeats=0)
    variants.add("0002", repeats=2)
    assert main(check(variants.root)) == 1
    out = capsys.readouterr().out
    assert "REGRESSION (repeated_ngrams)" in out
    assert "repeated 8-grams 2 vs 0 (median of 1 run(s)): +2, over 0" in out


def test_a_change_of_configuration_passes_and_is_said(
    gpu_storage: Path, capsys: pytest.CaptureFixture[str], storage_of: Any
) -> None:
    """reports/gpu/h100-4e2b31c's runs 0002 (batch 64) and 0003 (batch 24) of the same ID."""
    runs = sorted(gpu_storage.glob("000[23]_*.json"))
    storage = storage_of(*runs, machine="Linux-CPython-3.12-64bit")
    # run 0003 ran ours alone: the yardstick's case of run 0002 is missing from it, which
    # fails unless accepted (issue 14)
    assert main(check(storage)) == 1
    missing = "transcribe transformers-reference tiny.en long-x2 [cuda float16]"
    assert f"missing from the newest run (skipped or failed?): {missing}" in (
        out := capsys.readouterr().out
    )
    assert "FAILED: run 0003 lacks 1 case(s) that its history has" in out
    assert main(check(storage, "--allow-partial")) == 0
    out = capsys.readouterr().out
    assert (
        "config changed: batch_size 64 -> 24 since run 0002, no earlier run of this "
        "configuration (not judged): transcribe transformers tiny.en long-x2 [cuda float16]"
    ) in out
    assert "OK: no regressions in run 0003" in out
    assert "+42.8%" not in out


def test_the_first_run_has_no_history_and_passes(
    variants: VariantStorage, capsys: pytest.CaptureFixture[str]
) -> None:
    variants.add("0001")
    assert main(check(variants.root)) == 0
    assert "no history to compare: run 0001" in capsys.readouterr().out


def test_errors_exit_2_with_one_line(
    tmp_path: Path, variants: VariantStorage, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Linux-CPython-3.11-64bit").mkdir()
    assert main(check(tmp_path)) == 2
    assert "no readable runs" in capsys.readouterr().err
    variants.add("0001")
    assert main(check(variants.root, "--machine", "Darwin-x")) == 2
    assert "no readable runs of machine 'Darwin-x'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(check(variants.root, "--repeats", "many"))
    assert exit_info.value.code == 2
    assert "a number or 'none', not 'many'" in capsys.readouterr().err


# --- incomplete and partial runs (issue 14) ----------------------------------------------------

FW_LONG = "test_transcribe[faster-whisper-base-long]"


def cut_short(path: Path, *, drop: str | None = None, skipped: str | None = None) -> None:
    """Give a saved run the record of a session cut short (``drop``: a case it never finished,
    left out of its benchmarks) or, with ``skipped``, of a whole session that skipped ``drop``."""
    data = json.loads(path.read_text(encoding="utf-8"))
    names = [bench["name"] for bench in data["benchmarks"]]
    data["benchmarks"] = [bench for bench in data["benchmarks"] if bench["name"] != drop]
    record = {"expected": names, "measured": [n for n in names if n != drop]}
    if skipped is None:
        record |= {"complete": False, "stopped": "interrupted (KeyboardInterrupt)"}
        record["not_run"] = [drop] if drop else []
    else:
        record |= {"complete": True, "stopped": None, "skipped": {drop: skipped}}
    data["whisperbench"] = record
    path.write_text(json.dumps(data), encoding="utf-8")


def test_an_interrupted_newest_run_fails_unless_accepted(
    variants: VariantStorage, capsys: pytest.CaptureFixture[str]
) -> None:
    variants.add("0001")
    cut_short(variants.add("0002"), drop=FW_LONG)
    assert main(check(variants.root)) == 1
    out = capsys.readouterr().out
    assert "checking run 0002 (" in out and ", INCOMPLETE)" in out
    assert (
        "missing from the newest run (not run: the session was interrupted (KeyboardInterrupt)): "
        "transcribe faster-whisper base long [cpu int8_float32 int8]"
    ) in out
    assert (
        "FAILED: run 0002 is incomplete: interrupted (KeyboardInterrupt): 17 of 18 cases "
        "measured, 1 not run; rerun the suite, or pass --allow-partial to judge what it holds"
    ) in out
    assert "FAILED: run 0002 lacks 1 case(s) that its history has" in out
    assert main(check(variants.root, "--allow-partial")) == 0
    assert "OK: no regressions in run 0002 (11 case(s) checked; accepted as partial" in (
        capsys.readouterr().out
    )


def test_a_case_skipped_in_the_newest_run_fails_and_says_why(
    variants: VariantStorage, capsys: pytest.CaptureFixture[str]
) -> None:
    variants.add("0001")
    reason = "faster-whisper base: incomplete: ... Fix: whisperbench import-model --bundled base"
    cut_short(variants.add("0002"), drop=FW_LONG, skipped=reason)
    assert main(check(variants.root)) == 1
    out = capsys.readouterr().out
    assert f"missing from the newest run (skipped: {reason}): transcribe faster-whisper" in out
    assert "FAILED: run 0002 lacks 1 case(s) that its history has" in out
    assert "is incomplete" not in out


def test_a_first_run_that_was_cut_short_fails_too(
    variants: VariantStorage, capsys: pytest.CaptureFixture[str]
) -> None:
    cut_short(variants.add("0001"), drop=FW_LONG)
    assert main(check(variants.root)) == 1
    assert capsys.readouterr().out.startswith("FAILED: run 0001 is incomplete: interrupted")
    assert main(check(variants.root, "--allow-partial")) == 0


# --- judged on evidence (issue 19) ---------------------------------------------------------------

DRIFT = (1.0, 1.04, 0.97, 1.02, 0.99)
"""Five sessions of the same code on a shared machine: tight rounds, medians up to 7 % apart."""
LONG = "transcribe faster-whisper tiny.en long [cpu int8_float32 int8]"


def test_a_drift_within_the_historys_own_spread_passes_with_its_interval(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for number, level in enumerate(DRIFT, start=1):
        evidence_run(tmp_path, f"000{number}", level=level)
    evidence_run(tmp_path, "0006", level=1.06)  # beyond the 5 % limit, within the drift
    assert main(check(tmp_path, "--time", "median:5%")) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if LONG in line)
    assert "+6.0% [-" in row and row.rstrip("│ ").endswith("ok")


def test_a_slowdown_and_a_wer_rise_beyond_the_evidence_fail_with_both_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for number, level in enumerate(DRIFT, start=1):
        evidence_run(tmp_path, f"000{number}", level=level)
    evidence_run(tmp_path, "0006", level=1.2, more_errors_every=3)
    assert main(check(tmp_path, "--time", "median:5%")) == 1
    failure = capsys.readouterr().out.split("FAILED: ", 1)[1]
    lines = [line.strip() for line in failure.splitlines() if LONG in line]
    assert len(lines) == 2
    time_line, wer_line = sorted(lines, key=lambda line: "WER" in line)
    assert "(median of 5 run(s)): +20.0% [+" in time_line
    assert "(rounds and run-to-run spread), over median:5%" in time_line
    assert wer_line.endswith(
        "WER 9.5% vs 7.1% (median of 5 run(s)): +2.4 points [+1.5, +3.3], p<0.001 (MAPSSWE), over 1"
    )


# -- the latency track (the fast tier's real run) -------------------------------------------------


def latency_history(latency_storage: Path, tmp_path: Path) -> Path:
    """A storage holding a copy of the real latency run, and the same results saved again."""
    from helpers.latency_runs import scaled_copy

    storage = tmp_path / "storage"
    (run_file,) = latency_storage.glob("*/*.json")
    folder = storage / run_file.parent.name
    folder.mkdir(parents=True)
    copy = folder / run_file.name
    copy.write_bytes(run_file.read_bytes())
    scaled_copy(copy, 2)
    return storage


def test_the_latency_cases_are_judged_and_pass_unchanged(
    latency_storage: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # the table's headers on one line each
    storage = latency_history(latency_storage, tmp_path)
    assert main(check(storage)) == 0
    out = capsys.readouterr().out
    assert "OK: no regressions in run 0002 (2 case(s) checked)" in out
    for column in ("First words", "Delay p50", "Stream WER", "Kept up"):  # a group each
        assert column in out, column
    assert "Repeats" not in out  # no throughput case was checked: no column of its metrics


def test_an_injected_delay_regression_fails(
    latency_storage: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from helpers.latency_runs import scaled_copy

    storage = latency_history(latency_storage, tmp_path)
    (newest,) = storage.glob("*/0002_*.json")
    scaled_copy(newest, 3, delay_factor=3.0)
    assert main(check(storage)) == 1
    out = capsys.readouterr().out
    failed = [line for line in out.splitlines() if line.startswith("  stream faster-whisper")]
    assert len(failed) == 1, out
    assert "median emission delay" in failed[0] and "+200.0%" in failed[0]
    assert "bootstrap over words" in failed[0] or "[" in failed[0]
    assert main(check(storage, "--delay", "none")) == 0  # the limit turned off
