"""What the engines built on openai-whisper's ``transcribe()`` share: openai-whisper itself,
mlx-whisper, whisper-mps and lightning-whisper-mlx all take the same keyword arguments and
return the same dictionary.

The settings make them decode as every other engine here does: greedy (or ``beam_size``), one
temperature (0, so no fallback to sampling), no compression-ratio, log-probability or
no-speech thresholds (nothing is re-decoded or dropped), no conditioning on the previous
window's text, English for ``.en`` models. Long audio goes through each library's own loop:
openai-whisper's sequential seek on the timestamps it decodes (a window that ends mid-sentence
is continued from its last timestamp), except lightning-whisper-mlx, which cuts fixed 30 s
windows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from whisperbench.implementations.base import (
    ImplementationOptions,
    ModelInfo,
    Segment,
    TranscriptionResult,
)

__all__ = [
    "CHUNK_LENGTH_S",
    "SEQUENTIAL_SEEK",
    "TEMPERATURE",
    "decode_settings",
    "decoder_name",
    "language_of",
    "result_of",
    "transcribe_kwargs",
]

CHUNK_LENGTH_S = 30
TEMPERATURE = 0.0
CONDITION_ON_PREVIOUS_TEXT = False
SEQUENTIAL_SEEK = "sequential 30 s windows, each continued from its last timestamp"


def language_of(info: ModelInfo, options: ImplementationOptions) -> str | None:
    """English for ``.en`` models; otherwise the asked-for language, or None (detected)."""
    return "en" if info.english_only else options.language


def transcribe_kwargs(info: ModelInfo, options: ImplementationOptions) -> dict[str, Any]:
    """Keyword arguments for ``transcribe(model, audio, **kwargs)`` (``fp16`` is the caller's)."""
    return {
        "verbose": None,
        "temperature": TEMPERATURE,
        "compression_ratio_threshold": None,
        "logprob_threshold": None,
        "no_speech_threshold": None,
        "condition_on_previous_text": CONDITION_ON_PREVIOUS_TEXT,
        "language": language_of(info, options),
        "task": "transcribe",
        "beam_size": options.beam_size if options.beam_size > 1 else None,
    }


def decoder_name(options: ImplementationOptions) -> str:
    return f"beam search ({options.beam_size})" if options.beam_size > 1 else "greedy"


def decode_settings(info: ModelInfo, options: ImplementationOptions) -> dict[str, Any]:
    """The decoding parameters these engines report alike."""
    return {
        "beam_size": options.beam_size,
        "decoder": decoder_name(options),
        "temperature": TEMPERATURE,
        "temperature_fallback": False,
        "condition_on_previous_text": CONDITION_ON_PREVIOUS_TEXT,
        "timestamps": True,
        "task": None if info.english_only else "transcribe",
    }


def result_of(output: Mapping[str, Any]) -> TranscriptionResult:
    """openai-whisper's result dictionary as a ``TranscriptionResult``."""
    segments = [
        Segment(float(seg["start"]), float(seg["end"]), str(seg["text"]).strip())
        for seg in output.get("segments") or []
    ]
    return TranscriptionResult(
        text=str(output["text"]).strip(), language=output.get("language"), segments=segments
    )
