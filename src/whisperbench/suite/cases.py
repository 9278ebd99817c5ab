"""The cases of a benchmark session and what decides them: the session's settings
(``SuiteConfig``), the load, transcription and corpus cases and the latency track's
first-words and stream cases with their IDs, their running order
(one model after another), and the exceptions that skip or fail a case."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from whisperbench.corpus_shards import Shard, shard_suffix, shards_of
from whisperbench.datasets import (
    DatasetSpec,
)
from whisperbench.implementations import (
    ImplementationOptions,
    Progress,
    WhisperImplementation,
)
from whisperbench.implementations.synthetic import synthetic_label
from whisperbench.names import id_part
from whisperbench.resources.sampler import DEFAULT_INTERVAL_S, check_interval
from whisperbench.results.records import ACROSS_UTTERANCES, ONE_BY_ONE
from whisperbench.suite.workers import Placement

CORPUS_BUDGET_S = 600.0
"""A corpus case runs ``--warmup-rounds`` and ``--rounds`` over the whole corpus only when
they are estimated to take at most this long (10 min); otherwise it is timed once."""
MAX_BATCH_SIZE = 1024
"""The largest ``--batch-size`` (30 s windows decoded at once) taken. Past it no GPU holds a
batch: a window needs its decoder's key/value caches and an encoder activation
(``transformers_pipeline.window_bytes``), about 21 MB for tiny and 350 MB for large-v3 in fp16
on CUDA (MPS adds the encoder's attention matrix), so 1024 windows need 22 GB for tiny and
358 GB for large-v3; and 1024 windows are 8.5 hours of audio in one batch."""


STREAM_CHUNK_S = 1.0
"""``--stream-chunk-s``: audio arrives in chunks of a second (whisper_streaming's default)."""
STREAM_BUFFER_S = 15.0
"""``--stream-buffer-s``: whisper_streaming's ``--buffer_trimming_sec`` default."""
MAX_STREAM_BUFFER_S = 30.0
"""The buffer never holds more than one Whisper window (``PolicySettings.max_window_s``)."""


def check_stream_settings(chunk_s: float, buffer_s: float) -> None:
    """The latency track's stream settings, or ValueError naming the problem and the fix."""
    if not 0 < chunk_s <= MAX_STREAM_BUFFER_S:  # NaN too
        raise ValueError(
            f"--stream-chunk-s {chunk_s}: give the seconds of audio that arrive between "
            f"updates, more than 0 and at most {MAX_STREAM_BUFFER_S:g} (default "
            f"{STREAM_CHUNK_S:g})"
        )
    if not chunk_s <= buffer_s <= MAX_STREAM_BUFFER_S:
        raise ValueError(
            f"--stream-buffer-s {buffer_s}: give the seconds of audio the stream keeps before "
            f"it is trimmed, from --stream-chunk-s ({chunk_s:g}) to one window "
            f"({MAX_STREAM_BUFFER_S:g}) (default {STREAM_BUFFER_S:g})"
        )


@dataclass(frozen=True)
class SuiteConfig:
    """Everything the command line decides about a benchmark session."""

    models: tuple[str, ...]
    implementations: tuple[str, ...]
    clips: tuple[Path, ...]
    options: ImplementationOptions
    rounds: int = 3
    warmup_rounds: int = 1
    cache_dir: Path | None = None
    """The hub cache to read models from (None: HF_HUB_CACHE, see ``weights.layout``)."""
    rejected_inputs: tuple[str, ...] = ()
    """Audio files left out when the cases were collected, each a line naming it and why."""
    input_warnings: tuple[str, ...] = ()
    """Usable inputs with a caveat (a reference that gives no WER), a line each."""
    datasets: tuple[DatasetSpec, ...] = ()
    """The corpora: a corpus case per (implementation, model, dataset, batching)."""
    corpus_batching: tuple[str, ...] = (ACROSS_UTTERANCES,)
    corpus_budget_s: float = CORPUS_BUDGET_S
    shards: int = 1
    """Each corpus case split into this many shards (``--shards``), a case each."""
    placement: Placement = field(default_factory=Placement)
    """Where this process runs its shards (a pytest-xdist worker and its device)."""
    stream_chunk_s: float = STREAM_CHUNK_S
    """The latency track's stream: seconds of audio that arrive between updates."""
    stream_buffer_s: float = STREAM_BUFFER_S
    """The stream's buffer is trimmed at a committed word once it holds more than this."""
    resource_interval_s: float = DEFAULT_INTERVAL_S
    """Seconds between the resource sampler's readings (``--resource-interval``)."""
    batch_sweep: tuple[int, ...] = ()
    """``--batch-sweep``: the batch sizes each engine that takes one runs at, increasing
    (``batch_sweep.SweepCase``); empty: no sweep."""

    def __post_init__(self) -> None:
        """Options out of range are refused with the allowed range (ValueError)."""
        batch = self.options.batch_size
        if batch is not None and not 1 <= batch <= MAX_BATCH_SIZE:
            raise ValueError(
                f"--batch-size {batch}: give a whole number from 1 to {MAX_BATCH_SIZE} "
                "(30 s windows decoded at once; leave it out for each implementation's default)"
            )
        for option, value, least in (
            ("--rounds", self.rounds, 1),
            ("--warmup-rounds", self.warmup_rounds, 0),
            ("--beam-size", self.options.beam_size, 1),
            ("--synthetic-tokens", self.options.synthetic_tokens, 1),
        ):
            if value is not None and value < least:
                raise ValueError(f"{option} {value}: must be at least {least}")
        if self.shards < 1:
            raise ValueError(
                f"--shards {self.shards}: give a whole number of at least 1 (the shards each "
                "corpus is split into; 1: the corpus runs whole)"
            )
        check_stream_settings(self.stream_chunk_s, self.stream_buffer_s)
        check_interval(self.resource_interval_s)
        budget = self.corpus_budget_s
        if not 0 <= budget < float("inf"):  # NaN too
            raise ValueError(
                f"--corpus-budget {budget}: give a number of seconds, 0 or more (0: every "
                "corpus is timed once)"
            )

    @property
    def synthetic(self) -> bool:
        return bool(self.options.synthetic_tokens)

    def model_label(self, size: str) -> str:
        """The size as IDs and reports show it: ``large-v3-synthetic`` for random weights."""
        return synthetic_label(size) if self.synthetic else size


@dataclass(frozen=True)
class LoadCase:
    implementation: str
    size: str
    label: str

    @property
    def id(self) -> str:
        return f"{self.implementation}-{self.label}"


@dataclass(frozen=True)
class ClipCase:
    """A case of one engine and model on one clip; its ID is ``ENGINE-MODEL-CLIP``."""

    implementation: str
    size: str
    label: str
    clip: str

    @property
    def id(self) -> str:
        return f"{self.implementation}-{self.label}-{id_part(self.clip)}"


@dataclass(frozen=True)
class TranscribeCase(ClipCase):
    """A clip transcribed: speed and accuracy."""


@dataclass(frozen=True)
class CorpusCase:
    implementation: str
    size: str
    label: str
    dataset: str
    batching: str = ACROSS_UTTERANCES
    shard: Shard | None = None
    """The part of the corpus this case runs (``--shards``); None: all of it."""

    @property
    def subject(self) -> str:
        """The dataset, ``-one-by-one`` when the utterances run one after the other, then the
        shard (``-shard2of4``) for a part of it."""
        whole = f"{self.dataset}-one-by-one" if self.batching == ONE_BY_ONE else self.dataset
        return whole + shard_suffix(self.shard)

    @property
    def id(self) -> str:
        return f"{self.implementation}-{self.label}-{self.subject}"


@dataclass(frozen=True)
class FirstWordsCase(ClipCase):
    """The latency track's first-words case: batch 1, warm, on one clip."""


@dataclass(frozen=True)
class StreamCase(ClipCase):
    """The latency track's stream case: one clip streamed live through one engine."""


def load_cases(config: SuiteConfig) -> list[LoadCase]:
    return [
        LoadCase(i, m, config.model_label(m)) for i in config.implementations for m in config.models
    ]


def clip_cases(config: SuiteConfig) -> list[ClipCase]:
    """Every (engine, model, clip) of the session, in order."""
    return [
        ClipCase(i, m, config.model_label(m), clip.stem)
        for i in config.implementations
        for m in config.models
        for clip in config.clips
    ]


def transcribe_cases(config: SuiteConfig) -> list[TranscribeCase]:
    return [TranscribeCase(c.implementation, c.size, c.label, c.clip) for c in clip_cases(config)]


def corpus_cases(config: SuiteConfig) -> list[CorpusCase]:
    """A case per implementation, model, corpus, batching and shard (with ``--shards``)."""
    shards: tuple[Shard | None, ...] = shards_of(config.shards) if config.shards > 1 else (None,)
    return [
        CorpusCase(i, m, config.model_label(m), spec.name, batching, shard)
        for i in config.implementations
        for m in config.models
        for spec in config.datasets
        for batching in config.corpus_batching
        for shard in shards
    ]


def first_words_cases(config: SuiteConfig) -> list[FirstWordsCase]:
    return [FirstWordsCase(c.implementation, c.size, c.label, c.clip) for c in clip_cases(config)]


def stream_cases(config: SuiteConfig) -> list[StreamCase]:
    return [StreamCase(c.implementation, c.size, c.label, c.clip) for c in clip_cases(config)]


Case = LoadCase | ClipCase | CorpusCase
Model = tuple[str, str]
"""An (implementation, size) the pool loads."""


TRACK_WORDS = ("stream", "latency", "first_words")
"""Words that, in ``-m``, ``-k`` or a path given to pytest, ask for the latency track."""


def latency_track_asked(markexpr: str, keyword: str, args: Sequence[str]) -> bool:
    """The latency track runs only when asked for (``-m stream``, ``-m latency``, ``-k stream``
    or ``benchmarks/test_latency.py`` named): a plain ``pytest benchmarks/`` stays the
    throughput benchmark it was, without the track's extra minutes and its aligner."""
    asked = (markexpr.lower(), keyword.lower(), *(arg.lower() for arg in args))
    return any(word in text for text in asked for word in TRACK_WORDS)


def case_model(case: object) -> Model | None:
    """The model a case runs; None for anything that is not a case."""
    if isinstance(case, Case):
        return case.implementation, case.size
    return None


def order_by_model(cases: Sequence[object]) -> list[int]:
    """The running order of ``cases`` (indices): anything that is not a case first, as it came;
    then the cases of one model after another, in the order the models first appear, each
    model's load case first and its other cases as they came. Only one model is then loaded at
    a time (``last_cases`` says where to release each): on unified memory, a case measured with
    earlier models still resident would see less memory than it would alone."""
    models = [case_model(case) for case in cases]
    first = {model: index for index, model in reversed(list(enumerate(models)))}
    others = [index for index, model in enumerate(models) if model is None]
    grouped = sorted(
        (index for index, model in enumerate(models) if model is not None),
        key=lambda index: (first[models[index]], not isinstance(cases[index], LoadCase), index),
    )
    return others + grouped


def last_cases(cases: Sequence[object]) -> dict[int, Model]:
    """For each model, the index of its last case in ``cases`` (in running order): the model is
    released once that case has run."""
    last = {case_model(case): index for index, case in enumerate(cases)}
    return {index: model for model, index in last.items() if model is not None}


class Skip(Exception):
    """A case that cannot run here; the message says why and what fixes it."""


class UnavailableAfterLoad(Skip):
    """A model that loaded but cannot run as asked (``ImplementationUnavailableError`` from
    ``load``: whisper.cpp's load log names another device than ``--device``, say). Its other
    cases skip with the same reason, without loading it again."""


class EmptyInput(Exception):
    """An input with nothing usable in it after all (a corpus none of whose items could be
    read): the case fails with the message, as an empty input set is an error."""


class Notifier(Protocol):
    def __call__(self, message: str) -> None: ...


class ProgressDisplay(Protocol):
    """Where progress of long calls is shown (the plugin: a line on pytest's terminal)."""

    def start(self, label: str) -> Progress: ...

    def stop(self) -> None: ...


def watched(
    impl: WhisperImplementation,
    display: ProgressDisplay | None,
    label: str,
    call: Callable[[], Any],
) -> Any:
    """``call()`` with ``impl`` reporting its progress to ``display`` under ``label``."""
    if display is None:
        return call()
    impl.progress = display.start(label)
    try:
        return call()
    finally:
        impl.progress = None
        display.stop()
