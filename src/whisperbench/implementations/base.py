"""The interface every Whisper implementation follows, and the records it returns.

An implementation is given a local folder of weights in the format it declares
(``weights_format``) and loads it; it never looks for, downloads, imports or converts weights
itself. The suite and the CLI ask the ``weights`` package for the folder."""

from __future__ import annotations

import importlib.util
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from whisperbench.audio import SAMPLE_RATE
from whisperbench.devices import DeviceMemoryMeter, DeviceName, TorchMemoryMeter, resolve_device
from whisperbench.errors import ImplementationUnavailableError
from whisperbench.implementations.footprint import outside_torch_meter
from whisperbench.models import get_model
from whisperbench.weights.formats import get_format


def missing_package(
    modules: Sequence[str], install_hint: str, *, package: str | None = None
) -> str | None:
    """Why an engine's package is not installed here (the first of ``modules`` that cannot be
    found, named as ``package`` when given, else as itself, with ``install_hint``), or None."""
    for module in modules:
        if importlib.util.find_spec(module) is None:
            return f"the {package or module} package is not installed; {install_hint}"
    return None


def default_install_hint(package: str | None, extra: str | None) -> str:
    """``pip install 'whisperbench[EXTRA]'  (or: pip install PACKAGE)``, or what of it applies."""
    if extra is None:
        return f"pip install {package}" if package else ""
    alone = f"  (or: pip install {package})" if package else ""
    return f"pip install 'whisperbench[{extra}]'{alone}"


@dataclass
class ImplementationOptions:
    """What a user may set; every implementation reads the same options so results compare."""

    device: str = "auto"
    dtype: str | None = None
    """None: the device's default (fp16 on cuda/mps, fp32 on cpu)."""
    batch_size: int | None = None
    """None: chosen from the device's free memory."""
    beam_size: int = 1
    quantization: str = "none"
    vad: bool = False
    language: str | None = None
    cuda_graphs: bool = True
    """Replay each decoding step as a CUDA graph where the implementation can."""
    compile_step: bool = True
    """Fuse the decoding step with ``torch.compile`` before it is captured (ours, on CUDA)."""
    synthetic_tokens: int | None = None
    """Random weights of the real architecture, decoding exactly this many tokens per window
    (speed only; implementations that cannot do this say so)."""


@dataclass(frozen=True)
class ModelInfo:
    """A size as one implementation loads it (resolved through the model map)."""

    size: str
    implementation: str
    weights_format: str
    repo_id: str
    verify_timeout_s: float
    english_only: bool

    @property
    def family(self) -> str:
        """The older name of ``weights_format``."""
        return self.weights_format


@dataclass(frozen=True)
class WeightsNeed:
    """The weights an implementation reads to load a size: which size's files, in which format
    (normally the size itself, in the implementation's format)."""

    size: str
    weights_format: str


@dataclass(frozen=True)
class Segment:
    start: float | None
    end: float | None
    text: str


@dataclass
class TranscriptionResult:
    text: str
    language: str | None
    segments: list[Segment] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per phase (for example features, generate, merge) where an implementation
    can tell; their sum is at most the wall time of the call."""


@dataclass(frozen=True)
class Word:
    """One word of a transcript, with its place in the audio in seconds. ``timed``: the times
    are the engine's own word timestamps; False: spread over its segment by the engine-neutral
    default (``words_of_segments``), good to a few seconds only."""

    start: float
    end: float
    text: str
    timed: bool = True


@dataclass(frozen=True)
class FirstText:
    """When an engine's first text appeared in one call, and its whole transcript.
    ``first_s``: seconds from the call to the first text the engine handed out (equal to
    ``total_s`` for an engine that returns only at the end); ``how``: how it was measured."""

    first_s: float
    total_s: float
    how: str
    result: TranscriptionResult
    at_end: bool
    """True where the engine hands out nothing before the whole transcript."""


AT_END = "the whole transcript: the engine hands out its text only when the call returns"


def words_of_segments(segments: Sequence[Segment], duration: float) -> list[Word]:
    """The words of ``segments``, each segment's time (the whole ``duration`` where a segment
    has none) shared among its words in proportion to their lengths: ``timed`` False."""
    words: list[Word] = []
    for segment in segments:
        parts = segment.text.split()
        if not parts:
            continue
        start = 0.0 if segment.start is None else float(segment.start)
        end = duration if segment.end is None else float(segment.end)
        end = max(end, start)
        total = sum(len(part) + 1 for part in parts)
        at = start
        for part in parts:
            step = (end - start) * (len(part) + 1) / total
            words.append(Word(at, at + step, part, timed=False))
            at += step
    return words


Progress = Callable[[int, int, str], None]
"""``(done, total, unit)``: how far a long call has come, for example 3 of 12 ``windows`` of a
clip or 40 of 2620 ``utterances`` of a corpus. The caller (the suite) sets it on an engine
(``WhisperImplementation.progress``); the engine knows nothing of where it is shown."""


class WhisperImplementation(ABC):
    """One way of running Whisper. Subclasses set ``name`` and ``weights_format`` and fill in
    the rest."""

    name: ClassVar[str]
    weights_format: ClassVar[str]
    """The weight format it reads (``weights.formats``): ``transformers`` or ``ctranslate2``."""
    family: ClassVar[str]
    """The older name of ``weights_format``; a subclass may set either."""
    package: ClassVar[str]
    """The distribution that provides it (named in install hints)."""
    packages: ClassVar[tuple[str, ...]] = ()
    """Every distribution whose version a saved run records for it (``devices.machine_facts``,
    from ``registry.engine_packages``); by default ``package`` alone."""
    extra: ClassVar[str | None] = None
    """The ``pyproject.toml`` extra that installs what it needs; None: whisperbench's own
    dependencies suffice."""
    modules: ClassVar[tuple[str, ...]] = ()
    """The modules it imports: it is unavailable here while one cannot be found (the default
    ``unavailable_reason``)."""
    install_hint: ClassVar[str] = ""
    """How to install it, said where it is unavailable; by default from ``extra`` and
    ``package``: ``pip install 'whisperbench[EXTRA]'  (or: pip install PACKAGE)``."""
    supported_devices: ClassVar[tuple[DeviceName, ...]] = ("cuda", "mps", "cpu")
    yardstick: ClassVar[bool] = False
    """A reference kept to compare against (run when named, not by default)."""
    default_devices: ClassVar[tuple[DeviceName, ...] | None] = None
    """The devices where the suite runs it by default (``--implementations available``); None:
    every device it supports. Named (or ``all``), it runs on any supported device."""
    supports_synthetic: ClassVar[bool] = False
    """Whether ``ImplementationOptions.synthetic_tokens`` (random weights) is honoured."""
    needs_weights: ClassVar[bool] = True
    """False for an engine that loads no model files (the ``fake`` one): the suite then skips
    the cache checks and imports before its load."""

    batch_size: int | None = None
    """Windows (or utterances) decoded per batch, once loaded; None where it does not apply."""
    batches_utterances: ClassVar[bool] = False
    """Whether ``transcribe_batch`` decodes many utterances together (True), or is the default
    that transcribes them one by one."""
    takes_batch_size: ClassVar[bool] = False
    """Whether ``--batch-size`` sets how many windows it decodes at once; a batch sweep
    (``--batch-sweep``) runs such an engine at each size through ``use_batch_size``."""
    allocates_through_torch: ClassVar[bool] = True
    """False for an engine whose framework allocates outside torch (CTranslate2, ggml): torch's
    counters never see its memory, so its meter is ``footprint.outside_torch_meter`` (the
    process's footprint on Metal, none elsewhere: NVML's per-process figure on CUDA)."""
    _memory_meter: DeviceMemoryMeter | None = None
    batch_size_at_load: int | None = None
    """The batch size the load chose, while a batch sweep runs another (``use_batch_size``)."""
    progress: Progress | None = None
    """Told how far a long call has come (``report_progress``), when the caller sets it."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """What a declaration leaves out, derived from what it says: ``family`` and
        ``weights_format`` from each other, ``packages`` and ``install_hint`` from ``package``
        and ``extra``."""
        super().__init_subclass__(**kwargs)
        own = vars(cls)
        if "weights_format" in own:
            cls.family = own["weights_format"]
        elif "family" in own:
            cls.weights_format = own["family"]
        if "package" in own and "packages" not in own:
            cls.packages = (own["package"],)
        if "install_hint" not in own and ("package" in own or "extra" in own):
            cls.install_hint = default_install_hint(getattr(cls, "package", None), cls.extra)

    def __init__(self, options: ImplementationOptions | None = None) -> None:
        self.options = options or ImplementationOptions()
        self.device: DeviceName = resolve_device(self.device_request(self.options.device))
        reason = self.unsupported_device_reason(self.device)
        if reason is not None:
            raise ImplementationUnavailableError(reason)
        self.model_info: ModelInfo | None = None
        self.snapshot_path: Path | None = None

    @classmethod
    def device_request(cls, requested: str) -> str:
        """The device this implementation asks for when the user asks for ``requested``:
        the same, unless it reads ``auto`` its own way (faster-whisper: cuda or else cpu)."""
        return requested

    @classmethod
    def unsupported_device_reason(cls, device: str) -> str | None:
        """Why this implementation cannot run on ``device``, or None when it can."""
        if device in cls.supported_devices:
            return None
        return (
            f"{cls.name} does not run on {device}; it supports "
            f"{', '.join(cls.supported_devices)}. Use --device with one of those."
        )

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Why this implementation cannot run here (a missing package: the first of ``modules``
        that cannot be found, with ``install_hint``), or None when it can."""
        return missing_package(cls.modules, cls.install_hint) if cls.modules else None

    def get_model_info(self, size: str) -> ModelInfo:
        spec = get_model(size)
        return ModelInfo(
            size=size,
            implementation=self.name,
            weights_format=self.weights_format,
            repo_id=spec.repo_id(get_format(self.weights_format).repo_format),
            verify_timeout_s=spec.verify_timeout_s,
            english_only=spec.english_only,
        )

    @classmethod
    def weights_needed(cls, size: str, options: ImplementationOptions) -> WeightsNeed:
        """The weights to hand ``load`` for ``size``: the size itself in ``weights_format``,
        unless an implementation builds the weights some other way."""
        return WeightsNeed(size, cls.weights_format)

    def load(self, snapshot: Path | None, info: ModelInfo) -> None:
        """Load the weights in the local folder ``snapshot`` (what ``weights_needed`` asked
        for) as the model ``info`` describes; None only for an engine that reads no files
        (``needs_weights = False``)."""
        if snapshot is not None:
            self._load(info, snapshot)
        elif self.needs_weights:
            raise ValueError(f"{self.name} reads its weights from a folder; none was given")
        self.snapshot_path = snapshot
        self.model_info = info

    @abstractmethod
    def _load(self, info: ModelInfo, snapshot: Path) -> None:
        """Load the weights in ``snapshot`` onto ``self.device``."""

    @abstractmethod
    def transcribe(self, audio: np.ndarray) -> TranscriptionResult:
        """Transcribe 16 kHz mono float32 samples. GPU work has finished when this returns."""

    def transcribe_batch(self, audios: Sequence[np.ndarray]) -> list[TranscriptionResult]:
        """Transcribe many utterances (a corpus), one result per utterance in the same order.
        An engine that can decode several utterances together overrides this (and sets
        ``batches_utterances``); the default transcribes them one by one."""
        return transcribe_one_by_one(self, audios)

    takes_prompt: ClassVar[bool] = False
    """Whether ``transcribe_words`` honours its ``prompt`` (text the decoder continues from)."""

    def streaming_unsupported_reason(self) -> str | None:
        """Why this engine cannot be streamed (re-transcribing a growing buffer of real speech),
        or None where it can: synthetic (random-weight) runs produce no words to commit."""
        if self.options.synthetic_tokens:
            return "synthetic weights decode no real words: there is nothing to stream"
        return None

    def transcribe_words(self, audio: np.ndarray, prompt: str | None = None) -> list[Word]:
        """The words of ``audio`` (at most one 30 s window: the streaming buffer) with their
        times in it, decoded after ``prompt`` where the engine ``takes_prompt``. The default
        is ``transcribe``'s segments spread over their words (``words_of_segments``); engines
        with word timestamps override it."""
        result = self.transcribe(audio)
        return words_of_segments(
            result.segments or [Segment(None, None, result.text)], _seconds(audio)
        )

    def first_text(self, audio: np.ndarray) -> FirstText:
        """Time one call to the first text the engine hands out and to the whole transcript.
        The default: the engine returns everything at the end, so both are the call's time."""
        start = time.perf_counter()
        result = self.transcribe(audio)
        total = time.perf_counter() - start
        return FirstText(total, total, AT_END, result, at_end=True)

    def use_batch_size(self, batch_size: int | None) -> None:
        """Decode ``batch_size`` windows at a time from the next call on, the model staying
        loaded (a batch sweep's case); None: back to the batch size the load chose. Only for an
        engine that ``takes_batch_size`` (ValueError otherwise)."""
        if not self.takes_batch_size:
            raise ValueError(f"{self.name} takes no batch size")
        if batch_size is None:
            if self.batch_size_at_load is not None:
                self.batch_size, self.batch_size_at_load = self.batch_size_at_load, None
            return
        if self.batch_size_at_load is None:
            self.batch_size_at_load = self.batch_size
        self.batch_size = batch_size

    def report_progress(self, done: int, total: int, unit: str) -> None:
        """Tell the caller how far a long call has come (nothing when nobody listens)."""
        if self.progress is not None:
            self.progress(done, total, unit)

    def memory_meter(self) -> DeviceMemoryMeter:
        """What measures this engine's device memory in a case: torch's counters of its device,
        or for an engine that does not allocate through torch the meter outside torch, one per
        engine (a sampling meter that a raising case left running stops at its next start).
        An engine whose framework counts its own memory names it instead (the MLX engines:
        MLX's allocator on Metal)."""
        if self.allocates_through_torch:
            return TorchMemoryMeter(self.device)
        if self._memory_meter is None:
            self._memory_meter = outside_torch_meter(self.device)
        return self._memory_meter

    @abstractmethod
    def get_params(self) -> dict[str, Any]:
        """The settings really in use, read off the loaded model where possible. The keys every
        engine shares are typed by ``results.Params`` (device, dtype, quantization,
        quantization_note, batch_size, chunk_length_s, beam_size, decoder, attention, task,
        language, vad, threads, model, repo_id); any other key is kept and shown as it is."""

    def cleanup(self) -> None:
        """Release the model and the memory it holds."""
        self.model_info = None

    def require_loaded(self) -> ModelInfo:
        if self.model_info is None:
            raise RuntimeError(f"{self.name}: call load(path, info) before transcribing")
        return self.model_info


def _seconds(audio: np.ndarray) -> float:
    return len(audio) / SAMPLE_RATE


def transcribe_one_by_one(
    impl: WhisperImplementation, audios: Sequence[np.ndarray]
) -> list[TranscriptionResult]:
    """Each utterance through ``impl.transcribe``, in order; progress is counted in utterances
    (the engine's own progress within each call is not passed on)."""
    listener, impl.progress = impl.progress, None
    try:
        results = []
        for done, audio in enumerate(audios, start=1):
            results.append(impl.transcribe(audio))
            if listener is not None:
                listener(done, len(audios), "utterances")
        return results
    finally:
        impl.progress = listener
