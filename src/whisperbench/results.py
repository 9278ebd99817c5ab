"""Typed results of the benchmark suite, and the declaration of every metric.

**Records.** Each benchmark case yields one record: ``LoadResult`` (a model load),
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

1. the computation in ``metrics.py`` (a function of the transcript, the reference, ...);
2. a ``Metric`` in ``METRICS`` whose ``compute`` calls it on the case's ``Transcribed``
   observation.

The suite then saves its value with every transcribe case (under ``field`` in ``extra_info``),
and the tables, the report, compare, the judge (with a ``Judgement``: a command-line limit) and
the export show it. A typed field on a record is optional: a value without one lives in the
record's ``extra`` and is read from there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any, ClassVar, Literal, TypeVar

from pytest_benchmark.stats import Stats

from whisperbench import metrics
from whisperbench.errors import ResultError
from whisperbench.evidence import Difference, Interval, UnitErrors
from whisperbench.uncertainty import Evidence, OverRounds, OverUnits

# --- parameters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Params:
    """The settings that really ran, as an implementation's ``get_params()`` reports them (read
    off the loaded model). The keys every engine shares are typed; the rest (an engine's or a
    plugin's own) stay in ``extra`` and survive a round trip through ``extra_info``."""

    model: str | None = None
    repo_id: str | None = None
    device: str | None = None
    dtype: str | None = None
    attention: str | None = None
    quantization: str | None = None
    quantization_note: str | None = None
    batch_size: int | None = None
    chunk_length_s: float | None = None
    beam_size: int | None = None
    decoder: str | None = None
    task: str | None = None
    language: str | None = None
    vad: bool | None = None
    threads: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    ALIASES: ClassVar[Mapping[str, str]] = {"cpu_threads": "threads"}
    """Other names an engine reports a typed parameter under (faster-whisper: cpu_threads)."""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> Params:
        """From ``get_params()`` or saved ``extra_info``; a value of the wrong type for its typed
        field leaves that field None and is kept, as it was, in ``extra``."""
        data = dict(data or {})
        for alias, name in cls.ALIASES.items():
            if name not in data and alias in data:
                data = {**data, name: data[alias]}
        typed, extra = _split(cls, data)
        return cls(**typed, extra=extra)

    def to_mapping(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        out.update(self.extra)
        return out

    def get(self, name: str) -> Any:
        """A parameter by its key: the typed value, else what ``extra`` holds under that key
        (an engine's own parameter, or a value of another type than the typed field's)."""
        typed = getattr(self, name) if name in _field_types(type(self)) else None
        return self.extra.get(name) if typed is None and name != "extra" else typed


SPEED_PARAMS: tuple[str, ...] = (
    "device",
    "dtype",
    "quantization",
    "batch_size",
    "beam_size",
    "chunk_length_s",
    "decoder",
)
"""The parameters that change speed: two results of a case compare like with like only when
all of these (and the engine, the model and the clip) are the same."""


def config_changes(before: Params, after: Params) -> tuple[str, ...]:
    """What changed in the speed parameters, e.g. ``("batch_size 64 -> 24",)``."""
    changes = []
    for name in SPEED_PARAMS:
        old, new = before.get(name), after.get(name)
        if old != new and _shown(old) != _shown(new):  # 30 and 30.0, None and "none" agree
            changes.append(f"{name} {_shown(old)} -> {_shown(new)}")
    return tuple(changes)


def _shown(value: Any) -> str:
    return "none" if value is None else str(value)


# --- records ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """pytest-benchmark's statistics of a case's timed rounds (seconds)."""

    median_s: float
    min_s: float
    max_s: float
    mean_s: float
    stddev_s: float = 0.0
    iqr_s: float = 0.0
    rounds: int = 1

    @classmethod
    def from_stats(cls, stats: Mapping[str, Any]) -> Timing:
        """From a saved run's ``stats`` (KeyError, TypeError or ValueError when unusable)."""
        return cls(
            median_s=float(stats["median"]),
            min_s=float(stats["min"]),
            max_s=float(stats["max"]),
            mean_s=float(stats["mean"]),
            stddev_s=float(stats.get("stddev") or 0.0),
            iqr_s=float(stats.get("iqr") or 0.0),
            rounds=int(stats.get("rounds") or 1),
        )

    @classmethod
    def of_rounds(cls, seconds: Iterable[float]) -> Timing:
        """From the seconds of each round, by pytest-benchmark's own statistics."""
        stats = Stats()  # type: ignore[no-untyped-call]
        for value in seconds:
            stats.update(value)  # type: ignore[no-untyped-call]
        if not stats.rounds:
            raise ValueError("no rounds to time")
        return cls.from_stats(stats.as_dict())  # type: ignore[no-untyped-call]

    @property
    def spread_s(self) -> float | None:
        """The noise seen in the timed rounds: the IQR from 5 rounds on, the full range below
        (too few rounds for quartiles); None for a single round, which shows no noise at all."""
        if self.rounds < 2:
            return None
        return self.iqr_s if self.rounds >= 5 else self.max_s - self.min_s

    def field(self, name: str) -> float:
        """A statistic by pytest-benchmark's name (min, max, mean, median, stddev, iqr)."""
        return float(getattr(self, f"{name}_s"))


@dataclass(frozen=True)
class WordErrorCounts:
    """The word errors behind a WER, against the reference's word count."""

    substitutions: int
    deletions: int
    insertions: int
    reference_words: int

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> WordErrorCounts:
        typed, extra = _split(cls, data)
        if extra or len(typed) != len(fields(cls)):
            raise ResultError(f"word_errors is not a record of {', '.join(_field_types(cls))}")
        return cls(**typed)

    def to_mapping(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, kw_only=True)
class CaseRecord:
    """What every case records: which engine and model, and what really ran."""

    kind: ClassVar[str]
    implementation: str
    model: str
    """The size as IDs show it (``large-v3-synthetic`` for random weights)."""
    weights: str = "real"
    """``real`` or ``synthetic``."""
    params: Params = field(default_factory=Params)
    load_s: float | None = None
    peak_rss_mb: float | None = None
    """The process's peak resident set size so far (not the case's own footprint)."""
    available_memory_mb: float | None = None
    """System memory available when the case started (``devices.available_memory_bytes``; on
    Apple Silicon the unified memory the GPU shares): what a batch sized to free memory saw,
    and what the other models still loaded left."""
    peak_device_mb: float | None = None
    """A true peak of device memory during the case: CUDA's ``max_memory_allocated``, reset at
    its start. None on MPS, which keeps no peak (see ``device_live_mb``), and on the CPU."""
    device_live_mb: float | None = None
    """MPS: the live tensors at the case's end (``torch.mps.current_allocated_memory``), not
    a peak; None elsewhere."""
    device_baseline_mb: float | None = None
    """Device memory allocated at the case's start (the loaded weights and buffers)."""
    device_memory_measure: str | None = None
    """What the case's device memory figure is, in a sentence."""
    round_s: tuple[float, ...] = ()
    """The seconds of each timed round (the evidence of a speed interval); empty in runs saved
    before they were recorded."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """``extra_info`` keys this record does not declare, kept as they were."""

    @property
    def synthetic(self) -> bool:
        return self.weights == "synthetic"

    def value(self, name: str) -> Any:
        """A declared field, or an undeclared one from ``extra`` (None when absent)."""
        if name != "extra" and name in _field_types(type(self)):
            return getattr(self, name)
        return self.extra.get(name)


@dataclass(frozen=True, kw_only=True)
class LoadResult(CaseRecord):
    """One timed load of a model."""

    kind: ClassVar[str] = "load"
    verify_timeout_s: float | None = None
    """The model map's limit for the load."""


@dataclass(frozen=True, kw_only=True)
class TranscribeResult(CaseRecord):
    """One clip transcribed: speed, accuracy and what was said."""

    kind: ClassVar[str] = "transcribe"
    clip: str
    audio_path: str | None = None
    audio_s: float | None = None
    rtfx: float | None = None
    """Audio seconds per second of the median timed round."""
    cold_s: float | None = None
    """The first call after the load, untimed by pytest-benchmark."""
    cold_rtfx: float | None = None
    wer: float | None = None
    """A fraction (0.105 is 10.5 %); None without a reference or with synthetic weights."""
    reference: str | None = None
    """The reference transcript's file name."""
    word_errors: WordErrorCounts | None = None
    unit_errors: Mapping[str, tuple[UnitErrors, ...]] = field(default_factory=dict)
    """The clip's word errors per unit of its reference (``evidence``: about 12 words each),
    under the clip's name: the evidence of WER intervals and paired tests."""
    repeated_ngrams: int | None = None
    """Word 8-grams repeated in the transcript but not in the reference (``metrics``); None
    for synthetic weights, whose text is random."""
    language: str | None = None
    transcript: str = ""
    """The start of the transcript (a preview; metrics see all of it)."""
    phases_s: Mapping[str, float] = field(default_factory=dict)
    """Seconds per phase of the last timed call, where the engine can tell."""


ACROSS_UTTERANCES = "across utterances"
"""A corpus transcribed by the engine's ``transcribe_batch``: windows of many utterances
decoded together."""
ONE_BY_ONE = "one by one"
"""A corpus transcribed one utterance after the other (``transcribe`` per utterance)."""


@dataclass(frozen=True, kw_only=True)
class CorpusResult(CaseRecord):
    """A whole corpus transcribed in each timed round: corpus WER (Σ errors / Σ reference words)
    and RTFx (Σ audio / the round's time), like the Open ASR Leaderboard's."""

    kind: ClassVar[str] = "corpus"
    dataset: str
    """The corpus as IDs show it (its folder, manifest or Hub name; ``-firstN`` with a limit)."""
    dataset_source: str | None = None
    """The ``--dataset`` value it was read from."""
    dataset_format: str | None = None
    """``librispeech``, ``manifest``, ``folder``, ``hf-disk`` or ``hf-hub``."""
    batching: str | None = None
    """How the case asked for the corpus to run: ``across utterances`` (the engine's
    ``transcribe_batch``) or ``one by one``. ``params.batching`` says what really ran: one by
    one for an engine that cannot batch utterances."""
    utterances: int | None = None
    """Utterances transcribed in each round."""
    referenced: int | None = None
    """Utterances with a reference: those the WER counts."""
    skipped: int | None = None
    """Items of the corpus that could not be read (left out)."""
    skipped_reasons: tuple[str, ...] = ()
    """The first of their one-line reasons."""
    audio_s: float | None = None
    rtfx: float | None = None
    """Σ audio seconds / seconds of the median timed round."""
    wer: float | None = None
    """Corpus WER, a fraction: Σ errors / Σ reference words (not a mean of utterance WERs)."""
    word_errors: WordErrorCounts | None = None
    """The S/D/I totals and Σ reference words."""
    unit_errors: Mapping[str, tuple[UnitErrors, ...]] = field(default_factory=dict)
    """Each utterance's word errors, by id, per unit of its reference (one unit, or about 12
    words each for a long one): they sum to the utterance's S, D, I and reference words."""
    wer_quantiles: Mapping[str, float] = field(default_factory=dict)
    """Quantiles of the utterances' own WERs (``p50``, ``p90``, ``p99``, ``max``)."""
    worst_utterances: tuple[str, ...] = ()
    """The ids of the utterances with the highest WER, worst first."""
    worst_wer: Mapping[str, float] = field(default_factory=dict)
    """Their WERs, by id."""
    repeated_ngrams: int | None = None
    """Σ over utterances of their repeated word 8-grams (``metrics.repeated_ngrams``)."""
    language: str | None = None
    warmup_utterances: int | None = None
    """Utterances of the untimed first call (the corpus's first ones)."""
    warmup_s: float | None = None
    timed_once: bool | None = None
    """True when the corpus was too long for ``--rounds`` (``suite.corpus_rounds``)."""

    @property
    def subject(self) -> str:
        """What the case runs on, as its ID ends: the dataset, ``-one-by-one`` when it ran so."""
        return f"{self.dataset}-one-by-one" if self.batching == ONE_BY_ONE else self.dataset


Result = LoadResult | TranscribeResult | CorpusResult
"""Any record a benchmark case saves."""


@dataclass(frozen=True)
class Measured:
    """A case just measured: its record and the timing of its rounds (None when timing was
    disabled)."""

    result: Result
    timing: Timing | None

    def value(self, metric: Metric) -> float | None:
        return metric.value(self.timing, self.result)


RecordT = TypeVar("RecordT", bound=CaseRecord)


def with_values(result: RecordT, values: Mapping[str, Any]) -> RecordT:
    """``result`` with metric values set: a declared field by name, anything else in
    ``extra``."""
    declared = _field_types(type(result))
    typed = {name: value for name, value in values.items() if name in declared}
    untyped = {name: value for name, value in values.items() if name not in declared}
    return replace(result, **typed, extra={**result.extra, **untyped})


RESULT_KINDS: dict[str, type[LoadResult] | type[TranscribeResult] | type[CorpusResult]] = {
    LoadResult.kind: LoadResult,
    TranscribeResult.kind: TranscribeResult,
    CorpusResult.kind: CorpusResult,
}
"""Each record type by the ``kind`` saved with it."""


def to_extra_info(result: CaseRecord) -> dict[str, Any]:
    """The record as pytest-benchmark's ``extra_info`` (JSON-ready)."""
    out: dict[str, Any] = {"kind": result.kind}
    types = _field_types(type(result))
    for f in fields(result):
        if f.name == "extra":
            continue
        value = getattr(result, f.name)
        encode = _ENCODERS.get(types[f.name])
        if encode is not None:
            value = encode(value)
        elif isinstance(value, Params | WordErrorCounts):
            value = value.to_mapping()
        elif isinstance(value, Mapping):
            value = dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    out.update(result.extra)
    return out


def from_extra_info(data: Any) -> Result:
    """The record saved in a benchmark's ``extra_info``, whichever version wrote it;
    ``ResultError`` when it is not whisperbench's or lacks a field every record needs."""
    if not isinstance(data, Mapping) or data.get("kind") not in RESULT_KINDS:
        raise ResultError(f"no whisperbench extra_info (kind {'/'.join(RESULT_KINDS)})")
    cls = RESULT_KINDS[str(data["kind"])]
    body = {key: value for key, value in data.items() if key != "kind"}
    nested: dict[str, Any] = {}
    for name, type_text in _field_types(cls).items():
        decode = _NESTED.get(type_text)
        if decode is None or name not in body:
            continue
        try:
            nested[name] = decode(body[name])
        except (ResultError, TypeError, ValueError):
            continue  # kept in ``body``, and so in ``extra``, as it was
        del body[name]
    typed, extra = _split(cls, body)
    missing = [name for name in _required(cls) if name not in typed]
    if missing:
        raise ResultError(f"extra_info lacks {', '.join(missing)}")
    return cls(**typed, **nested, extra=extra)


def _params(value: Any) -> Params:
    if value is not None and not isinstance(value, Mapping):
        raise TypeError("params is not a mapping")
    return Params.from_mapping(value)


def _word_errors(value: Any) -> WordErrorCounts | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError("word_errors is not a mapping")
    return WordErrorCounts.from_mapping(value)


def _seconds(value: Any) -> dict[str, float]:
    if not isinstance(value, Mapping) or not all(_is_number(v) for v in value.values()):
        raise TypeError("not a mapping of seconds")
    return {str(k): float(v) for k, v in value.items()}


def _texts(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise TypeError("not a list of strings")
    return tuple(value)


def _numbers(value: Any) -> tuple[float, ...]:
    if not isinstance(value, list | tuple) or not all(_is_number(v) for v in value):
        raise TypeError("not a list of numbers")
    return tuple(float(v) for v in value)


def _unit_counts(value: Any) -> dict[str, tuple[UnitErrors, ...]]:
    """``{utterance: [[S, D, I, N], ...]}`` -> the units (TypeError when it is not that)."""
    if not isinstance(value, Mapping):
        raise TypeError("unit_errors is not a mapping")
    out: dict[str, tuple[UnitErrors, ...]] = {}
    for utterance, units in value.items():
        if not isinstance(units, list) or not all(
            isinstance(u, list) and len(u) == 4 and all(type(n) is int for n in u) for u in units
        ):
            raise TypeError(f"unit_errors of {utterance!r} are not lists of [S, D, I, N]")
        out[str(utterance)] = tuple(UnitErrors(*u) for u in units)
    return out


def _encode_units(value: Mapping[str, tuple[UnitErrors, ...]]) -> dict[str, list[list[int]]]:
    return {
        utterance: [[u.substitutions, u.deletions, u.insertions, u.reference_words] for u in units]
        for utterance, units in value.items()
    }


_NESTED: dict[str, Callable[[Any], Any]] = {
    "Params": _params,
    "WordErrorCounts|None": _word_errors,
    "Mapping[str,float]": _seconds,
    "tuple[str,...]": _texts,
    "tuple[float,...]": _numbers,
    "Mapping[str,tuple[UnitErrors,...]]": _unit_counts,
}
"""How a saved value becomes a record's field that is not a plain JSON scalar, by the field's
annotation: the parameters, word-error counts (a corpus record's S/D/I totals too), mappings of
numbers (seconds per phase, WER quantiles), lists of names (the worst utterances) and of
numbers (the seconds of each round), and word errors per unit."""

_ENCODERS: dict[str, Callable[[Any], Any]] = {
    "Mapping[str,tuple[UnitErrors,...]]": _encode_units,
}
"""How a field that JSON cannot hold as it is is written (the inverse of ``_NESTED``)."""


# --- metrics ------------------------------------------------------------------------------------

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
    compute: Callable[[Transcribed], float | None] | None = None
    """Computes the value for each transcribe case (the suite saves it under ``field``)."""

    def value(self, timing: Timing | None, result: CaseRecord) -> float | None:
        """The metric's stored value for a case, or None where it has none."""
        if result.kind not in self.kinds:
            return None
        if self.source == "timing":
            return None if timing is None else float(getattr(timing, self.field))
        raw = result.value(self.field)
        return float(raw) if _is_number(raw) else None

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


def _repeated_ngrams(seen: Transcribed) -> float | None:
    if seen.synthetic:
        return None
    return metrics.repeated_ngrams(seen.text, seen.reference)


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
        kinds=("transcribe", "corpus", "load"),
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
        kinds=("transcribe", "corpus"),
        evidence=OverRounds(speed=True),
        export=True,
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
        shown=frozenset({SESSION}),
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
        kinds=("transcribe", "corpus"),
        evidence=OverUnits(),
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
        kinds=("transcribe", "corpus", "load"),
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
        kinds=("transcribe", "corpus", "load"),
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
        kinds=("transcribe", "corpus", "load"),
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
        kinds=("transcribe", "corpus", "load"),
        shown=frozenset({REPORT}),
    ),
)
"""Every metric, in the order tables show them."""


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


def summed_values(
    seen: Sequence[Transcribed], declared: Iterable[Metric] | None = None
) -> dict[str, float | None]:
    """A corpus case's computed counts: each computed metric that corpus cases carry and that
    counts (``change="count"``: repeated n-grams), summed over its utterances (None when no
    utterance has a value)."""
    out: dict[str, float | None] = {}
    for m in METRICS if declared is None else declared:
        if m.compute is None or "corpus" not in m.kinds or m.change != "count":
            continue
        values = [value for each in seen if (value := m.compute(each)) is not None]
        out[m.field] = sum(values) if values else None
    return out


# --- decoding helpers ---------------------------------------------------------------------------


def _field_types(cls: type) -> dict[str, str]:
    """The declared fields of a record and their annotations (as text)."""
    return {f.name: str(f.type).replace(" ", "") for f in fields(cls)}


def _required(cls: type) -> tuple[str, ...]:
    """The fields of a record that have no default."""
    return tuple(
        f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_SCALARS: dict[str, Callable[[Any], bool]] = {
    "str": lambda value: isinstance(value, str),
    "bool": lambda value: isinstance(value, bool),
    "int": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "float": _is_number,
}


def _fits(type_text: str, value: Any) -> bool:
    """Whether a JSON value fits a scalar field annotated ``type_text`` (``int|None``...)."""
    base, optional = type_text.removesuffix("|None"), type_text.endswith("|None")
    if value is None:
        return optional and base in _SCALARS
    check = _SCALARS.get(base)
    return check is not None and check(value)


def _split(cls: type, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``data`` split into the scalar fields ``cls`` declares, where the value has the field's
    type, and everything else (unknown keys, values of another type), kept as it was."""
    types = _field_types(cls)
    typed: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in data.items():
        type_text = types.get(key)
        if type_text is not None and _fits(type_text, value):
            typed[key] = value
        else:
            extra[key] = value
    return typed, extra
