"""Where a declared metric's uncertainty comes from (``Metric.evidence`` in ``results``):
its errors per unit of speech (``OverUnits``: WER, a stream's WER), the seconds of its timed
rounds (``OverRounds``: median time, RTFx, first words) or its per-word values (``OverWords``:
emission delays). Each reads a saved record (any object with ``value(name)``: ``unit_errors``,
``round_s``, ``audio_s``, ``delays_s``; each evidence names the field it reads) and gives the
value's 95 % interval and the interval of a change between records, through ``evidence``;
where a record lacks the data (a run saved before they were recorded, too few rounds, too
little speech), None, and ``missing`` says why in a few words.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from whisperbench.scoring import evidence
from whisperbench.scoring.evidence import Difference, Interval, UnitErrors

NO_UNITS = "no per-utterance errors saved"
"""Why a record has no WER interval: it was saved before they were recorded, or has no
reference."""
NO_ROUNDS = "no round times saved"
"""Why a record has no speed interval: it was saved before they were recorded."""


class Record(Protocol):
    """A saved record, as ``results.CaseRecord`` is."""

    def value(self, name: str) -> Any: ...


UnitKey = tuple[str, int]
"""A unit: its utterance (the clip of a transcribe case) and its place in it."""


def units_of(record: Record, units: str = "unit_errors") -> dict[UnitKey, UnitErrors]:
    """A record's errors per unit (saved under ``units``), by (utterance, index); empty when
    it has none."""
    saved = record.value(units)
    if not isinstance(saved, Mapping):
        return {}
    return {
        (utterance, index): unit
        for utterance, units in saved.items()
        for index, unit in enumerate(units)
        if isinstance(unit, UnitErrors)
    }


def matched(a: Mapping[UnitKey, UnitErrors], b: Mapping[UnitKey, UnitErrors]) -> list[UnitKey]:
    """The units both hold, with the same reference (the same word count), in order."""
    common = a.keys() & b.keys()
    return sorted(key for key in common if a[key].reference_words == b[key].reference_words)


@dataclass(frozen=True)
class OverUnits:
    """WER's evidence: the bootstrap over units of speech, paired between records; ``units``
    names the record's field of errors per unit (a stream's offline WER has its own)."""

    units: str = "unit_errors"

    def interval(self, record: Record) -> Interval | None:
        units = units_of(record, self.units)
        return evidence.wer_interval(list(units.values())) if units else None

    def missing(self, record: Record) -> str:
        units = units_of(record, self.units)
        if not units:
            return NO_UNITS
        return f"{len(units)} unit(s) of speech, fewer than {evidence.MIN_UNITS}"

    def baseline(self, history: Sequence[Record], field: str) -> Record:
        """The record a newer one is paired with: the one whose value is the median of the
        history (the higher middle one for an even count)."""
        valued = [r for r in history if isinstance(r.value(field), int | float)]
        if not valued:
            return history[-1]
        middle = statistics.median_high(float(r.value(field)) for r in valued)
        return next(r for r in reversed(valued) if float(r.value(field)) == middle)

    def change(self, new: Record, baseline: Sequence[Record], field: str) -> Difference | None:
        """WER(new) - WER(the baseline's median record), a fraction, on the units both hold."""
        if not baseline:
            return None
        a, b = units_of(self.baseline(baseline, field), self.units), units_of(new, self.units)
        keys = matched(a, b)
        return evidence.paired_wer_difference([a[k] for k in keys], [b[k] for k in keys])

    def why_no_change(self, new: Record, baseline: Sequence[Record], field: str) -> str:
        if not baseline:
            return "no baseline"
        old = self.baseline(baseline, field)
        if not units_of(new, self.units):
            return NO_UNITS
        if not units_of(old, self.units):
            return f"the baseline has {NO_UNITS}"
        keys = matched(units_of(old, self.units), units_of(new, self.units))
        return f"{len(keys)} unit(s) in common, fewer than {evidence.MIN_UNITS}"


def rounds_of(record: Record, rounds: str = "round_s") -> list[float]:
    """A record's seconds of each timed round (saved under ``rounds``)."""
    saved = record.value(rounds)
    if not isinstance(saved, list | tuple):
        return []
    return [float(x) for x in saved if isinstance(x, int | float)]


@dataclass(frozen=True)
class OverRounds:
    """The evidence of a time (``speed=False``) or of audio seconds per second of it
    (``speed=True``: RTFx): the timed rounds of each run, saved under ``rounds`` (a
    first-words case keeps the first text's seconds of each round apart)."""

    speed: bool = False
    rounds: str = "round_s"

    def interval(self, record: Record) -> Interval | None:
        rounds = rounds_of(record, self.rounds)
        if not self.speed:
            return evidence.median_interval(rounds)
        audio = record.value("audio_s")
        return evidence.rtfx_interval([(float(audio), rounds)]) if audio else None

    def missing(self, record: Record) -> str:
        rounds = len(rounds_of(record, self.rounds))
        if not rounds:
            return NO_ROUNDS
        return f"{rounds} round(s), fewer than {evidence.MIN_ROUNDS}"

    def change(self, new: Record, baseline: Sequence[Record], field: str) -> Difference | None:
        """The relative change of the median round from the baseline runs (the median of
        theirs) to ``new``: of the time (+0.10 is 10 % slower) or, for speed, of audio per
        second (+0.10 is 10 % faster). ``field`` (the metric's) is not needed."""
        found = evidence.time_change(
            rounds_of(new, self.rounds), [rounds_of(r, self.rounds) for r in baseline]
        )
        if found is None or not self.speed:
            return found
        low, high = sorted((_inverse(found.low), _inverse(found.high)))
        return Difference(_inverse(found.delta), low, high, found.p, found.method)

    def why_no_change(self, new: Record, baseline: Sequence[Record], field: str) -> str:
        fewest = min(len(rounds_of(r, self.rounds)) for r in (new, *baseline))
        rounds = f"{fewest} round(s) in a run" if fewest else NO_ROUNDS
        return (
            f"{rounds} ({evidence.MIN_ROUNDS} give an interval) and {len(baseline)} earlier "
            f"run(s) ({evidence.MIN_HISTORY} give one)"
        )


def _inverse(time_change: float) -> float:
    """A relative change of time as the relative change of speed (1 / time)."""
    return 1.0 / (1.0 + time_change) - 1.0


NO_WORDS = "no per-word values saved"


def values_of(record: Record, name: str) -> list[float]:
    """A record's per-word values saved under ``name`` (empty when it has none)."""
    saved = record.value(name)
    if not isinstance(saved, list | tuple):
        return []
    return [float(x) for x in saved if isinstance(x, int | float)]


@dataclass(frozen=True)
class OverWords:
    """The evidence of a statistic (``evidence.SAMPLE_STATISTICS``: mean, p50, p90) of
    per-word values saved under ``values`` (a stream's emission delays): the bootstrap over the
    words; a change between records resamples each record's words apart (relative change)."""

    statistic: str
    values: str = "delays_s"

    def interval(self, record: Record) -> Interval | None:
        return evidence.sample_interval(values_of(record, self.values), self.statistic)

    def missing(self, record: Record) -> str:
        count = len(values_of(record, self.values))
        if not count:
            return NO_WORDS
        return f"{count} word(s), fewer than {evidence.MIN_WORDS}"

    def baseline(self, history: Sequence[Record], field: str) -> Record:
        """The history's median record (as ``OverUnits.baseline``)."""
        return OverUnits().baseline(history, field)

    def change(self, new: Record, baseline: Sequence[Record], field: str) -> Difference | None:
        if not baseline:
            return None
        old = self.baseline(baseline, field)
        return evidence.sample_change(
            values_of(new, self.values), values_of(old, self.values), self.statistic
        )

    def why_no_change(self, new: Record, baseline: Sequence[Record], field: str) -> str:
        if not baseline:
            return "no baseline"
        old = self.baseline(baseline, field)
        fewest = min(len(values_of(r, self.values)) for r in (new, old))
        return f"{fewest} word(s) in a stream, fewer than {evidence.MIN_WORDS}"


Evidence = OverUnits | OverRounds | OverWords
