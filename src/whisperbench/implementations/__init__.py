"""The implementation registry: built-ins plus plugins from the ``whisperbench.implementations``
entry-point group, with the reason each unavailable one cannot run here."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points

from whisperbench.devices import device_among
from whisperbench.errors import ImplementationUnavailableError, UnknownImplementationError
from whisperbench.implementations.base import (
    FirstText,
    ImplementationOptions,
    ModelInfo,
    Progress,
    Segment,
    TranscriptionResult,
    WeightsNeed,
    WhisperImplementation,
    Word,
    transcribe_one_by_one,
    words_of_segments,
)

ENTRY_POINT_GROUP = "whisperbench.implementations"

BUILTINS: dict[str, str] = {
    "transformers": "whisperbench.implementations.transformers_pipeline:TransformersPipeline",
    "faster-whisper": "whisperbench.implementations.faster_whisper:FasterWhisper",
    "transformers-reference": (
        "whisperbench.implementations.transformers_pipeline:TransformersReference"
    ),
    "insanely-fast-whisper": (
        "whisperbench.implementations.insanely_fast_whisper:InsanelyFastWhisper"
    ),
    "openai-whisper": "whisperbench.implementations.openai_whisper:OpenAIWhisper",
    "whisper.cpp": "whisperbench.implementations.whisper_cpp:WhisperCpp",
    "mlx-whisper": "whisperbench.implementations.mlx_whisper:MLXWhisper",
    "lightning-whisper-mlx": (
        "whisperbench.implementations.lightning_whisper_mlx:LightningWhisperMLX"
    ),
    "whisper-mps": "whisperbench.implementations.whisper_mps:WhisperMPS",
}

TEST_DOUBLES: dict[str, str] = {
    "fake": "whisperbench.implementations.fake:FakeWhisper",
}
"""Engines for tests and plugin authors' tests: they run when named (``--implementations
fake``), never with ``all`` or ``available``, and ``check-models`` does not list them."""

__all__ = [
    "ENTRY_POINT_GROUP",
    "TEST_DOUBLES",
    "FirstText",
    "ImplementationOptions",
    "ModelInfo",
    "Progress",
    "Segment",
    "TranscriptionResult",
    "WeightsNeed",
    "WhisperImplementation",
    "Word",
    "availability",
    "available_names",
    "create",
    "default_names",
    "get_implementation",
    "parse_implementation_list",
    "registered_names",
    "transcribe_one_by_one",
    "words_of_segments",
]


@dataclass(frozen=True)
class Availability:
    name: str
    available: bool
    reason: str | None


def _targets() -> dict[str, str]:
    targets = dict(BUILTINS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        targets.setdefault(ep.name, ep.value)
    return targets


def registered_names() -> list[str]:
    return list(_targets())


def get_implementation(name: str) -> type[WhisperImplementation]:
    """The class registered as ``name``; an unknown name lists the registered ones."""
    targets = {**TEST_DOUBLES, **_targets()}
    try:
        target = targets[name]
    except KeyError:
        raise UnknownImplementationError(
            f"unknown implementation {name!r}; registered: {', '.join(_targets())}"
        ) from None
    module_name, _, attr = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ImplementationUnavailableError(
            f"implementation {name!r} is registered as {target!r} but cannot be imported: {exc}"
        ) from exc
    if not (isinstance(cls, type) and issubclass(cls, WhisperImplementation)):
        raise ImplementationUnavailableError(
            f"implementation {name!r} ({target}) is not a WhisperImplementation subclass"
        )
    return cls


def availability() -> list[Availability]:
    """Every registered implementation, and why the unavailable ones cannot run here."""
    result = []
    for name in _targets():
        try:
            reason = get_implementation(name).unavailable_reason()
        except ImplementationUnavailableError as exc:
            reason = str(exc)
        result.append(Availability(name, reason is None, reason))
    return result


def available_names() -> list[str]:
    return [item.name for item in availability() if item.available]


def default_names(device: str = "auto") -> list[str]:
    """What the suite runs on ``device`` when no implementation is named: every available one
    but the yardsticks (``transformers-reference``, ``insanely-fast-whisper``) and those kept to
    their fast devices (``default_devices``: the MLX engines run by default on Metal, not on a
    CPU), which run when named."""
    names = []
    for name in available_names():
        cls = get_implementation(name)
        kept_away = cls.default_devices is not None and (
            device_among(device, cls.supported_devices) not in cls.default_devices
        )
        if not (cls.yardstick or kept_away):
            names.append(name)
    return names


def parse_implementation_list(value: str) -> list[str]:
    """``"transformers,faster-whisper"`` or ``"all"`` (every registered one) -> checked names."""
    if value.strip() == "all":
        return registered_names()
    names = [part.strip() for part in value.split(",") if part.strip()]
    known = registered_names()
    for name in names:
        if name not in known and name not in TEST_DOUBLES:
            raise UnknownImplementationError(
                f"unknown implementation {name!r}; registered: {', '.join(known)}"
            )
    return names


def create(name: str, options: ImplementationOptions | None = None) -> WhisperImplementation:
    """An instance of ``name``, or ImplementationUnavailableError saying why it cannot run."""
    cls = get_implementation(name)
    reason = cls.unavailable_reason()
    if reason is not None:
        raise ImplementationUnavailableError(f"{name} is not available here: {reason}")
    return cls(options)
