"""The shards of a corpus case (``--shards N``: ``corpus_shards``) joined into one corpus
result, as if the corpus had run whole; each shard's own result is kept beside it.

- **Speed**: the shards ran at once, one pytest-xdist worker per device, or in turn in one
  process (one device, or the CPU). A round of the joined case took as long as its slowest
  worker: for each timed round, the time of each worker is the sum of the times of the shards
  it ran (one shard per worker: that shard's), and the round's wall time is the largest of
  them. RTFx is the total audio over the median of those wall times. Shards timed in a
  different number of rounds (one timed once by its budget) are joined by their medians.
- **Accuracy**: the errors are pooled, never averaged: corpus WER is Σ errors / Σ reference
  words over every shard, and the utterances' errors per unit (the evidence of the WER
  interval) are those of every shard together, in id order, so that a sharded corpus gets the
  WER and the interval of the same corpus run whole (read in id order, as a folder or a
  LibriSpeech tree is; a manifest listed in another order gets the same WER, and an interval
  that differs only as the bootstrap resamples the units in another order).
- Counts (repeated n-grams, utterances) are summed; memory figures take the largest shard's.
  A metric that a plugin computes from a corpus's transcripts is left out of the joined case
  (a run does not keep the transcripts to compute it again); each shard keeps its own.

Only a complete set is joined: shards 1 to N of one engine, model, corpus, batching and
configuration, each once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from whisperbench.results.records import (
    CorpusResult,
    Timing,
    WordErrorCounts,
    shard_label,
    with_values,
)
from whisperbench.scoring.evidence import UnitErrors
from whisperbench.scoring.words import CorpusErrors, rtfx

__all__ = ["Joined", "Part", "join_shards", "joined", "unsharded_name"]

Part = tuple[CorpusResult, Timing]
"""A shard's record and the timing of its rounds."""


@dataclass(frozen=True)
class Joined:
    """A corpus case joined from its shards, under the test name of the corpus run whole."""

    name: str
    result: CorpusResult
    timing: Timing


def joined(cases: Iterable[tuple[str, Any, Timing | None]]) -> list[Joined]:
    """Every complete set of shards among ``cases`` (test name, record of any kind, timing;
    those without a timing are left out) joined into one corpus result each, in the order
    their first shard came."""
    groups: dict[tuple[Any, ...], list[tuple[str, Part]]] = defaultdict(list)
    for name, result, timing in cases:
        if isinstance(result, CorpusResult) and result.shard is not None and timing is not None:
            groups[_case_of(result)].append((name, (result, timing)))
    out = []
    for group in groups.values():
        parts = [part for _, part in group]
        if _complete(parts):
            name, (first, _) = min(group, key=lambda item: item[1][0].shard or 0)
            out.append(Joined(unsharded_name(name, first), *join_shards(parts)))
    return out


def _case_of(result: CorpusResult) -> tuple[Any, ...]:
    """What the shards of one case share."""
    params = tuple(sorted((k, repr(v)) for k, v in result.params.to_mapping().items()))
    return (
        result.implementation,
        result.model,
        result.weights,
        result.dataset,
        result.batching,
        result.shards,
        params,
    )


def _complete(group: Sequence[Part]) -> bool:
    count = group[0][0].shards or 0
    return sorted(result.shard or 0 for result, _ in group) == list(range(1, count + 1))


def joined_resources(results: Sequence[CorpusResult]) -> dict[str, Any]:
    """The shards' resources as the joined case's: energy summed over every shard's timed
    rounds and divided by all the audio they timed (where every shard has a figure; else the
    first reason one lacks it), the largest NVML peak, and no timeline (each shard's stays with
    its own case)."""
    out: dict[str, Any] = {
        "timeline": None,
        "energy_note": next((r.energy_note for r in results if r.energy_note), None),
        "nvml_peak_device_mb": _largest(r.nvml_peak_device_mb for r in results),
        "nvml_baseline_device_mb": _largest(r.nvml_baseline_device_mb for r in results),
    }
    metered = [r for r in results if r.energy_j is not None and r.energy_j_per_audio_hour]
    if len(metered) < len(results):
        reasons = (r.energy_absent_reason for r in results if r.energy_j is None)
        return {
            **out,
            "energy_j_per_audio_hour": None,
            "energy_j": None,
            "energy_span_s": None,
            "energy_absent_reason": next((r for r in reasons if r), None),
        }
    joules = sum(r.energy_j or 0.0 for r in metered)
    audio_hours = sum((r.energy_j or 0.0) / (r.energy_j_per_audio_hour or 1.0) for r in metered)
    return {
        **out,
        "energy_j": joules,
        "energy_j_per_audio_hour": joules / audio_hours if audio_hours > 0 else None,
        "energy_span_s": _largest(r.energy_span_s for r in results),
    }


def join_shards(parts: Sequence[Part]) -> Part:
    """Shards 1 to N of one corpus case as one corpus result (see the module docstring)."""
    ordered = sorted(parts, key=lambda part: part[0].shard or 0)
    results = [result for result, _ in ordered]
    first = results[0]
    timing = Timing.of_rounds(wall_rounds(ordered))
    audio_s = sum(result.audio_s or 0.0 for result in results)
    errors = _pooled_errors(results)
    languages = sorted({part for r in results for part in (r.language or "").split(",") if part})
    joined_result = replace(
        first,
        shard=None,
        shard_worker=None,
        shard_device=None,
        utterances=_sum(r.utterances for r in results),
        referenced=_sum(r.referenced for r in results),
        audio_s=audio_s,
        word_errors=None
        if errors is None
        else WordErrorCounts(
            errors.substitutions, errors.deletions, errors.insertions, errors.reference_words
        ),
        unit_errors=_units_by_id(results),
        wer_quantiles={} if errors is None else errors.quantiles(),
        worst_utterances=() if errors is None else tuple(i for i, _ in errors.worst()),
        worst_wer={} if errors is None else dict(errors.worst()),
        language=",".join(languages) or None,
        round_s=tuple(wall_rounds(ordered)),
        warmup_utterances=_sum(r.warmup_utterances for r in results),
        warmup_s=_largest(r.warmup_s for r in results),
        timed_once=any(bool(r.timed_once) for r in results),
        load_s=_largest(r.load_s for r in results),
        peak_rss_mb=_largest(r.peak_rss_mb for r in results),
        peak_device_mb=_largest(r.peak_device_mb for r in results),
        device_live_mb=_largest(r.device_live_mb for r in results),
        device_baseline_mb=_largest(r.device_baseline_mb for r in results),
        **joined_resources(results),
        extra={},
    )
    values: dict[str, Any] = {
        "rtfx": rtfx(audio_s, timing.median_s),
        "wer": None if errors is None else errors.wer,
        "repeated_ngrams": _sum(r.repeated_ngrams for r in results),
    }
    return with_values(joined_result, values), timing


def wall_rounds(parts: Sequence[Part]) -> list[float]:
    """The wall time of each round of the joined case: per round, the slowest worker's time,
    a worker's time being the sum of its shards' (shards run in turn in one process are one
    worker)."""
    by_worker: dict[str | None, list[Part]] = defaultdict(list)
    for part in parts:
        by_worker[part[0].shard_worker].append(part)
    rounds = {len(result.round_s) for result, _ in parts}
    if len(rounds) == 1 and 0 not in rounds:
        (count,) = rounds
        return [
            max(sum(result.round_s[r] for result, _ in mine) for mine in by_worker.values())
            for r in range(count)
        ]
    return [max(sum(timing.median_s for _, timing in mine) for mine in by_worker.values())]


def _pooled_errors(results: Sequence[CorpusResult]) -> CorpusErrors | None:
    """The word errors of every shard together (None where none was scored)."""
    counts = [r.word_errors for r in results if r.word_errors is not None]
    if not counts:
        return None
    units = _units_by_id(results)
    return CorpusErrors(
        substitutions=sum(c.substitutions for c in counts),
        deletions=sum(c.deletions for c in counts),
        insertions=sum(c.insertions for c in counts),
        reference_words=sum(c.reference_words for c in counts),
        utterance_wer={k: _wer(v) for k, v in units.items() if _words(v)},
        utterance_units=dict(units),
    )


def _units_by_id(results: Sequence[CorpusResult]) -> dict[str, tuple[UnitErrors, ...]]:
    """Every shard's utterances' errors per unit, in the shards' order (by utterance id): the
    order of a corpus read in id order (a folder, a LibriSpeech tree), run whole, so that the
    bootstrap behind the WER interval resamples the same units alike."""
    units = {k: v for r in results for k, v in r.unit_errors.items()}
    return {k: units[k] for k in sorted(units)}


def _words(units: Sequence[UnitErrors]) -> int:
    return sum(unit.reference_words for unit in units)


def _wer(units: Sequence[UnitErrors]) -> float:
    return sum(unit.errors for unit in units) / _words(units)


def _sum(values: Iterable[Any]) -> Any:
    present = [value for value in values if value is not None]
    return sum(present) if present else None


def _largest(values: Iterable[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return max(present) if present else None


def unsharded_name(name: str, result: CorpusResult) -> str:
    """A shard's test name (``test_corpus[fake-tiny.en-corpus-shard1of2]``) as the joined
    case's: the test name of the corpus run whole."""
    if result.shard is None or result.shards is None:
        return name
    return name.replace(f"-{shard_label(result.shard, result.shards)}", "", 1)
