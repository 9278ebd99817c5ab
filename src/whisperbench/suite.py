"""The benchmark suite's engine, free of pytest hooks: cases, the session's loaded models and
clips, and one measured transcription -> ``extra_info``. ``plugin.py`` wires it into pytest."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from whisperbench import cache, devices, metrics
from whisperbench.audio import AudioClip, find_audio_files, fixture_clip_path, load_clip
from whisperbench.hub import fix_command
from whisperbench.implementations import ImplementationOptions, WhisperImplementation, create
from whisperbench.implementations import get_implementation as implementation_class
from whisperbench.implementations.synthetic import TOKENIZER_DONOR, synthetic_label
from whisperbench.models import get_model

CLIPS = ("short", "medium", "long", "seams", "spontaneous")
"""The reference clips: about 10 s, 1 min and 5.5 min of read speech; 55 s with pauses at the
window seams and 52 s of rambling speech with fillers and a long pause (long-form traps)."""
DEFAULT_CLIPS = ("short", "long")
"""A short clip and a long-form one; ``--clips short,medium,long`` adds the minute."""
TRANSCRIPT_PREVIEW_CHARS = 200
DEVICE_MEMORY_FIELDS = (
    "peak_device_mb",
    "device_memory_mb",
    "device_memory_baseline_mb",
    "device_memory_measure",
)
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

    def prepare(self, implementation: str, size: str) -> None:
        """Check the implementation and the cache; import a bundled model when that is the fix."""
        cls = implementation_class(implementation)
        reason = cls.unavailable_reason()
        if reason is not None:
            raise Skip(f"{implementation} is not available here: {reason}")
        device = devices.resolve_device(cls.device_request(self.config.options.device))
        reason = cls.unsupported_device_reason(device)
        if reason is not None:
            raise Skip(reason)
        if self.config.synthetic:
            if not cls.supports_synthetic:
                raise Skip(f"{implementation} has no synthetic-weights mode; drop --synthetic")
            size = TOKENIZER_DONOR  # synthetic weights read only the donor's tokenizer files
        cache_dir = self.config.options.cache_dir
        status = cache.inspect_model(implementation, size, cache_dir=cache_dir)
        if status.status == "missing":
            imported = self._import_bundled(cls.family, size)
            if imported:
                status = cache.inspect_model(implementation, size, cache_dir=cache_dir)
        if not status.ready:
            raise Skip(
                f"{implementation} {size}: {status.status}: {status.reason}. "
                f"Fix: {fix_command(size, implementation)}"
            )

    def _import_bundled(self, family: Any, size: str) -> bool:
        from whisperbench import offline_models

        if size not in offline_models.bundled_sizes():
            return False
        record = offline_models.ensure_bundled_model(size, family, self.config.options.cache_dir)
        self.notify(
            f"whisperbench: {record.repo_id} was not cached; imported the bundled {size} "
            f"weights (whisperbench[offline-models]) into {record.snapshot_path}"
        )
        return True

    def load(self, implementation: str, size: str, *, prepared: bool = False) -> LoadedModel:
        """A fresh load (replacing any earlier one), timed; ``prepared``: the cache was checked."""
        key = (implementation, size)
        self.unload(implementation, size)
        # Marked failed before the attempt: a timeout may strike anywhere, even in a handler,
        # and an unmarked model would be loaded again, with no limit, by every later case.
        self.failures[key] = "the load did not finish (interrupted, for example by its time limit)"
        try:
            if not prepared:
                self.prepare(implementation, size)
            impl = create(implementation, self.config.options)
            memory_baseline = devices.start_device_memory(impl.device)
            start = time.perf_counter()
            with devices.explain_out_of_memory(
                f"loading {implementation} {size}", impl.device, None
            ):
                impl.load_model(size)
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


def median_seconds(benchmark: BenchmarkFixture, fallback: float) -> float:
    """The median of the timed rounds, or ``fallback`` when timing is disabled."""
    stats = getattr(benchmark, "stats", None)
    inner = getattr(stats, "stats", None)
    return float(inner.median) if inner is not None else fallback


def measure_load(benchmark: BenchmarkFixture, pool: ModelPool, case: LoadCase) -> dict[str, Any]:
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
    info: dict[str, Any] = {
        "kind": "load",
        "implementation": case.implementation,
        "model": case.label,
        "weights": "synthetic" if loaded.implementation.options.synthetic_tokens else "real",
        "load_s": loaded.load_s,
        "verify_timeout_s": get_model(case.size).verify_timeout_s,
        "peak_rss_mb": loaded.peak_rss_after_load_mb,
        **device_memory_info(loaded.device_memory),
        "params": impl.get_params(),
    }
    benchmark.extra_info.update(info)
    return info


def device_memory_info(memory: devices.DeviceMemory | None) -> dict[str, Any]:
    """The device memory fields of ``extra_info``. ``peak_device_mb`` holds only a true peak
    (CUDA's); ``device_memory_mb`` holds the figure that ``device_memory_measure`` names (on
    MPS: live tensors at the case's end), with the baseline allocated at its start."""
    if memory is None:
        return dict.fromkeys(DEVICE_MEMORY_FIELDS)
    return {
        "peak_device_mb": memory.bytes / MiB if memory.is_peak else None,
        "device_memory_mb": memory.bytes / MiB,
        "device_memory_baseline_mb": memory.baseline_bytes / MiB,
        "device_memory_measure": memory.measure,
    }


def measure_transcription(
    benchmark: BenchmarkFixture,
    loaded: LoadedModel,
    clip: AudioClip,
    *,
    rounds: int,
    warmup_rounds: int,
) -> dict[str, Any]:
    """Cold run (the first warm-up round, recorded apart), further warm-ups on the same input,
    then ``rounds`` timed runs; returns and stores ``extra_info``."""
    impl = loaded.implementation
    batch_size = getattr(impl, "batch_size", None)
    what = f"{impl.name} {loaded.label} on {clip.name}"
    memory_baseline = devices.start_device_memory(impl.device)
    with devices.explain_out_of_memory(what, impl.device, batch_size):
        start = time.perf_counter()
        result = impl.transcribe(clip.samples)  # transcribe() synchronises the device
        cold_s = time.perf_counter() - start
        results = [result]

        def timed() -> None:
            results.append(impl.transcribe(clip.samples))

        benchmark.pedantic(
            timed, rounds=rounds, warmup_rounds=max(0, warmup_rounds - 1), iterations=1
        )
    median_s = median_seconds(benchmark, cold_s)
    final = results[-1]
    info: dict[str, Any] = {
        "kind": "transcribe",
        "implementation": impl.name,
        "model": loaded.label,
        "weights": "synthetic" if impl.options.synthetic_tokens else "real",
        "clip": clip.name,
        "audio_path": str(clip.path),
        "audio_s": clip.duration_s,
        "rtfx": metrics.rtfx(clip.duration_s, median_s),
        "cold_s": cold_s,
        "cold_rtfx": metrics.rtfx(clip.duration_s, cold_s),
        "wer": None,
        "reference": None,
        "language": final.language,
        "transcript": final.text[:TRANSCRIPT_PREVIEW_CHARS],
        "load_s": loaded.load_s,
        "peak_rss_mb": metrics.process_peak_rss_bytes() / MiB,
        **device_memory_info(devices.end_device_memory(impl.device, memory_baseline)),
        "params": impl.get_params(),
        "phases_s": final.timings,
    }
    if clip.reference is not None and not impl.options.synthetic_tokens:
        errors = metrics.word_errors(clip.reference, final.text)
        info["wer"] = errors.wer
        info["reference"] = clip.path.with_suffix(".txt").name
        info["word_errors"] = {
            "substitutions": errors.substitutions,
            "deletions": errors.deletions,
            "insertions": errors.insertions,
            "reference_words": errors.reference_words,
        }
    benchmark.extra_info.update(info)
    return info
