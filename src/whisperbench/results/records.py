"""The typed records of the benchmark suite. Each benchmark case yields one: ``LoadResult``
(a model load), ``TranscribeResult`` (one clip) or ``CorpusResult`` (a whole corpus per timed
round: corpus WER with S/D/I totals, RTFx over all its audio, per-utterance WER quantiles, the
worst utterances, repeated n-gram totals), with the settings that really ran as typed
``Params``. Keys that a record does not declare (a plugin's extra parameters, a metric without a
typed field) are kept in its ``extra`` mapping. Each kind is one ``CaseRecord`` subclass with its
own ``kind``, listed in ``RESULT_KINDS``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pytest_benchmark.stats import Stats

from whisperbench.errors import ResultError
from whisperbench.resources.timeline import Timeline
from whisperbench.results._fields import field_types, split_fields
from whisperbench.scoring.evidence import UnitErrors

if TYPE_CHECKING:
    from whisperbench.results.metrics import Metric

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
        typed, extra = split_fields(cls, data)
        return cls(**typed, extra=extra)

    def to_mapping(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        out.update(self.extra)
        return out

    def get(self, name: str) -> Any:
        """A parameter by its key: the typed value, else what ``extra`` holds under that key
        (an engine's own parameter, or a value of another type than the typed field's)."""
        typed = getattr(self, name) if name in field_types(type(self)) else None
        return self.extra.get(name) if typed is None and name != "extra" else typed


SPEED_PARAMS: tuple[str, ...] = (
    "device",
    "dtype",
    "quantization",
    "batch_size",
    "beam_size",
    "chunk_length_s",
    "decoder",
    "stream_chunk_s",
    "stream_buffer_s",
)
"""The parameters that change speed: two results of a case compare like with like only when
all of these (and the engine, the model and the clip) are the same (a stream's chunk and
buffer limit change its delays)."""


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
        typed, extra = split_fields(cls, data)
        if extra or len(typed) != len(fields(cls)):
            raise ResultError(f"word_errors is not a record of {', '.join(field_types(cls))}")
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
    # --- resources (issue 24; ``resources``, ``suite.resource_watch``): None in older runs ---
    energy_j_per_audio_hour: float | None = None
    """Joules per hour of audio transcribed, over the timed rounds alone; None where no meter
    could be read (``energy_absent_reason`` says why), never 0."""
    energy_j: float | None = None
    """Joules of all the timed rounds together."""
    energy_span_s: float | None = None
    """Seconds the meter ran: from the first timed round's start to the last one's end."""
    energy_method: str | None = None
    """What was measured and how (Zeus, NVML's energy counter, RAPL), in a sentence."""
    energy_absent_reason: str | None = None
    """Why there is no energy figure (no meter readable here)."""
    energy_note: str | None = None
    """A warning about the figure: a timed span too short for the counter's update period."""
    nvml_peak_device_mb: float | None = None
    """CUDA: the peak device memory NVML sampled during the case, for engines that do not
    allocate through torch too (``nvml_device_memory_measure`` names it)."""
    nvml_baseline_device_mb: float | None = None
    """CUDA: NVML's figure at the case's start (the loaded model, CUDA context included)."""
    nvml_device_memory_measure: str | None = None
    timeline: Timeline | None = None
    """Power, device memory, host RSS, temperature and SM clock sampled through the case."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """``extra_info`` keys this record does not declare, kept as they were."""

    @property
    def synthetic(self) -> bool:
        return self.weights == "synthetic"

    def value(self, name: str) -> Any:
        """A declared field, or an undeclared one from ``extra`` (None when absent)."""
        if name != "extra" and name in field_types(type(self)):
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
    """Word 8-grams repeated in the transcript but not in the reference (``scoring``); None
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
    shard: int | None = None
    """The shard of the corpus that this case ran (1 to ``shards``: ``corpus_shards``); None
    for the whole corpus, run at once or joined from its shards (``results.shards``)."""
    shards: int | None = None
    """How many shards the corpus was split into, for a shard's case and for the case joined
    from them; None for a corpus run whole."""
    shard_worker: str | None = None
    """The pytest-xdist worker that ran this shard (``gw1``); None where the shards ran in turn
    in one process."""
    shard_device: str | None = None
    """What that worker was pinned to (``CUDA_VISIBLE_DEVICES=1``, ``CPU cores 0-7``)."""

    @property
    def subject(self) -> str:
        """What the case runs on, as its ID ends: the dataset, ``-one-by-one`` when it ran so,
        then the shard (``-shard2of4``) for one shard's case."""
        whole = f"{self.dataset}-one-by-one" if self.batching == ONE_BY_ONE else self.dataset
        if self.shard is None or self.shards is None:
            return whole
        return f"{whole}-{shard_label(self.shard, self.shards)}"


def shard_label(index: int, count: int) -> str:
    """``shard2of4``: shard ``index`` (from 1) of ``count``, as case IDs end."""
    return f"shard{index}of{count}"


FIRST_WORDS = "first-words"
"""The latency track's first-words case (``FirstWordsResult``)."""
STREAM = "stream"
"""The latency track's simulated live stream (``StreamResult``)."""
LATENCY_KINDS = (FIRST_WORDS, STREAM)


@dataclass(frozen=True, kw_only=True)
class FirstWordsResult(CaseRecord):
    """Time to first words and to the whole transcript of one clip, batch 1, warm (issue 23):
    medians of the timed rounds, each round's seconds kept as their evidence."""

    kind: ClassVar[str] = FIRST_WORDS
    clip: str
    audio_path: str | None = None
    audio_s: float | None = None
    first_text_s: float | None = None
    """Seconds from the call to the first text the engine hands out (median of the rounds)."""
    full_text_s: float | None = None
    """Seconds from the call to the whole transcript (median of the rounds)."""
    first_round_s: tuple[float, ...] = ()
    full_round_s: tuple[float, ...] = ()
    transcript: str = ""


@dataclass(frozen=True, kw_only=True)
class StreamResult(CaseRecord):
    """One clip streamed live on the compute-aware simulated clock (``streaming``): emission
    delays, processing real-time factor, whether the engine kept up, and the final committed
    transcript's WER next to the same engine's offline WER."""

    kind: ClassVar[str] = STREAM
    clip: str
    audio_path: str | None = None
    audio_s: float | None = None
    delay_mean_s: float | None = None
    delay_p50_s: float | None = None
    delay_p90_s: float | None = None
    delays_s: tuple[float, ...] = ()
    """Each committed word's emission delay, in order (the evidence of the delays' intervals)."""
    stream_rtf: float | None = None
    kept_up: float | None = None
    """1.0 when the engine kept up with real time, 0.0 when it fell behind."""
    stream_wer: float | None = None
    offline_wer: float | None = None
    unit_errors: Mapping[str, tuple[UnitErrors, ...]] = field(default_factory=dict)
    """The streamed transcript's word errors per unit, under the clip's name."""
    offline_unit_errors: Mapping[str, tuple[UnitErrors, ...]] = field(default_factory=dict)
    """The offline transcript's, on the same units."""
    reference: str | None = None
    transcript: str = ""
    """The start of the final committed transcript."""
    offline_transcript: str = ""


BATCH_SWEEP = "batch-sweep"
"""A case of the batch sweep (``--batch-sweep``: ``BatchSweepResult``)."""


@dataclass(frozen=True, kw_only=True)
class BatchSweepResult(TranscribeResult):
    """One clip transcribed at one batch size of a batch sweep (``--batch-sweep``): what a
    transcribe case records, at ``sweep_batch``; or, where that batch did not fit, no timing
    and ``out_of_memory`` saying what ran out (the sweep of that engine, model and clip ends
    there)."""

    kind: ClassVar[str] = BATCH_SWEEP
    sweep_batch: int
    """The batch size this case asked for (``params.batch_size`` says what ran)."""
    out_of_memory: str | None = None
    """The allocation failure at this batch size, in a line; None where it fitted."""

    @property
    def subject(self) -> str:
        """The clip and the batch, as the case ID ends: ``long-batch16``."""
        return f"{self.clip}-{sweep_label(self.sweep_batch)}"


SWEEP_MEMORY_FIELDS = ("peak_device_mb", "device_live_mb")
"""The device memory a batch sweep shows: CUDA's peak, else MPS's live tensors (never the two
as one figure: ``devices.DEVICE_MEMORY_MEASURES``)."""


def sweep_label(batch: int) -> str:
    """``batch16``: a batch size of a sweep, as case IDs end."""
    return f"batch{batch}"


Result = LoadResult | TranscribeResult | CorpusResult | FirstWordsResult | StreamResult
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
    declared = field_types(type(result))
    typed = {name: value for name, value in values.items() if name in declared}
    untyped = {name: value for name, value in values.items() if name not in declared}
    return replace(result, **typed, extra={**result.extra, **untyped})


RESULT_KINDS: dict[str, type[Result]] = {
    LoadResult.kind: LoadResult,
    TranscribeResult.kind: TranscribeResult,
    CorpusResult.kind: CorpusResult,
    FirstWordsResult.kind: FirstWordsResult,
    StreamResult.kind: StreamResult,
    BatchSweepResult.kind: BatchSweepResult,
}
"""Each record type by the ``kind`` saved with it."""
