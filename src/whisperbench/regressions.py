"""Run-to-run comparison and regression checks over the saved history (no I/O here).

**Like with like.** A result is compared only with earlier results of the same case and the
same configuration: the engine, model and clip (``history.CaseKey``) and every speed parameter
(``results.SPEED_PARAMS``: device, dtype, quantisation, batch size, beam size, window length,
decoder). A change of configuration is reported as such ("config changed: batch_size 64 ->
24"), never judged as a regression.

**Limits.** ``Limits.checks`` holds a ``TimeLimit`` per ``--time FIELD:LIMIT`` (parsed and
computed by pytest-benchmark's own ``--benchmark-compare-fail`` code: ``median:10%`` or
``mean:0.25`` seconds) and a ``MetricLimit`` per metric that ``results.METRICS`` declares with
a ``Judgement`` (WER in points, repeated n-grams as a count, ...). ``judge`` applies every one
of them to a result against the median of its history; it names no metric itself.

**Evidence.** A change is a regression only when it is beyond its limit *and* its 95 % interval
excludes zero: for WER, the paired test on the units of speech both results hold (against the
history's median result); for a median or mean time, the bootstrap over the timed rounds of the
new run and of each run of the history (``evidence.time_change``). Where that evidence is
missing (runs saved before it was recorded, fewer than ``evidence.MIN_ROUNDS`` rounds, too
little speech), the limit alone judges, and the finding says so.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pytest_benchmark.utils import parse_compare_fail

from whisperbench.formatting import change_text, evidence_text, value_with_unit
from whisperbench.history import CaseKey, CaseResult, Run, median
from whisperbench.results.metrics import Metric, judged
from whisperbench.results.records import LATENCY_KINDS, STREAM
from whisperbench.results.uncertainty import OverRounds, rounds_of
from whisperbench.scoring import evidence
from whisperbench.scoring.evidence import Difference

DEFAULT_WINDOW = 5
JUDGED_KINDS = ("transcribe", "corpus", *LATENCY_KINDS)
"""The kinds of case ``check-regressions`` judges by default (model loads are noisy)."""
UNTIMED_KINDS = (STREAM,)
"""Kinds whose pytest-benchmark time is not judged: a stream case runs once, and its speed is
judged through its own figures (emission delay, kept up)."""
DEFAULT_TIME_CHECK = "median:10%"
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
    return {name: case.timing.field(name) for name in TIME_FIELDS}


def time_evidence(
    current: CaseResult,
    history: Sequence[CaseResult],
    field: str = "median",
    relative: bool = True,
) -> Difference | None:
    """The change of a time statistic (median or mean; relative, or in seconds) from the
    history to ``current``, with its interval (``evidence.time_change``); None without the
    evidence."""
    return evidence.time_change(
        _rounds(current, field),
        [_rounds(r, field) for r in history],
        statistic=field,
        relative=relative,
    )


def _rounds(case: CaseResult, field: str) -> list[float]:
    """A case's round times; for a run saved without them, its statistic alone (one value:
    enough for the spread between runs, not for the rounds' noise)."""
    return rounds_of(case.result) or [case.timing.field(field)] if field in TIME_FIELDS else []


def no_time_evidence(current: CaseResult, history: Sequence[CaseResult]) -> str:
    return OverRounds().why_no_change(current.result, [r.result for r in history], "median")


LIMIT_ALONE = "limit alone, no interval"


def relative(new: float | None, old: float | None) -> float | None:
    if new is None or old is None or old == 0:
        return None
    return new / old - 1.0


# --- limits -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    key: CaseKey
    what: str
    """``time``, or the field of the metric that regressed (``wer``, ``repeated_ngrams``)."""
    message: str


@dataclass(frozen=True)
class TimeLimit:
    """A time statistic more than a limit slower than the history's median of it."""

    check: TimeCheck
    what = "time"

    def describe(self) -> str:
        return describe_check(self.check)

    def judge(self, current: CaseResult, history: Sequence[CaseResult]) -> Finding | None:
        if current.key.kind in UNTIMED_KINDS:
            return None
        base = time_baseline(history)
        now = time_fields(current)
        value = float(self.check.compute(now, base))
        if value <= self.check.threshold:
            return None
        found = time_evidence(current, history, self.check.field, is_percentage(self.check))
        if found is not None and not found.significant:
            return None  # beyond the limit, but within the noise of the rounds
        name = self.check.field
        percent = is_percentage(self.check)
        amount = f"{value:+.1f}%" if percent else f"{value:+.3f} s"
        kind = "relative" if percent else "seconds"
        shown = "" if found is None else " " + evidence_text(found, kind)
        alone = f" ({LIMIT_ALONE}: {no_time_evidence(current, history)})" if found is None else ""
        return Finding(
            current.key,
            self.what,
            f"{name} time {now[name]:.3f} s vs {base[name]:.3f} s "
            f"(median of {len(history)} run(s)): {amount}{shown}, over {self.describe()}{alone}",
        )


@dataclass(frozen=True)
class MetricLimit:
    """A declared metric worse than the history's median of it by more than ``limit`` (in the
    metric's own terms: points for WER, a count for repeated n-grams, relative otherwise)."""

    metric: Metric
    limit: float

    @property
    def what(self) -> str:
        return self.metric.field

    def describe(self) -> str:
        if self.metric.change == "relative":
            return f"{self.metric.name} {self.limit:g}%"
        points = " points" if self.metric.change == "points" else ""
        return f"{self.metric.name} +{self.limit:g}{points}"

    def judge(self, current: CaseResult, history: Sequence[CaseResult]) -> Finding | None:
        metric = self.metric
        value = current.value(metric)
        measured = [r for r in history if r.value(metric) is not None]
        base = metric_baseline(metric, measured)
        worse = metric.worsening(base, value)
        limit = self.limit / 100 if metric.change == "relative" else self.limit
        if worse is None or worse <= limit + 1e-9:
            return None
        found = metric.change_evidence(current.result, [r.result for r in measured])
        if found is not None and not found.significant:
            return None  # beyond the limit, but not beyond the noise
        shown = "" if found is None else " " + evidence_text(found, metric.change)
        alone = ""
        if found is None and metric.evidence is not None:
            missing = metric.why_no_change(current.result, [r.result for r in measured])
            alone = f" ({LIMIT_ALONE}: {missing})"
        return Finding(
            current.key,
            self.what,
            f"{metric.name} {value_with_unit(metric, value)} "
            f"vs {value_with_unit(metric, base)} (median of {len(measured)} run(s)): "
            f"{change_text(metric, metric.change_between(base, value))}{shown}, "
            f"over {self.limit:g}{alone}",
        )


Limit = TimeLimit | MetricLimit


def default_metric_limits() -> tuple[MetricLimit, ...]:
    """A limit for each judged metric at its declared default."""
    return tuple(
        MetricLimit(m, m.judge.default)
        for m in judged()
        if m.judge is not None and m.judge.default is not None
    )


@dataclass(frozen=True)
class Limits:
    """The regression rule: which cases, against how many earlier runs, with which limits."""

    window: int = DEFAULT_WINDOW
    checks: tuple[Limit, ...] = field(
        default_factory=lambda: (
            (TimeLimit(parse_time_check(DEFAULT_TIME_CHECK)), *default_metric_limits())
        )
    )
    kinds: tuple[str, ...] = JUDGED_KINDS
    """The kinds of case that are judged (model loads are noisy)."""


def describe_rule(limits: Limits, baseline_runs: Sequence[str] | None = None) -> str:
    """The rule in words, as check-regressions prints it and the report states it."""
    runs = f" ({', '.join(baseline_runs) or 'none'})" if baseline_runs is not None else ""
    checks = ", ".join(check.describe() for check in limits.checks) or "none"
    return (
        f"against the median of up to {limits.window} earlier run(s){runs} "
        f"of the same configuration; limits: {checks}"
    )


def time_baseline(history: Sequence[CaseResult]) -> dict[str, float]:
    """The median over the history of each time statistic."""
    return {name: median(time_fields(r)[name] for r in history) for name in TIME_FIELDS}


def metric_baseline(metric: Metric, history: Sequence[CaseResult]) -> float | None:
    """The median over the history of a metric, a value one of the results has (the higher
    middle one for an even count: the result a paired test compares with); None when no
    result has it."""
    values = [v for r in history if (v := r.value(metric)) is not None]
    return statistics.median_high(values) if values else None


def judge(
    current: CaseResult, history: Sequence[CaseResult], checks: Sequence[Limit]
) -> list[Finding]:
    """What every limit finds in ``current`` against ``history`` (of the same configuration)."""
    return [finding for check in checks if (finding := check.judge(current, history)) is not None]


def alike(current: CaseResult, earlier: Sequence[CaseResult]) -> list[CaseResult]:
    """The results among ``earlier`` that ran in ``current``'s configuration."""
    return [result for result in earlier if not current.config_changes(result)]


# --- compare two runs --------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseComparison:
    key: CaseKey
    a: CaseResult | None
    b: CaseResult | None

    @property
    def config_changes(self) -> tuple[str, ...]:
        """How B's configuration differs from A's (empty: like for like)."""
        return self.b.config_changes(self.a) if self.a and self.b else ()

    def values(self, metric: Metric) -> tuple[float | None, float | None]:
        return (
            self.a.value(metric) if self.a else None,
            self.b.value(metric) if self.b else None,
        )

    def change(self, metric: Metric) -> float | None:
        """A to B in the metric's terms (relative, points or count)."""
        return metric.change_between(*self.values(metric))

    def evidence(self, metric: Metric) -> Difference | None:
        """A to B with its 95 % interval and p (``Metric.change_evidence``); None where the
        runs lack the evidence, or the configuration changed."""
        if not (self.a and self.b) or self.config_changes:
            return None
        return metric.change_evidence(self.b.result, [self.a.result])

    def significant(self, metric: Metric) -> bool | None:
        """Whether the change is real: its interval excludes zero. Without an interval: for
        timed metrics, beyond the rounds' spread (``time_significant``); None for WER (cannot
        tell: runs saved without per-utterance errors); any change of a figure without
        evidence (a count from one transcript)."""
        found = self.evidence(metric)
        if found is not None:
            return found.significant
        if isinstance(metric.evidence, OverRounds):
            return self.time_significant
        change = self.change(metric)
        if change is None or metric.evidence is not None:
            return None
        return abs(change) > 1e-9

    @property
    def time_change(self) -> float | None:
        """Relative change of the median time (+0.10: 10 % slower)."""
        return relative(self.b.median_s, self.a.median_s) if self.a and self.b else None

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


def compare_runs(a: Run, b: Run) -> list[CaseComparison]:
    """One row per case in either run, in the order of ``a`` then the cases new in ``b``."""
    keys = [case.key for case in a.cases]
    keys += [case.key for case in b.cases if case.key not in keys]
    return [CaseComparison(key, a.case(key), b.case(key)) for key in keys]


# --- check the newest run against the history --------------------------------------------------


@dataclass(frozen=True)
class CaseCheck:
    key: CaseKey
    current: CaseResult
    history: tuple[CaseResult, ...]
    """The earlier results of the same configuration it was judged against."""
    findings: tuple[Finding, ...]
    config_change: tuple[str, ...] = ()
    """How its configuration differs from the case's previous result, if it does."""

    @property
    def baseline_time(self) -> dict[str, float]:
        return time_baseline(self.history)

    def baseline(self, metric: Metric) -> float | None:
        return metric_baseline(metric, self.history)

    @property
    def time_change(self) -> float | None:
        return relative(self.current.median_s, self.baseline_time.get("median"))

    @property
    def time_evidence(self) -> Difference | None:
        """The relative change of the median time with its interval and p."""
        return time_evidence(self.current, self.history)

    def evidence(self, metric: Metric) -> Difference | None:
        """A metric's change from the history, with its interval and p (``Metric``)."""
        measured = [r.result for r in self.history if r.value(metric) is not None]
        return metric.change_evidence(self.current.result, measured) if measured else None


@dataclass(frozen=True)
class ConfigChange:
    """A case whose configuration changed, with no earlier result of the new one: shown, not
    judged."""

    key: CaseKey
    previous_run: str
    changes: tuple[str, ...]

    @property
    def text(self) -> str:
        return f"config changed: {', '.join(self.changes)}"


def cut_short(run: Run) -> str | None:
    """Why ``run`` is not a whole session (interrupted, stopped early), or None."""
    if run.complete or run.record is None:
        return None
    return f"run {run.run_id} is incomplete: {run.record.describe()}"


@dataclass(frozen=True)
class CheckReport:
    newest: Run
    baseline_runs: tuple[Run, ...]
    cases: tuple[CaseCheck, ...]
    new_cases: tuple[CaseKey, ...]
    missing_cases: tuple[CaseKey, ...]
    notes: tuple[str, ...] = field(default=())
    config_changes: tuple[ConfigChange, ...] = field(default=())
    """Cases not judged: their configuration has no history yet."""
    missing_reasons: dict[CaseKey, str] = field(default_factory=dict)
    """What the newest run's record says became of a missing case (skipped why, failed, not
    run), where it says."""

    @property
    def findings(self) -> list[Finding]:
        return [finding for case in self.cases for finding in case.findings]

    @property
    def failed(self) -> bool:
        return bool(self.findings)

    @property
    def partial(self) -> list[str]:
        """Why the newest run is not a whole run to judge: cut short, or lacking cases that
        its history has (empty: it is whole)."""
        reasons = [reason] if (reason := cut_short(self.newest)) else []
        if self.missing_cases:
            reasons.append(
                f"run {self.newest.run_id} lacks {len(self.missing_cases)} case(s) that its "
                "history has"
            )
        return reasons


def check_newest(runs: Sequence[Run], limits: Limits | None = None) -> CheckReport | None:
    """Check the last of ``runs`` (one machine's, oldest first) against the median of up to
    ``limits.window`` earlier runs of the same configuration. None when there is no earlier
    run."""
    limits = limits or Limits()
    if len(runs) < 2:
        return None
    newest = runs[-1]
    earlier = list(runs[:-1])
    cases: list[CaseCheck] = []
    new_cases: list[CaseKey] = []
    changed: list[ConfigChange] = []
    used: set[int] = set()
    for current in newest.cases:
        if current.key.kind not in limits.kinds:
            continue
        found = [
            (i, r) for i, run in enumerate(earlier) if (r := run.case(current.key)) is not None
        ]
        if not found:
            new_cases.append(current.key)
            continue
        change = current.config_changes(found[-1][1])
        same = [(i, r) for i, r in found if not current.config_changes(r)][-limits.window :]
        if not same:
            changed.append(ConfigChange(current.key, earlier[found[-1][0]].run_id, change))
            continue
        used.update(i for i, _ in same)
        history = tuple(r for _, r in same)
        findings = judge(current, history, limits.checks)
        cases.append(CaseCheck(current.key, current, history, tuple(findings), change))
    baseline_runs = tuple(earlier[i] for i in sorted(used))
    recent_keys = {
        c.key for run in earlier[-limits.window :] for c in run.cases if c.key.kind in limits.kinds
    }
    missing = tuple(sorted(recent_keys - {c.key for c in newest.cases}, key=lambda k: k.label))
    names = {c.key: c.name for run in earlier[-limits.window :] for c in run.cases}
    reasons = {key: why for key in missing if (why := newest.fate(names[key])) is not None}
    notes = []
    hardware = {run.hardware for run in baseline_runs} - {newest.hardware}
    if hardware:
        notes.append(
            f"the history includes runs on other hardware ({'; '.join(sorted(hardware))}) "
            f"than the newest run ({newest.hardware}): timings may not compare"
        )
    return CheckReport(
        newest,
        baseline_runs,
        tuple(cases),
        tuple(new_cases),
        missing,
        tuple(notes),
        tuple(changed),
        reasons,
    )


@dataclass(frozen=True)
class Verdict:
    """What the rule said of one result of a case's history when it was the newest."""

    findings: tuple[Finding, ...] = ()
    config_change: tuple[str, ...] = ()
    """How its configuration differs from the previous result's (not a regression)."""


def series_verdicts(results: Sequence[CaseResult], limits: Limits) -> list[Verdict]:
    """For a case's results over runs (oldest first): what ``check_newest`` would have said of
    each one when it was the newest. The first has no history; a result whose configuration has
    no earlier result is not judged, and its change of configuration is said."""
    out: list[Verdict] = []
    for index, current in enumerate(results):
        earlier = results[:index]
        change = current.config_changes(earlier[-1]) if earlier else ()
        history = alike(current, earlier)[-limits.window :]
        findings = judge(current, history, limits.checks) if history else []
        out.append(Verdict(tuple(findings), change))
    return out
