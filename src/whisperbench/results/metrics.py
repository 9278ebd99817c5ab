"""The declaration of every metric, and its computation through that declaration.

**Records** (``records``). Each benchmark case yields one record: ``LoadResult`` (a model load),
``TranscribeResult`` (one clip) or ``CorpusResult`` (a whole corpus per timed round: corpus WER
with S/D/I totals, RTFx over all its audio, per-utterance WER quantiles, the worst utterances,
repeated n-gram totals), with the settings that really ran as typed ``Params``. The suite builds
them (``suite.measure_load`` / ``measure_transcription`` / ``measure_corpus``); they are written
into pytest-benchmark's ``extra_info`` by ``to_extra_info`` and read back by
``from_extra_info``, the only two places that know the ``extra_info`` keys. Runs saved before
these records existed load into the same types (fields they lack are None). Keys that a record
does not declare (a plugin's extra parameters, a metric without a typed field) are kept in its
``extra`` mapping and written back unchanged. Each kind is one ``CaseRecord`` subclass with its
own ``kind``, listed in ``RESULT_KINDS``; the metrics the kinds share (``wer``, ``rtfx``,
``repeated_ngrams``, times, memory) list them in ``Metric.kinds``.

**Metrics.** Every metric is declared once, in ``METRICS``: its field, label, unit and format,
its direction (bigger or smaller is better), how a change is measured (relative %, points,
count), its evidence (``uncertainty``: the timed rounds for time and RTFx, the word errors
per unit of speech for WER; none for counts), where it is shown, and whether and how
``check-regressions`` judges it. ``Metric.interval`` and ``Metric.change_evidence`` give a
value's 95 % interval and a change's interval and p from that declaration. The session's
results table, the report's tables, ``whisperbench compare``, ``check-regressions``
(``regressions.judge``) and the JSON export iterate ``METRICS``; none of them names a metric.

Adding a metric is one computation and one declaration:

1. the computation in ``scoring.py`` (a function of the transcript, the reference, ...);
2. a ``Metric`` in ``METRICS`` whose ``compute`` calls it on the case's ``Transcribed``
   observation (and, for a corpus, ``combine`` on all of its utterances' observations).

The suite then saves its value with every transcribe case (under ``field`` in ``extra_info``),
and the tables, the report, compare, the judge (with a ``Judgement``: a command-line limit) and
the export show it. A typed field on a record is optional: a value without one lives in the
record's ``extra`` and is read from there.

**The latency track** (``FIRST_WORDS`` and ``STREAM`` cases, issue 23) declares its figures
here too: time to first words and to the whole transcript (evidence: the timed rounds of each),
emission delay mean, p50 and p90 (evidence: the bootstrap over the stream's words), the stream's
processing real-time factor, whether it kept up, and the streamed WER beside the same engine's
offline WER (evidence: the units of speech). The case computes them (``streaming``); the
declarations say how they are shown and judged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from whisperbench.results._fields import is_number
from whisperbench.results.records import (
    BATCH_SWEEP,
    FIRST_WORDS,
    LATENCY_KINDS,
    STREAM,
    CaseRecord,
    Timing,
)
from whisperbench.results.uncertainty import Evidence, OverRounds, OverUnits, OverWords
from whisperbench.scoring import words as scoring
from whisperbench.scoring.evidence import Difference, Interval

SESSION = "session"
"""Shown in the results table at the end of a benchmark session."""
REPORT = "report"
"""Shown in the report's tables (Markdown and HTML)."""
COMPARE = "compare"
"""Shown by ``whisperbench compare``."""


@dataclass(frozen=True)
class Transcribed:
    """What one transcribe case observed: the input of every computed metric."""

    text: str
    """The whole transcript of the last timed call."""
    reference: str | None
    """The reference transcript, or None (no ``.txt`` beside the clip)."""
    language: str | None
    audio_s: float
    median_s: float
    cold_s: float
    synthetic: bool
    """Random weights: the text means nothing, so accuracy metrics are None."""
    id: str = ""
    """The utterance's id in a corpus (the clip's name for a clip)."""


@dataclass(frozen=True)
class Judgement:
    """How ``check-regressions`` (and the report's history) judges a metric: the newest value
    against the median of the same case's history, failing when it worsens by more than a
    limit given with ``option`` (or ``default``; ``none`` turns the check off)."""

    option: str
    metavar: str
    default: float | None
    help: str


@dataclass(frozen=True)
class Metric:
    """One figure of a case, declared once (see the module docstring)."""

    field: str
    """The record's field (or ``Timing``'s, with ``source="timing"``) holding the value."""
    label: str
    """A column header: ``WER %``."""
    name: str
    """In sentences and messages: ``WER``."""
    short: str
    """In compare's column headers: ``WER`` (``WER A %``, ``Δ WER pts``)."""
    unit: str
    """``s``, ``%``, ``MB``, ``x`` (a ratio) or ``""`` (a count)."""
    spec: str
    """The format of the shown value: ``.1f``."""
    better: Literal["bigger", "smaller"]
    change: Literal["relative", "points", "count"]
    """How a change is measured: relative (%), in percentage points, or as a count."""
    scale: float = 1.0
    """Shown value = stored value x scale (WER is stored as a fraction, shown in %)."""
    source: Literal["result", "timing"] = "result"
    kinds: tuple[str, ...] = ("transcribe",)
    """The kinds of case that carry it."""
    shown: frozenset[str] = frozenset({SESSION, REPORT, COMPARE})
    evidence: Evidence | None = None
    """Where the value's uncertainty comes from (``uncertainty``): its timed rounds
    (``OverRounds``) or its errors per unit of speech (``OverUnits``); None: a figure without
    an interval (a count, a single load)."""
    judge: Judgement | None = None
    export: bool = False
    """Written by ``whisperbench report --format json`` for github-action-benchmark."""
    where_present: bool = False
    """A figure that some machines cannot measure (energy, NVML memory): the session's table
    and ``check-regressions`` give it a column only where a case has a value."""
    compute: Callable[[Transcribed], float | None] | None = None
    """Computes the value for each transcribe case (the suite saves it under ``field``)."""
    combine: Callable[[Sequence[Transcribed]], float | None] | None = None
    """Computes a corpus case's value from all of its utterances (corpus WER: Σ errors / Σ
    reference words; RTFx: Σ audio / the round's time); None: a count is summed over them."""

    def value(self, timing: Timing | None, result: CaseRecord) -> float | None:
        """The metric's stored value for a case, or None where it has none."""
        if result.kind not in self.kinds:
            return None
        if self.source == "timing":
            return None if timing is None else float(getattr(timing, self.field))
        raw = result.value(self.field)
        return float(raw) if is_number(raw) else None

    def scaled(self, value: float | None) -> float | None:
        return None if value is None else value * self.scale

    def interval(self, result: CaseRecord) -> Interval | None:
        """The 95 % interval of the stored value (unscaled), where its evidence allows one."""
        if self.evidence is None or result.kind not in self.kinds:
            return None
        return self.evidence.interval(result)

    def missing_interval(self, result: CaseRecord) -> str | None:
        """Why a case of a declared-evidence metric has no interval (None: it has one, or the
        metric has no evidence)."""
        if self.evidence is None or self.interval(result) is not None:
            return None
        return self.evidence.missing(result)

    def change_evidence(self, new: CaseRecord, baseline: Sequence[CaseRecord]) -> Difference | None:
        """The change from ``baseline`` (earlier results of the case) to ``new`` in the
        metric's own terms (relative, or points), with its 95 % interval and p; None where the
        evidence is missing (``why_no_change``)."""
        if self.evidence is None or new.kind not in self.kinds:
            return None
        found = self.evidence.change(new, baseline, self.field)
        if found is None or self.change == "relative":
            return found
        low, high = found.low * self.scale, found.high * self.scale
        return Difference(found.delta * self.scale, low, high, found.p, found.method)

    def why_no_change(self, new: CaseRecord, baseline: Sequence[CaseRecord]) -> str:
        if self.evidence is None:
            return f"{self.name} has no interval"
        return self.evidence.why_no_change(new, baseline, self.field)

    def change_between(self, old: float | None, new: float | None) -> float | None:
        """The change from ``old`` to ``new`` in the metric's own terms: relative (+0.10 is
        10 % more), in points (of the shown value), or a count."""
        if old is None or new is None:
            return None
        if self.change == "relative":
            return None if old == 0 else new / old - 1.0
        return (new - old) * self.scale

    def worsening(self, old: float | None, new: float | None) -> float | None:
        """``change_between``, signed so that positive is worse (slower, less accurate)."""
        change = self.change_between(old, new)
        if change is None:
            return None
        return change if self.better == "smaller" else -change

    @property
    def bigger_is_better(self) -> bool:
        return self.better == "bigger"


def _rtfx(seen: Transcribed) -> float | None:
    return scoring.rtfx(seen.audio_s, seen.median_s)


def _corpus_rtfx(seen: Sequence[Transcribed]) -> float | None:
    """Σ audio over the time of the round that transcribed all of it."""
    return scoring.rtfx(sum(each.audio_s for each in seen), seen[0].median_s) if seen else None


def _cold_rtfx(seen: Transcribed) -> float | None:
    return scoring.rtfx(seen.audio_s, seen.cold_s)


def _wer(seen: Transcribed) -> float | None:
    if seen.synthetic or seen.reference is None:
        return None
    return scoring.word_errors(seen.reference, seen.text).wer


def _corpus_wer(seen: Sequence[Transcribed]) -> float | None:
    return scoring.corpus_word_errors(
        (each.id or f"#{index}", None if each.synthetic else each.reference, each.text)
        for index, each in enumerate(seen)
    ).wer


def _repeated_ngrams(seen: Transcribed) -> float | None:
    if seen.synthetic:
        return None
    return scoring.repeated_ngrams(seen.text, seen.reference)


METRICS: tuple[Metric, ...] = (
    Metric(
        field="median_s",
        label="Median s",
        name="median time",
        short="Time",
        unit="s",
        spec=".3f",
        better="smaller",
        change="relative",
        source="timing",
        kinds=("transcribe", "corpus", "load", BATCH_SWEEP),
        evidence=OverRounds(),
    ),
    Metric(
        field="rtfx",
        label="RTFx",
        name="RTFx",
        short="RTFx",
        unit="x",
        spec=".1f",
        better="bigger",
        change="relative",
        kinds=("transcribe", "corpus", BATCH_SWEEP),
        evidence=OverRounds(speed=True),
        export=True,
        compute=_rtfx,
        combine=_corpus_rtfx,
    ),
    Metric(
        field="cold_s",
        label="Cold s",
        name="cold time",
        short="Cold",
        unit="s",
        spec=".3f",
        better="smaller",
        change="relative",
        kinds=("transcribe", BATCH_SWEEP),
        shown=frozenset({SESSION}),
    ),
    Metric(
        field="cold_rtfx",
        label="Cold RTFx",
        name="cold RTFx",
        short="Cold RTFx",
        unit="x",
        spec=".1f",
        better="bigger",
        change="relative",
        shown=frozenset(),
        compute=_cold_rtfx,
    ),
    Metric(
        field="wer",
        label="WER %",
        name="WER",
        short="WER",
        unit="%",
        spec=".1f",
        better="smaller",
        change="points",
        scale=100.0,
        kinds=("transcribe", "corpus", BATCH_SWEEP),
        evidence=OverUnits(),
        compute=_wer,
        combine=_corpus_wer,
        judge=Judgement(
            "--wer",
            "POINTS",
            1.0,
            "WER regression limit in percentage points; 'none' turns it off",
        ),
        export=True,
    ),
    Metric(
        field="repeated_ngrams",
        label="Repeats",
        name="repeated 8-grams",
        short="Repeats",
        unit="",
        spec=".0f",
        better="smaller",
        change="count",
        kinds=("transcribe", "corpus"),
        judge=Judgement(
            "--repeats",
            "N",
            0.0,
            "fail when the count of repeated word 8-grams (text the engine repeated, not in "
            "the reference) rises by more than N; 'none' turns it off",
        ),
        export=True,
        compute=_repeated_ngrams,
    ),
    Metric(
        field="load_s",
        label="Load s",
        name="load time",
        short="Load",
        unit="s",
        spec=".2f",
        better="smaller",
        change="relative",
        kinds=("transcribe", "corpus", "load", BATCH_SWEEP, *LATENCY_KINDS),
        shown=frozenset({SESSION, REPORT}),
    ),
    Metric(
        field="peak_rss_mb",
        label="Peak RSS MB",
        name="peak RSS",
        short="RSS",
        unit="MB",
        spec=".0f",
        better="smaller",
        change="relative",
        kinds=("transcribe", "corpus", "load", BATCH_SWEEP, *LATENCY_KINDS),
        shown=frozenset({SESSION, REPORT}),
    ),
    Metric(
        field="peak_device_mb",
        label="Peak device MB",
        name="peak device memory",
        short="Device",
        unit="MB",
        spec=".0f",
        better="smaller",
        change="relative",
        kinds=("transcribe", "corpus", "load", BATCH_SWEEP, *LATENCY_KINDS),
        shown=frozenset({REPORT}),
    ),
    Metric(
        field="device_live_mb",
        label="MPS live MB",
        name="MPS memory live at the end (not a peak)",
        short="MPS live",
        unit="MB",
        spec=".0f",
        better="smaller",
        change="relative",
        kinds=("transcribe", "corpus", "load", BATCH_SWEEP, *LATENCY_KINDS),
        shown=frozenset({REPORT}),
    ),
    Metric(
        field="nvml_peak_device_mb",
        label="NVML peak MB",
        name="peak device memory sampled by NVML",
        short="NVML peak",
        unit="MB",
        spec=".0f",
        better="smaller",
        change="relative",
        kinds=("transcribe", "corpus"),
        shown=frozenset({REPORT}),
        where_present=True,
    ),
    Metric(
        field="energy_j_per_audio_hour",
        label="Energy J/audio h",
        name="energy per hour of audio",
        short="Energy",
        unit="J",
        spec=".0f",
        better="smaller",
        change="relative",
        kinds=("transcribe", "corpus"),
        shown=frozenset({SESSION, REPORT}),
        where_present=True,
        judge=Judgement(
            "--energy",
            "PERCENT",
            None,
            "energy-per-audio-hour regression limit in percent (cases with an energy meter: "
            "NVML, RAPL or Zeus); off by default ('none'): the counters see the whole GPU or "
            "CPU package, work beside the case included",
        ),
        export=True,
    ),
    Metric(
        field="first_text_s",
        label="First words s",
        name="time to first words",
        short="First words",
        unit="s",
        spec=".3f",
        better="smaller",
        change="relative",
        kinds=(FIRST_WORDS,),
        evidence=OverRounds(rounds="first_round_s"),
        judge=Judgement(
            "--first-words",
            "PERCENT",
            25.0,
            "time-to-first-words regression limit in percent (latency track); 'none' turns it off",
        ),
        export=True,
    ),
    Metric(
        field="full_text_s",
        label="Full text s",
        name="time to the whole transcript",
        short="Full text",
        unit="s",
        spec=".3f",
        better="smaller",
        change="relative",
        kinds=(FIRST_WORDS,),
        evidence=OverRounds(rounds="full_round_s"),
    ),
    Metric(
        field="delay_mean_s",
        label="Delay mean s",
        name="mean emission delay",
        short="Delay mean",
        unit="s",
        spec=".2f",
        better="smaller",
        change="relative",
        kinds=(STREAM,),
        evidence=OverWords("mean"),
    ),
    Metric(
        field="delay_p50_s",
        label="Delay p50 s",
        name="median emission delay",
        short="Delay p50",
        unit="s",
        spec=".2f",
        better="smaller",
        change="relative",
        kinds=(STREAM,),
        evidence=OverWords("p50"),
        judge=Judgement(
            "--delay",
            "PERCENT",
            25.0,
            "median emission delay regression limit in percent (latency track); 'none' turns "
            "it off",
        ),
        export=True,
    ),
    Metric(
        field="delay_p90_s",
        label="Delay p90 s",
        name="90th-percentile emission delay",
        short="Delay p90",
        unit="s",
        spec=".2f",
        better="smaller",
        change="relative",
        kinds=(STREAM,),
        evidence=OverWords("p90"),
    ),
    Metric(
        field="stream_rtf",
        label="Stream RTF",
        name="streaming real-time factor",
        short="Stream RTF",
        unit="x",
        spec=".2f",
        better="smaller",
        change="relative",
        kinds=(STREAM,),
    ),
    Metric(
        field="kept_up",
        label="Kept up",
        name="kept up with real time (1 yes, 0 no)",
        short="Kept up",
        unit="",
        spec=".0f",
        better="bigger",
        change="count",
        kinds=(STREAM,),
        judge=Judgement(
            "--kept-up",
            "N",
            None,
            "fail when a stream case that kept up with real time no longer does (--kept-up 0); "
            "off by default ('none'): on a shared machine it flips with the load beside it",
        ),
    ),
    Metric(
        field="stream_wer",
        label="Stream WER %",
        name="streamed WER",
        short="Stream WER",
        unit="%",
        spec=".1f",
        better="smaller",
        change="points",
        scale=100.0,
        kinds=(STREAM,),
        evidence=OverUnits(),
        judge=Judgement(
            "--stream-wer",
            "POINTS",
            1.0,
            "streamed WER regression limit in percentage points (latency track); 'none' turns "
            "it off",
        ),
        export=True,
    ),
    Metric(
        field="offline_wer",
        label="Offline WER %",
        name="offline WER of the streamed engine",
        short="Offline WER",
        unit="%",
        spec=".1f",
        better="smaller",
        change="points",
        scale=100.0,
        kinds=(STREAM,),
        evidence=OverUnits(units="offline_unit_errors"),
    ),
)
"""Every metric, in the order tables show them."""


def latency_metrics(declared: Iterable[Metric] | None = None) -> tuple[Metric, ...]:
    """The latency track's own metrics (carried by its kinds alone, ``LATENCY_KINDS``; not the
    load time and memory every case has), in order."""
    return tuple(
        m for m in (METRICS if declared is None else declared) if set(m.kinds) <= set(LATENCY_KINDS)
    )


def metrics_of(kind: str, declared: Iterable[Metric] | None = None) -> tuple[Metric, ...]:
    """The metrics a kind of case carries, in order."""
    return tuple(m for m in (METRICS if declared is None else declared) if kind in m.kinds)


def shown_in(place: str, declared: Iterable[Metric] | None = None) -> tuple[Metric, ...]:
    """The metrics shown in ``place`` (``SESSION``, ``REPORT`` or ``COMPARE``), in order."""
    return tuple(m for m in (METRICS if declared is None else declared) if place in m.shown)


def judged(declared: Iterable[Metric] | None = None) -> tuple[Metric, ...]:
    """The metrics ``check-regressions`` judges besides time."""
    return tuple(m for m in (METRICS if declared is None else declared) if m.judge is not None)


def exported(declared: Iterable[Metric] | None = None) -> tuple[Metric, ...]:
    """The metrics written for github-action-benchmark."""
    return tuple(m for m in (METRICS if declared is None else declared) if m.export)


def metric(name: str, declared: Iterable[Metric] | None = None) -> Metric:
    """A declared metric by its field."""
    for candidate in METRICS if declared is None else declared:
        if candidate.field == name:
            return candidate
    raise KeyError(f"no metric {name!r} is declared")


def computed_values(
    seen: Transcribed, declared: Iterable[Metric] | None = None
) -> dict[str, float | None]:
    """Every computed metric's value for one transcribe case, by field."""
    return {
        m.field: m.compute(seen)
        for m in (METRICS if declared is None else declared)
        if m.compute is not None
    }


def corpus_values(
    seen: Sequence[Transcribed], declared: Iterable[Metric] | None = None
) -> dict[str, float | None]:
    """A corpus case's computed metrics from its utterances: each computed metric that corpus
    cases carry, through its ``combine`` (corpus WER, RTFx), or for a count
    (``change="count"``: repeated n-grams) summed over its utterances (None when no utterance
    has a value)."""
    out: dict[str, float | None] = {}
    for m in METRICS if declared is None else declared:
        if m.compute is None or "corpus" not in m.kinds:
            continue
        if m.combine is not None:
            out[m.field] = m.combine(seen)
        elif m.change == "count":
            values = [value for each in seen if (value := m.compute(each)) is not None]
            out[m.field] = sum(values) if values else None
    return out
