"""The answer in one line per (device, model size): the fastest engine whose WER is not
significantly worse than the most accurate engine's, and the engines that are significantly
less accurate. The session's summary (``plugin``) and the report (``report/``) both print it.

**Like with like.** Engines are compared only on what they all ran: the clips and corpora
every engine of the group has a result for, and of those the units of speech (``evidence``)
every engine has, with the same reference words. Accuracy: each engine's WER over those units
with its 95 % interval; the most accurate engine is the one with the lowest WER, and another
engine is *significantly less accurate* when the paired test of its WER against the best's
gives an interval of the difference above zero. Speed: RTFx = Σ audio / Σ median round over
the same clips, with its interval where every case had ``evidence.MIN_ROUNDS`` rounds.

Where the units are too few for a test (a 10 s clip is one unit), or no engine is
significantly less accurate, the line says that the data cannot tell them apart, and suggests
more audio.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from whisperbench import formatting
from whisperbench.results.metrics import metric
from whisperbench.results.records import (
    BatchSweepResult,
    CorpusResult,
    Result,
    Timing,
    TranscribeResult,
)
from whisperbench.results.uncertainty import NO_ROUNDS, NO_UNITS, rounds_of, units_of
from whisperbench.scoring import evidence
from whisperbench.scoring.evidence import Difference, Interval, UnitErrors

MORE_AUDIO = "more audio would tell (--clips real, or --dataset PATH)"


class Observed(Protocol):
    """A measured case: the session's ``results.Measured``, the history's ``CaseResult``."""

    @property
    def result(self) -> Result: ...

    @property
    def timing(self) -> Timing | None: ...


Scored = TranscribeResult | CorpusResult
UnitKey = tuple[str, str, int]
"""A unit of a group: the clip or corpus, the utterance, its place in it."""


@dataclass(frozen=True)
class Standing:
    """One engine of a group, on what every engine of the group ran."""

    implementation: str
    wer: float | None
    wer_interval: Interval | None
    rtfx: float | None
    rtfx_interval: Interval | None
    fewest_rounds: int
    against_best: Difference | None = None
    """WER(this) - WER(the most accurate engine), paired on the common units."""

    @property
    def significantly_worse(self) -> bool:
        found = self.against_best
        return found is not None and found.significant and found.delta > 0


@dataclass(frozen=True)
class Verdict:
    device: str
    model: str
    subjects: tuple[str, ...]
    """The clips and corpora every engine ran."""
    units: int
    words: int
    engines: tuple[Standing, ...]
    """Most accurate first."""
    recorded: bool = True
    """Every engine's results hold errors per unit (runs saved before them do not)."""

    @property
    def best(self) -> Standing | None:
        scored = [e for e in self.engines if e.wer is not None]
        return scored[0] if scored else None

    @property
    def worse(self) -> tuple[Standing, ...]:
        return tuple(e for e in self.engines if e.significantly_worse)

    @property
    def tested(self) -> bool:
        """The units were enough for the paired tests."""
        return self.units >= evidence.MIN_UNITS

    @property
    def fastest(self) -> Standing | None:
        """The fastest engine not significantly less accurate than the best."""
        equal = [e for e in self.engines if not e.significantly_worse and e.rtfx is not None]
        return max(equal, key=lambda e: e.rtfx or 0.0) if equal else None

    def line(self) -> str:
        head = f"{self.device}, {self.model}: "
        fastest = self.fastest
        if fastest is None:
            return head + "no engine has a speed to compare"
        if len(self.engines) == 1:
            return head + f"only {_figures(fastest)} ran"
        if self.best is None:
            return head + f"fastest: {_figures(fastest)}; no WER to compare (no reference)"
        if not self.recorded:
            return head + (
                f"fastest: {_figures(fastest)}; accuracy cannot be compared: {NO_UNITS} "
                "(runs saved before whisperbench recorded them)"
            )
        if not self.tested:
            return head + (
                f"fastest: {_figures(fastest)}; accuracy cannot be compared on "
                f"{_speech(self)}, fewer than {evidence.MIN_UNITS} units: {MORE_AUDIO}"
            )
        text = head + f"fastest at equal accuracy: {_figures(fastest)}"
        worse = self.worse
        if worse:
            return text + "; significantly less accurate: " + ", ".join(map(_against, worse))
        best = self.best
        return text + (
            f"; no engine is significantly less accurate than {best.implementation} on "
            f"{_speech(self)}: {MORE_AUDIO}"
        )


def _speech(verdict: Verdict) -> str:
    units = "unit" if verdict.units == 1 else "units"
    return f"{verdict.units} {units} ({verdict.words} words)"


def _figures(engine: Standing) -> str:
    speed = metric("rtfx")
    rtfx = formatting.value_and_interval(speed, engine.rtfx, engine.rtfx_interval)
    if engine.rtfx_interval is None:
        rtfx += f", {engine.fewest_rounds} round(s): no interval"
    parts = [f"RTFx {rtfx}"]
    if engine.wer is not None:
        wer = metric("wer")
        parts.append(
            "WER "
            + formatting.value_with_unit(wer, engine.wer)
            + (f" {formatting.interval(wer, engine.wer_interval)}" if engine.wer_interval else "")
        )
    return f"{engine.implementation} ({', '.join(parts)})"


def _against(engine: Standing) -> str:
    found = engine.against_best
    assert found is not None
    return (
        f"{engine.implementation} ({100 * found.delta:+.1f} pts "
        f"[{100 * found.low:+.1f}, {100 * found.high:+.1f}], {formatting.p_value(found.p)})"
    )


def _subject(result: Scored) -> str:
    return result.clip if isinstance(result, TranscribeResult) else result.dataset


def _group_key(result: Result) -> tuple[str, str]:
    return (str(result.params.device or "-"), result.model)


def _judged(result: Result) -> bool:
    """Whether a case counts in verdicts: a transcribe or corpus case with real weights, and
    not one shard of a corpus (``--shards``), for which the case joined from its shards
    stands; nor a case of a batch sweep, which compares an engine with itself."""
    if isinstance(result, CorpusResult) and result.shard is not None:
        return False
    if isinstance(result, BatchSweepResult):
        return False
    return isinstance(result, TranscribeResult | CorpusResult) and not result.synthetic


def verdicts(cases: Iterable[Observed]) -> list[Verdict]:
    """A verdict per (device, model) among ``cases`` (those ``_judged``; the first case of an
    engine on a clip or corpus counts)."""
    groups: dict[tuple[str, str], dict[str, dict[str, Observed]]] = defaultdict(dict)
    for case in cases:
        result = case.result
        if not _judged(result):
            continue
        assert isinstance(result, TranscribeResult | CorpusResult)
        engines = groups[_group_key(result)]
        engines.setdefault(result.implementation, {}).setdefault(_subject(result), case)
    return [_verdict(device, model, engines) for (device, model), engines in groups.items()]


def _verdict(device: str, model: str, engines: dict[str, dict[str, Observed]]) -> Verdict:
    subjects = sorted(set.intersection(*(set(ran) for ran in engines.values())))
    units = {name: _units(ran, subjects) for name, ran in engines.items()}
    common = _common(list(units.values()))
    standings = [
        _standing(name, ran, subjects, units[name], common) for name, ran in engines.items()
    ]
    standings.sort(key=lambda e: (e.wer is None, e.wer or 0.0, -(e.rtfx or 0.0)))
    best = standings[0] if standings and standings[0].wer is not None else None
    if best is not None and len(common) >= evidence.MIN_UNITS:
        standings = [best] + [_against_best(e, units, best, common) for e in standings[1:]]
    words = sum(units[best.implementation][k].reference_words for k in common) if best else 0
    recorded = all(units.values())
    return Verdict(device, model, tuple(subjects), len(common), words, tuple(standings), recorded)


def _units(ran: dict[str, Observed], subjects: Sequence[str]) -> dict[UnitKey, UnitErrors]:
    return {
        (subject, utterance, index): unit
        for subject in subjects
        for (utterance, index), unit in units_of(ran[subject].result).items()
    }


def _common(all_units: Sequence[dict[UnitKey, UnitErrors]]) -> list[UnitKey]:
    """The units every engine has, with the same reference words."""
    if not all_units or not all(all_units):
        return []
    first = all_units[0]
    keys = set.intersection(*(set(units) for units in all_units))
    return sorted(
        k for k in keys if all(u[k].reference_words == first[k].reference_words for u in all_units)
    )


def _standing(
    name: str,
    ran: dict[str, Observed],
    subjects: Sequence[str],
    units: dict[UnitKey, UnitErrors],
    common: Sequence[UnitKey],
) -> Standing:
    chosen = [units[k] for k in common]
    wer = evidence.wer_of(chosen) if chosen else _plain_wer(ran, subjects)
    parts = [
        (
            float(ran[s].result.value("audio_s") or 0.0),
            rounds_of(ran[s].result) or _median_only(ran[s]),
        )
        for s in subjects
    ]
    audio = sum(audio_s for audio_s, _ in parts)
    seconds = sum(_median_s(ran[s]) for s in subjects)
    rounds = [len(rounds_of(ran[s].result)) or _timed_rounds(ran[s]) for s in subjects]
    return Standing(
        implementation=name,
        wer=wer,
        wer_interval=evidence.wer_interval(chosen) if chosen else None,
        rtfx=audio / seconds if seconds > 0 and audio > 0 else None,
        rtfx_interval=evidence.rtfx_interval(parts) if audio > 0 else None,
        fewest_rounds=min(rounds, default=0),
    )


def _median_s(case: Observed) -> float:
    if case.timing is not None:
        return case.timing.median_s
    rounds = rounds_of(case.result)
    return sorted(rounds)[len(rounds) // 2] if rounds else 0.0


def _timed_rounds(case: Observed) -> int:
    return case.timing.rounds if case.timing is not None else 0


def _median_only(case: Observed) -> list[float]:
    """A case without its rounds saved: its median alone (one round: no interval)."""
    return [_median_s(case)]


def _plain_wer(ran: dict[str, Observed], subjects: Sequence[str]) -> float | None:
    """Σ errors / Σ words of the cases' totals (runs saved without per-unit errors)."""
    totals = [c for s in subjects if (c := ran[s].result.value("word_errors")) is not None]
    words = sum(int(c.reference_words) for c in totals)
    if not totals or not words:
        return None
    return sum(int(c.substitutions + c.deletions + c.insertions) for c in totals) / words


def _against_best(
    engine: Standing,
    units: dict[str, dict[UnitKey, UnitErrors]],
    best: Standing,
    common: Sequence[UnitKey],
) -> Standing:
    found = evidence.paired_wer_difference(
        [units[best.implementation][k] for k in common],
        [units[engine.implementation][k] for k in common],
    )
    return replace(engine, against_best=found)


def interval_notes(cases: Iterable[Observed]) -> list[str]:
    """Why some figures of ``cases`` have no interval, one line per reason (empty when every
    WER and RTFx has one)."""
    wer, rtfx = metric("wer"), metric("rtfx")
    reasons: dict[str, list[str]] = defaultdict(list)
    for case in cases:
        result = case.result
        if not _judged(result):
            continue
        assert isinstance(result, TranscribeResult | CorpusResult)
        label = f"{result.implementation} {result.model} {_subject(result)}"
        for declared in (wer, rtfx):
            if declared.value(case.timing, result) is None:
                continue
            missing = declared.missing_interval(result)
            if missing is not None:
                reasons[f"{declared.name}: {missing}"].append(label)
    lines = []
    for reason, labels in reasons.items():
        fix = _fix(reason)
        shown = ", ".join(labels[:3]) + (f" and {len(labels) - 3} more" if len(labels) > 3 else "")
        lines.append(f"no interval for {reason} ({shown}){fix}")
    return lines


def _fix(reason: str) -> str:
    if NO_UNITS in reason or NO_ROUNDS in reason:
        return ": saved before whisperbench recorded them"
    if "round" in reason:
        return f": --rounds {evidence.MIN_ROUNDS} or more gives one"
    return f": a clip or corpus of {evidence.MIN_UNITS} units (about 2 min of speech) or more"
