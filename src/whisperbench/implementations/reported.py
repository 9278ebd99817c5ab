"""What the engines report through ``get_params()`` alike: which model and files ran, and a
note for every option an engine does not have (the option was dropped, and why), rather than
echoing it as if it had run."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from whisperbench.implementations.base import (
    ImplementationOptions,
    ModelInfo,
    TranscriptionResult,
    WhisperImplementation,
)

__all__ = ["decoded_language", "ignored_options", "weights_params"]

_DEFAULTS = {"batch_size": None, "quantization": "none", "vad": False, "dtype": None}


def weights_params(impl: WhisperImplementation, info: ModelInfo) -> dict[str, Any]:
    """The engine, the model size, the repo its files came from, their format and path."""
    return {
        "implementation": impl.name,
        "model": info.size,
        "repo_id": info.repo_id,
        "weights": "real",
        "weights_format": impl.weights_format,
        "weights_path": None if impl.snapshot_path is None else str(impl.snapshot_path),
    }


def decoded_language(results: Iterable[TranscriptionResult]) -> str | None:
    """The languages a call decoded in, as its results report them (detected, or the one the
    decoder was forced to), comma-separated; None when none says. An engine's ``language``
    parameter is this for its last call, and before any call the language it forces (None: it
    detects one per input), never the request echoed back."""
    return ",".join(sorted({str(result.language) for result in results if result.language})) or None


def ignored_options(
    engine: str, options: ImplementationOptions, why: dict[str, str]
) -> dict[str, str | None]:
    """``{"<option>_note": ...}`` for each option in ``why`` that was set away from its default:
    ``--<option> VALUE is ignored by <engine>: <why>``; None for those left alone."""
    notes: dict[str, str | None] = {}
    for option, reason in why.items():
        value = getattr(options, option)
        set_by_user = value != _DEFAULTS[option]
        flag = "--" + option.replace("_", "-")
        shown = "" if isinstance(value, bool) else f" {value}"
        notes[f"{option}_note"] = (
            f"{flag}{shown} is ignored by {engine}: {reason}" if set_by_user else None
        )
    return notes
