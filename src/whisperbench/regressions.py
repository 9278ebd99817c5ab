"""Run-to-run comparison and regression checks over the saved history (no I/O here).

Time thresholds use pytest-benchmark's own ``--benchmark-compare-fail`` parser and checks
(``median:10%`` or ``mean:0.25`` seconds); WER thresholds are in percentage points.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pytest_benchmark.utils import parse_compare_fail

from whisperbench.history import CaseKey, CaseResult, Run, median

DEFAULT_WINDOW = 5
DEFAULT_TIME_CHECK = "median:10%"
DEFAULT_WER_POINTS = 1.0
TIME_FIELDS = ("min", "max", "mean", "median", "stddev", "iqr")


class TimeCheck(Protocol):
    """pytest-benchmark's ``PercentageRegressionCheck`` / ``DifferenceRegressionCheck``."""

    field: str
    threshold: float

    def compute(self, current: dict[str, float], compared: dict[str, float]) -> float: ...


def parse_time_check(text: str) -> TimeCheck:
    """``median:10%`` (percent slower) or ``median:0.5`` (seconds slower), as compare-fail takes."""
    check: TimeCheck = parse_compare_fail(text)  # type: ignore[no-untyped-call]
    return check


def time_check_arg(text: str) -> TimeCheck:
    try:
        return parse_time_check(text)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(
            f"{exc} Expected FIELD:N% or FIELD:SECONDS, FIELD one of {', '.join(TIME_FIELDS)}"
        ) from None


def describe_check(check: TimeCheck) -> str:
    unit = "%" if is_percentage(check) else " s"
    return f"{check.field}:{check.threshold:g}{unit}"


def is_percentage(check: TimeCheck) -> bool:
    return type(check).__name__.startswith("Percentage")


def time_fields(case: CaseResult) -> dict[str, float]:
    return {
        "min": case.min_s,
        "max": case.max_s,
        "mean": case.mean_s,
        "median": case.median_s,
        "stddev": case.stddev_s,
        "iqr": case.iqr_s,
    }


def relative(new: float | None, old: float | None) -> float | None:
    if new is None or old is None or old == 0:
        return None
    return new / old - 1.0


# --- compare two runs --------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseComparison:
    key: CaseKey
    a: CaseResult | None
    b: CaseResult | None

    @property
    def time_change(self) -> float | None:
        """Relative change of the median time (+0.10: 10 % slower)."""
        return relative(self.b.median_s, self.a.median_s) if self.a and self.b else None

    @property
    def rtfx_change(self) -> float | None:
        return relative(self.b.rtfx, self.a.rtfx) if self.a and self.b else None

    @property
    def wer_change_points(self) -> float | None:
        if not (self.a and self.b) or self.a.wer is None or self.b.wer is None:
            return None
        return 100.0 * (self.b.wer - self.a.wer)

    @property
    def noise_s(self) -> float | None:
        """The larger round-to-round spread of the two runs; None when either had one round."""
        if not (self.a and self.b):
            return None
        spread_a, spread_b = self.a.spread_s, self.b.spread_s
        if spread_a is None or spread_b is None:
            return None
        return max(spread_a, spread_b)

    @property
    def time_significant(self) -> bool | None:
        """True when the medians differ by more than the noise of the rounds; None: cannot
        tell (a run with a single round shows no noise)."""
        noise = self.noise_s
        if noise is None or not (self.a and self.b):
            return None
        return abs(self.b.median_s - self.a.median_s) > noise

    @property
    def wer_significant(self) -> bool | None:
        """WER comes from one transcript per run (no rounds to show noise): any change of a
        word or more counts. None when either run has no reference."""
        change = self.wer_change_points
        return None if change is None else abs(change) > 1e-9


def compare_runs(a: Run, b: Run) -> list[CaseComparison]:
    """One row per case in either run, in the order of ``a`` then the cases new in ``b``."""
    keys = [case.key for case in a.cases]
    keys += [case.key for case in b.cases if case.key not in keys]
    return [CaseComparison(key, a.case(key), b.case(key)) for key in keys]


# --- check the newest run against the history --------------------------------------------------


@dataclass(frozen=True)
class Finding:
    key: CaseKey
    what: str
    """``time`` or ``wer``."""
    message: str


@dataclass(frozen=True)
class CaseCheck:
    key: CaseKey
    current: CaseResult
    history: tuple[CaseResult, ...]
    baseline_time: dict[str, float]
    baseline_wer: float | None
    findings: tuple[Finding, ...]

    @property
    def time_change(self) -> float | None:
        return relative(self.current.median_s, self.baseline_time.get("median"))

    @property
    def wer_change_points(self) -> float | None:
        if self.current.wer is None or self.baseline_wer is None:
            return None
        return 100.0 * (self.current.wer - self.baseline_wer)


@dataclass(frozen=True)
class CheckReport:
    newest: Run
    baseline_runs: tuple[Run, ...]
    cases: tuple[CaseCheck, ...]
    new_cases: tuple[CaseKey, ...]
    missing_cases: tuple[CaseKey, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def findings(self) -> list[Finding]:
        return [finding for case in self.cases for finding in case.findings]

    @property
    def failed(self) -> bool:
        return bool(self.findings)


def baseline(results: Sequence[CaseResult]) -> tuple[dict[str, float], float | None]:
    """The median over the history of each time field, and of WER."""
    times = {name: median(time_fields(r)[name] for r in results) for name in TIME_FIELDS}
    wers = [r.wer for r in results if r.wer is not None]
    return times, (median(wers) if wers else None)


def judge(
    current: CaseResult,
    history: Sequence[CaseResult],
    time_checks: Sequence[TimeCheck],
    wer_points: float | None,
) -> tuple[dict[str, float], float | None, list[Finding]]:
    base_time, base_wer = baseline(history)
    findings: list[Finding] = []
    now = time_fields(current)
    for check in time_checks:
        value = float(check.compute(now, base_time))
        if value > check.threshold:
            amount = f"{value:+.1f}%" if is_percentage(check) else f"{value:+.3f} s"
            findings.append(
                Finding(
                    current.key,
                    "time",
                    f"{check.field} time {now[check.field]:.3f} s "
                    f"vs {base_time[check.field]:.3f} s "
                    f"(median of {len(history)} run(s)): {amount}, over {describe_check(check)}",
                )
            )
    if wer_points is not None and current.wer is not None and base_wer is not None:
        rise = 100.0 * (current.wer - base_wer)
        if rise > wer_points:
            findings.append(
                Finding(
                    current.key,
                    "wer",
                    f"WER {100 * current.wer:.1f}% vs {100 * base_wer:.1f}% "
                    f"(median of {len(history)} run(s)): {rise:+.1f} points, over {wer_points:g}",
                )
            )
    return base_time, base_wer, findings


def check_newest(
    runs: Sequence[Run],
    *,
    window: int = DEFAULT_WINDOW,
    time_checks: Sequence[TimeCheck] = (),
    wer_points: float | None = DEFAULT_WER_POINTS,
    kinds: Sequence[str] = ("transcribe",),
) -> CheckReport | None:
    """Check the last of ``runs`` (one machine's, oldest first) against the median of up to
    ``window`` runs before it. None when there is no earlier run."""
    if len(runs) < 2:
        return None
    newest = runs[-1]
    earlier = list(runs[:-1])
    cases: list[CaseCheck] = []
    new_cases: list[CaseKey] = []
    used: set[int] = set()
    for current in newest.cases:
        if current.key.kind not in kinds:
            continue
        found = [
            (i, r) for i, run in enumerate(earlier) if (r := run.case(current.key)) is not None
        ]
        found = found[-window:]
        if not found:
            new_cases.append(current.key)
            continue
        used.update(i for i, _ in found)
        history = tuple(r for _, r in found)
        base_time, base_wer, findings = judge(current, history, time_checks, wer_points)
        cases.append(CaseCheck(current.key, current, history, base_time, base_wer, tuple(findings)))
    baseline_runs = tuple(earlier[i] for i in sorted(used))
    recent_keys = {c.key for run in earlier[-window:] for c in run.cases if c.key.kind in kinds}
    missing = tuple(sorted(recent_keys - {c.key for c in newest.cases}, key=lambda k: k.label))
    notes = []
    hardware = {run.hardware for run in baseline_runs} - {newest.hardware}
    if hardware:
        notes.append(
            f"the history includes runs on other hardware ({'; '.join(sorted(hardware))}) "
            f"than the newest run ({newest.hardware}): timings may not compare"
        )
    return CheckReport(newest, baseline_runs, tuple(cases), tuple(new_cases), missing, tuple(notes))


def series_regressions(
    results: Sequence[CaseResult],
    *,
    window: int = DEFAULT_WINDOW,
    time_checks: Sequence[TimeCheck] = (),
    wer_points: float | None = DEFAULT_WER_POINTS,
) -> list[list[Finding]]:
    """For a case's results over runs (oldest first): what ``check_newest`` would have said of
    each one when it was the newest (the first has no history: no findings)."""
    out: list[list[Finding]] = [[]]
    for index in range(1, len(results)):
        history = results[max(0, index - window) : index]
        out.append(judge(results[index], history, time_checks, wer_points)[2])
    return out[: len(results)]
