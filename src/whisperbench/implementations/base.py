"""The interface every Whisper implementation follows, and the records it returns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from huggingface_hub import constants as hub_constants

from whisperbench.devices import DeviceName, resolve_device
from whisperbench.errors import ImplementationUnavailableError
from whisperbench.hub import resolve_snapshot
from whisperbench.models import Family, get_model


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
    cache_dir: Path | None = None
    offline: bool = False
    vad: bool = False
    language: str | None = None
    cuda_graphs: bool = True
    """Replay each decoding step as a CUDA graph where the implementation can."""
    synthetic_tokens: int | None = None
    """Random weights of the real architecture, decoding exactly this many tokens per window
    (speed only; implementations that cannot do this say so)."""

    @property
    def downloads_allowed(self) -> bool:
        return not (self.offline or hub_constants.HF_HUB_OFFLINE)


@dataclass(frozen=True)
class ModelInfo:
    """Where a size's weights live for one implementation (resolved through the model map)."""

    size: str
    implementation: str
    family: Family
    repo_id: str
    verify_timeout_s: float
    english_only: bool


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


class WhisperImplementation(ABC):
    """One way of running Whisper. Subclasses set ``name`` and ``family`` and fill in the rest."""

    name: ClassVar[str]
    family: ClassVar[Family]
    package: ClassVar[str]
    """The distribution whose version is reported with results."""
    supported_devices: ClassVar[tuple[DeviceName, ...]] = ("cuda", "mps", "cpu")
    yardstick: ClassVar[bool] = False
    """A reference kept to compare against (run when named, not by default)."""
    supports_synthetic: ClassVar[bool] = False
    """Whether ``ImplementationOptions.synthetic_tokens`` (random weights) is honoured."""

    def __init__(self, options: ImplementationOptions | None = None) -> None:
        self.options = options or ImplementationOptions()
        self.device: DeviceName = resolve_device(self.options.device)
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
        """Why this implementation cannot run here (a missing package), or None when it can."""
        return None

    def get_model_info(self, size: str) -> ModelInfo:
        spec = get_model(size)
        return ModelInfo(
            size=size,
            implementation=self.name,
            family=self.family,
            repo_id=spec.repo_id(self.family),
            verify_timeout_s=spec.verify_timeout_s,
            english_only=spec.english_only,
        )

    def load_model(self, size: str) -> None:
        """Find (or download) the size's snapshot through the model map, then load it."""
        info = self.get_model_info(size)
        source = self.weights_source(info)
        self.snapshot_path = resolve_snapshot(
            source.repo_id,
            self.family,
            size=source.size,
            implementation=self.name,
            cache_dir=self.options.cache_dir,
            offline=not self.options.downloads_allowed,
        )
        self._load(info, self.snapshot_path)
        self.model_info = info

    def weights_source(self, info: ModelInfo) -> ModelInfo:
        """The model whose files are read for ``info``: itself, unless an implementation
        builds the weights some other way."""
        return info

    @abstractmethod
    def _load(self, info: ModelInfo, snapshot: Path) -> None:
        """Load the weights in ``snapshot`` onto ``self.device``."""

    @abstractmethod
    def transcribe(self, audio: np.ndarray) -> TranscriptionResult:
        """Transcribe 16 kHz mono float32 samples. GPU work has finished when this returns."""

    @abstractmethod
    def get_params(self) -> dict[str, Any]:
        """The settings really in use, read off the loaded model where possible."""

    def cleanup(self) -> None:
        """Release the model and the memory it holds."""
        self.model_info = None

    def require_loaded(self) -> ModelInfo:
        if self.model_info is None:
            raise RuntimeError(f"{self.name}: call load_model(size) before transcribing")
        return self.model_info
