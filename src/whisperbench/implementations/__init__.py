"""The implementation registry: every engine registered in the ``whisperbench.implementations``
entry-point group (the built-ins by whisperbench's own ``pyproject.toml``, ahead of any plugin's;
a plugin cannot take a built-in's name), with the reason each unavailable one cannot run here,
and what the engines' own declarations say of them all (``engine_packages``)."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from functools import lru_cache
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

DISTRIBUTION = "whisperbench"
"""The distribution whose own entry points in ``ENTRY_POINT_GROUP`` are the built-in engines
(``pyproject.toml``; listed in name order): an engine is registered where it is declared, a
plugin's the same way."""
REGISTERED: dict[str, str] = {}
"""Engines registered in this process (``name: "module:Class"``), after the built-ins and
before the plugins: a conftest's or a test's."""

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
    "builtin_names",
    "create",
    "default_names",
    "engine_packages",
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


@lru_cache(maxsize=8)
def _scan(search_path: tuple[str, ...]) -> tuple[tuple[str, str, str | None], ...]:
    """Each registered engine's (name, target, distribution) as the installed metadata on
    ``search_path`` says, read once per ``sys.path``: each distribution's name is parsed from
    its metadata file, 50 ms a scan, and a session asks the registry dozens of times. (A
    plugin installed into a folder already on ``sys.path`` while this process runs is seen
    by the next process.)"""
    del search_path  # the cache's key: entry_points() reads sys.path itself
    return tuple(
        (ep.name, ep.value, ep.dist.name if ep.dist is not None else None)
        for ep in entry_points(group=ENTRY_POINT_GROUP)
    )


def _registered() -> tuple[tuple[str, str, str | None], ...]:
    return _scan(tuple(sys.path))


def _targets() -> dict[str, str]:
    found = _registered()
    own = [(name, value) for name, value, dist in found if dist == DISTRIBUTION]
    if not own:
        raise ImplementationUnavailableError(
            f"whisperbench's own engines are not registered (no {ENTRY_POINT_GROUP} entry "
            "points): the install predates them; reinstall whisperbench (pip install -e .)"
        )
    targets = dict(own)
    for name, target in REGISTERED.items():
        targets.setdefault(name, target)
    for name, value, _ in found:
        targets.setdefault(name, value)
    return targets


def builtin_names() -> list[str]:
    """The engines whisperbench itself registers (``pyproject.toml``), in its order."""
    return [name for name, _, dist in _registered() if dist == DISTRIBUTION]


def engine_packages() -> list[str]:
    """Every distribution a registered engine declares (``packages``), each once, in the
    registry's order (an engine that cannot be imported declares none)."""
    out: dict[str, None] = {}
    for name in _targets():
        try:
            out.update(dict.fromkeys(get_implementation(name).packages))
        except ImplementationUnavailableError:
            continue
    return list(out)


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
