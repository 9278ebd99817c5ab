"""The "insanely fast whisper" recipe, cross-platform: the transformers ASR pipeline with SDPA
attention, fp16 on GPUs, batched chunked decoding, and 4-bit weights only where they work."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from whisperbench.audio import SAMPLE_RATE
from whisperbench.devices import dtype_name, memory_info, resolve_dtype, synchronize
from whisperbench.implementations.base import (
    ModelInfo,
    Segment,
    TranscriptionResult,
    WhisperImplementation,
)
from whisperbench.models import Architecture, get_model

GiB = 2**30
CHUNK_LENGTH_MPS_S = 20
CHUNK_LENGTH_S = 30
CPU_BATCH_SIZE = 4
MPS_BATCH_SIZES = ((16 * GiB, 16), (8 * GiB, 12))
MPS_MIN_BATCH = 10
CUDA_MIN_BATCH, CUDA_MAX_BATCH = 8, 64
CUDA_MEMORY_SHARE = 0.5
"""Share of free GPU memory that batched windows may take (the rest: weights, allocator slack)."""
QUANTIZATIONS = ("none", "4bit")


def chunk_length_for(device: str) -> int:
    """20 s windows on MPS (as the seed tuned for Apple GPUs), 30 s (Whisper's own) elsewhere."""
    return CHUNK_LENGTH_MPS_S if device == "mps" else CHUNK_LENGTH_S


def window_bytes(arch: Architecture, dtype_bytes: int) -> int:
    """Memory one 30 s window needs while decoding: the self- and cross-attention KV caches
    (448 + 1500 positions per decoder layer) plus the widest encoder activation."""
    kv = 2 * arch.decoder_layers * (448 + 1500) * arch.d_model * dtype_bytes
    encoder = 1500 * arch.ffn_dim * dtype_bytes * 2
    return kv + encoder


def choose_batch_size(device: str, free_bytes: int, arch: Architecture, dtype_bytes: int) -> int:
    """Batch size from the device and its free memory.

    cpu: a small fixed batch (2 cores gain nothing from wide batches, and one runaway window
    holds its whole batch). mps: 10-16 by unified memory, as the seed measured on Macs.
    cuda: as many windows as fit in half the free memory, between 8 and 64.
    """
    if device == "cpu":
        return CPU_BATCH_SIZE
    if device == "mps":
        for threshold, size in MPS_BATCH_SIZES:
            if free_bytes >= threshold:
                return size
        return MPS_MIN_BATCH
    fitting = int(free_bytes * CUDA_MEMORY_SHARE) // window_bytes(arch, dtype_bytes)
    return max(CUDA_MIN_BATCH, min(CUDA_MAX_BATCH, fitting))


@dataclass(frozen=True)
class QuantizationDecision:
    applied: str
    reason: str | None


def decide_quantization(requested: str, device: str, bitsandbytes_installed: bool) -> QuantizationDecision:
    """4-bit weights need CUDA and bitsandbytes; anywhere else the request is dropped, with why."""
    if requested not in QUANTIZATIONS:
        raise ValueError(f"unknown quantization {requested!r}; choose one of {', '.join(QUANTIZATIONS)}")
    if requested == "none":
        return QuantizationDecision("none", None)
    if device != "cuda":
        return QuantizationDecision(
            "none", f"4-bit requested but bitsandbytes 4-bit needs CUDA; running unquantised on {device}"
        )
    if not bitsandbytes_installed:
        return QuantizationDecision(
            "none", "4-bit requested but bitsandbytes is not installed (pip install whisperbench[quantization])"
        )
    return QuantizationDecision("4bit", None)


class TransformersPipeline(WhisperImplementation):
    """``transformers.pipeline("automatic-speech-recognition")``, configured as insanely-fast-whisper."""

    name = "transformers"
    family = "transformers"
    package = "transformers"

    pipe: Any = None
    quantization: QuantizationDecision = QuantizationDecision("none", None)
    batch_size: int = CPU_BATCH_SIZE
    chunk_length_s: int = CHUNK_LENGTH_S

    def _load(self, info: ModelInfo, snapshot: Path) -> None:
        from transformers import pipeline

        dtype = resolve_dtype(self.device, self.options.dtype)
        self.quantization = decide_quantization(
            self.options.quantization,
            self.device,
            importlib.util.find_spec("bitsandbytes") is not None,
        )
        model_kwargs: dict[str, Any] = {
            "attn_implementation": "sdpa",
            "use_cache": True,
            "low_cpu_mem_usage": True,
        }
        device_arg: str | None = self.device
        if self.quantization.applied == "4bit":
            from transformers import BitsAndBytesConfig

            model_kwargs["quantization_config"] = BitsAndBytesConfig(
                load_in_4bit=True, bnb_4bit_compute_dtype=dtype
            )
            model_kwargs["device_map"] = {"": 0}
            device_arg = None  # accelerate places a quantised model; the pipeline must not move it
        self.pipe = pipeline(
            "automatic-speech-recognition",
            model=str(snapshot),
            dtype=dtype,
            device=device_arg,
            model_kwargs=model_kwargs,
        )
        self.chunk_length_s = chunk_length_for(self.device)
        self.batch_size = self.options.batch_size or choose_batch_size(
            self.device,
            memory_info(self.device).free_bytes,
            get_model(info.size).architecture,
            torch.finfo(dtype).bits // 8,
        )

    def _generate_kwargs(self, info: ModelInfo) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"num_beams": self.options.beam_size}
        if not info.english_only:
            kwargs["task"] = "transcribe"
            if self.options.language:
                kwargs["language"] = self.options.language
        return kwargs

    def transcribe(self, audio: np.ndarray) -> TranscriptionResult:
        info = self.require_loaded()
        output = self.pipe(
            {"raw": audio, "sampling_rate": SAMPLE_RATE},
            batch_size=self.batch_size,
            chunk_length_s=self.chunk_length_s,
            return_language=True,
            generate_kwargs=self._generate_kwargs(info),
        )
        synchronize(self.device)
        chunks = output.get("chunks") or []
        segments = [
            Segment(
                start=chunk.get("timestamp", (None, None))[0],
                end=chunk.get("timestamp", (None, None))[1],
                text=chunk.get("text", ""),
            )
            for chunk in chunks
        ]
        language = next((c.get("language") for c in chunks if c.get("language")), None)
        if language is None and info.english_only:
            language = "english"
        return TranscriptionResult(text=str(output["text"]).strip(), language=language, segments=segments)

    def get_params(self) -> dict[str, Any]:
        info = self.require_loaded()
        model = self.pipe.model
        first = next(model.parameters())
        return {
            "implementation": self.name,
            "model": info.size,
            "repo_id": info.repo_id,
            "device": first.device.type,
            "dtype": dtype_name(model.dtype),
            "attention": model.config._attn_implementation,
            "quantization": "4bit" if getattr(model, "is_loaded_in_4bit", False) else "none",
            "quantization_note": self.quantization.reason,
            "batch_size": self.batch_size,
            "chunk_length_s": self.chunk_length_s,
            "beam_size": self.options.beam_size,
            "task": None if info.english_only else "transcribe",
            "language": self.options.language,
            "vad": False,
        }

    def cleanup(self) -> None:
        self.pipe = None
        super().cleanup()
