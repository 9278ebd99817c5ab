"""openai-whisper: the reference implementation (PyTorch), on CUDA, the CPU, and MPS.

It reads an openai-whisper checkpoint (``model.pt``, converted from the transformers snapshot)
and transcribes with ``whisper.transcribe``: one 30 s window at a time, each continued from the
last timestamp it decoded (sequential seek; no batching), with the comparable settings of
``openai_style``. Weights stay float32 in memory; ``fp16`` makes openai-whisper cast them to
float16 as it runs, which it does on CUDA and MPS only (on the CPU it falls back to float32
itself, so we ask for float32 there).

MPS: ``whisper.load_model(device="mps")`` fails in ``model.to("mps")`` because the model keeps
its word-timing heads (``alignment_heads``) as a sparse tensor and torch's MPS backend has no
sparse tensors (pytorch/pytorch#87886). We load on the CPU, keep that mask dense (it is used
only for word timestamps, which the benchmark does not ask for) and move the model to MPS.
This path is tested on the CPU here, never on a Mac.

``whisper`` is imported only when a model loads, so the registry can say why it cannot run.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from whisperbench.devices import dtype_name, resolve_dtype, synchronize
from whisperbench.implementations.base import (
    ModelInfo,
    TranscriptionResult,
    WhisperImplementation,
    Word,
)
from whisperbench.implementations.openai_style import (
    CHUNK_LENGTH_S,
    SEQUENTIAL_SEEK,
    decode_settings,
    language_of,
    result_of,
    transcribe_kwargs,
)
from whisperbench.implementations.reported import (
    decoded_language,
    ignored_options,
    weights_params,
)
from whisperbench.weights.formats import OPENAI_CHECKPOINT

CHECKPOINT = OPENAI_CHECKPOINT
"""The file it reads, as the ``openai`` format declares it."""
_DTYPES = (torch.float32, torch.float16)
IGNORED = {
    "batch_size": "it decodes one window at a time",
    "quantization": "it has no quantised weights",
    "vad": "it has no voice-activity filter",
}


def openai_whisper_missing() -> str | None:
    """Why openai-whisper cannot be imported here, or None. (Another package also installs a
    ``whisper`` module, so the distribution is what is checked.)"""
    try:
        importlib.metadata.version("openai-whisper")
    except importlib.metadata.PackageNotFoundError:
        return f"the openai-whisper package is not installed; {OpenAIWhisper.install_hint}"
    return None


def compute_dtype(device: str, requested: str | None) -> tuple[torch.dtype, str | None]:
    """The dtype openai-whisper computes in, and why it differs from the request: it knows
    float32 and float16 (``fp16``), and on the CPU float32 only."""
    dtype = resolve_dtype(device, requested)
    if dtype not in _DTYPES:
        return (
            torch.float32,
            f"openai-whisper computes in float16 or float32 only; {dtype_name(dtype)} requested, "
            "float32 used",
        )
    if device == "cpu" and dtype == torch.float16:
        return torch.float32, "openai-whisper runs float32 on the CPU (it has no fp16 CPU path)"
    return dtype, None


class OpenAIWhisper(WhisperImplementation):
    """``whisper.transcribe`` on a model loaded from an openai-whisper checkpoint."""

    name = "openai-whisper"
    weights_format = "openai"
    package = "openai-whisper"
    extra = "openai-whisper"
    supported_devices = ("cuda", "mps", "cpu")

    model: Any = None
    detected_language: str | None = None
    """The language the last call decoded in (``reported.decoded_language``)."""
    dtype: torch.dtype = torch.float32
    dtype_note: str | None = None
    batch_size: int = 1
    chunk_length_s: int = CHUNK_LENGTH_S

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return openai_whisper_missing()

    def _load(self, info: ModelInfo, snapshot: Path) -> None:
        import whisper

        self.dtype, self.dtype_note = compute_dtype(self.device, self.options.dtype)
        checkpoint = str(snapshot / CHECKPOINT)
        if self.device == "mps":
            model = whisper.load_model(checkpoint, device="cpu")
            model.alignment_heads = model.alignment_heads.to_dense()
            self.model = model.to("mps")
        else:
            self.model = whisper.load_model(checkpoint, device=self.device)

    def transcribe(self, audio: np.ndarray) -> TranscriptionResult:
        info = self.require_loaded()
        import whisper

        output = whisper.transcribe(
            self.model,
            audio,
            fp16=self.dtype == torch.float16,
            **transcribe_kwargs(info, self.options),
        )
        synchronize(self.device)
        result = result_of(output)
        self.detected_language = decoded_language([result])
        return result

    takes_prompt = True

    def transcribe_words(self, audio: np.ndarray, prompt: str | None = None) -> list[Word]:
        """The buffer through ``whisper.transcribe`` with ``word_timestamps`` (its cross-
        attention alignment) after ``initial_prompt``. Its time warping on the CPU is a
        parallel numba function whose OpenMP start sets the process's thread count, torch's
        included: torch's is put back, so that engines timed after it run as set up."""
        info = self.require_loaded()
        import whisper

        threads = torch.get_num_threads()  # its word timing's numba OpenMP start changes it
        try:
            output = whisper.transcribe(
                self.model,
                audio,
                fp16=self.dtype == torch.float16,
                **transcribe_kwargs(info, self.options),
                word_timestamps=True,
                initial_prompt=prompt or None,
            )
            synchronize(self.device)
        finally:
            torch.set_num_threads(threads)
        return [
            Word(float(word["start"]), float(word["end"]), str(word["word"]).strip())
            for segment in output.get("segments") or []
            for word in segment.get("words") or []
            if str(word["word"]).strip()
        ]

    def get_params(self) -> dict[str, Any]:
        info = self.require_loaded()
        from whisper.model import MultiHeadAttention

        weights = next(self.model.parameters())
        return {
            **weights_params(self, info),
            "weights_dtype": dtype_name(weights.dtype),
            "device": weights.device.type,
            "dtype": dtype_name(self.dtype),
            "dtype_note": self.dtype_note,
            "attention": "sdpa" if MultiHeadAttention.use_sdpa else "eager",
            "quantization": "none",
            "batch_size": self.batch_size,
            "chunk_length_s": self.chunk_length_s,
            "long_form": SEQUENTIAL_SEEK,
            **decode_settings(info, self.options),
            "threads": torch.get_num_threads() if weights.device.type == "cpu" else None,
            "language": self.detected_language or language_of(info, self.options),
            "vad": False,
            **ignored_options(self.name, self.options, IGNORED),
        }

    def cleanup(self) -> None:
        self.model = None
        super().cleanup()
