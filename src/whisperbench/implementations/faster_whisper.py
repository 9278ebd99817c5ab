"""faster-whisper: Whisper on CTranslate2, int8 on CPU and float16 on CUDA.

Audio up to one 30 s window goes through ``WhisperModel.transcribe``; longer audio through
``BatchedInferencePipeline``, several windows per decoder call. Without VAD the batched pipeline
refuses audio over 30 s unless it is given ``clip_timestamps``, so it gets windows of at most
30 s covering the whole clip, each cut at a quiet point (``windows.quiet_windows``, the same
windows as our transformers implementation). Decoding is the same on both paths: greedy (or
``beam_size``), one temperature (0, no fallback), no conditioning on the previous window's text
(as in the transformers implementation), and no timestamp tokens: with quiet cuts the text-only
decoding is the more accurate one (tiny.en, 329 s clip: WER 0.10 without timestamps, 0.18 with).

``faster_whisper`` (and with it ctranslate2) is imported only when a model loads, so this module
imports, and the registry reports why it cannot run, where the package is missing.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from whisperbench.audio import SAMPLE_RATE
from whisperbench.devices import (
    DevicePresence,
    device_among,
    engine_cpu_threads,
)
from whisperbench.errors import ImplementationUnavailableError
from whisperbench.implementations.base import (
    FirstText,
    ImplementationOptions,
    ModelInfo,
    Segment,
    TranscriptionResult,
    WhisperImplementation,
    Word,
    transcribe_one_by_one,
)
from whisperbench.implementations.reported import decoded_language
from whisperbench.implementations.windows import quiet_windows

CHUNK_LENGTH_S = 30
"""Whisper's window; audio longer than this takes the batched path."""
DEFAULT_COMPUTE_TYPES = {"cpu": "int8", "cuda": "float16"}
DEFAULT_BATCH_SIZES = {"cpu": 8, "cuda": 16}
COMPUTE_TYPES = (
    "default",
    "auto",
    "int8",
    "int8_float32",
    "int8_float16",
    "int8_bfloat16",
    "int16",
    "float16",
    "bfloat16",
    "float32",
)
_COMPUTE_TYPE_ALIASES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}
GROUP_BATCHES = 8
"""Batches per ``BatchedInferencePipeline`` call when transcribing many utterances."""
TEMPERATURE = 0.0
CONDITION_ON_PREVIOUS_TEXT = False
"""False on both paths: the batched pipeline cannot condition (it forces False), and the
transformers pipeline's chunked decoding does not either, so every configuration decodes alike."""
WITHOUT_TIMESTAMPS = True
"""Text tokens only (the batched pipeline's default); reported as ``timestamps: False``."""
CUDA_HINT = (
    "ctranslate2's PyPI wheels need the CUDA 12 libraries (libcublas.so.12, cuDNN 9): "
    "pip install nvidia-cublas-cu12 'nvidia-cudnn-cu12==9.*', or run with --device cpu"
)


def ct2_device_request(requested: str, presence: DevicePresence | None = None) -> str:
    """The device to ask for: ``auto`` means cuda or else cpu (CTranslate2 has no MPS backend,
    so on a Mac ``auto`` runs on the CPU); anything else is passed on unchanged, and an explicit
    ``mps`` is then refused by ``WhisperImplementation``."""
    return device_among(requested, FasterWhisper.supported_devices, presence)


def resolve_compute_type(device: str, requested: str | None) -> str:
    """``requested`` (a CTranslate2 compute type, or fp16/fp32/bf16) or the device default."""
    if requested is None:
        return DEFAULT_COMPUTE_TYPES[device]
    name = requested.lower()
    name = _COMPUTE_TYPE_ALIASES.get(name, name)
    if name not in COMPUTE_TYPES:
        raise ValueError(
            f"unknown compute type {requested!r} for faster-whisper; choose one of "
            f"{', '.join(COMPUTE_TYPES)} (or fp16, fp32, bf16)"
        )
    return name


def quantization_of(compute_type: str) -> str:
    """``int8`` for int8* compute types, ``int16`` for int16, else ``none``."""
    if compute_type.startswith("int8"):
        return "int8"
    return "int16" if compute_type == "int16" else "none"


def _device_index(requested: str) -> int:
    _, _, index = requested.partition(":")
    return int(index) if index.isdigit() else 0


class FasterWhisper(WhisperImplementation):
    """``faster_whisper.WhisperModel`` (CTranslate2), batched for long-form audio."""

    allocates_through_torch = False  # CTranslate2 allocates on its own

    name = "faster-whisper"
    weights_format = "ctranslate2"
    package = "faster-whisper"
    packages = ("faster-whisper", "ctranslate2")
    extra = "faster-whisper"
    modules = ("faster_whisper", "ctranslate2")
    supported_devices = ("cuda", "cpu")
    batches_utterances = True
    takes_batch_size = True

    model: Any = None
    pipeline: Any = None
    detected_language: str | None = None
    """The language(s) the last call decoded in (``reported.decoded_language``)."""
    compute_type: str = ""
    cpu_threads: int = 0
    batch_size: int = DEFAULT_BATCH_SIZES["cpu"]
    chunk_length_s: int = CHUNK_LENGTH_S

    def __init__(self, options: ImplementationOptions | None = None) -> None:
        options = options or ImplementationOptions()
        device = self.device_request(options.device)
        if device != options.device:
            options = dataclasses.replace(options, device=device)
        if options.synthetic_tokens:
            raise ImplementationUnavailableError(
                "faster-whisper has no synthetic-weights mode (it reads a CTranslate2 model.bin); "
                "run it on real weights, or leave it out of synthetic runs"
            )
        super().__init__(options)

    @classmethod
    def device_request(cls, requested: str) -> str:
        return ct2_device_request(requested)

    def _load(self, info: ModelInfo, snapshot: Path) -> None:
        import ctranslate2
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        compute_type = resolve_compute_type(self.device, self.options.dtype)
        if self.device == "cuda" and ctranslate2.get_cuda_device_count() == 0:
            raise ImplementationUnavailableError(
                f"faster-whisper: ctranslate2 {ctranslate2.__version__} sees no CUDA device "
                f"although torch does; {CUDA_HINT}"
            )
        self.cpu_threads = engine_cpu_threads()
        try:
            self.model = WhisperModel(
                str(snapshot),
                device=self.device,
                device_index=_device_index(self.options.device),
                compute_type=compute_type,
                cpu_threads=self.cpu_threads,
            )
        except ValueError as exc:  # a compute type this device cannot run
            supported = sorted(ctranslate2.get_supported_compute_types(self.device))
            raise ValueError(
                f"faster-whisper cannot use compute type {compute_type!r} on {self.device} "
                f"({exc}); this device supports: {', '.join(supported)}"
            ) from exc
        except RuntimeError as exc:
            if self.device == "cuda":
                raise ImplementationUnavailableError(
                    f"faster-whisper could not load on cuda ({exc}); {CUDA_HINT}"
                ) from exc
            raise
        self.pipeline = BatchedInferencePipeline(self.model)
        self.compute_type = str(self.model.model.compute_type)
        self.batch_size = self.options.batch_size or DEFAULT_BATCH_SIZES[self.device]
        self.chunk_length_s = CHUNK_LENGTH_S

    def _decode_kwargs(self, info: ModelInfo) -> dict[str, Any]:
        return {
            "language": "en" if info.english_only else self.options.language,
            "task": "transcribe",
            "beam_size": self.options.beam_size,
            "temperature": TEMPERATURE,
            "condition_on_previous_text": CONDITION_ON_PREVIOUS_TEXT,
            "without_timestamps": WITHOUT_TIMESTAMPS,
            "vad_filter": self.options.vad,
            "chunk_length": self.chunk_length_s,
        }

    def is_long_form(self, audio: np.ndarray) -> bool:
        return len(audio) / SAMPLE_RATE > self.chunk_length_s

    def _segments(self, audio: np.ndarray) -> tuple[Iterable[Any], Any]:
        """faster-whisper's segment generator for ``audio`` (it decodes as it is consumed)
        and its run information."""
        info = self.require_loaded()
        kwargs = self._decode_kwargs(info)
        if self.is_long_form(audio):
            if not self.options.vad:
                kwargs["clip_timestamps"] = [
                    {"start": w.start / SAMPLE_RATE, "end": w.end / SAMPLE_RATE}
                    for w in quiet_windows(audio, self.chunk_length_s)
                ]
            return self.pipeline.transcribe(  # type: ignore[no-any-return]
                audio, batch_size=self.batch_size, **kwargs
            )
        return self.model.transcribe(audio, **kwargs)  # type: ignore[no-any-return]

    def transcribe(self, audio: np.ndarray) -> TranscriptionResult:
        segments, run_info = self._segments(audio)
        # The generator does the decoding: consume it inside the timed call.
        result = _result(segments, run_info.language)
        self.detected_language = decoded_language([result])
        return result

    takes_prompt = True

    def transcribe_words(self, audio: np.ndarray, prompt: str | None = None) -> list[Word]:
        """The buffer through ``WhisperModel.transcribe`` with its word timestamps (cross-
        attention alignment, which needs timestamp decoding) after ``initial_prompt``."""
        info = self.require_loaded()
        kwargs = {
            **self._decode_kwargs(info),
            "without_timestamps": False,
            "word_timestamps": True,
            "initial_prompt": prompt or None,
        }
        segments, _ = self.model.transcribe(audio, **kwargs)
        return [
            Word(float(word.start), float(word.end), word.word.strip())
            for segment in segments
            for word in segment.words or ()
            if word.word.strip()
        ]

    def first_text(self, audio: np.ndarray) -> FirstText:
        """Its segment generator consumed as a caller would: the first segment with text is
        the first text handed out (one window's segments come together, after that window's
        decoding)."""
        start = time.perf_counter()
        segments, run_info = self._segments(audio)
        first: float | None = None
        taken = []
        for segment in segments:
            if first is None and segment.text.strip():
                first = time.perf_counter() - start
            taken.append(segment)
        total = time.perf_counter() - start
        result = _result(taken, run_info.language)
        how = "the first segment with text that faster-whisper's generator yields"
        return FirstText(total if first is None else first, total, how, result, at_end=False)

    def transcribe_batch(self, audios: Sequence[np.ndarray]) -> list[TranscriptionResult]:
        """Many utterances through ``BatchedInferencePipeline``: a group of utterances is laid
        end to end and handed over as one recording whose ``clip_timestamps`` are each
        utterance's quiet-cut windows, so that each decoder call holds ``batch_size`` windows of
        several utterances; each window's text goes back to its utterance. A group is
        ``GROUP_BATCHES`` batches long (the pipeline computes the features of a whole call up
        front). With ``--vad`` (VAD and clip timestamps exclude each other) one by one."""
        info = self.require_loaded()
        if self.options.vad:
            return transcribe_one_by_one(self, audios)
        results: list[TranscriptionResult] = []
        group = self.batch_size * GROUP_BATCHES
        for start in range(0, len(audios), group):
            results += self._batched_group(info, audios[start : start + group], start, len(audios))
        self.detected_language = decoded_language(results)
        return results

    def _batched_group(
        self, info: ModelInfo, audios: Sequence[np.ndarray], done: int, total: int
    ) -> list[TranscriptionResult]:
        owners: list[int] = []
        clips: list[dict[str, float]] = []
        offset = 0
        for index, audio in enumerate(audios):
            for window in quiet_windows(audio, self.chunk_length_s):
                owners.append(index)
                clips.append(
                    {
                        "start": (offset + window.start) / SAMPLE_RATE,
                        "end": (offset + window.end) / SAMPLE_RATE,
                    }
                )
            offset += len(audio)
        joined = np.concatenate(audios).astype(np.float32, copy=False)
        kwargs = {**self._decode_kwargs(info), "clip_timestamps": clips}
        segments, run_info = self.pipeline.transcribe(joined, batch_size=self.batch_size, **kwargs)
        parts: list[list[Any]] = [[] for _ in audios]
        left = [owners.count(index) for index in range(len(audios))]
        # Text tokens only: one segment per clip, in the clips' order (the generator decodes
        # as it is consumed, inside the timed call).
        for owner, segment in zip(owners, segments, strict=True):
            parts[owner].append(segment)
            left[owner] -= 1
            if not left[owner]:
                self.report_progress(done + left.count(0), total, "utterances")
        return [_result(own, run_info.language) for own in parts]

    def get_params(self) -> dict[str, Any]:
        info = self.require_loaded()
        compute_type = str(self.model.model.compute_type)
        return {
            "implementation": self.name,
            "model": info.size,
            "repo_id": info.repo_id,
            "weights": "real",
            "synthetic_tokens_per_window": None,
            "device": str(self.model.model.device),
            "dtype": compute_type,
            "compute_type": compute_type,
            "attention": "ctranslate2",
            "quantization": quantization_of(compute_type),
            "quantization_note": self._quantization_note(),
            "batch_size": self.batch_size,
            "batched_above_s": self.chunk_length_s,
            "chunk_length_s": self.chunk_length_s,
            "long_form_windows": "vad" if self.options.vad else "quiet-cut",
            "beam_size": self.options.beam_size,
            "max_new_tokens": None,  # bounded only by the decoder's 448 positions
            "features": "log-mel on cpu (numpy), per window",
            "temperature": TEMPERATURE,
            "condition_on_previous_text": CONDITION_ON_PREVIOUS_TEXT,
            "timestamps": not WITHOUT_TIMESTAMPS,
            "cpu_threads": self.cpu_threads,
            "task": None if info.english_only else "transcribe",
            "language": self.detected_language
            or ("en" if info.english_only else self.options.language),
            "vad": self.options.vad,
        }

    def _quantization_note(self) -> str | None:
        if self.options.quantization in ("none", ""):
            return None
        return (
            f"quantization {self.options.quantization!r} is a transformers (bitsandbytes) option; "
            "faster-whisper quantises through its compute type (--dtype int8, int8_float16, ...)"
        )

    def cleanup(self) -> None:
        self.pipeline = None
        self.model = None
        super().cleanup()


def _result(segments: Iterable[Any], language: str | None) -> TranscriptionResult:
    parts = [Segment(start=seg.start, end=seg.end, text=seg.text.strip()) for seg in segments]
    text = " ".join(part.text for part in parts if part.text)
    return TranscriptionResult(text=text, language=language, segments=parts)
