"""The regression rule on real recorded runs (``reports/``) and on copies of one with a known
change: time, WER and repeated n-grams judged against the median of the same configuration's
history; a change of configuration said, never judged; run-to-run comparison with significance.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from whisperbench.history import CaseResult, Run, load_history, load_run
from whisperbench.regressions import (
    CaseComparison,
    Limits,
    MetricLimit,
    TimeLimit,
    check_newest,
    compare_runs,
    describe_rule,
    judge,
    parse_time_check,
    series_verdicts,
)
from whisperbench.results import metric

TIME_ONLY = Limits(checks=(TimeLimit(parse_time_check("median:10%")),))
TRANSCRIBE_CASES = 12
"""The recorded CPU run: 3 implementations x 2 models x 2 clips."""

if TYPE_CHECKING:
    from conftest import VariantStorage


def history_of(variants: VariantStorage) -> list[Run]:
    return load_history(variants.root).for_machine(variants.machine)


def test_two_runs_of_the_same_results_pass(variants: VariantStorage) -> None:
    variants.add("0001")
    variants.add("0002")
    report = check_newest(history_of(variants), Limits())
    assert report is not None
    assert len(report.cases) == TRANSCRIBE_CASES
    assert not report.failed
    assert [r.run_id for r in report.baseline_runs] == ["0001"]
    assert report.new_cases == () and report.missing_cases == () and report.config_changes == ()


def test_a_slowdown_fails_every_case_with_pytest_benchmarks_rule(variants: VariantStorage) -> None:
    variants.add("0001")
    variants.add("0002", slower=1.5)
    report = check_newest(history_of(variants), Limits())
    assert report is not None
    assert {f.what for f in report.findings} == {"time"}
    assert len(report.findings) == TRANSCRIBE_CASES
    finding = next(f for f in report.findings if f.key.implementation == "faster-whisper")
    assert "(median of 1 run(s)): +50.0%, over median:10%" in finding.message
    assert finding.message.startswith("median time ")


def test_a_wer_rise_beyond_its_limit_fails(variants: VariantStorage) -> None:
    variants.add("0001")
    variants.add("0002", wer_points=2.0)
    runs = history_of(variants)
    report = check_newest(runs, Limits())
    assert report is not None
    assert {f.what for f in report.findings} == {"wer"}
    short = next(f for f in report.findings if f.key.clip == "short")
    assert short.message == (
        "WER 2.0% vs 0.0% (median of 1 run(s)): +2.0 points, over 1"
        " (limit alone, no interval: no per-utterance errors saved)"
    )
    wider = Limits(checks=(MetricLimit(metric("wer"), 5.0),))
    assert not check_newest(runs, wider).failed  # type: ignore[union-attr]


def test_a_rise_of_repeated_ngrams_fails_and_old_runs_without_them_are_not_judged(
    variants: VariantStorage,
) -> None:
    variants.add("0001")  # saved before repeated_ngrams existed: nothing to compare
    variants.add("0002", repeats=0)
    report = check_newest(history_of(variants), Limits())
    assert report is not None and not report.failed
    variants.add("0003", repeats=4)
    report = check_newest(history_of(variants), Limits())
    assert report is not None
    assert {f.what for f in report.findings} == {"repeated_ngrams"}
    assert report.findings[0].message == (
        "repeated 8-grams 4 vs 0 (median of 1 run(s)): +4, over 0"
    )
    off = Limits(checks=(TimeLimit(parse_time_check("median:10%")),))
    assert not check_newest(history_of(variants), off).failed  # type: ignore[union-attr]


def test_a_change_of_configuration_is_said_and_not_judged(variants: VariantStorage) -> None:
    variants.add("0001")  # as recorded: batch 8, the recipe at its own 24
    variants.add("0002", slower=2.0, params={"batch_size": 16})
    report = check_newest(history_of(variants), Limits())
    assert report is not None
    assert not report.failed
    assert report.cases == ()
    assert len(report.config_changes) == TRANSCRIBE_CASES
    assert {c.text for c in report.config_changes} == {
        "config changed: batch_size 8 -> 16",
        "config changed: batch_size 24 -> 16",  # the recipe ran at its own 24
    }
    # back to batch 8, and slower than batch 8 was: judged against the batch-8 run only
    variants.add("0003", slower=1.5)
    report = check_newest(history_of(variants), Limits())
    assert report is not None
    ours = [c for c in report.cases if c.key.implementation == "transformers"]
    assert ours and all(c.config_change == ("batch_size 16 -> 8",) for c in ours)
    assert all([h.params.batch_size for h in c.history] == [8] for c in ours)
    assert all("+50.0%" in f.message for c in ours for f in c.findings)


def test_the_recorded_batch_change_on_the_h100_is_not_a_regression(gpu_storage: Path) -> None:
    """Issue 11's example: in reports/gpu/h100-4e2b31c, run 0003 ran ours at batch 24 after
    run 0002 at batch 64 under the same test ID. Judged like with like, it is a change of
    configuration; judged as the same configuration, it would be a +42.8 % regression."""
    runs = load_history(gpu_storage).runs
    second, third = runs[1], runs[2]
    ours = next(c for c in third.cases if c.key.implementation == "transformers")
    before = second.case(ours.key)
    assert before is not None
    report = check_newest([second, third], Limits())
    assert report is not None and not report.failed
    (changed,) = report.config_changes
    assert changed.key == ours.key
    assert changed.text == "config changed: batch_size 64 -> 24"
    verdicts = series_verdicts([before, ours], Limits())
    assert verdicts[1].findings == () and verdicts[1].config_change == ("batch_size 64 -> 24",)
    # the same result, had it kept batch 64: the rule would flag it
    as_if = dataclasses.replace(
        ours,
        result=dataclasses.replace(
            ours.result, params=dataclasses.replace(ours.params, batch_size=64)
        ),
    )
    (finding,) = judge(as_if, [before], TIME_ONLY.checks)
    assert "+42.8%, over median:10%" in finding.message


def test_every_recorded_history_holds_no_regression_judged_like_with_like(
    recorded_storages: tuple[Path, ...],
) -> None:
    """The recorded runs changed configuration between runs, never code: nothing regressed."""
    for storage in recorded_storages:
        history = load_history(storage)
        for machine in history.machines:
            runs = history.for_machine(machine)
            keys = {c.key for run in runs for c in run.cases}
            for key in keys:
                series = [case for run in runs if (case := run.case(key)) is not None]
                verdicts = series_verdicts(series, Limits())
                assert [f for v in verdicts for f in v.findings] == [], (storage, key)


def test_the_baseline_is_the_median_of_the_window_not_the_previous_run(
    gpu_storage: Path,
) -> None:
    run = load_history(gpu_storage).runs[0]
    real = next(c for c in run.cases if c.key.kind == "transcribe")

    def with_median(seconds: float, run_id: str) -> Run:
        timing = dataclasses.replace(real.timing, median_s=seconds, min_s=seconds, max_s=seconds)
        return dataclasses.replace(
            run, run_id=run_id, cases=(dataclasses.replace(real, timing=timing),)
        )

    history = [with_median(1.0, "0001"), with_median(1.0, "0002"), with_median(3.0, "0003")]
    newest = with_median(1.3, "0004")
    limits = Limits(window=3, checks=(TimeLimit(parse_time_check("median:20%")),))
    report = check_newest([*history, newest], limits)
    assert report is not None
    (case,) = report.cases
    assert case.baseline_time["median"] == 1.0
    assert [f.what for f in case.findings] == ["time"]  # +30 % against the median; the
    # previous run alone (3.0 s) would have called it 57 % faster
    assert check_newest([newest], limits) is None  # no earlier run: nothing to check


def test_load_cases_are_judged_only_when_asked(variants: VariantStorage) -> None:
    variants.add("0001")
    variants.add("0002", slower=3.0)
    runs = history_of(variants)
    report = check_newest(runs, Limits())
    assert report is not None and all(c.key.kind == "transcribe" for c in report.cases)
    with_loads = check_newest(runs, Limits(kinds=("transcribe", "load")))
    assert with_loads is not None
    assert {f.key.kind for f in with_loads.findings} == {"transcribe", "load"}


def test_the_rule_text_names_every_limit() -> None:
    assert describe_rule(Limits()) == (
        "against the median of up to 5 earlier run(s) of the same configuration; "
        "limits: median:10%, WER +1 points, repeated 8-grams +0, time to first words 25%, "
        "median emission delay 25%, streamed WER +1 points"
    )
    assert describe_rule(Limits(window=7, checks=()), ["0003", "0004"]) == (
        "against the median of up to 7 earlier run(s) (0003, 0004) of the same "
        "configuration; limits: none"
    )


def test_significance_needs_a_change_beyond_the_noise_of_the_rounds(cpu_storage: Path) -> None:
    (path,) = cpu_storage.glob("*/*.json")
    real = next(c for c in load_run(path).cases if c.key.kind == "transcribe")

    def timed(median: float, low: float, high: float, rounds: int = 3) -> CaseResult:
        timing = dataclasses.replace(
            real.timing, median_s=median, min_s=low, max_s=high, rounds=rounds
        )
        return dataclasses.replace(real, timing=timing)

    a = timed(1.00, 0.95, 1.05)
    within, beyond = timed(1.08, 1.02, 1.12), timed(1.30, 1.25, 1.40)
    assert CaseComparison(a.key, a, within).time_significant is False
    assert CaseComparison(a.key, a, beyond).time_significant is True
    assert CaseComparison(a.key, a, beyond).noise_s == pytest.approx(0.15)
    assert CaseComparison(a.key, a, timed(1.3, 1.3, 1.3, rounds=1)).time_significant is None
    wer = metric("wer")
    worse = dataclasses.replace(real, result=dataclasses.replace(real.result, wer=0.5))
    row = CaseComparison(a.key, real, worse)
    assert row.significant(wer) is None  # saved without per-utterance errors: cannot tell
    assert row.change(wer) == pytest.approx(50.0 - 100 * (real.result.wer or 0.0))


def test_compare_pairs_cases_and_says_what_changed(gpu_storage: Path) -> None:
    runs = load_history(gpu_storage).runs
    rows = compare_runs(runs[1], runs[2])
    by_impl = {row.key.implementation: row for row in rows}
    assert by_impl["transformers"].config_changes == ("batch_size 64 -> 24",)
    assert by_impl["transformers"].time_change == pytest.approx(0.428, abs=0.001)
    gone = by_impl["transformers-reference"]
    assert gone.a is not None and gone.b is None and gone.config_changes == ()
